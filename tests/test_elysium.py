"""The third form, Elysium's term loan: its folder, its example history, and the guide's chapter that writes it.

The folder was written from docs/authoring.md alone (issue 16); these tests
hold it to its example log's README and hold the guide's worked chapter to
the folder: the chapter's YAML, taken out of the page, lints, tests and
checks as the shipped files do.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from covenant.cli.main import main

from .conftest import ROOT

ELYSIUM = ROOT / "rules" / "elysium-term-loan-2020"
LOG = ROOT / "facts" / "elysium-2020-2022.jsonl"
GUIDE = ROOT / "docs" / "authoring.md"
CHAPTER = "8. A financial covenant, worked through"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def report(*args: str | Path) -> dict[str, object]:
    result = run("check", LOG, "--rules", ELYSIUM, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_folder_lints_clean_and_its_scenarios_pass() -> None:
    linted = run("lint", ELYSIUM)
    assert linted.exit_code == 0, linted.output
    tested = run("test", ELYSIUM)
    assert tested.exit_code == 0, tested.output
    assert tested.output.splitlines()[-1].endswith(" passed, 0 failed")


def test_the_example_history_gives_its_readmes_findings() -> None:
    found = report()
    obligations = found["obligations"]
    assert isinstance(obligations, list)
    defaults = sorted(
        (o["rule"], o["trigger"], o["status"], o["breach_start"], o["cured_on"], o["days_in_breach"])
        for o in obligations
        if o["rule"] in ("reporting-default", "payment-default")
    )
    assert defaults == [
        ("payment-default", "interest-payment/2022-02-01", "cured", "2022-02-07", "2022-02-09", 3),
        ("reporting-default", "current-ratio/2021-06-30", "waived", "2021-06-30", "2021-08-10", 42),
        ("reporting-default", "maximum-leverage/2020-09-30", "waived", "2020-09-30", "2020-11-20", 52),
        ("reporting-default", "monthly-statements/2021-09-30", "cured", "2021-11-23", "2021-11-29", 7),
    ]
    leverage = {o["trigger"]: o["measure"] for o in obligations if o["rule"] == "maximum-leverage"}
    assert leverage["2020-09-30"] == {"value": "3.4314", "limit": "3.25", "test": "at_most"}
    assert leverage["2020-06-30"] == {"value": "2.3810", "limit": "3.50", "test": "at_most"}
    assert leverage["2021-03-31"] == {"value": "2.6667", "limit": "2.75", "test": "at_most"}
    totals = found["summary"]["totals"]["default_interest"]  # type: ignore[index]
    assert totals == {"viking-credit": "23111.12", "woodbine": "34666.66", "total": "57777.78"}
    late = sorted(
        (o["beneficiary"], o["trigger"])
        for o in obligations
        if o["rule"] == "interest-payment" and o["status"] == "cured"
    )
    assert late == [("viking-credit", "2022-02-01"), ("woodbine", "2021-03-01")]
    # Every other month's interest, computed outside the monitor day by day, meets the monitor's amount.
    assert sum(1 for o in obligations if o["rule"] == "interest-payment" and o["status"] == "fulfilled") == 58


def test_the_text_report_names_the_lenders_and_lists_every_test() -> None:
    text = run("check", LOG, "--rules", ELYSIUM, "--no-color").output
    assert "all Lenders" in text and "all Agents" not in text
    assert "Financial tests (37, 2 failed)" in text


# --- the guide's chapter --------------------------------------------------------


def chapter_blocks() -> dict[str, str]:
    text = GUIDE.read_text(encoding="utf-8")
    section = next(s for s in re.split(r"^## ", text, flags=re.M) if s.startswith(CHAPTER))
    return dict(re.findall(r'^```\w+ title="([^"]+)"\n(.*?)^```$', section, re.M | re.S))


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Elysium folder without the files the chapter writes, the schemas and the example log."""
    work = tmp_path / "work"
    shutil.copytree(ELYSIUM, work / "rules" / ELYSIUM.name)
    shutil.copytree(ROOT / "schemas", work / "schemas")
    (work / "facts").mkdir()
    shutil.copy(LOG, work / "facts" / LOG.name)
    monkeypatch.chdir(work)
    return work


def test_the_chapter_writes_the_covenant_and_its_default_by_files_only(workspace: Path) -> None:
    blocks = chapter_blocks()
    assert sorted(blocks) == [
        "rules/elysium-term-loan-2020/6-23-maximum-leverage.yaml",
        "rules/elysium-term-loan-2020/7-1-b-reporting-default.yaml",
        "rules/elysium-term-loan-2020/scenarios/maximum-leverage.yaml",
        "rules/elysium-term-loan-2020/vocabulary.yaml#financials",
    ]
    # Step 1's declaration is the vocabulary's, word for word.
    vocabulary = (workspace / "rules" / ELYSIUM.name / "vocabulary.yaml").read_text(encoding="utf-8")
    assert blocks.pop("rules/elysium-term-loan-2020/vocabulary.yaml#financials") in vocabulary
    for name in blocks:
        (workspace / name).unlink()
    assert run("lint", f"rules/{ELYSIUM.name}").exit_code == 1  # reporting-default's rules are gone
    for name, content in blocks.items():
        (workspace / name).write_text(content, encoding="utf-8")
    guide = GUIDE.read_text(encoding="utf-8")
    commands = [line for line in guide.splitlines() if line.startswith("covenant ") and "elysium" in line]
    assert [c.split()[1] for c in commands] == ["lint", "test", "check"]
    linted = run(*commands[0].split()[1:])
    assert linted.exit_code == 0, linted.output
    tested = run(*commands[1].split()[1:])
    assert tested.exit_code == 0, tested.output
    assert tested.output.splitlines()[-1] == "1 passed, 0 failed"
    checked = run(*commands[2].split()[1:], "--format", "json")
    assert checked.exit_code == 0, checked.output
    found = json.loads(checked.stdout)["obligations"]
    assert [(o["rule"], o["status"]) for o in found if o["trigger"] == "maximum-leverage/2020-09-30"] == [
        ("reporting-default", "waived")
    ]
