"""A small mutation run: every shipped scenario file must catch a change to the rule it is about.

A scenario that cannot fail gives false confidence (``expect: []`` used to
check nothing). Here each rule a scenario file compares is changed once, in
a copy of the rule folder, by a change chosen by the rule's kind, and at
least one scenario of the file must then fail:

- a duty: its deadline a week later (``due`` or ``act_by``);
- a prohibition: it forbids every act of its kind (no ``where``, no
  ``unless``), as if 4(d) forbade every use of the proceeds;
- a review item: it arises for every fact of its kind (no ``where``); one
  that judges acts valid judges every act valid;
- a financial test: its comparison turned round (``at_least`` becomes
  ``at_most``);
- an Event of Default: no grace where it has one, a week of grace where it
  has none;
- a default rate: it runs without an election where one is needed, and needs
  one (the waiver's holders) where none is.

Every form's folder is mutated, not only the first form's.

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
from covenant.language.vocabulary import VOCABULARY_FILE, Vocabulary, load_vocabulary
from covenant.law.driver import FormEvaluator
from covenant.scenarios import run_scenario

from .conftest import ROOT

DUE_COUNTS = ("days_after", "days_before", "business_days_after", "business_days_before")


FORMS = sorted(path for path in (ROOT / "rules").iterdir() if (path / "agreement.yaml").is_file())
VOCABULARIES: dict[Path, Vocabulary] = {form: load_vocabulary(form / VOCABULARY_FILE) for form in FORMS}


def _rule_files(form: Path) -> dict[str, Path]:
    yaml = YAML(typ="safe", pure=True)
    out = {}
    for path in sorted(form.glob("*.yaml")):
        tree = yaml.load(path.read_text(encoding="utf-8"))
        if path.name not in ("agreement.yaml", "vocabulary.yaml"):
            out[tree["id"]] = path
    return out


RULE_FILES = {form: _rule_files(form) for form in FORMS}
TURNED = {"at_least": "at_most", "at_most": "at_least", "below": "above", "above": "below"}


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
        for trigger in _triggers(tree, "arises"):
            if "schedule" in trigger and "due" not in trigger:
                trigger["due"] = {"days_after": 7}  # the scheduled date, a week later
        return "the deadline a week later"
    if kind == "prohibition":
        for trigger in _triggers(tree, "forbids"):
            trigger.pop("where", None)
            trigger.pop("any_of", None)
        tree["unless"] = []
        return "every act of its kind forbidden, nothing permits it"
    if kind == "review":
        if tree.get("valid_when"):
            tree["valid_when"] = [{}]
            return "every act judged valid"
        for trigger in _triggers(tree, "arises"):
            trigger.pop("where", None)
            trigger.pop("any_of", None)
        return "arises for every fact of its kind"
    if kind == "test":
        for limit in [tree.get("limit") or {}, *tree.get("limits", [])]:
            for name in [key for key in limit if key in TURNED]:
                limit[TURNED[name]] = limit.pop(name)
        return "the comparison turned round"
    if kind == "default":
        if tree.pop("grace", None) is None:
            tree["grace"] = {"days_after_due": 7}
            return "a week of grace"
        return "no grace"
    if kind == "default_rate":
        if tree.pop("elected_by", None) is None:
            tree["elected_by"] = {"fact": "waiver", "field": "by"}
            return "elected by the holders of a waiver"
        return "no election needed"
    raise AssertionError(f"no mutation for a {kind} rule")


def _cases() -> list[tuple[Path, Path, str]]:
    cases = []
    for form in FORMS:
        for path in scenario_files(form):
            rules: set[str] = set()
            for scenario in load_scenarios(path, VOCABULARIES[form]):
                rules |= scenario.compared(RULE_FILES[form])
            cases.extend((form, path, rule) for rule in sorted(rules))
    return cases


CASES = _cases()


def test_every_scenario_file_compares_a_rule() -> None:
    for form in FORMS:
        assert {path for f, path, _ in CASES if f == form} == set(scenario_files(form)), form.name


def _mutated(form: Path, rule: str, tmp_path: Path, change: Any) -> tuple[FormEvaluator, str]:
    """The form's folder with one rule changed, compiled; and what the change was."""
    folder = tmp_path / "rules" / form.name
    shutil.copytree(form, folder, ignore=shutil.ignore_patterns("scenarios"))
    yaml = YAML(typ="safe", pure=True)
    target = folder / RULE_FILES[form][rule].name
    tree = yaml.load(target.read_text(encoding="utf-8"))
    said = change(tree)
    with target.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)
    return FormEvaluator(compile_form(load_rule_folder(folder))), said


