"""``covenant upcoming`` looks ahead: obligations that will arise in the window, and what open breaches cost a day.

The look-ahead is held to the engine itself: what it predicts on one day is
what the evaluation finds once the day has come. The per-day cost is held to
the remedies' own arithmetic (the month's rate x base / days in the month).
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from covenant.calendar import as_date
from covenant.cli.main import main
from covenant.law.formulas import to_cents
from covenant.law.remedies import ledgers_from_facts, remedy_lines
from covenant.pipeline import check
from covenant.report.upcoming import SOURCES, open_breaches, upcoming_entries

from .conftest import AMNIS_RULES, EXAMPLE_FACTS, ROOT


def upcoming(*args: str | Path) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["upcoming", *map(str, args), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_the_december_reserve_list_is_due_before_it_has_arisen() -> None:
    """The issue's case: on 2003-12-20 nothing due in 30 days has arisen, yet December's list is due 2004-01-08."""
    data = upcoming(EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--as-of", "2003-12-20", "--within", "30")
    ahead = [i for i in data["upcoming"] if i["rule"] == "reserve-list"]
    assert [(i["beneficiary"], i["trigger"], i["due"], i["source"], i["arises"]) for i in ahead] == [
        (buyer, "2003-12-31", "2004-01-08", "calendar", "2003-12-31") for buyer in ("alpha", "bristol", "sds")
    ]
    assert ahead[0]["met_by"] == "a delivery (what: reserve_list; period: 2003-12; to: alpha)"
    assert "business day 5 after 2003-12-31" in ahead[0]["explanation"]
    text = CliRunner().invoke(
        main, ["upcoming", str(EXAMPLE_FACTS), "--rules", str(AMNIS_RULES), "--as-of", "2003-12-20", "--within", "30"]
    )
    assert "Nothing falls due" not in text.stdout and "2004-01-08" in text.stdout


def test_a_quarters_report_ahead_names_its_form_from_the_rules_terms() -> None:
    data = upcoming(EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--as-of", "2004-09-20", "--within", "60")
    [report] = [i for i in data["upcoming"] if i["rule"] == "timely-sec-reports"]
    assert (report["trigger"], report["due"], report["source"]) == ("2004-09-30", "2004-11-15", "calendar")
    assert report["met_by"] == "a sec filing (form: 10-QSB; period: 2004-09-30)"  # 45 days, 11-14 a Sunday


@pytest.mark.parametrize("as_of", ["2003-06-20", "2003-09-25", "2003-12-20", "2004-03-25", "2004-06-28", "2004-11-20"])
def test_what_is_seen_ahead_is_what_the_evaluation_finds_when_the_day_comes(as_of: str) -> None:
    """Every obligation predicted for the window exists, with that due date, once its trigger's day has passed."""
    within = 45
    before = check([EXAMPLE_FACTS], AMNIS_RULES, as_of=as_date(as_of))
    ahead = [e for e in upcoming_entries(before, within) if e["source"] == "calendar"]
    assert ahead, "every one of these windows holds a period end"
    later = check([EXAMPLE_FACTS], AMNIS_RULES, as_of=as_date(as_of).add(days=within)).report
    found = {(o["rule"], o["trigger"], o["beneficiary"]): o["due"] for o in later["obligations"]}
    for entry in ahead:
        assert found.get((entry["rule"], entry["trigger"], entry["beneficiary"])) == entry["due"], entry
    # and nothing the later evaluation finds from a period end in the window, due in it, was missed
    until = as_date(as_of).add(days=within).isoformat()
    arising = {
        (o["rule"], o["trigger"], o["beneficiary"])
        for o in later["obligations"]
        if o["trigger"] and as_of < o["trigger"] <= until and o["due"] and o["due"] <= until
        and o["trigger"][4:5] == "-"  # a period end, named by its date
    }  # fmt: skip
    assert arising == {(e["rule"], e["trigger"], e["beneficiary"]) for e in ahead}


