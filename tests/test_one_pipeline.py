"""One pipeline: every command validates and evaluates facts the same way, so a log refused by one is refused by all.

Before the pipeline was one function, ``covenant explain`` read logs with
fewer checks than ``covenant check`` and explained obligations that did not
exist (issue 13). Each command here gets the same bad log and must refuse it
with exit 2 and the same problem lines; and a good log gives every command
the same findings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from covenant.cli.main import main
from covenant.diagnostics import InputError
from covenant.pipeline import check, evaluator_for, validated_facts

from .conftest import AMNIS_RULES, AMNIS_VOCABULARY, EXAMPLE_FACTS

CLOSING = {"id": "closing", "type": "closing", "date": "2003-05-09"}
BAD_LINES = [
    # Another agreement's fact, in a log of this one.
    {"id": "pr-1", "type": "press_release", "date": "2003-05-12", "about": "transaction", "agreement": "someone-else"},
    # A recorded fact taking the id a derive rule gives its facts.
    {"id": "listed-at-closing", "type": "listing", "date": "2003-05-10", "market": "otcbb", "status": "listed"},
]
EXPECTED = [
    "2: agreement: unknown agreement 'someone-else'; the rules are for 'amnis-spa-2003'",
    "3: id: 'listed-at-closing' is reserved: rule 'listed-at-closing'",
]


@pytest.fixture
def bad_log(tmp_path: Path) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in [CLOSING, *BAD_LINES]), encoding="utf-8")
    return path


def refused_lines(stderr: str, log: Path) -> list[str]:
    return [line.removeprefix(f"{log}:") for line in stderr.splitlines() if line.startswith(f"{log}:")]


@pytest.mark.parametrize(
    "command",
    [
        ["check"],
        ["check", "--format", "json"],
        ["explain", "--rule", "closing-press-release", "--trigger", "closing"],
        ["upcoming"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_every_command_refuses_the_log_check_refuses_in_the_same_words(bad_log: Path, command: list[str]) -> None:
    result = CliRunner().invoke(main, [command[0], str(bad_log), "--rules", str(AMNIS_RULES), *command[1:]])
    assert result.exit_code == 2, result.output
    lines = refused_lines(result.stderr, bad_log)
    assert len(lines) == 2, result.stderr
    for line, expected in zip(lines, EXPECTED, strict=True):
        assert line.startswith(expected), (line, expected)


def test_a_portfolio_refuses_it_too(bad_log: Path, tmp_path: Path) -> None:
    portfolio = tmp_path / "fund.yaml"
    portfolio.write_text(f"portfolio: f\nagreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\n")
    result = CliRunner().invoke(main, ["portfolio", str(portfolio), str(bad_log), "--format", "json"])
    assert result.exit_code == 2, result.output
    assert any("'listed-at-closing' is reserved" in line for line in result.stderr.splitlines()), result.stderr


def test_scenario_facts_are_validated_as_a_log_is() -> None:
    form = evaluator_for(AMNIS_RULES).form
    facts = [
        AMNIS_VOCABULARY.parse_fact(raw, "scenario.yaml", number + 1, number)
        for number, raw in enumerate([CLOSING, *BAD_LINES])
    ]
    with pytest.raises(InputError) as refused:
        validated_facts(facts, form)
    lines = [p.format().removeprefix("scenario.yaml:") for p in refused.value.problems]
    assert [line[: len(expected)] for line, expected in zip(lines, EXPECTED, strict=True)] == EXPECTED


def test_explain_explains_the_obligation_check_reports() -> None:
    """The same evaluation behind both: explain's entry is check's entry, byte for byte."""
    report = check([EXAMPLE_FACTS], AMNIS_RULES).report
    entry = next(o for o in report["obligations"] if (o["rule"], o["trigger"]) == ("timely-sec-reports", "2003-09-30"))
    args = ["explain", str(EXAMPLE_FACTS), "--rules", str(AMNIS_RULES), "--rule", "timely-sec-reports"]
    result = CliRunner().invoke(main, [*args, "--trigger", "2003-09-30"])
    assert result.exit_code == 0, result.output
    assert entry["explanation"] in " ".join(result.stdout.split())
