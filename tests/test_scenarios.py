"""Every scenario kept beside the rules, run through the real engine.

The expected values in rules/*/scenarios/*.yaml were computed by hand from
the interpretation memo, with the arithmetic in comments next to each amount.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from covenant.language.scenariofiles import Scenario, load_scenarios, scenario_files
from covenant.language.vocabulary import VOCABULARY_FILE, load_vocabulary
from covenant.law.driver import FormEvaluator
from covenant.pipeline import evaluator_for
from covenant.scenarios import run_scenario

from .conftest import ROOT

FORMS = sorted(path for path in (ROOT / "rules").iterdir() if (path / "agreement.yaml").is_file())
"""Every rule folder of the repository: a new form's scenarios run here without a line of test code."""


def _all_scenarios() -> list[tuple[Path, Scenario]]:
    found = []
    for folder in FORMS:
        vocabulary = load_vocabulary(folder / VOCABULARY_FILE)
        found += [(folder, s) for path in scenario_files(folder) for s in load_scenarios(path, vocabulary)]
    return found


FORM_SCENARIOS = _all_scenarios()
SCENARIOS = [s for folder, s in FORM_SCENARIOS if folder.name == "amnis-spa-2003"]
_EVALUATORS: dict[Path, FormEvaluator] = {}


def _evaluator(folder: Path) -> FormEvaluator:
    if folder not in _EVALUATORS:
        _EVALUATORS[folder] = evaluator_for(folder)
    return _EVALUATORS[folder]


def test_every_form_has_scenarios() -> None:
    assert len(FORMS) >= 2
    assert {folder for folder, _ in FORM_SCENARIOS} == set(FORMS)


@pytest.mark.parametrize(
    ("folder", "scenario"),
    FORM_SCENARIOS,
    ids=[f"{folder.name}/{s.file.rsplit('/', 1)[-1][:-5]}::{s.name}" for folder, s in FORM_SCENARIOS],
)
def test_scenario(folder: Path, scenario: Scenario) -> None:
    outcome = run_scenario(scenario, _evaluator(folder))
    assert outcome.passed, "\n".join(outcome.differences)


def _one(expect: list[dict[str, object]], rules: tuple[str, ...] | None = None, rule: str = "form-d") -> Scenario:
    facts = next(s for s in SCENARIOS if s.rule == "form-d").facts
    return Scenario("x.yaml", 1, "probe", "", SCENARIOS[0].as_of, facts, tuple(expect), rule=rule, rules=rules)


def test_an_empty_expect_means_the_files_rule_has_no_obligation(amnis: FormEvaluator) -> None:
    """``expect: []`` used to check nothing; now it fails when the file's rule has an obligation."""
    probe = _one([])
    assert any(o["rule"] == "form-d" for o in run_scenario(probe, amnis).report["obligations"])  # type: ignore[index]
    outcome = run_scenario(probe, amnis)
    assert not outcome.passed
    assert [m.kind for m in outcome.mismatches] == ["unexpected"]


def test_a_scenarios_own_rules_replace_the_files_rule(amnis: FormEvaluator) -> None:
    assert run_scenario(_one([], rules=("use-of-proceeds",)), amnis).passed
    failed = run_scenario(_one([], rules=("form-d", "no-such-rule")), amnis)
    assert [m.kind for m in failed.mismatches] == ["unknown-rule", "unexpected"]


def test_a_scenario_that_compares_nothing_fails(amnis: FormEvaluator) -> None:
    outcome = run_scenario(_one([], rule="some-topic"), amnis)
    assert [m.kind for m in outcome.mismatches] == ["checks-nothing"]
    assert "checks nothing" in outcome.differences[0]
