"""A portfolio that mixes forms: Amnis, Oil-Dri and Elysium agreements in one run, in one and two processes.

Each form compiles once and every agreement runs on its own form's engine
and vocabulary; the portfolio's report of each agreement is the report
``covenant check`` gives of its log alone, and ``--jobs 2`` writes the same
bytes as ``--jobs 1``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from covenant.cli.main import main

from .conftest import ROOT

AS_OF = "2022-08-01"
FORMS = {
    "amnis": ("amnis-spa-2003", "amnis-2003-2004.jsonl"),
    "oil-dri": ("oil-dri-nppsa-2020", "oil-dri-2020-2023.jsonl"),
    "elysium": ("elysium-term-loan-2020", "elysium-2020-2022.jsonl"),
}


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three agreements on three forms, one feed naming each fact's agreement."""
    folder = tmp_path_factory.mktemp("mixed")
    lines = ["portfolio: three-forms", "agreements:"]
    feed = []
    for agreement, (form, log) in FORMS.items():
        lines += [f"  - id: {agreement}", f"    rules: {ROOT / 'rules' / form}"]
        for text in (ROOT / "facts" / log).read_text(encoding="utf-8").splitlines():
            if text.strip() and not text.startswith("#"):
                feed.append(json.dumps({**json.loads(text), "agreement": agreement}))
    (folder / "portfolio.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "feed.jsonl").write_text("\n".join(feed) + "\n", encoding="utf-8")
    return folder


def _run(portfolio: Path, *extra: str) -> str:
    result = CliRunner().invoke(
        main,
        ["portfolio", str(portfolio / "portfolio.yaml"), str(portfolio / "feed.jsonl"), "--as-of", AS_OF, *extra],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_two_processes_give_the_bytes_of_one(portfolio: Path) -> None:
    for form in ("json", "text"):
        assert _run(portfolio, "--format", form, "--jobs", "2") == _run(portfolio, "--format", form, "--jobs", "1")


def test_each_agreement_is_reported_as_check_reports_it_alone(portfolio: Path) -> None:
    reports = {r["agreement"]: r for r in json.loads(_run(portfolio, "--format", "json"))["agreements"]}
    assert sorted(reports) == sorted(FORMS)
    for agreement, (form, log) in FORMS.items():
        args = ["check", str(ROOT / "facts" / log), "--rules", str(ROOT / "rules" / form), "--as-of", AS_OF]
        single = CliRunner().invoke(main, [*args, "--format", "json"], catch_exceptions=False)
        assert single.exit_code == 0, single.output
        expected = json.loads(single.stdout)
        assert reports[agreement]["obligations"] == expected["obligations"], agreement
    # Each form's own words: a test's measure, an Event of Default, SLD for the Amnis Buyers.
    assert any("measure" in o for o in reports["oil-dri"]["obligations"])
    assert any(o["rule"] == "reporting-default" for o in reports["elysium"]["obligations"])
    assert "standard_liquidated_damages" in reports["amnis"]["summary"]["totals"]
