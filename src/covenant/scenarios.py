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

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from covenant.language.scenariofiles import Scenario
from covenant.law.driver import FormEvaluator
from covenant.pipeline import evaluate, validated_facts


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


def _identity(entry: dict[str, Any]) -> tuple[Any, Any, Any]:
    return (entry.get("rule"), entry.get("trigger"), entry.get("beneficiary"))


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


def run_scenario(scenario: Scenario, evaluator: FormEvaluator) -> Outcome:
    """A scenario's facts validated and evaluated exactly as ``covenant check`` would a log of them."""
    form = evaluator.form
    evaluated = evaluate(evaluator, validated_facts(scenario.facts, form), scenario.as_of)
    assert evaluated.state is not None  # a scenario always has its as-of date
    report = evaluated.report
    known = form.rules
    named = {str(e.get("rule")) for e in scenario.expect} | set(scenario.rules or ())
    unknown = sorted(rule for rule in named if rule not in known)
    mismatches = [Mismatch("unknown-rule", rule) for rule in unknown]
    compared = scenario.compared(known) & set(known)
    if not compared and not unknown:
        mismatches.append(Mismatch("checks-nothing", scenario.rule))
    expected = [e for e in scenario.expect if e.get("rule") in known]
    mismatches.extend(compare_obligations(expected, report["obligations"], compared))
    return Outcome(scenario, [m.format() for m in mismatches], report, mismatches, frozenset(evaluated.state.fired))
