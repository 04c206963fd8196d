"""Scenarios: examples with expected findings, kept beside the rules.

A scenario file (``rules/<form>/scenarios/<rule-id>.yaml``) holds small fact
logs, an as-of date and the obligations a lawyer expects, as OPA keeps
policy tests next to policies and Catala keeps examples with expected
outputs. ``covenant test`` and the pytest suite both run them through the
real engine; a mismatch is shown field by field.

Expectations are exhaustive per rule id, and a scenario can always fail:
the rules compared are the file's ``rule:`` (or the scenario's own
``rules:``, when a file is about several rules) and every rule named in
``expect``. For each of them the report must contain exactly the listed
obligations (matched on rule, trigger and beneficiary), so ``expect: []``
means "this rule has no obligation here", not "check nothing". Only the
fields listed are compared.
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
from covenant.facts import Fact, FactLog, check_buyers, parse_fact, reference_problems
from covenant.language.loader import locate, read_yaml
from covenant.language.plainwords import fact_problems
from covenant.law.driver import FormEvaluator
from covenant.report.build import build_report

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
    rule: str | None = None  # the file's ``rule:``, the rule these scenarios are about
    rules: tuple[str, ...] | None = None  # the scenario's own ``rules:``, replacing the file's rule

    def rules_about(self) -> set[str]:
        """The rule of the file and every rule named in ``expect``."""
        named = {str(e["rule"]) for e in self.expect if e.get("rule")}
        return named | ({self.rule} if self.rule else set()) | set(self.rules or ())

    def compared(self, known: Iterable[str]) -> set[str]:
        """The rules whose every obligation is compared: ``rules:`` or the file's rule, and those in ``expect``.

        A file's ``rule:`` that is not a rule id (a file about a topic, such
        as waivers) names no rule; its scenarios give ``rules:`` instead.
        """
        known = set(known)
        named = {str(e["rule"]) for e in self.expect if e.get("rule")}
        if self.rules is not None:
            return named | set(self.rules)
        return named | ({self.rule} if self.rule in known else set())


@dataclass(frozen=True)
class Mismatch:
    """One way a report differs from what a scenario expects, kept as values for the diff."""

    kind: str  # missing | unexpected | field | unknown-rule | checks-nothing
    rule: Any
    trigger: Any = None
    beneficiary: Any = None
    field: str | None = None
    expected: Any = None
    got: Any = None

    def obligation(self) -> str:
        owed = f"owed to {self.beneficiary}" if self.beneficiary is not None else "owed to all"
        return f"{self.rule}, trigger {_shown(self.trigger)}, {owed}"

    def format(self) -> str:
        """One line, as ``compare`` has always returned them."""
        label = f"{self.rule} trigger={self.trigger} beneficiary={self.beneficiary}"
        if self.kind == "unknown-rule":
            return f"unknown rule: {self.rule} is not a rule of this folder (no rule file has id: {self.rule})"
        if self.kind == "checks-nothing":
            return (
                f"this scenario checks nothing: the file's rule: {self.rule} is not a rule id, and the scenario "
                "has neither rules: nor an expected obligation"
            )
        if self.kind == "missing":
            return f"missing: {label}"
        if self.kind == "unexpected":
            return f"unexpected: {label} {self.got}"
        return f"{label}: {self.field} expected {self.expected!r}, got {self.got!r}"


def _shown(value: Any) -> str:
    """A value as a scenario file writes it: null, dates and amounts as text, remedies one per line."""
    if value is None:
        return "null"
    if isinstance(value, list) and all(isinstance(v, dict) and "kind" in v for v in value):
        if not value:
            return "[]"
        return "; ".join(" ".join(str(v.get(k)) for k in ("kind", "buyer", "amount") if k in v) for v in value)
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


def describe(mismatches: Iterable[Mismatch]) -> list[str]:
    """A readable diff for people: per obligation, each field expected vs got, aligned."""
    lines: list[str] = []
    current: tuple[Any, Any, Any] | None = None
    for mismatch in mismatches:
        if mismatch.kind in ("unknown-rule", "checks-nothing"):
            lines.append(mismatch.format())
        elif mismatch.kind == "missing":
            current = None
            lines.append(f"missing: {mismatch.obligation()} (expected status {_shown(mismatch.expected)})")
            if mismatch.got:
                lines.append(f"    the report has for {mismatch.rule}: {', '.join(mismatch.got)}")
            else:
                lines.append(f"    the report has no obligation of {mismatch.rule} at all")
        elif mismatch.kind == "unexpected":
            current = None
            lines.append(f"unexpected: {mismatch.obligation()}: {mismatch.got} (not in expect)")
        else:
            identity = (mismatch.rule, mismatch.trigger, mismatch.beneficiary)
            if identity != current:
                lines.append(f"{mismatch.obligation()}:")
                current = identity
            name = f"{mismatch.field}:"
            lines.append(f"    {name:<16}expected {_shown(mismatch.expected)}")
            lines.append(f"    {'':<16}got      {_shown(mismatch.got)}")
    return lines


@dataclass
class Outcome:
    scenario: Scenario
    differences: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None
    mismatches: list[Mismatch] = field(default_factory=list)
    fired: frozenset[str] = frozenset()  # the engine rules that fired: what coverage reads

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


def load_scenarios(path: Path, tree: Any = None) -> list[Scenario]:
    """Read one scenario file (or its tree, already read); facts are validated like any fact log."""
    display = str(path)
    tree = read_yaml(path) if tree is None else tree
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
        own_rules = item.get("rules")
        shape = _shape_problems(tree, index, expect, own_rules, display)
        if shape:
            problems.extend(shape)
            continue
        scenarios.append(
            Scenario(
                file=display,
                line=line or 0,
                name=str(item.get("name", f"scenario-{index + 1}")),
                title=str(item.get("title", "")),
                as_of=as_of,
                facts=tuple(facts),
                expect=tuple(_text(e) for e in expect),
                rule=str(tree["rule"]) if tree.get("rule") else None,
                rules=tuple(str(r) for r in own_rules) if isinstance(own_rules, list) else None,
            )
        )
    if problems:
        raise InputError(fact_problems(problems))
    return scenarios


def _shape_problems(tree: Any, index: int, expect: Any, own_rules: Any, display: str) -> list[Problem]:
    """``expect`` is a list of obligations written as keys, ``rules`` a list of rule ids; anything else is refused."""
    problems: list[Problem] = []
    if not isinstance(expect, list):
        line, _ = locate(tree, ["scenarios", index, "expect"])
        problems.append(Problem(display, line, "expect", "expected a list of obligations (or [] for none)"))
    else:
        for number, entry in enumerate(expect):
            if not isinstance(entry, dict):
                line, _ = locate(tree, ["scenarios", index, "expect", number])
                problems.append(
                    Problem(
                        display,
                        line,
                        f"expect, item {number + 1}",
                        f"expected an obligation written as keys, not {entry!r}",
                        hint="e.g. {rule: ..., trigger: ..., beneficiary: ..., status: ...}",
                    )
                )
    if own_rules is not None and not (isinstance(own_rules, list) and all(isinstance(r, str) for r in own_rules)):
        line, _ = locate(tree, ["scenarios", index, "rules"])
        problems.append(Problem(display, line, "rules", "expected a list of rule ids", hint="e.g. rules: [form-d]"))
    return problems


def scenario_files(rules: Path) -> list[Path]:
    folder = rules / SCENARIO_FOLDER
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def _identity(entry: dict[str, Any]) -> tuple[Any, Any, Any]:
    return (entry.get("rule"), entry.get("trigger"), entry.get("beneficiary"))


def compare(expected: Iterable[dict[str, Any]], obligations: list[dict[str, Any]]) -> list[str]:
    """Differences between expected and reported obligations, for people."""
    return [m.format() for m in compare_obligations(expected, obligations)]


def compare_obligations(
    expected: Iterable[dict[str, Any]], obligations: list[dict[str, Any]], rules: Iterable[str] = ()
) -> list[Mismatch]:
    """Every mismatch between expected and reported obligations of ``rules`` and of the rules named in ``expected``.

    A rule in ``rules`` that ``expected`` never names must have no obligation
    at all: that is what makes ``expect: []`` a check.
    """
    expected = list(expected)
    mismatches: list[Mismatch] = []
    rules = {e.get("rule") for e in expected} | set(rules)
    actual = {_identity(o): o for o in obligations if o["rule"] in rules}
    wanted = {_identity(e): e for e in expected}
    for identity, entry in wanted.items():
        found = actual.get(identity)
        if found is None:
            have = [
                f"{_shown(o['trigger'])}/{_shown(o['beneficiary'])} {o['status']}"
                for o in obligations
                if o["rule"] == identity[0]
            ]
            mismatches.append(Mismatch("missing", *identity, expected=entry.get("status"), got=have))
            continue
        for name, value in entry.items():
            if name in ("rule", "trigger", "beneficiary"):
                continue
            if found.get(name) != value:
                mismatches.append(Mismatch("field", *identity, field=name, expected=value, got=found.get(name)))
    for identity in sorted(set(actual) - set(wanted), key=str):
        o = actual[identity]
        mismatches.append(Mismatch("unexpected", *identity, got=f"status {o['status']}, due {_shown(o['due'])}"))
    return mismatches


def run_scenario(scenario: Scenario, portfolio: FormEvaluator) -> Outcome:
    check_buyers(FactLog(scenario.facts), [b.id for b in portfolio.form.agreement.buyers])
    rules = portfolio.form.rules
    clauses = {rule.clause for rule in rules.values()}
    unknown_references = [p for fact in scenario.facts for p in reference_problems(fact, rules, clauses)]
    if unknown_references:
        raise InputError(unknown_references)
    sid = f"{portfolio.form.agreement.id}~scenario{next(_session_numbers)}"
    state = portfolio.evaluate(sid, scenario.facts, scenario.as_of)
    state.agreement_id = portfolio.form.agreement.id
    report = build_report(state, portfolio.form)
    known = portfolio.form.rules
    named = {str(e.get("rule")) for e in scenario.expect} | set(scenario.rules or ())
    unknown = sorted(rule for rule in named if rule not in known)
    mismatches = [Mismatch("unknown-rule", rule) for rule in unknown]
    compared = scenario.compared(known) & set(known)
    if not compared and not unknown:
        mismatches.append(Mismatch("checks-nothing", scenario.rule))
    expected = [e for e in scenario.expect if e.get("rule") in known]
    mismatches.extend(compare_obligations(expected, report["obligations"], compared))
    return Outcome(scenario, [m.format() for m in mismatches], report, mismatches, frozenset(state.fired))
