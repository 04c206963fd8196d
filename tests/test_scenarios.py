"""Every scenario kept beside the rules, run through the real engine.

The expected values in rules/*/scenarios/*.yaml were computed by hand from
the interpretation memo, with the arithmetic in comments next to each amount.
"""

from __future__ import annotations

import pytest

from covenant.language.scenariofiles import Scenario, load_scenarios, scenario_files
from covenant.law.driver import FormEvaluator
from covenant.scenarios import run_scenario

from .conftest import AMNIS_RULES, AMNIS_VOCABULARY


def _all_scenarios() -> list[Scenario]:
    return [s for path in scenario_files(AMNIS_RULES) for s in load_scenarios(path, AMNIS_VOCABULARY)]


SCENARIOS = _all_scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{s.file.rsplit('/', 1)[-1][:-5]}::{s.name}" for s in SCENARIOS])
def test_scenario(scenario: Scenario, amnis: FormEvaluator) -> None:
    outcome = run_scenario(scenario, amnis)
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