def test_fixed_dates_not_yet_arisen_are_listed_before_the_closing() -> None:
    data = upcoming(EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--as-of", "2003-05-01", "--within", "220")
    assert [(i["rule"], i["due"], i["source"], i["trigger"]) for i in data["upcoming"]] == [
        ("information-statement-filing", "2003-09-02", "fixed_date", None),  # 08-30 a Saturday, 09-01 Labor Day
        ("stockholder-approval", "2003-12-01", "fixed_date", None),  # 11-30 a Sunday
    ]
    assert "once it arises (on a closing)" in data["upcoming"][0]["explanation"]
    after = upcoming(EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--as-of", "2003-08-20", "--within", "30")
    [filing] = [i for i in after["upcoming"] if i["rule"] == "information-statement-filing"]
    assert filing["source"] == "arisen"  # the Closing happened: the report has it, listed once


def folder_with_a_schedule(tmp_path: Path) -> Path:
    folder = tmp_path / "amnis-with-coupons"
    shutil.copytree(AMNIS_RULES, folder)
    agreement = folder / "agreement.yaml"
    text = agreement.read_text(encoding="utf-8")
    text = text.replace(
        "  day_count: actual/365\n",
        "  day_count: actual/365\n"
        "  schedule:\n"
        '    - {pays: interest, first: "2003-05-31", every_months: 1, last: "2005-04-30"}\n'
        '    - {pays: principal, first: "2005-05-09", amount: "1000000.00"}\n',
        1,
    )
    agreement.write_text(text, encoding="utf-8")
    return folder


def test_the_instruments_schedule_is_one_more_source(tmp_path: Path) -> None:
    folder = folder_with_a_schedule(tmp_path)
    data = upcoming(EXAMPLE_FACTS, "--rules", folder, "--as-of", "2004-01-20", "--within", "20")
    [coupon] = [i for i in data["upcoming"] if i["source"] == "schedule"]
    assert (coupon["rule"], coupon["trigger"], coupon["due"]) == ("schedule-interest", "2004-01-31", "2004-02-02")
    assert coupon["clause"] == "Debentures" and coupon["met_by"] == "an interest payment"
    assert "is 2004-01-31 (Saturday), rolled to the next business day: 2004-02-02" in coupon["explanation"]
    maturity = upcoming(EXAMPLE_FACTS, "--rules", folder, "--as-of", "2005-04-20", "--within", "30")
    due = [(i["rule"], i["due"]) for i in maturity["upcoming"] if i["source"] == "schedule"]
    assert due == [("schedule-interest", "2005-05-02"), ("schedule-principal", "2005-05-09")]  # 04-30 a Saturday
    principal = next(i for i in maturity["upcoming"] if i["rule"] == "schedule-principal")
    assert "1,000,000.00 in total" in principal["explanation"]
    plain = upcoming(EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--as-of", "2004-01-20", "--within", "20")
    assert not [i for i in plain["upcoming"] if i["source"] == "schedule"]  # the shipped form declares none


def test_a_source_is_a_function_of_the_window() -> None:
    checked = check([EXAMPLE_FACTS], AMNIS_RULES, as_of=as_date("2003-12-20"))
    only_arisen = upcoming_entries(checked, 30, sources=SOURCES[:1])
    assert only_arisen == []  # what the command used to say: "Nothing falls due in the window"
    assert len(upcoming_entries(checked, 30)) == 3


def test_open_breaches_say_days_so_far_and_what_a_day_adds() -> None:
    as_of = "2004-03-25"
    checked = check([EXAMPLE_FACTS], AMNIS_RULES, as_of=as_date(as_of))
    breaches = open_breaches(checked)
    breached = [o for o in checked.report["obligations"] if o["status"] == "breached"]
    assert len(breaches) == len(breached) == 3
    state = checked.state
    assert state is not None
    ledgers = ledgers_from_facts(state.facts, state.agreement, state.closing or state.as_of)
    for breach in breaches:
        key = (breach["rule"], breach["trigger"], breach["beneficiary"])
        entry = next(o for o in breached if (o["rule"], o["trigger"], o["beneficiary"]) == key)
        assert breach["days_in_breach"] == entry["days_in_breach"]
        assert (as_date(as_of) - as_date(breach["breach_start"])).days + 1 == breach["days_in_breach"]
        assert {(a["buyer"], a["amount"]) for a in breach["accrued"]} == {
            (r["buyer"], r["amount"]) for r in entry["remedies"] if "amount" in r
        }
        obligation = next(o for o in state.obligations.values() if (o.rule_id, o.trigger_id, o.beneficiary) == key)
        for line, per_day in zip(
            [r for r in remedy_lines(obligation, state, checked.form, ledgers) if r.amount is not None],
            breach["per_day"],
            strict=True,
        ):
            assert line.computation is not None
            month = line.computation.lines[-1]  # standard liquidated damages: rate x base / days in the month
            expected = to_cents(month.rate * month.base / month.days_in_month)
            assert (per_day["buyer"], Decimal(per_day["amount"])) == (line.buyer, expected)
        assert Decimal(breach["per_day_total"]) == sum(Decimal(p["amount"]) for p in breach["per_day"])
    use_of_proceeds = next(b for b in breaches if b["rule"] == "use-of-proceeds")
    assert [p["buyer"] for p in use_of_proceeds["per_day"]] == ["alpha", "bristol", "sds"]
    assert all(Decimal(p["amount"]) > 0 for p in use_of_proceeds["per_day"])


def test_no_open_breach_no_cost() -> None:
    checked = check([EXAMPLE_FACTS], AMNIS_RULES, as_of=as_date("2003-05-01"))
    assert open_breaches(checked) == []
    data = upcoming(EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--as-of", "2003-05-01", "--within", "10")
    assert data["open_breaches"] == [] and data["per_day_total"] == "0.00"


def test_a_scheduled_payment_ahead_names_its_rule_holder_and_amount() -> None:
    """The Oil-Dri coupon of 2023-11-15: per holder, with the amount the evaluation will compute."""
    from click.testing import CliRunner

    from covenant.cli.main import main

    rules = ROOT / "rules" / "oil-dri-nppsa-2020"
    log = ROOT / "facts" / "oil-dri-2020-2023.jsonl"
    window = ["--as-of", "2023-11-01", "--within", "30", "--format", "json"]
    result = CliRunner().invoke(main, ["upcoming", str(log), "--rules", str(rules), *window])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    items = found["upcoming"] if isinstance(found, dict) else found
    coupons = sorted((i["beneficiary"], i["due"], i["met_by"]) for i in items if i["rule"] == "interest-payment")
    # Scheduled principal after three installments: pica 4,500,000 - 3 x 450,000 = 3,150,000 x 1.975% = 62,212.50.
    assert [(who, due) for who, due, _ in coupons] == [
        ("pica", "2023-11-15"),
        ("pruco", "2023-11-15"),
        ("prulegacy", "2023-11-15"),
    ]
    assert "62212.50" in coupons[0][2] and "48387.50" in coupons[1][2] and "27650.00" in coupons[2][2]