@pytest.mark.parametrize(("form", "path", "rule"), CASES, ids=[f"{f.name}/{p.stem}:{r}" for f, p, r in CASES])
def test_a_mutated_rule_fails_a_scenario(form: Path, path: Path, rule: str, tmp_path: Path) -> None:
    evaluator, change = _mutated(form, rule, tmp_path, mutate)
    outcomes = [run_scenario(s, evaluator) for s in load_scenarios(path, VOCABULARIES[form])]
    assert any(not o.passed for o in outcomes), f"{rule} ({change}): every scenario of {path.name} still passes"


def widen(tree: dict[str, Any]) -> str:
    """The rule reaches every fact of its kind: no conditions on its triggers, no window, no grace."""
    for trigger in _triggers(tree, "arises") + _triggers(tree, "forbids"):
        for key in ("where", "any_of", "provided", "provided_none"):
            trigger.pop(key, None)
    tree.pop("window", None)
    if tree["kind"] == "prohibition":
        tree["unless"] = []
    if tree["kind"] == "test":
        tree["starting"] = "1900-01"
        tree["every"] = "month_end"  # every month end a test date
        tree["figures"].pop("every", None)
    if tree["kind"] == "default":
        tree.pop("grace", None)
    if tree["kind"] == "default_rate":
        tree.pop("elected_by", None)
    return "reaches every fact of its kind"


def _empty_expectations() -> list[tuple[Path, Path, str, str]]:
    return [
        (form, path, scenario.name, scenario.rule or "")
        for form in FORMS
        for path in scenario_files(form)
        for scenario in load_scenarios(path, VOCABULARIES[form])
        if not scenario.expect and scenario.rule in RULE_FILES[form]
    ]


EMPTY = _empty_expectations()
_EVALUATORS: dict[Path, FormEvaluator] = {}


@pytest.mark.parametrize(
    ("form", "path", "name", "rule"), EMPTY, ids=[f"{f.name}/{p.stem}::{n}" for f, p, n, _ in EMPTY]
)
def test_an_empty_expectation_can_fail(form: Path, path: Path, name: str, rule: str, tmp_path: Path) -> None:
    """``expect: []`` says "no obligation here", and is broken by what it guards against.

    A scenario with a fact dated after its as-of date says that fact does not
    exist yet: seeing it (evaluating as of the last fact) must break it. Any
    other says the rule does not reach these facts: a rule that reaches every
    fact of its kind must break it.
    """
    scenario = next(s for s in load_scenarios(path, VOCABULARIES[form]) if s.name == name)
    last = max(f.date for f in scenario.facts)
    if last > scenario.as_of:
        if form not in _EVALUATORS:
            _EVALUATORS[form] = FormEvaluator(compile_form(load_rule_folder(form)))
        seen = dataclasses.replace(scenario, as_of=last)
        assert not run_scenario(seen, _EVALUATORS[form]).passed, f"{path.stem}::{name} passes with later facts seen"
        return
    evaluator, change = _mutated(form, rule, tmp_path, widen)
    assert not run_scenario(scenario, evaluator).passed, f"{rule} ({change}): {path.stem}::{name} still passes"
