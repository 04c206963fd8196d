"""Every scenario kept beside the rules, run through the real engine.

The expected values in rules/*/scenarios/*.yaml were computed by hand from
the interpretation memo, with the arithmetic in comments next to each amount.
"""

from __future__ import annotations

import pytest

from covenant.law.driver import FormEvaluator
from covenant.scenarios import Scenario, load_scenarios, run_scenario, scenario_files

from .conftest import AMNIS_RULES


def _all_scenarios() -> list[Scenario]:
    return [s for path in scenario_files(AMNIS_RULES) for s in load_scenarios(path)]


SCENARIOS = _all_scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{s.file.rsplit('/', 1)[-1][:-5]}::{s.name}" for s in SCENARIOS])
def test_scenario(scenario: Scenario, amnis: FormEvaluator) -> None:
    outcome = run_scenario(scenario, amnis)
    assert outcome.passed, "\n".join(outcome.differences)
