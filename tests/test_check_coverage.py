"""`covenant check --coverage`: what the example history never exercises (issue 4, item 4)."""

from __future__ import annotations

from click.testing import CliRunner

from covenant.cli.main import main

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
