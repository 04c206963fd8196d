"""The Oil-Dri form's reporting duties (5A(i), 5A(ii), 5B, 5A(v)) on the real engine and the real files.

The rule folder ``rules/oil-dri-nppsa-2020`` lints clean and its scenarios
pass; the example log ``facts/oil-dri-2020-2023.jsonl`` gives the reporting
findings its README section writes down (facts/README.md, "Reporting"); and
the input errors of the form's spec (a second ``financials`` fact for a
period, a party that is not a holder) are refused with ``FILE:LINE: field:
message`` and exit 2.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from covenant.pipeline import evaluate, evaluator_for, load_facts

from .conftest import ROOT

OIL_DRI_RULES = ROOT / "rules" / "oil-dri-nppsa-2020"
OIL_DRI_FACTS = ROOT / "facts" / "oil-dri-2020-2023.jsonl"
REPORTING = ("quarterly-statements", "annual-statements", "officer-certificate", "notice-of-default")


def covenant(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "covenant", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_the_folder_lints_clean() -> None:
    result = covenant("lint", OIL_DRI_RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip().endswith(": clean"), result.stderr
    for rule in REPORTING:
        assert f"{rule}.yaml" in {p.name for p in (OIL_DRI_RULES / "scenarios").iterdir()}


def test_the_scenarios_pass() -> None:
    result = covenant("test", OIL_DRI_RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout, result.stdout
    for rule in REPORTING:
        assert f"PASS  {rule}::" in result.stdout, rule


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    evaluator = evaluator_for(OIL_DRI_RULES)
    log = load_facts([OIL_DRI_FACTS], evaluator.form)
    return evaluate(evaluator, log).report


def _find(report: dict[str, Any], rule: str, trigger: str, beneficiary: str) -> dict[str, Any]:
    found = [
        o for o in report["obligations"] if (o["rule"], o["trigger"], o["beneficiary"]) == (rule, trigger, beneficiary)
    ]
    assert len(found) == 1, f"{rule} {trigger} {beneficiary}: {len(found)} obligations"
    return found[0]


HOLDERS = ("pica", "pruco", "prulegacy")
# (rule, trigger): (status, due, breach_start, cured_on, days_in_breach), the same for each holder.
FINDINGS: dict[tuple[str, str], tuple[str, str, str | None, str | None, int]] = {
    # 2020-07-31 + 120 = Saturday 2020-11-28 -> Monday 2020-11-30; the 10-K of 2020-10-09 meets it.
    ("annual-statements", "2020-07-31"): ("fulfilled", "2020-11-30", None, None, 0),
    # 2021-07-31 + 120 = Sunday 2021-11-28 -> 2021-11-29; 10-K on 2021-12-23: (12-23 + 1) - 11-30 = 24 days.
    ("annual-statements", "2021-07-31"): ("cured", "2021-11-29", "2021-11-30", "2021-12-23", 24),
    ("officer-certificate", "2021-07-31"): ("cured", "2021-11-29", "2021-11-30", "2021-12-23", 24),
    # 2022-07-31 + 120 = Monday 2022-11-28; 10-K on 2023-01-10: (01-10 + 1) - 2022-11-29 = 43 days.
    ("annual-statements", "2022-07-31"): ("cured", "2022-11-28", "2022-11-29", "2023-01-10", 43),
    ("officer-certificate", "2022-07-31"): ("cured", "2022-11-28", "2022-11-29", "2023-01-10", 43),
    ("annual-statements", "2023-07-31"): ("fulfilled", "2023-11-28", None, None, 0),
    # 10-Qs on time: 2020-10-31 + 60 = 2020-12-30; 2023-01-31 + 60 = Saturday 04-01 -> Monday 2023-04-03;
    # 2023-10-31 + 60 = Saturday 12-30 -> (New Year's Day 2024-01-01) -> 2024-01-02.
    ("quarterly-statements", "2020-10-31"): ("fulfilled", "2020-12-30", None, None, 0),
    ("quarterly-statements", "2023-01-31"): ("fulfilled", "2023-04-03", None, None, 0),
    ("quarterly-statements", "2023-10-31"): ("fulfilled", "2024-01-02", None, None, 0),
    ("officer-certificate", "2023-10-31"): ("fulfilled", "2024-01-02", None, None, 0),
    # Aware Thursday 2022-12-01 + 5 = Tuesday 2022-12-06; notices on 2022-12-09: 3 days.
    ("notice-of-default", "aware-fy2022-annual"): ("cured", "2022-12-06", "2022-12-07", "2022-12-09", 3),
}


@pytest.mark.parametrize(("rule", "trigger"), list(FINDINGS))
def test_the_example_log_gives_the_readme_findings(report: dict[str, Any], rule: str, trigger: str) -> None:
    for holder in HOLDERS:
        found = _find(report, rule, trigger, holder)
        got = (found["status"], found["due"], found["breach_start"], found["cured_on"], found["days_in_breach"])
        assert got == FINDINGS[rule, trigger], holder


def test_the_example_log_counts(report: dict[str, Any]) -> None:
    """87 reporting obligations as of 2023-12-08: 72 met and 15 cured, none open (facts/README.md)."""
    assert report["as_of"] == "2023-12-08"
    mine = [o for o in report["obligations"] if o["rule"] in REPORTING]
    assert Counter(o["rule"] for o in mine) == {
        "quarterly-statements": 30,
        "annual-statements": 12,
        "officer-certificate": 42,
        "notice-of-default": 3,
    }
    assert Counter(o["status"] for o in mine) == {"fulfilled": 72, "cured": 15}


def test_the_example_log_runs_from_the_command_line() -> None:
    command = ["check", OIL_DRI_FACTS, "--rules", OIL_DRI_RULES, "--format", "json", "--no-progress"]
    result = covenant(*command)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["as_of"] == "2023-12-08"


# (rule, trigger): (status, breach_start, cured_on, days_in_breach) of the Events of Default, owed to all holders.
EVENTS_OF_DEFAULT = {
    # The four quarters to 2022-04-30: 7,872,000 / 5,922,000 = 1.3293 < 1.50; waived 2022-08-15.
    ("covenant-default", "fixed-charges-coverage/2022-04-30"): ("waived", "2022-04-30", "2022-08-15", 108),
    # The notices of default due 2022-12-06, delivered 2022-12-09.
    ("covenant-default", "notice-of-default/aware-fy2022-annual"): ("cured", "2022-12-07", "2022-12-09", 3),
    # Aware 2022-12-01 + 30 = 2022-12-31 (Saturday), 2023-01-02 (New Year's Day observed): 2023-01-03; from 01-04.
    ("other-default", "annual-statements/2022-07-31"): ("cured", "2023-01-04", "2023-01-10", 7),
    # prulegacy's coupon of 2023-05-15 paid on the 7th Business Day: the 5th was 2023-05-22.
    ("payment-default-interest", "interest-payment/2023-05-15"): ("cured", "2023-05-23", "2023-05-24", 2),
}


def test_the_example_log_gives_the_readmes_events_of_default_and_default_interest(report: dict[str, Any]) -> None:
    found = {
        (o["rule"], o["trigger"]): (o["status"], o["breach_start"], o["cured_on"], o["days_in_breach"])
        for o in report["obligations"]
        if o["rule"] in ("covenant-default", "other-default", "payment-default-interest", "payment-default-principal")
    }
    assert found == EVENTS_OF_DEFAULT
    # By election (pica 27,961.88, pruco 21,748.13, prulegacy 12,427.50) and on the two late coupons
    # (pruco 69,125.00 x 5.95% x 7/360 = 79.97; prulegacy 31,600.00 x 10.25% x 9/360 = 80.98).
    assert report["summary"]["totals"]["default_interest"] == {
        "pica": "27961.88",
        "pruco": "21828.10",
        "prulegacy": "12508.48",
        "total": "62298.46",
    }
    tests = [o for o in report["obligations"] if o["rule"] == "fixed-charges-coverage" and o["breach_start"]]
    assert [(o["trigger"], o["measure"]["value"], o["status"]) for o in tests] == [("2022-04-30", "1.3293", "waived")]
    acts = sorted((o["rule"], o["trigger"], o["valid"]) for o in report["obligations"] if "valid" in o)
    assert acts == [
        ("acceleration", "accel-2022-07-01", False),
        ("acceleration", "accel-2022-07-15", True),
        ("rescission", "rescind-2022-08-22", True),
    ]


def test_input_errors_of_the_form_exit_2(tmp_path: Path) -> None:
    """A second financials fact for a period, and a party that is not a holder: FILE:LINE: field: message."""
    figures = {
        "consolidated_net_income": "-120000.00",
        "interest_charges": "110000.00",
        "lease_rentals": "1360000.00",
        "income_taxes": "-30000.00",
        "consolidated_debt": "9000000.00",
        "consolidated_adjusted_net_worth": "198100000.00",
    }
    lines = [
        {"id": "closing", "type": "closing", "date": "2020-05-15"},
        {"id": "fin-a", "type": "financials", "date": "2020-12-09", "period": "2020-10-31", **figures},
        {"id": "fin-b", "type": "financials", "date": "2021-03-10", "period": "2021-01-31", **figures},
        {"id": "fin-c", "type": "financials", "date": "2021-03-12", "period": "2020-10-31", **figures},
        {"id": "int-1", "type": "payment", "date": "2020-11-16", "to": "pimco", "kind": "interest",
         "due": "2020-11-15", "amount": "88875.00"},
        {"id": "cert-1", "type": "delivery", "date": "2020-12-09", "to": "prudential", "what": "officer_certificate",
         "period": "2020-10-31"},
        {"id": "acc-1", "type": "acceleration", "date": "2021-01-05", "by": ["pica", "pgim"], "scope": "all"},
    ]  # fmt: skip
    log = tmp_path / "oil.jsonl"
    log.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = covenant("check", log, "--rules", OIL_DRI_RULES, "--no-progress")
    assert result.returncode == 2, result.stdout
    holders = "the agreement's holders are pica, pruco, prulegacy"
    assert result.stderr.strip().splitlines() == [
        f"{log}:4: period: a second financials fact with period '2020-10-31'; the first is 'fin-a' at {log}:2 "
        "(one financials fact per period)",
        f"{log}:5: to: unknown holder 'pimco'; {holders}",
        f"{log}:6: to: unknown holder 'prudential'; {holders}",
        f"{log}:7: by: unknown holder 'pgim'; {holders}",
    ]
    lenient = covenant("check", log, "--rules", OIL_DRI_RULES, "--no-progress", "--skip-invalid")
    assert lenient.returncode == 0, lenient.stderr
    assert f"{log}:4: period: a second financials fact" in lenient.stderr


def test_the_facts_page_says_one_financials_fact_per_period() -> None:
    result = covenant("vocabulary", OIL_DRI_RULES)
    assert result.returncode == 0, result.stderr
    assert "At most one `financials` fact per `period`: a second one is an input error." in result.stdout
