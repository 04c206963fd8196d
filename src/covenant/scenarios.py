"""Scenarios: examples with expected findings, kept beside the rules.

A scenario file (``rules/<form>/scenarios/<rule-id>.yaml``) holds small fact
logs, an as-of date and the obligations a lawyer expects, as OPA keeps
policy tests next to policies and Catala keeps examples with expected
outputs. ``covenant test`` and the pytest suite both run them through the
real engine; a mismatch is shown field by field.

Expectations are exhaustive per rule id: for each rule id named in a
scenario's ``expect``, the report must contain exactly the listed
obligations (matched on rule, trigger and beneficiary); only the fields
listed are compared.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from covenant.calendar import Date, as_date
from covenant.diagnostics import InputError, Problem
from covenant.evaluate import Portfolio
from covenant.facts import Fact, FactLog, check_buyers, parse_fact
from covenant.report import build_report
from covenant.rulefiles import locate, read_yaml

SCENARIO_FOLDER = "scenarios"
_session_numbers = itertools.count(1)


@dataclass(frozen=True)
class Scenario:
    file: str
    line: int
    name: str
    title: str
    as_of: Date
    facts: tuple[Fact, ...]
    expect: tuple[dict[str, Any], ...]


@dataclass
class Outcome:
    scenario: Scenario
    differences: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return not self.differences


def _text(value: Any) -> Any:
    """Scenario values as the report writes them (dates as text, None as null)."""
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value


def load_scenarios(path: Path) -> list[Scenario]:
    """Read one scenario file; facts are validated like any fact log."""
    display = str(path)
    tree = read_yaml(path)
    if not isinstance(tree, CommentedMap) or not isinstance(tree.get("scenarios"), list):
        raise InputError([Problem(display, 1, "scenarios", "expected a list of scenarios under `scenarios:`")])
    problems: list[Problem] = []
    scenarios: list[Scenario] = []
    for index, item in enumerate(tree["scenarios"]):
        line, _ = locate(tree, ["scenarios", index])
        if not isinstance(item, dict):
            problems.append(Problem(display, line, f"scenarios.{index}", "expected a mapping"))
            continue
        facts: list[Fact] = []
        for number, raw in enumerate(item.get("facts") or []):
            fact_line, _ = locate(tree, ["scenarios", index, "facts", number])
            try:
                facts.append(parse_fact(_text(raw), display, fact_line or 0, number))
            except InputError as error:
                problems.extend(error.problems)
        try:
            as_of = as_date(_text(item.get("as_of")))
        except (TypeError, ValueError):
            problems.append(Problem(display, line, "as_of", "expected a date written YYYY-MM-DD"))
            continue
        expect = item.get("expect") or []
        scenarios.append(
            Scenario(
                file=display,
                line=line or 0,
                name=str(item.get("name", f"scenario-{index + 1}")),
                title=str(item.get("title", "")),
                as_of=as_of,
                facts=tuple(facts),
                expect=tuple(_text(e) for e in expect),
            )
        )
    if problems:
        raise InputError(problems)
    return scenarios


def scenario_files(rules: Path) -> list[Path]:
    folder = rules / SCENARIO_FOLDER
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def _identity(entry: dict[str, Any]) -> tuple[Any, Any, Any]:
    return (entry.get("rule"), entry.get("trigger"), entry.get("beneficiary"))


def compare(expected: Iterable[dict[str, Any]], obligations: list[dict[str, Any]]) -> list[str]:
    """Differences between expected and reported obligations, for people."""
    expected = list(expected)
    differences: list[str] = []
    rules = {e.get("rule") for e in expected}
    actual = {_identity(o): o for o in obligations if o["rule"] in rules}
    wanted = {_identity(e): e for e in expected}
    for identity, entry in wanted.items():
        found = actual.get(identity)
        label = f"{identity[0]} trigger={identity[1]} beneficiary={identity[2]}"
        if found is None:
            differences.append(f"missing: {label}")
            continue
        for name, value in entry.items():
            if name in ("rule", "trigger", "beneficiary"):
                continue
            if found.get(name) != value:
                differences.append(f"{label}: {name} expected {value!r}, got {found.get(name)!r}")
    for identity in sorted(set(actual) - set(wanted), key=str):
        o = actual[identity]
        differences.append(
            f"unexpected: {identity[0]} trigger={identity[1]} beneficiary={identity[2]} status={o['status']}"
        )
    return differences


def run_scenario(scenario: Scenario, portfolio: Portfolio) -> Outcome:
    check_buyers(FactLog(scenario.facts), [b.id for b in portfolio.form.agreement.buyers])
    sid = f"{portfolio.form.agreement.id}~scenario{next(_session_numbers)}"
    state = portfolio.evaluate(sid, scenario.facts, scenario.as_of)
    state.agreement_id = portfolio.form.agreement.id
    report = build_report(state, portfolio.form)
    return Outcome(scenario, compare(scenario.expect, report["obligations"]), report)
