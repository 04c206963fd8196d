"""A small mutation run: every shipped scenario file must catch a change to the rule it is about.

A scenario that cannot fail gives false confidence (``expect: []`` used to
check nothing). Here each rule a scenario file compares is changed once, in
a copy of the rule folder, by a change chosen by the rule's kind, and at
least one scenario of the file must then fail:

- a duty: its deadline a week later (``due`` or ``act_by``);
- a prohibition: it forbids every act of its kind (no ``where``, no
  ``unless``), as if 4(d) forbade every use of the proceeds;
- a review item: it arises for every fact of its kind (no ``where``).

And every ``expect: []`` (no obligation of the file's rule) is broken by
what it guards against: a rule that arises too widely, or facts after the
as-of date that are seen.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from covenant.language.compiler import compile_form
from covenant.language.loader import load_rule_folder
from covenant.language.scenariofiles import load_scenarios, scenario_files
from covenant.law.driver import FormEvaluator
from covenant.scenarios import run_scenario

from .conftest import AMNIS_RULES, AMNIS_VOCABULARY

DUE_COUNTS = ("days_after", "days_before", "business_days_after", "business_days_before")


def _rule_files() -> dict[str, Path]:
    yaml = YAML(typ="safe", pure=True)
    out = {}
    for path in sorted(AMNIS_RULES.glob("*.yaml")):
        tree = yaml.load(path.read_text(encoding="utf-8"))
        if path.name not in ("agreement.yaml", "vocabulary.yaml"):
            out[tree["id"]] = path
    return out


RULE_FILES = _rule_files()


def _later(due: dict[str, Any]) -> None:
    """A week, not a day: a day later may roll to the same business day (a mutation that changes nothing)."""
    for key in DUE_COUNTS:
        if key in due:
            due[key] += 7 if not key.endswith("before") or due[key] <= 7 else -7
            return
    if "date" in due:
        due["date"] = (date.fromisoformat(str(due["date"])) + timedelta(days=7)).isoformat()


def _triggers(tree: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = tree.get(key)
    return value if isinstance(value, list) else [value] if isinstance(value, dict) else []


def mutate(tree: dict[str, Any]) -> str:
    """Change one rule in place, by its kind; say what was changed."""
    kind = tree["kind"]
    if kind == "duty":
        if tree.get("breach_starts") == "on_trigger" and "act_by" not in tree:
            tree["breach_starts"] = "day_after_due"
            tree["due"] = {"days_after": 7}
            return "a week of grace before the breach starts"
        dues = [t["due"] for t in _triggers(tree, "arises") if "due" in t]
        dues += [tree[k] for k in ("due", "act_by") if k in tree]
        for due in dues:
            _later(due)
        return "the deadline a week later"
    if kind == "prohibition":
        for trigger in _triggers(tree, "forbids"):
            trigger.pop("where", None)
            trigger.pop("any_of", None)
        tree["unless"] = []
        return "every act of its kind forbidden, nothing permits it"
    if kind == "review":
        for trigger in _triggers(tree, "arises"):
            trigger.pop("where", None)
            trigger.pop("any_of", None)
        return "arises for every fact of its kind"
    raise AssertionError(f"no mutation for a {kind} rule")


def _cases() -> list[tuple[Path, str]]:
    cases = []
    for path in scenario_files(AMNIS_RULES):
        rules: set[str] = set()
        for scenario in load_scenarios(path, AMNIS_VOCABULARY):
            rules |= scenario.compared(RULE_FILES)
        cases.extend((path, rule) for rule in sorted(rules))
    return cases


CASES = _cases()


def test_every_scenario_file_compares_a_rule() -> None:
    assert {path for path, _ in CASES} == set(scenario_files(AMNIS_RULES))


@pytest.mark.parametrize("path, rule", CASES, ids=[f"{p.stem}:{r}" for p, r in CASES])
def test_a_mutated_rule_fails_a_scenario(path: Path, rule: str, tmp_path: Path) -> None:
    folder = tmp_path / AMNIS_RULES.name
    shutil.copytree(AMNIS_RULES, folder, ignore=shutil.ignore_patterns("scenarios"))
    yaml = YAML(typ="safe", pure=True)
    target = folder / RULE_FILES[rule].name
    tree = yaml.load(target.read_text(encoding="utf-8"))
    change = mutate(tree)
    with target.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)
    portfolio = FormEvaluator(compile_form(load_rule_folder(folder)))
    outcomes = [run_scenario(s, portfolio) for s in load_scenarios(path, AMNIS_VOCABULARY)]
    assert any(not o.passed for o in outcomes), f"{rule} ({change}): every scenario of {path.name} still passes"


def widen(tree: dict[str, Any]) -> str:
    """The rule arises for every fact of its kind: no conditions on its triggers, no window."""
    for trigger in _triggers(tree, "arises") + _triggers(tree, "forbids"):
        for key in ("where", "any_of", "provided", "provided_none"):
            trigger.pop(key, None)
    tree.pop("window", None)
    if tree["kind"] == "prohibition":
        tree["unless"] = []
    return "arises for every fact of its kind"


def _empty_expectations() -> list[tuple[Path, str, str]]:
    return [
        (path, scenario.name, scenario.rule or "")
        for path in scenario_files(AMNIS_RULES)
        for scenario in load_scenarios(path, AMNIS_VOCABULARY)
        if not scenario.expect and scenario.rule in RULE_FILES
    ]


EMPTY = _empty_expectations()


@pytest.mark.parametrize("path, name, rule", EMPTY, ids=[f"{p.stem}::{n}" for p, n, _ in EMPTY])
def test_an_empty_expectation_can_fail(path: Path, name: str, rule: str, tmp_path: Path, amnis: FormEvaluator) -> None:
    """``expect: []`` says "no obligation here", and is broken by what it guards against.

    A scenario with a fact dated after its as-of date says that fact does not
    exist yet: seeing it (evaluating as of the last fact) must break it. Any
    other says the rule does not reach these facts: a rule that arises for
    every fact of its kind must break it.
    """
    scenario = next(s for s in load_scenarios(path, AMNIS_VOCABULARY) if s.name == name)
    last = max(f.date for f in scenario.facts)
    if last > scenario.as_of:
        seen = dataclasses.replace(scenario, as_of=last)
        assert not run_scenario(seen, amnis).passed, f"{path.stem}::{name} passes with the facts after as_of seen"
        return
    folder = tmp_path / AMNIS_RULES.name
    shutil.copytree(AMNIS_RULES, folder, ignore=shutil.ignore_patterns("scenarios"))
    yaml = YAML(typ="safe", pure=True)
    target = folder / RULE_FILES[rule].name
    tree = yaml.load(target.read_text(encoding="utf-8"))
    change = widen(tree)
    with target.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)
    portfolio = FormEvaluator(compile_form(load_rule_folder(folder)))
    assert not run_scenario(scenario, portfolio).passed, f"{rule} ({change}): {path.stem}::{name} still passes"
