"""A waiver naming a rule, or a consent naming a clause, that the folder does not have is bad input.

Before, such a fact was read, matched nothing, and was counted as "not
relevant": a lawyer reading the report believed a breach waived or an act
permitted. Now ``covenant check`` and ``covenant test`` refuse it (exit 2,
``FILE:LINE: field: message``) and lint names it in a scenario.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from covenant.cli.main import main

from .conftest import AMNIS_RULES

FACTS = [
    {"id": "c1", "type": "closing", "date": "2003-05-09"},
    {"id": "w1", "type": "waiver", "date": "2003-06-01", "by": ["sds"], "rule": "sec-report-copy"},
    {"id": "k1", "type": "consent", "date": "2003-06-02", "by": ["sds", "alpha"], "clause": "4(ee)"},
    {"id": "w2", "type": "waiver", "date": "2003-06-03", "by": ["sds"], "rule": "sec-report-copies"},
    {"id": "k2", "type": "consent", "date": "2003-06-04", "by": ["sds", "alpha"], "clause": "4(e)"},
]


def test_check_refuses_a_waiver_or_consent_naming_nothing_of_the_folder(tmp_path: Path) -> None:
    log = tmp_path / "facts.jsonl"
    log.write_text("".join(json.dumps(f) + "\n" for f in FACTS), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(log), "--rules", str(AMNIS_RULES)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{log}:2: rule: no rule of this folder has the rule id 'sec-report-copy' "
        "(hint: did you mean 'sec-report-copies'?)",
        f"{log}:3: clause: no rule of this folder has the clause '4(ee)' (hint: did you mean '4(e)'?)",
    ]


def test_the_same_facts_named_rightly_are_evaluated(tmp_path: Path) -> None:
    log = tmp_path / "facts.jsonl"
    log.write_text("".join(json.dumps(f) + "\n" for f in (FACTS[0], FACTS[3], FACTS[4])), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(log), "--rules", str(AMNIS_RULES), "--format", "json"])
    assert result.exit_code == 0, result.output


def test_check_all_lists_fulfilled_obligations_in_the_text_report(tmp_path: Path) -> None:
    """The guide says the report shows every obligation; in the terminal that takes --all."""
    from .conftest import EXAMPLE_FACTS

    args = ["check", str(EXAMPLE_FACTS), "--rules", str(AMNIS_RULES), "--no-color"]
    plain = CliRunner().invoke(main, args)
    every = CliRunner().invoke(main, [*args, "--all"])
    assert plain.exit_code == every.exit_code == 0
    assert "Every obligation" not in plain.stdout
    assert "Every obligation (" in every.stdout
    assert "fulfilled" in every.stdout.split("Every obligation (", 1)[1]


def test_explain_refuses_them_too(tmp_path: Path) -> None:
    log = tmp_path / "facts.jsonl"
    log.write_text("".join(json.dumps(f) + "\n" for f in FACTS[:2]), encoding="utf-8")
    result = CliRunner().invoke(main, ["explain", str(log), "--rules", str(AMNIS_RULES), "--rule", "form-d"])
    assert result.exit_code == 2
    assert "rule: no rule of this folder has the rule id 'sec-report-copy'" in result.stderr
