"""`covenant check --coverage`: what the example history never exercises (issue 4, item 4)."""

from __future__ import annotations

from click.testing import CliRunner

from covenant.cli.main import main
from covenant.law.driver import FormEvaluator
from covenant.report.coverage import compute_coverage

from .conftest import AMNIS_RULES, EXAMPLE_FACTS


def test_check_coverage_lists_the_gaps_of_the_example() -> None:
    result = CliRunner().invoke(
        main, ["check", str(EXAMPLE_FACTS), "--rules", str(AMNIS_RULES), "--format", "json", "--coverage"]
    )
    assert result.exit_code == 0, result.output
    # The example has no corporate transaction at all (a merger by Amnis is not a 4(j) act).
    assert "rule corporate-existence was never exercised" in result.stderr
    assert "coverage: 33 of 34 rules exercised" in result.stderr
    # The report on standard output is untouched by --coverage.
    assert result.stdout.lstrip().startswith("{")


def test_coverage_is_what_the_engine_fired_each_binding_placed_in_its_rule_file(amnis: FormEvaluator) -> None:
    """Coverage re-matches nothing: an engine rule that fired marks exactly the alternative it was compiled from."""
    form = amnis.form
    arose_only = compute_coverage([{"closing-disclosure/arises/0"}], form)
    assert arose_only.exercised == {"closing-disclosure"}
    gaps = [gap.message for gap in arose_only.gaps if gap.rule_id == "closing-disclosure"]
    assert gaps == [
        "met_by press_release (alternative 1) never matched",
        "met_by sec_filing (alternative 2) never matched",
    ]
    met_by_filing = compute_coverage([{"closing-disclosure/arises/0"}, {"closing-disclosure/met/1"}], form)
    assert ("closing-disclosure", ("met_by", 1)) in met_by_filing.matched
    assert [gap.message for gap in met_by_filing.gaps if gap.rule_id == "closing-disclosure"] == [gaps[0]]
