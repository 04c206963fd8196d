"""Standard Liquidated Damages (2(f)) and expense interest (4(f)), by hand and end to end.

Every amount below was computed by hand from the memo (shared/spec/interpretation.md,
"Standard Liquidated Damages" and "Expense interest"), and checked a second time with
exact fractions, never with the monitor. The arithmetic is in the comment above each
amount; intermediate values are shown to 8 decimals, the sums use the exact values.

Conventions used throughout: the Closing is 2003-05-09; interest on the Debentures is
12% simple, actual/365, from the Closing (included) to the day (excluded); a fact dated D
is in effect on D; SLD months are anchored at the breach start, 2% for month 1 and 3%
after, prorated by days inside the breach over the month's length; rounded half-up to
cents once, at the end.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from covenant.calendar import Date, as_date
from covenant.law.remedies import BuyerLedger, monthly_rates_on_outstanding, simple_interest_on_amount, to_cents
from covenant.pipeline import check

from .conftest import AMNIS_RULES

RATE = Decimal("0.12")
SLD_RATES = [Decimal("0.02"), Decimal("0.03")]
CLOSING = as_date("2003-05-09")


def d(text: str) -> Date:
    return as_date(text)


def alpha(**kwargs: Any) -> BuyerLedger:
    return BuyerLedger(Decimal("350000.00"), RATE, CLOSING, **kwargs)


# --- the ledger ------------------------------------------------------------------------------------------------------


def test_principal_falls_on_the_conversion_date() -> None:
    ledger = alpha(conversions=[(d("2003-07-20"), Decimal("50000"))])
    assert ledger.principal_on(d("2003-07-19")) == Decimal("350000.00")
    # A fact dated D is in effect on D.
    assert ledger.principal_on(d("2003-07-20")) == Decimal("300000.00")


def test_accrued_interest_excludes_the_day_itself_and_follows_the_principal() -> None:
    ledger = alpha(
        conversions=[(d("2003-07-20"), Decimal("50000"))],
        interest_paid=[(d("2003-08-01"), Decimal("5000.00"))],
    )
    # On the Closing itself nothing has accrued yet.
    assert ledger.accrued_interest_on(CLOSING) == 0
    # 2003-05-09 to 2003-05-10 excluded: one day. 350,000 x 12% / 365 = 115.06849315
    assert to_cents(ledger.accrued_interest_on(d("2003-05-10"))) == Decimal("115.07")
    # 2003-05-09 to 2003-07-20 excluded = 23 + 30 + 19 = 72 days at 350,000: 42,000 x 72/365 = 8,284.93150685
    assert to_cents(ledger.accrued_interest_on(d("2003-07-20"))) == Decimal("8284.93")
    # The payment of 5,000.00 dated 2003-08-01 counts on 2003-08-01: 72 days at 350,000 (8,284.93150685) plus
    # 07-20 to 08-01 excluded = 12 days at 300,000: 36,000 x 12/365 = 1,183.56164384; total 9,468.49315068
    # less 5,000.00 = 4,468.49315068
    assert to_cents(ledger.accrued_interest_on(d("2003-07-31"))) == Decimal("9369.86")  # 11 days: 1,084.93150685
    assert to_cents(ledger.accrued_interest_on(d("2003-08-01"))) == Decimal("4468.49")


def test_nothing_is_owed_before_the_closing() -> None:
    assert alpha().base_on(d("2003-05-01")) == 0


# --- SLD, month by month -------------------------------------------------------------------------------------------


def test_report_md_example() -> None:
    # report.md: alpha, sec-report-copies, breach 2003-08-26, cured 2003-09-02: period [08-26, 09-03).
    # Month 1 [2003-08-26, 2003-09-26) has 31 days, 8 of them in breach.
    # Base on 08-26: 350,000 + 350,000 x 12% x 109/365 (05-09 to 08-26 excluded: 23 + 30 + 31 + 25 = 109 days)
    #   = 350,000 + 12,542.46575342 = 362,542.46575342
    # 2% x 362,542.46575342 x 8/31 = 1,871.18692...  -> 1,871.19
    computation = monthly_rates_on_outstanding(alpha(), SLD_RATES, d("2003-08-26"), d("2003-09-03"))
    assert computation.amount == Decimal("1871.19")
    assert [(line.number, line.days, line.days_in_month, line.rate) for line in computation.lines] == [
        (1, 8, 31, Decimal("0.02"))
    ]


def test_several_months_with_a_conversion_and_an_interest_payment() -> None:
    # alpha converts 50,000 on 2003-07-20 (inside month 2) and is paid 5,000.00 of interest on 2003-08-01.
    # Breach 2003-06-10 to 2003-09-14 (cure day included): period [06-10, 09-15).
    ledger = alpha(
        conversions=[(d("2003-07-20"), Decimal("50000"))],
        interest_paid=[(d("2003-08-01"), Decimal("5000.00"))],
    )
    computation = monthly_rates_on_outstanding(ledger, SLD_RATES, d("2003-06-10"), d("2003-09-15"))
    # Month 1 [06-10, 07-10), 30 of 30 days. Base on 06-10: 350,000 + 42,000 x 32/365 (23 + 9 days)
    #   = 353,682.19178082; 2% x base = 7,073.64383562
    # Month 2 [07-10, 08-10), 31 of 31 days. Base on 07-10 (before the conversion): 350,000 + 42,000 x 62/365
    #   = 357,134.24657534; 3% x base = 10,714.02739726
    # Month 3 [08-10, 09-10), 31 of 31 days. Base on 08-10: principal 300,000; interest 42,000 x 72/365 (05-09 to
    #   07-20) + 36,000 x 21/365 (07-20 to 08-10) - 5,000.00 = 8,284.93150685 + 2,071.23287671 - 5,000 = 5,356.16438356;
    #   base 305,356.16438356; 3% x base = 9,160.68493151
    # Month 4 [09-10, 10-10), 5 of 30 days. Base on 09-10: 300,000 + 8,284.93150685 + 36,000 x 52/365 (5,128.76712329)
    #   - 5,000 = 308,413.69863014; 3% x base x 5/30 = 1,542.06849315
    # Sum 7,073.64383562 + 10,714.02739726 + 9,160.68493151 + 1,542.06849315 = 28,490.42465754 -> 28,490.42
    assert computation.amount == Decimal("28490.42")
    lines = computation.lines
    assert [(line.start, line.end) for line in lines] == [
        (d("2003-06-10"), d("2003-07-10")),
        (d("2003-07-10"), d("2003-08-10")),
        (d("2003-08-10"), d("2003-09-10")),
        (d("2003-09-10"), d("2003-10-10")),
    ]
    assert [line.rate for line in lines] == [Decimal("0.02"), Decimal("0.03"), Decimal("0.03"), Decimal("0.03")]
    assert [(line.days, line.days_in_month) for line in lines] == [(30, 30), (31, 31), (31, 31), (5, 30)]
    assert [to_cents(line.base) for line in lines] == [
        Decimal("353682.19"),
        Decimal("357134.25"),
        Decimal("305356.16"),
        Decimal("308413.70"),
    ]


def test_months_are_anchored_at_the_breach_start_with_month_end_clamping() -> None:
    # Breach starting 2003-01-31 (the memo's example of calendar-month addition): month 1 is [01-31, 02-28),
    # month 2 [02-28, 03-31), from the anchor each time (01-31 + 2 months = 03-31, not 02-28 + 1 month = 03-28).
    ledger = BuyerLedger(Decimal("1000"), Decimal("0"), d("2003-01-01"))
    computation = monthly_rates_on_outstanding(ledger, SLD_RATES, d("2003-01-31"), d("2003-04-01"))
    assert [(line.start, line.end, line.days_in_month) for line in computation.lines] == [
        (d("2003-01-31"), d("2003-02-28"), 28),
        (d("2003-02-28"), d("2003-03-31"), 31),
        (d("2003-03-31"), d("2003-04-30"), 30),
    ]
    # No interest (rate 0): 2% x 1,000 + 3% x 1,000 + 3% x 1,000 x 1/30 = 20 + 30 + 1 = 51.00
    assert computation.amount == Decimal("51.00")


def test_rounding_is_half_up() -> None:
    # Principal 100.25, no interest, breach from the ledger's first day for exactly one month:
    # 2% x 100.25 = 2.005 exactly -> 2.01 half-up (half-even would give 2.00).
    ledger = BuyerLedger(Decimal("100.25"), Decimal("0"), d("2003-06-01"))
    assert monthly_rates_on_outstanding(ledger, SLD_RATES, d("2003-06-01"), d("2003-07-01")).amount == Decimal("2.01")


def test_rounding_happens_once_at_the_end() -> None:
    # Principal 100.15, no interest, two whole months: 2% x 100.15 = 2.003 and 3% x 100.15 = 3.0045.
    # Sum 5.0075 -> 5.01. Rounding each month first would give 2.00 + 3.00 = 5.00.
    ledger = BuyerLedger(Decimal("100.15"), Decimal("0"), d("2003-06-01"))
    computation = monthly_rates_on_outstanding(ledger, SLD_RATES, d("2003-06-01"), d("2003-08-01"))
    assert [line.amount for line in computation.lines] == [Decimal("2.003"), Decimal("3.0045")]
    assert computation.amount == Decimal("5.01")


def test_expense_interest_of_an_invoice_paid_in_two_parts() -> None:
    # bristol invoices 4,200.00 on 2004-02-17; 2,000.00 paid 02-20, 2,200.00 paid 03-12 (paid in full on 03-12).
    # Interest runs on the whole invoice from 02-17 (included) to 03-12 (excluded): 13 days of February 2004
    # (17..29, a leap year) + 11 of March = 24 days. 15% x 4,200.00 x 24/365 = 41.42465753 -> 41.42
    computation = simple_interest_on_amount(Decimal("4200.00"), Decimal("0.15"), d("2004-02-17"), d("2004-03-12"))
    assert computation.amount == Decimal("41.42")
    assert "24/365" in computation.summary


def test_expense_interest_half_up() -> None:
    # 15% x 36.50 x 3/365 = 5.475 x 3/365 = 16.425/365 = 0.045 exactly -> 0.05 half-up (half-even gives 0.04).
    interest = simple_interest_on_amount(Decimal("36.50"), Decimal("0.15"), d("2004-01-01"), d("2004-01-04"))
    assert interest.amount == Decimal("0.05")
    # Zero days (paid on the invoice date): no interest.
    same_day = simple_interest_on_amount(Decimal("36.50"), Decimal("0.15"), d("2004-01-01"), d("2004-01-01"))
    assert same_day.amount == Decimal("0.00")


# --- end to end: pipeline.check on a small fact log ----------------------------------------------------------------

THREE_MONTH_LOG = [
    {"id": "c1", "type": "closing", "date": "2003-05-09"},
    # sds is paid the interest accrued from the Closing to 06-29: 500,000 x 12% x 52/365 = 8,547.945... floored.
    {"id": "ip-sds", "type": "interest_payment", "date": "2003-06-30", "buyer": "sds", "amount": "8547.94"},
    {"id": "cv-alpha", "type": "conversion", "date": "2003-07-01", "buyer": "alpha", "principal": "50000.00"},
    # Form D due 2003-05-09 + 15 = Saturday 05-24 -> 05-27 (Memorial Day 05-26); filed 2003-08-15.
    {"id": "form-d", "type": "sec_filing", "date": "2003-08-15", "form": "D"},
]


def _write(tmp_path: Path, facts: list[dict[str, Any]]) -> Path:
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    return path


def _only(report: dict[str, Any], rule: str) -> dict[str, Any]:
    found = [o for o in report["obligations"] if o["rule"] == rule]
    assert len(found) == 1, found
    return found[0]


def _amounts(obligation: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(r["kind"], r["buyer"]): r["amount"] for r in obligation["remedies"]}


def test_sld_over_three_months_with_a_conversion_in_the_middle(tmp_path: Path) -> None:
    report = check([_write(tmp_path, THREE_MONTH_LOG)], AMNIS_RULES, d("2003-09-30")).report
    form_d = _only(report, "form-d")
    assert {k: form_d[k] for k in ("beneficiary", "trigger", "due", "status", "breach_start", "cured_on")} == {
        "beneficiary": None,
        "trigger": "c1",
        "due": "2003-05-27",
        "status": "cured",
        "breach_start": "2003-05-28",
        "cured_on": "2003-08-15",
    }
    # (08-15 + 1) - 05-28 = 4 (May) + 30 + 31 + 15 = 80 days
    assert form_d["days_in_breach"] == 80
    # Period [05-28, 08-16): month 1 [05-28, 06-28) 31/31 days at 2%; month 2 [06-28, 07-28) 30/30 at 3%;
    # month 3 [07-28, 08-28) 19/31 days at 3%. Days of interest from the Closing: to 05-28 19, to 06-28 50, to 07-28 80.
    # alpha: m1 base 350,000 + 42,000 x 19/365 = 352,186.30136986 -> 7,043.72602740
    #        m2 base 350,000 + 42,000 x 50/365 = 355,753.42465753 -> 10,672.60273973
    #        m3 base: principal 300,000 from 07-01; interest 42,000 x 53/365 (05-09 to 07-01) + 36,000 x 27/365
    #           (07-01 to 07-28) = 6,098.63013699 + 2,663.01369863; base 308,761.64383562
    #           -> x 3% x 19/31 = 5,677.23022537
    #        total 23,393.55899250 -> 23,393.56
    # sds:   m1 500,000 + 60,000 x 19/365 = 503,123.28767123 -> 10,062.46575342
    #        m2 500,000 + 60,000 x 50/365 = 508,219.17808219 -> 15,246.57534247
    #        m3 500,000 + 60,000 x 80/365 - 8,547.94 = 504,602.74493151 -> x 3% x 19/31 = 9,278.17950360
    #        total 34,587.22059949 -> 34,587.22
    # bristol: m1 150,000 + 18,000 x 19/365 = 150,936.98630137 -> 3,018.73972603
    #        m2 150,000 + 18,000 x 50/365 = 152,465.75342466 -> 4,573.97260274
    #        m3 150,000 + 18,000 x 80/365 = 153,945.20547945 -> x 3% x 19/31 = 2,830.60539107
    #        total 10,423.31771984 -> 10,423.32
    assert _amounts(form_d) == {
        ("standard_liquidated_damages", "alpha"): "23393.56",
        ("standard_liquidated_damages", "bristol"): "10423.32",
        ("standard_liquidated_damages", "sds"): "34587.22",
    }


def test_as_of_in_the_middle_of_a_breach(tmp_path: Path) -> None:
    # Same log as of 2003-07-15: Form D (filed 08-15) does not exist yet; the breach is open.
    report = check([_write(tmp_path, THREE_MONTH_LOG)], AMNIS_RULES, d("2003-07-15")).report
    assert report["as_of"] == "2003-07-15"
    form_d = _only(report, "form-d")
    assert (form_d["status"], form_d["breach_start"], form_d["cured_on"]) == ("breached", "2003-05-28", None)
    # Days counted to the as-of date: (07-15 + 1) - 05-28 = 4 + 30 + 15 = 49
    assert form_d["days_in_breach"] == 49
    # Period [05-28, 07-16): month 1 whole (as above); month 2 [06-28, 07-28): 18 of 30 days (06-28..07-15).
    # The conversion of 07-01 does not touch month 2's base (taken on 06-28).
    # alpha   7,043.72602740 + 10,672.60273973 x 18/30 (6,403.56164384) = 13,447.28767124 -> 13,447.29
    # sds     10,062.46575342 + 15,246.57534247 x 18/30 (9,147.94520548) = 19,210.41095890 -> 19,210.41
    # bristol 3,018.73972603 + 4,573.97260274 x 18/30 (2,744.38356164) = 5,763.12328767 -> 5,763.12
    assert _amounts(form_d) == {
        ("standard_liquidated_damages", "alpha"): "13447.29",
        ("standard_liquidated_damages", "bristol"): "5763.12",
        ("standard_liquidated_damages", "sds"): "19210.41",
    }
    assert report["facts"]["after_as_of"] == 1  # the Form D filing of 08-15


INVOICE_LOG = [
    {"id": "c1", "type": "closing", "date": "2003-05-09"},
    {"id": "inv", "type": "invoice", "date": "2004-02-17", "buyer": "bristol", "amount": "4200.00"},
    {"id": "pay-1", "type": "payment", "date": "2004-02-20", "buyer": "bristol", "amount": "2000.00", "ref": "inv"},
    {"id": "pay-2", "type": "payment", "date": "2004-03-12", "buyer": "bristol", "amount": "2200.00", "ref": "inv"},
]


def test_expense_paid_in_two_parts_end_to_end(tmp_path: Path) -> None:
    report = check([_write(tmp_path, INVOICE_LOG)], AMNIS_RULES, d("2004-03-31")).report
    expense = _only(report, "expense-reimbursement")
    # Invoice Tuesday 2004-02-17: 02-18 (1), 02-19 (2), 02-20 (3), 02-23 (4), 02-24 (5) = due.
    # 2,000.00 on 02-20 is not the whole; 2,000.00 + 2,200.00 = 4,200.00 on 03-12: cured on 03-12.
    assert {k: expense[k] for k in ("beneficiary", "trigger", "due", "status", "breach_start", "cured_on")} == {
        "beneficiary": "bristol",
        "trigger": "inv",
        "due": "2004-02-24",
        "status": "cured",
        "breach_start": "2004-02-25",
        "cured_on": "2004-03-12",
    }
    # (03-12 + 1) - 02-25 = 5 (Feb 25..29) + 12 = 17 days
    assert expense["days_in_breach"] == 17
    # Interest: 15% x 4,200.00 x 24/365 (02-17 to 03-12 excluded) = 41.42465753 -> 41.42
    # SLD bristol: period [02-25, 03-13); month 1 [2004-02-25, 2004-03-25) = 29 days, 17 in breach.
    # Base on 02-25: 150,000 + 150,000 x 12% x 292/365 (2003-05-09 to 2004-02-25: 23+30+31+31+30+31+30+31+31+24)
    #   = 150,000 + 14,400.00 = 164,400.00; 2% x 164,400 x 17/29 = 1,927.44827586 -> 1,927.45
    assert _amounts(expense) == {
        ("interest", "bristol"): "41.42",
        ("standard_liquidated_damages", "bristol"): "1927.45",
    }
    assert expense["evidence"][:1] == ["inv"] and {"pay-1", "pay-2"} <= set(expense["evidence"])


def test_expense_as_of_before_the_second_payment(tmp_path: Path) -> None:
    report = check([_write(tmp_path, INVOICE_LOG)], AMNIS_RULES, d("2004-03-01")).report
    expense = _only(report, "expense-reimbursement")
    assert (expense["status"], expense["breach_start"], expense["cured_on"]) == ("breached", "2004-02-25", None)
    # (03-01 + 1) - 02-25 = 6 days
    assert expense["days_in_breach"] == 6
    # Interest to as_of + 1 day: 02-17 to 03-02 excluded = 13 + 1 = 14 days; 15% x 4,200 x 14/365 = 24.16438356
    # SLD: 2% x 164,400.00 x 6/29 = 680.27586207 -> 680.28
    assert _amounts(expense) == {
        ("interest", "bristol"): "24.16",
        ("standard_liquidated_damages", "bristol"): "680.28",
    }
