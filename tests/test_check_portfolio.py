"""`covenant check --portfolio FILE [--jobs N]`: the portfolio evaluation through `check` (issue 6)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from covenant.cli.main import main

from .test_portfolio import fund  # noqa: F401  (the fixture: a portfolio of three agreements and its feed)


def test_check_with_a_portfolio_gives_the_portfolio_commands_bytes(fund: tuple[Path, Path]) -> None:  # noqa: F811
    portfolio, feed = fund
    runner = CliRunner()
    alone = runner.invoke(main, ["portfolio", str(portfolio), str(feed), "--format", "json"])
    through_check = runner.invoke(main, ["check", str(feed), "--portfolio", str(portfolio), "--format", "json"])
    two_jobs = runner.invoke(
        main, ["check", str(feed), "--portfolio", str(portfolio), "--format", "json", "--jobs", "2"]
    )
    assert alone.exit_code == through_check.exit_code == two_jobs.exit_code == 0, through_check.stderr
    assert through_check.stdout == alone.stdout
    assert two_jobs.stdout == alone.stdout


def test_check_needs_rules_or_a_portfolio(fund: tuple[Path, Path]) -> None:  # noqa: F811
    _portfolio, feed = fund
    runner = CliRunner()
    neither = runner.invoke(main, ["check", str(feed)])
    assert neither.exit_code == 2
    assert "give either --rules DIR (one agreement) or --portfolio FILE (many)" in neither.output
    jobs_alone = runner.invoke(main, ["check", str(feed), "--rules", "rules/amnis-spa-2003", "--jobs", "2"])
    assert jobs_alone.exit_code == 2
    assert "--jobs and --scheduler go with --portfolio" in jobs_alone.output
