"""Financial tests, Events of Default and default rates: the language's pieces, then the real engine.

The Oil-Dri folder's scenarios (run by test_scenarios.py) check the form's
readings; here are the constructs themselves, each in a form other than
Oil-Dri's where it matters (a monthly test with limits that step down, an
annualised trailing sum), so that a construct is not tested only through the
one agreement it was written for.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from covenant.calendar import as_date
from covenant.cli.main import main
from covenant.language.expressions import fields_read
from covenant.language.model import FinancialTest, Grace
from covenant.law.defaults import Span, _clusters
from covenant.law.measures import Computation, Figures, UndefinedMeasure

from .conftest import ROOT

OIL_DRI = ROOT / "rules" / "oil-dri-nppsa-2020"
FIGURES = {"consolidated_net_income": "0", "interest_charges": "0", "lease_rentals": "0", "income_taxes": "0"}


def _rule(**changes: object) -> FinancialTest:
    rule: dict[str, object] = {
        "id": "t",
        "clause": "1",
        "title": "t",
        "kind": "test",
        "text": "t",
        "every": "month_end",
        "starting": "2020-06",
        "figures": {"fact": "financials"},
        "measure": {"divide": [{"last": "debt"}, {"annualise": {"sum": "ebitda"}}]},
        "limit": {"at_most": "3.50"},
    }
    rule.update(changes)
    return FinancialTest.model_validate(rule)


def test_a_measure_reads_its_fields_in_order() -> None:
    rule = _rule(measure={"divide": [{"sum": ["a", "b"]}, {"subtract": [{"last": "c"}, {"sum": "a"}]}]})
    assert fields_read(rule.measure) == ["a", "b", "c"]


def test_a_test_has_one_limit_or_limits_by_date_in_order() -> None:
    with pytest.raises(ValidationError, match="not both"):
        _rule(limits=[{"from": "2020-06-30", "at_most": "3.5"}])
    with pytest.raises(ValidationError, match="exactly one of at_least"):
        _rule(limit={"at_most": "3.5", "at_least": "1"})
    with pytest.raises(ValidationError, match="date order"):
        _rule(limit=None, limits=[{"from": "2020-09-30", "at_most": "3"}, {"from": "2020-06-30", "at_most": "3.5"}])
    stepped = _rule(
        limit=None,
        window=12,
        limits=[{"from": "2020-06-30", "window": 4, "at_most": "3.50"}, {"from": "2021-03-31", "at_most": "2.75"}],
    )
    assert stepped.limit_on("2020-05-31") is None
    first, window = stepped.limit_on("2020-12-31") or (None, 0)
    assert first is not None and first.comparison() == ("at_most", Decimal("3.50")) and window == 4
    last, window = stepped.limit_on("2021-06-30") or (None, 0)
    assert last is not None and last.comparison() == ("at_most", Decimal("2.75")) and window == 12


def test_a_grace_counts_one_way() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        Grace.model_validate({"days_after_due": 5, "business_days_after_due": 5})
    with pytest.raises(ValidationError, match="needs `notice`"):
        Grace.model_validate({"days_after_notice": 30})
    assert Grace.model_validate({"days_after_notice": 30, "notice": [{"fact": "awareness"}]}).days_after_notice == 30


def test_annualising_scales_a_trailing_sum_to_a_year_and_says_so() -> None:
    window = [(as_date(f"2020-0{m}-28"), Figures(f"m{m}", {"ebitda": "100", "debt": "900"})) for m in (3, 4, 5, 6)]
    computation = Computation(window, periods_per_year=12)
    value = computation.value(_rule().measure)
    # 900 / (400 x 12/4 = 1,200) = 0.75
    assert value == Decimal("0.75")
    assert "annualised: 400 x 12/4 = 1200.0000" in computation.steps


def test_a_division_by_zero_is_undefined_not_a_crash() -> None:
    window = [(as_date("2020-06-30"), Figures("m", {"ebitda": "0", "debt": "900"}))]
    with pytest.raises(UndefinedMeasure, match="by zero"):
        Computation(window, periods_per_year=12).value(_rule().measure)


def test_events_of_default_that_overlap_or_touch_are_one_stretch() -> None:
    day = as_date
    spans = [
        Span("a", "x/1", day("2020-01-01"), day("2020-01-10")),
        Span("b", "y/1", day("2020-01-11"), day("2020-01-20")),  # touches: no day without a default
        Span("c", "z/1", day("2020-02-01"), None),
    ]
    assert _clusters(spans) == [(day("2020-01-01"), day("2020-01-20")), (day("2020-02-01"), None)]


def _monthly_folder(tmp_path: Path) -> Path:
    """The Oil-Dri folder with one more rule: a monthly leverage test whose limit steps down and window grows."""
    folder = tmp_path / "rules" / "leverage"
    shutil.copytree(OIL_DRI, folder, ignore=shutil.ignore_patterns("scenarios"))
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    (folder / "leverage.yaml").write_text(
        "id: leverage\nclause: 6A(1)\ntitle: leverage\nkind: test\n"
        "text: The Company will not permit the Fixed Charges Coverage Ratio\n"
        "every: month_end\nstarting: '2020-06'\nfigures: {fact: financials}\n"
        "measure:\n  divide:\n    - last: consolidated_debt\n    - annualise: {sum: consolidated_net_income}\n"
        "limits:\n"
        "  - {from: '2020-06-30', window: 2, at_most: '3.50'}\n"
        "  - {from: '2020-08-31', window: 3, at_most: '3.00'}\n",
        encoding="utf-8",
    )
    return folder


def _financials(fact_id: str, period: str, income: str, debt: str) -> dict[str, str]:
    fields = {**FIGURES, "consolidated_net_income": income, "consolidated_debt": debt}
    return {
        "id": fact_id,
        "type": "financials",
        "date": period,
        "period": period,
        **fields,
        **{"consolidated_adjusted_net_worth": "1000"},
    }


def test_a_limit_that_steps_down_over_a_window_that_grows(tmp_path: Path) -> None:
    folder = _monthly_folder(tmp_path)
    facts = [
        {"id": "c1", "type": "closing", "date": "2020-05-15"},
        _financials("m5", "2020-05-31", "100", "0"),
        # 2020-06-30, two months: 600 / (200 x 12/2 = 1,200) = 0.5000, at most 3.50: met.
        _financials("m6", "2020-06-30", "100", "600"),
        # 2020-07-31, still two months: 4,300 / 1,200 = 3.5833: breached from 2020-07-31.
        _financials("m7", "2020-07-31", "100", "4300"),
        # 2020-08-31, three months, the limit down to 3.00: 3,700 / (300 x 12/3 = 1,200) = 3.0833: breached.
        _financials("m8", "2020-08-31", "100", "3700"),
    ]
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(log), "--rules", str(folder), "--format", "json"])
    assert result.exit_code == 0, result.output
    tests = {o["trigger"]: o for o in json.loads(result.stdout)["obligations"] if o["rule"] == "leverage"}
    assert {day: (o["status"], o["measure"]) for day, o in tests.items()} == {
        "2020-06-30": ("fulfilled", {"value": "0.5000", "limit": "3.50", "test": "at_most"}),
        "2020-07-31": ("breached", {"value": "3.5833", "limit": "3.50", "test": "at_most"}),
        "2020-08-31": ("breached", {"value": "3.0833", "limit": "3.00", "test": "at_most"}),
    }
    assert tests["2020-07-31"]["breach_start"] == "2020-07-31"
    assert "annualised: 200 x 12/2 = 1200.0000" in tests["2020-07-31"]["explanation"]


def test_lint_names_a_figure_the_vocabulary_lacks(tmp_path: Path) -> None:
    folder = _monthly_folder(tmp_path)
    rule = folder / "leverage.yaml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("last: consolidated_debt", "last: debt"), "utf-8")
    result = CliRunner().invoke(main, ["lint", str(folder)])
    assert result.exit_code == 1
    assert f"{rule}:" in result.output and "a financials fact has no field 'debt'" in result.output


def test_a_report_without_tests_has_no_test_table_and_no_measure_columns() -> None:
    """The Amnis form has no financial test: its text and csv are as before (the golden files hold the bytes)."""
    example = ROOT / "facts" / "amnis-2003-2004.jsonl"
    rules = ROOT / "rules" / "amnis-spa-2003"
    text = CliRunner().invoke(main, ["check", str(example), "--rules", str(rules)]).stdout
    csv = CliRunner().invoke(main, ["check", str(example), "--rules", str(rules), "--format", "csv"]).stdout
    assert "Financial tests" not in text and "measure_value" not in csv


def test_monthly_figures_tested_at_quarter_ends(tmp_path: Path) -> None:
    """``figures.every``: the facts report months, the test runs at fiscal quarter ends over three of them."""
    folder = _monthly_folder(tmp_path)
    (folder / "leverage.yaml").write_text(
        "id: leverage\nclause: 6A(1)\ntitle: leverage\nkind: test\n"
        "text: The Company will not permit the Fixed Charges Coverage Ratio\n"
        "every: fiscal_quarter_end\nstarting: '2020-07'\nfigures: {fact: financials, every: month_end}\n"
        "window: 3\nmeasure: {sum: consolidated_net_income}\nlimit: {at_least: '250'}\n",
        encoding="utf-8",
    )
    facts = [{"id": "c1", "type": "closing", "date": "2020-05-15"}]
    # Fiscal quarters of the Oil-Dri form end 31 July and 31 October: May + June + July = 300, then
    # August + September + October = 240. The months between are no test date.
    for month, income in (("05-31", "100"), ("06-30", "100"), ("07-31", "100"), ("08-31", "80")):
        facts.append(_financials(f"m{month}", f"2020-{month}", income, "0"))
    for month, income in (("09-30", "80"), ("10-31", "80")):
        facts.append(_financials(f"m{month}", f"2020-{month}", income, "0"))
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(log), "--rules", str(folder), "--format", "json"])
    assert result.exit_code == 0, result.output
    tests = {o["trigger"]: o for o in json.loads(result.stdout)["obligations"] if o["rule"] == "leverage"}
    assert {day: (o["status"], o["measure"]["value"]) for day, o in tests.items()} == {
        "2020-07-31": ("fulfilled", "300.0000"),
        "2020-10-31": ("breached", "240.0000"),
    }


def test_an_obligation_owed_to_the_party_of_a_role(tmp_path: Path) -> None:
    """``owed_to: {role: agent}``: one obligation, owed to the agent, met by a delivery to it."""
    folder = _monthly_folder(tmp_path)
    agreement = folder / "agreement.yaml"
    agreement.write_text(
        agreement.read_text(encoding="utf-8").replace(
            "parties:\n",
            "parties:\n  - id: agent\n    name: The Agent\n    role: agent\n    holder: false\n",
        ),
        encoding="utf-8",
    )
    (folder / "to-agent.yaml").write_text(
        "id: to-agent\nclause: 5A(ii)\ntitle: to the agent\nkind: duty\n"
        "text: The Company will deliver\n"
        "arises: {every: fiscal_year_end}\nowed_to: {role: agent}\ndue: {days_after: 120}\n"
        "window: {due_after_closing: true}\n"
        "met_by:\n  - fact: delivery\n    where: {what: annual_statements, to: {same_as: beneficiary}}\n",
        encoding="utf-8",
    )
    facts = [
        {"id": "c1", "type": "closing", "date": "2020-05-15"},
        {
            "id": "d1",
            "type": "delivery",
            "date": "2020-11-02",
            "to": "agent",
            "what": "annual_statements",
            "period": "2020-07-31",
        },
    ]
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(log), "--rules", str(folder), "--format", "json"])
    assert result.exit_code == 0, result.output
    owed = [
        (o["beneficiary"], o["status"]) for o in json.loads(result.stdout)["obligations"] if o["rule"] == "to-agent"
    ]
    # 2020-07-31 + 120 days = 2020-11-28, a Saturday: due Monday 2020-11-30; delivered 2020-11-02.
    assert owed == [("agent", "fulfilled")]


def test_a_figure_left_out_or_not_a_number_makes_the_test_a_review_not_a_zero() -> None:
    """An optional figure left out is not 0: the measure cannot be computed, and the test is listed for review."""
    window = [(as_date("2020-06-30"), Figures("m6", {"debt": "900"}))]
    with pytest.raises(UndefinedMeasure, match="m6 gives no ebitda"):
        Computation(window, periods_per_year=12).value(_rule().measure)
    window = [(as_date("2020-06-30"), Figures("m6", {"debt": "900", "ebitda": "n/a"}))]
    with pytest.raises(UndefinedMeasure, match="m6's ebitda is not a number: 'n/a'"):
        Computation(window, periods_per_year=12).value(_rule().measure)


def test_a_test_month_or_step_date_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValidationError, match="starting"):
        _rule(starting="2020-13")
    with pytest.raises(ValidationError, match="2020-02-30 is not a calendar date"):
        _rule(limit=None, limits=[{"from": "2020-02-30", "at_most": "3.5"}])


def test_every_format_of_a_form_with_tests_shows_them() -> None:
    """The Financial tests table in markdown and html, the measure columns in csv, the measure in the timeline."""
    log, rules = ROOT / "facts" / "oil-dri-2020-2023.jsonl", ROOT / "rules" / "oil-dri-nppsa-2020"

    def run(form: str) -> str:
        result = CliRunner().invoke(main, ["check", str(log), "--rules", str(rules), "--format", form])
        assert result.exit_code == 0, result.output
        return result.stdout

    assert "## Financial tests (28, 1 failed)" in run("markdown")
    assert "| 2022-04-30 | 6A(1) | fixed-charges-coverage | 1.3293 (limit: at least 1.50) | waived |" in run("markdown")
    html = run("html")
    assert 'aria-label="Financial tests"' in html and "Tested: 1.3293 (limit: at least 1.50)" in html
    header = run("csv").splitlines()[0].split(",")
    assert header[header.index("discharged_by") + 1 : header.index("discharged_by") + 4] == [
        "measure_value",
        "measure_limit",
        "measure_test",
    ]


def test_explain_words_a_default_rate_by_what_it_is() -> None:
    log, rules = ROOT / "facts" / "oil-dri-2020-2023.jsonl", ROOT / "rules" / "oil-dri-nppsa-2020"
    args = ["explain", str(log), "--rules", str(rules), "--rule", "default-rate", "--trigger", "election-2022-06-20"]
    result = CliRunner().invoke(main, [*args, "--beneficiary", "pica"])
    assert result.exit_code == 0, result.output
    assert "the last day it continued" in result.stdout and "cured it, late" not in result.stdout
    assert "owed to pica" in result.stdout
