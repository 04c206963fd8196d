"""The shipped example log against the findings its author wrote down (facts/README.md).

facts/amnis-2003-2004.jsonl was written by someone else than the monitor's
authors, with the expected findings in facts/README.md ("Notable events and
expected findings"). Each row below is one of those findings for the fifteen
deadline rules of issue 2, as (status, due, breach_start, cured_on,
days_in_breach); where the README gives only some of these, the rest were
worked out by hand from the memo and the working is in the comment. The report
is evaluated as of the latest fact, 2004-12-31.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from covenant.pipeline import check

from .conftest import AMNIS_RULES, EXAMPLE_FACTS


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return check([EXAMPLE_FACTS], AMNIS_RULES).report


def _find(report: dict[str, Any], rule: str, trigger: str | None, beneficiary: str | None) -> dict[str, Any]:
    found = [
        o for o in report["obligations"] if (o["rule"], o["trigger"], o["beneficiary"]) == (rule, trigger, beneficiary)
    ]
    assert len(found) == 1, f"{rule} {trigger} {beneficiary}: {len(found)} obligations"
    return found[0]


# (rule, trigger, beneficiary): (status, due, breach_start, cured_on, days_in_breach)
FINDINGS: dict[tuple[str, str | None, str | None], tuple[str, str | None, str | None, str | None, int]] = {
    # 4(o): lists handed to SDS and Alpha at the Closing; Bristol's on 05-14 (due 05-09, 5 days).
    ("contact-information", "closing", "sds"): ("fulfilled", "2003-05-09", None, None, 0),
    ("contact-information", "closing", "alpha"): ("fulfilled", "2003-05-09", None, None, 0),
    ("contact-information", "closing", "bristol"): ("cured", "2003-05-09", "2003-05-10", "2003-05-14", 5),
    # 4(f): invoice Friday 05-09 paid the same day; due the 5th business day after, 05-16 (12, 13, 14, 15, 16).
    ("expense-reimbursement", "inv-sds-closing", "sds"): ("fulfilled", "2003-05-16", None, None, 0),
    # 4(q): 8-K on 05-12, the 1st business day after Friday 05-09.
    ("closing-disclosure", "closing", None): ("fulfilled", "2003-05-12", None, None, 0),
    # 4(c): press release due 05-13 (2nd business day), issued 05-15: 2 days.
    ("closing-press-release", "closing", None): ("cured", "2003-05-13", "2003-05-14", "2003-05-15", 2),
    # 4(g)(ii): release 05-15 + 1 = 05-16; Bristol's copy 05-19: 3 days.
    ("press-release-copies", "pr-closing", "bristol"): ("cured", "2003-05-16", "2003-05-17", "2003-05-19", 3),
    # 4(b): 05-09 + 15 = Saturday 05-24, Memorial Day 05-26 -> 05-27; filed 05-30: 3 days.
    ("form-d", "closing", None): ("cured", "2003-05-27", "2003-05-28", "2003-05-30", 3),
    # 4(g)(i): 10-QSB/A of 08-18 + 10 = 08-28; mailed 08-25, effective 08-30 (a Saturday, not rolled): 2 days.
    ("sec-report-copies", "10qsb-a-2003q1", "bristol"): ("cured", "2003-08-28", "2003-08-29", "2003-08-30", 2),
    # 4(l): 2003-08-30 rolled past Labor Day to 09-02; first PRE 14C 09-05: 3 days.
    ("information-statement-filing", None, None): ("cured", "2003-09-02", "2003-09-03", "2003-09-05", 3),
    # 4(l) previews of the PRE 14C of Friday 09-05: due 09-03 (09-04, 09-03); Bristol's on 09-04: 1 day.
    ("information-statement-preview", "pre14c-2003-09", "sds"): ("fulfilled", "2003-09-03", None, None, 0),
    ("information-statement-preview", "pre14c-2003-09", "alpha"): ("fulfilled", "2003-09-03", None, None, 0),
    ("information-statement-preview", "pre14c-2003-09", "bristol"): (
        "cured",
        "2003-09-03",
        "2003-09-04",
        "2003-09-04",
        1,
    ),
    # Revised PRE 14C of Tuesday 10-14: 10-10 (1), 10-09 (2) since Columbus Day 10-13 does not count.
    ("information-statement-preview", "pre14c-2003-10", "sds"): ("fulfilled", "2003-10-09", None, None, 0),
    ("information-statement-preview", "pre14c-2003-10", "alpha"): ("fulfilled", "2003-10-09", None, None, 0),
    ("information-statement-preview", "pre14c-2003-10", "bristol"): ("fulfilled", "2003-10-09", None, None, 0),
    # DEF 14C of Friday 10-24: 10-23 (1), 10-22 (2).
    ("information-statement-preview", "def14c-2003-10", "bristol"): ("fulfilled", "2003-10-22", None, None, 0),
    # 4(l) SEC comments: Friday 09-19 -> 09-22, 09-23, 09-24 (answered 09-24); Monday 10-06 -> 10-09, answered 10-14.
    ("sec-comment-response", "sec-comment-1", None): ("fulfilled", "2003-09-24", None, None, 0),
    ("sec-comment-response", "sec-comment-2", None): ("cured", "2003-10-09", "2003-10-10", "2003-10-14", 5),
    # 4(f): Alpha's invoice of Monday 09-15, due 09-22, paid 10-06: 14 days.
    ("expense-reimbursement", "inv-alpha-2003-09", "alpha"): ("cured", "2003-09-22", "2003-09-23", "2003-10-06", 14),
    # 2(f): opinion of Wednesday 10-01, due 10-06 (10-02, 10-03, 10-06), accepted 10-03.
    ("opinion-acceptance", "op-sds-2003-10", "sds"): ("fulfilled", "2003-10-06", None, None, 0),
    # 4(h): September 2003 list, due 10-07 (10-01, 02, 03, 06, 07), to Alpha on 10-10: 3 days.
    ("reserve-list", "2003-09-30", "alpha"): ("cured", "2003-10-07", "2003-10-08", "2003-10-10", 3),
    # 4(g)(iii): notice of 10-28 due the same day; Bristol's copy mailed 10-28, effective 11-02: 5 days.
    ("stockholder-notice-copies", "sn-information-statement", "sds"): ("fulfilled", "2003-10-28", None, None, 0),
    ("stockholder-notice-copies", "sn-information-statement", "bristol"): (
        "cured",
        "2003-10-28",
        "2003-10-29",
        "2003-11-02",
        5,
    ),
    # 4(c)/3(g): 10-QSB Q3 2003 due 09-30 + 45 = 11-14, filed 11-19: 5 days.
    ("timely-sec-reports", "2003-09-30", None): ("cured", "2003-11-14", "2003-11-15", "2003-11-19", 5),
    # 4(g)(i): 11-19 + 10 = Saturday 11-29 -> Monday 12-01; Alpha's copy 12-03: 2 days.
    ("sec-report-copies", "10qsb-2003q3", "alpha"): ("cured", "2003-12-01", "2003-12-02", "2003-12-03", 2),
    # 4(l): 2003-11-30 (Sunday) -> 12-01; approval 11-17, certificate 12-02: met on the later, 1 day.
    ("stockholder-approval", None, None): ("cured", "2003-12-01", "2003-12-02", "2003-12-02", 1),
    # 4(g)(ii): bridge release 12-16 + 1 = 12-17; Bristol's copy mailed 12-16, effective 12-21: 4 days.
    ("press-release-copies", "pr-bridge-closing", "bristol"): ("cured", "2003-12-17", "2003-12-18", "2003-12-21", 4),
    # 4(h): December 2003 list due 2004-01-08 (01-01 holiday: 01-02, 05, 06, 07, 08); SDS waives on 01-12:
    # waived, breach 01-09 to 01-12 = 4 days, no cure.
    ("reserve-list", "2003-12-31", "sds"): ("waived", "2004-01-08", "2004-01-09", None, 4),
    # 4(f): Bristol's invoice of Tuesday 02-17, due 02-24; 2,000.00 on 02-20 + 2,200.00 on 03-12: 17 days.
    ("expense-reimbursement", "inv-bristol-2004-02", "bristol"): (
        "cured",
        "2004-02-24",
        "2004-02-25",
        "2004-03-12",
        17,
    ),
    # 10-KSB 2003: 03-30; NT 10-K on 03-31 (1st business day after) extends to 03-30 + 15 = 04-14; filed 04-14.
    ("timely-sec-reports", "2003-12-31", None): ("fulfilled", "2004-04-14", None, None, 0),
    # 4(h): March 2004 list never sent to Alpha: due 04-07, open, 04-08 to 12-31 = 268 days.
    ("reserve-list", "2004-03-31", "alpha"): ("breached", "2004-04-07", "2004-04-08", None, 268),
    # 4(g)(i): 8-K of 05-04 + 10 = 05-14; mailed 05-10, effective 05-15: 1 day.
    ("sec-report-copies", "8k-convertible-financing", "bristol"): (
        "cured",
        "2004-05-14",
        "2004-05-15",
        "2004-05-15",
        1,
    ),
    # 2(f): Alpha's opinion of Monday 05-10, due 05-13, accepted 05-12.
    ("opinion-acceptance", "op-alpha-2004-05", "alpha"): ("fulfilled", "2004-05-13", None, None, 0),
    # 4(g)(i): 10-QSB/A of 06-25 + 10 = 07-05, the observed Independence Day -> 07-06; SDS never gets it:
    # 07-07 to 12-31 = 178 days.
    ("sec-report-copies", "10qsb-a-2004q1", "sds"): ("breached", "2004-07-06", "2004-07-07", None, 178),
    ("sec-report-copies", "8k-otcbb-removal", "bristol"): ("cured", "2004-07-06", "2004-07-07", "2004-07-08", 2),
    # 4(h): July list mailed to Bristol 08-04, effective 08-09 (due 08-06): 3 days; SDS's August list 09-13: 5 days.
    ("reserve-list", "2004-07-31", "bristol"): ("cured", "2004-08-06", "2004-08-07", "2004-08-09", 3),
    ("reserve-list", "2004-08-31", "sds"): ("cured", "2004-09-08", "2004-09-09", "2004-09-13", 5),
    # 10-QSB Q2 2004: 06-30 + 45 = Saturday 08-14 -> 08-16, filed 08-16.
    ("timely-sec-reports", "2004-06-30", None): ("fulfilled", "2004-08-16", None, None, 0),
    # 4(f): SDS invoice of Monday 09-20 never paid: due 09-27, open, 09-28 to 12-31 = 95 days.
    ("expense-reimbursement", "inv-sds-2004-09", "sds"): ("breached", "2004-09-27", "2004-09-28", None, 95),
    # 8-K of 10-12 + 10 = 10-22; Bristol never gets it; discharged by its transfer of everything on 11-04: 13 days.
    ("sec-report-copies", "8k-accountant", "bristol"): ("discharged", "2004-10-22", "2004-10-23", None, 13),
    # 2(f): Bristol's opinion of Monday 10-25, due 10-28, accepted 11-03: 6 days.
    ("opinion-acceptance", "op-bristol-2004-10", "bristol"): ("cured", "2004-10-28", "2004-10-29", "2004-11-03", 6),
    # Bristol's October list, due 11-05, still pending when it transferred everything on 11-04: discharged.
    ("reserve-list", "2004-10-31", "bristol"): ("discharged", "2004-11-05", None, None, 0),
    # 10-QSB Q3 2004 of 11-16 + 10 = 11-26 (a business day: Thanksgiving is 11-25); Alpha's copy 11-29: 3 days.
    ("sec-report-copies", "10qsb-2004q3", "alpha"): ("cured", "2004-11-26", "2004-11-27", "2004-11-29", 3),
    # Pending at the end of the log.
    ("sec-report-copies", "8k-2004-12", "alpha"): ("pending", "2005-01-06", None, None, 0),
    ("reserve-list", "2004-12-31", "alpha"): ("pending", "2005-01-07", None, None, 0),
    ("reserve-list", "2004-12-31", "sds"): ("pending", "2005-01-07", None, None, 0),
    ("timely-sec-reports", "2004-12-31", None): ("pending", "2005-03-31", None, None, 0),
}


@pytest.mark.parametrize(("key", "expected"), list(FINDINGS.items()), ids=[" ".join(map(str, k)) for k in FINDINGS])
def test_finding_of_the_readme(
    report: dict[str, Any],
    key: tuple[str, str | None, str | None],
    expected: tuple[str, str | None, str | None, str | None, int],
) -> None:
    obligation = _find(report, *key)
    actual = tuple(obligation[f] for f in ("status", "due", "breach_start", "cured_on", "days_in_breach"))
    assert actual == expected


def test_the_example_is_evaluated_as_of_its_last_fact(report: dict[str, Any]) -> None:
    assert (report["agreement"], report["as_of"]) == ("amnis-spa-2003", "2004-12-31")
    assert report["facts"]["read"] == 259  # the lines of facts/amnis-2003-2004.jsonl


def test_counts_by_rule(report: dict[str, Any]) -> None:
    # README, "Totals to check the report against": obligations by rule as of 2004-12-31.
    counts = Counter(o["rule"] for o in report["obligations"])
    assert {rule: counts[rule] for rule in ("reserve-list", "sec-report-copies", "press-release-copies")} == {
        "reserve-list": 58,
        "sec-report-copies": 46,
        "press-release-copies": 21,
    }
    assert (counts["information-statement-preview"], counts["timely-sec-reports"]) == (9, 8)


def test_counts_by_status(report: dict[str, Any]) -> None:
    # README: 177 obligations (review items come on top): 138 fulfilled, 25 cured, 7 breached, 4 pending,
    # 2 discharged, 1 waived. (The 138th is no-reverse-split, permitted by every holder's consent.)
    counts = Counter(o["status"] for o in report["obligations"] if o["status"] != "review")
    assert dict(counts) == {
        "fulfilled": 138,
        "cured": 25,
        "breached": 7,
        "pending": 4,
        "discharged": 2,
        "waived": 1,
    }


def test_nothing_new_arises_for_bristol_after_its_transfer(report: dict[str, Any]) -> None:
    # transfer-bristol-all on 2004-11-04: obligations triggered later are owed to SDS and Alpha only.
    later = [
        o
        for o in report["obligations"]
        if o["beneficiary"] is not None
        and o["rule"] in ("reserve-list", "sec-report-copies")
        and o["due"] > "2004-11-05"
    ]
    assert later and all(o["beneficiary"] != "bristol" for o in later)
    assert {o["beneficiary"] for o in later} == {"sds", "alpha"}


def test_survival_note_on_breaches_after_the_first_year(report: dict[str, Any]) -> None:
    # Memo: a breach starting after 2004-05-09 carries the note that 8(i) may bar the claim.
    late = _find(report, "sec-report-copies", "10qsb-a-2004q1", "sds")
    early = _find(report, "reserve-list", "2004-03-31", "alpha")
    assert "8(i)" in late.get("survival_note", "")
    assert "survival_note" not in early


def _sld(obligation: dict[str, Any]) -> dict[str, str]:
    return {r["buyer"]: r["amount"] for r in obligation["remedies"] if r["kind"] == "standard_liquidated_damages"}


def test_sld_of_the_late_contact_list(report: dict[str, Any]) -> None:
    # Breach 05-10 to 05-14: period [05-10, 05-15); month 1 [05-10, 06-10) = 31 days, 5 in breach.
    # Base on 05-10: 150,000 + 150,000 x 12% x 1/365 (05-09 only) = 150,049.31506849
    # 2% x 150,049.31506849 x 5/31 = 484.03004861 -> 484.03
    assert _sld(_find(report, "contact-information", "closing", "bristol")) == {"bristol": "484.03"}


def test_sld_of_the_late_press_release_to_every_buyer(report: dict[str, Any]) -> None:
    # Owed to all Buyers: each holder gets SLD. Breach [05-14, 05-16); month 1 [05-14, 06-14) = 31 days, 2 in breach.
    # Interest 05-09 to 05-14 excluded = 5 days.
    # sds     (500,000 + 60,000 x 5/365 = 500,821.91780822) x 2% x 2/31 = 646.22182965 -> 646.22
    # alpha   (350,000 + 42,000 x 5/365 = 350,575.34246575) x 2% x 2/31 = 452.35528060 -> 452.36
    # bristol (150,000 + 18,000 x 5/365 = 150,246.57534247) x 2% x 2/31 = 193.86654883 -> 193.87
    assert _sld(_find(report, "closing-press-release", "closing", None)) == {
        "alpha": "452.36",
        "bristol": "193.87",
        "sds": "646.22",
    }


def test_sld_over_nine_months_with_a_conversion_and_interest_payments(report: dict[str, Any]) -> None:
    # Alpha's March 2004 list, never sent: period [2004-04-08, 2005-01-01), months anchored at 04-08.
    # Alpha: principal 350,000 less 50,000 converted 2004-02-10 (300,000) and 25,000 on 2004-08-10 (275,000).
    # Interest payments (int-alpha-*) each pay what accrued since the previous one to the day before, floored
    # to the cent, so each base is principal + interest since the last payment + the sub-cent residues (0.01).
    # m  start       days/len rate  principal  accrued        base            amount
    # 1  2004-04-08  30/30    2%    300,000    8,712.34 (*)   308,712.34  ->  6,174.25
    # 2  2004-05-08  31/31    3%    300,000    11,671.24      311,671.24  ->  9,350.14
    # 3  2004-06-08  30/30    3%    300,000    14,728.78      314,728.78  ->  9,441.86
    # 4  2004-07-08  31/31    3%    300,000    789.05 (+)     300,789.05  ->  9,023.67
    # 5  2004-08-08  31/31    3%    300,000    3,846.59       303,846.59  ->  9,115.40
    # 6  2004-09-08  30/30    3%    275,000    6,665.77       281,665.77  ->  8,449.97
    # 7  2004-10-08  31/31    3%    275,000    723.30 (#)     275,723.30  ->  8,271.70
    # 8  2004-11-08  30/30    3%    275,000    3,526.04       278,526.04  ->  8,355.78
    # 9  2004-12-08  24/31    3%    275,000    6,238.37       281,238.37  ->  6,531.99  (24 days: 12-08..12-31)
    # (*) since the payment of 2004-01-15: 42,000 x 26/365 (01-15 to 02-10) + 36,000 x 58/365 (02-10 to 04-08)
    #     = 2,991.78 + 5,720.55 = 8,712.33, + 0.01 of residues.
    # (+) paid 16,898.63 on 06-30: 36,000 x 8/365 (06-30 to 07-08) = 789.04 + residues.
    # (#) paid 8,654.79 on 09-30: 33,000 x 8/365 (09-30 to 10-08) = 723.29 + residues.
    # Sum of the unrounded amounts 74,714.75813350 -> 74,714.76
    assert _sld(_find(report, "reserve-list", "2004-03-31", "alpha")) == {"alpha": "74714.76"}


def test_expense_interest_of_the_example(report: dict[str, Any]) -> None:
    # Alpha: 15% x 3,500.00 x 21/365 (09-15 to 10-06 excluded) = 30.20547945 -> 30.21
    # Bristol, paid in two parts: 15% x 4,200.00 x 24/365 (02-17 to 03-12 excluded) = 41.42465753 -> 41.42
    # SDS, never paid: 15% x 2,750.00 x 103/365 (09-20 to 2005-01-01 excluded) = 116.40410959 -> 116.40
    def interest(key: tuple[str, str, str]) -> list[dict[str, Any]]:
        return [r for r in _find(report, *key)["remedies"] if r["kind"] == "interest"]

    assert interest(("expense-reimbursement", "inv-alpha-2003-09", "alpha")) == [
        {"kind": "interest", "buyer": "alpha", "amount": "30.21"}
    ]
    assert interest(("expense-reimbursement", "inv-bristol-2004-02", "bristol")) == [
        {"kind": "interest", "buyer": "bristol", "amount": "41.42"}
    ]
    assert interest(("expense-reimbursement", "inv-sds-2004-09", "sds")) == [
        {"kind": "interest", "buyer": "sds", "amount": "116.40"}
    ]
