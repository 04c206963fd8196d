"""Coverage: which rules, triggers and ways of meeting a duty no run ever exercised.

Kept apart from the evaluator, as OPA keeps ``cover`` apart from ``topdown``:
coverage is computed afterwards from what the reports recorded (each
obligation's rule, trigger and evidence) and from the facts those ids name.
Nothing here changes or re-runs an evaluation.

Attributing a fact to one alternative of a rule (the second trigger, the
first ``met_by``) uses the fact's type and the plain conditions of each
alternative (equal to, one of, not, present); joins to the obligation and
comparisons are not re-checked, so when two alternatives of the same rule
accept the same fact, both count as exercised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from covenant.diagnostics import InputError
from covenant.facts import Fact
from covenant.language.compiler import CompiledForm
from covenant.language.lint import FACT_NAME_KEYS, triggers_with_paths, walk
from covenant.language.loader import locate, read_yaml
from covenant.language.model import PeriodTrigger, Test, scalar_json, section_of

_PERIOD_END = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Gap:
    """Something of a rule file that no run exercised, with where it is written."""

    rule_id: str
    path: tuple[int | str, ...]
    message: str


@dataclass
class Coverage:
    rule_ids: list[str]
    exercised: set[str] = field(default_factory=set)
    matched: set[tuple[str, tuple[int | str, ...]]] = field(default_factory=set)
    gaps: list[Gap] = field(default_factory=list)


@dataclass(frozen=True)
class _Seen:
    """A fact as coverage sees it: id, type and fields (derived facts have only a type)."""

    id: str
    type: str
    date: str
    fields: dict[str, Any]


def _facts_by_id(facts: Sequence[Fact], form: CompiledForm) -> dict[str, _Seen]:
    seen = {f.id: _Seen(f.id, f.type, f.date.isoformat(), f.fields) for f in facts}
    for rule_id, rule in form.rules.items():
        derives = getattr(rule, "derives", None)
        if isinstance(derives, str):
            seen.setdefault(rule_id, _Seen(rule_id, derives, "", {}))
    return seen


def _lookup(fact_id: str, seen: dict[str, _Seen]) -> _Seen | None:
    return seen.get(fact_id) or seen.get(fact_id.split("#", 1)[0])


def _agrees(condition: Any, value: Any) -> bool:
    """Does a field value meet a plain condition? Joins and comparisons count as met."""
    values = value if isinstance(value, list) else [value]
    texts = {str(scalar_json(v)) if v is not None else None for v in values}

    def equal(wanted: Any) -> bool:
        return str(scalar_json(wanted)) in texts

    if isinstance(condition, list):
        return any(equal(c) for c in condition)
    if not isinstance(condition, Test):
        return equal(condition)
    if condition.present is not None:
        return (value is not None) == condition.present
    if condition.not_ is not None:
        return not equal(condition.not_)
    if condition.one_of is not None:
        return any(equal(c) for c in condition.one_of)
    if condition.not_one_of is not None:
        return not any(equal(c) for c in condition.not_one_of)
    return True


def _derived_inputs(form: CompiledForm) -> dict[str, set[str]]:
    """Derived fact -> the kinds of fact it is derived from (a report cites those as evidence)."""
    inputs: dict[str, set[str]] = {}
    for rule in form.rules.values():
        derives = getattr(rule, "derives", None)
        if isinstance(derives, str):
            names = inputs.setdefault(derives, set())
            for node in walk(rule):
                for key in FACT_NAME_KEYS:
                    value = getattr(node.model, key, None)
                    if isinstance(value, str) and key in type(node.model).model_fields:
                        names.add(value)
    return inputs


def _pattern_accepts(pattern: Any, fact: _Seen, inputs: dict[str, set[str]] | None = None) -> bool:
    name = getattr(pattern, "fact", None) or getattr(pattern, "on", None)
    if inputs and name in inputs and fact.type in inputs[name]:
        return True  # met through a derived fact: the report cites what it was derived from
    if name != fact.type:
        return False
    if not fact.fields and fact.date == "":
        return True  # a derived fact: nothing more is known
    fields = {**fact.fields, "date": fact.date}
    if not all(_agrees(c, fields.get(n)) for n, c in (getattr(pattern, "where", None) or {}).items()):
        return False
    groups = getattr(pattern, "any_of", None) or []
    return not groups or any(all(_agrees(c, fields.get(n)) for n, c in g.items()) for g in groups)


def _period_accepts(trigger: PeriodTrigger, day: str, fiscal_year_end: str) -> bool:
    month = int(day[5:7])
    months_after_fy = (month - int(fiscal_year_end[:2])) % 12
    if trigger.every == "month_end":
        return True
    if trigger.every == "fiscal_year_end":
        return months_after_fy == 0
    quarter = 4 if months_after_fy == 0 else months_after_fy // 3
    return months_after_fy % 3 == 0 and (not trigger.quarters or quarter in trigger.quarters)


def _alternatives(rule: Any) -> list[tuple[tuple[int | str, ...], Any, str]]:
    """(path, pattern, what it is) of each way a rule's obligations can be met or permitted."""
    out: list[tuple[tuple[int | str, ...], Any, str]] = []
    for index, meeting in enumerate(getattr(rule, "met_by", None) or []):
        out.append((("met_by", index), meeting, "met_by"))
    for index, permission in enumerate(getattr(rule, "unless", None) or []):
        out.append((("unless", index), permission, "unless"))
    for index, bearing in enumerate(getattr(rule, "bearing", None) or []):
        out.append((("bearing", index), bearing, "bearing"))
    for index, again in enumerate(getattr(rule, "again_after", None) or []):
        out.append((("again_after", index, "event"), again.event, "again_after event"))
        out.append((("again_after", index, "met_by"), again.met_by, "again_after met_by"))
    for path, trigger in triggers_with_paths(rule):
        due = getattr(trigger, "due", None) or getattr(rule, "due", None)
        base = (*path, "due") if getattr(trigger, "due", None) else ("due",)
        for index, extension in enumerate(getattr(due, "extended_by", None) or []):
            out.append(((*base, "extended_by", index), extension, "extended_by"))
    return out


def compute_coverage(runs: Iterable[tuple[dict[str, Any], Sequence[Fact]]], form: CompiledForm) -> Coverage:
    """Coverage of a compiled rule folder by reports, each with the facts it was computed from."""
    coverage = Coverage(rule_ids=sorted(form.rules))
    remedy_kinds = {name: d.report_as for name, d in form.agreement.remedies.items()}
    granted: set[tuple[str, str]] = set()  # (section, report kind) seen on a breach
    evidence_ids: set[str] = set()
    inputs = _derived_inputs(form)
    for report, facts in runs:
        seen = _facts_by_id(facts, form)
        for obligation in report.get("obligations", []):
            rule_id = obligation["rule"]
            rule = form.rules.get(rule_id)
            if rule is None:
                continue
            coverage.exercised.add(rule_id)
            for line in obligation.get("remedies", []):
                granted.add((section_of(rule.clause), line["kind"]))
            evidence = list(obligation.get("evidence", []))
            evidence_ids.update(evidence)
            trigger_id = obligation.get("trigger") or (evidence[0] if evidence else None)
            _mark_trigger(coverage, rule_id, rule, trigger_id, seen, form)
            for fact_id in evidence:
                fact = _lookup(fact_id, seen)
                if fact is None or fact_id == trigger_id:
                    continue
                for path, pattern, _ in _alternatives(rule):
                    if _pattern_accepts(pattern, fact, inputs):
                        coverage.matched.add((rule_id, path))
    _mark_other_kinds(coverage, form, granted, remedy_kinds, evidence_ids)
    coverage.gaps = _gaps(coverage, form)
    return coverage


def _mark_trigger(
    coverage: Coverage, rule_id: str, rule: Any, trigger_id: str | None, seen: dict[str, _Seen], form: CompiledForm
) -> None:
    fact = _lookup(trigger_id, seen) if trigger_id else None
    for path, trigger in triggers_with_paths(rule):
        if isinstance(trigger, PeriodTrigger):
            accepted = fact is None and trigger_id is not None and bool(_PERIOD_END.match(trigger_id))
            accepted = accepted and _period_accepts(trigger, str(trigger_id), form.agreement.fiscal_year_end)
        else:
            accepted = fact is not None and _pattern_accepts(trigger, fact)
        if accepted:
            coverage.matched.add((rule_id, path))


def _mark_other_kinds(
    coverage: Coverage,
    form: CompiledForm,
    granted: set[tuple[str, str]],
    remedy_kinds: dict[str, str],
    evidence_ids: set[str],
) -> None:
    """Remedy rules count when a breach of their section carried their remedy; derived facts when cited."""
    for rule_id, rule in form.rules.items():
        if rule.kind == "remedy":
            kinds = {remedy_kinds.get(name) for name in rule.grants}
            if any((rule.applies_to_section, kind) in granted for kind in kinds):
                coverage.exercised.add(rule_id)
        elif isinstance(getattr(rule, "derives", None), str):
            cited = any(i == rule_id or i.startswith(f"{rule_id}#") for i in evidence_ids)
            used = any(
                other_id in coverage.exercised and _names_fact(other, rule.derives)
                for other_id, other in form.rules.items()
            )
            if cited or used:
                coverage.exercised.add(rule_id)


def _names_fact(rule: Any, name: str) -> bool:
    """Does a rule test a fact (``provided``, ``provided_none``, ``met_by``, ``when``), so its obligations show it?"""
    patterns: list[Any] = []
    for _, trigger in triggers_with_paths(rule):
        patterns.extend(getattr(trigger, "provided", None) or [])
        patterns.extend(getattr(trigger, "provided_none", None) or [])
    patterns.extend(getattr(rule, "met_by", None) or [])
    patterns.extend(getattr(rule, "when", None) or [])
    return any(getattr(p, "fact", None) == name for p in patterns)


def _gaps(coverage: Coverage, form: CompiledForm) -> list[Gap]:
    gaps: list[Gap] = []
    for rule_id in coverage.rule_ids:
        rule = form.rules[rule_id]
        if rule_id not in coverage.exercised:
            gaps.append(Gap(rule_id, ("id",), f"rule {rule_id} was never exercised"))
            continue
        triggers = triggers_with_paths(rule)
        if len(triggers) > 1:
            for path, trigger in triggers:
                if (rule_id, path) not in coverage.matched:
                    gaps.append(Gap(rule_id, path, f"this trigger ({_describe_trigger(trigger)}) never arose"))
        for path, pattern, what in _alternatives(rule):
            if (rule_id, path) not in coverage.matched:
                number = next(p for p in reversed(path) if isinstance(p, int)) + 1
                gaps.append(Gap(rule_id, path, f"{what} {pattern.fact} (alternative {number}) never matched"))
    return gaps


def _describe_trigger(trigger: Any) -> str:
    if isinstance(trigger, PeriodTrigger):
        quarters = f" quarters {trigger.quarters}" if trigger.quarters else ""
        return f"every {trigger.every}{quarters}"
    return f"on {trigger.on}"


def breach_and_compliance(
    scenarios: Sequence[tuple[set[str], dict[str, Any]]], form: CompiledForm, coverage: Coverage
) -> list[Gap]:
    """Duties and prohibitions without a scenario of a breach, or without one of compliance.

    Each item is (the rules a scenario is about, its report). A scenario
    shows compliance with a rule it is about when no obligation of that rule
    is in breach (met, pending, permitted, or nothing forbidden happened).
    """
    breached: set[str] = set()
    complied: set[str] = set()
    for rules, report in scenarios:
        for rule_id in rules:
            mine = [o for o in report.get("obligations", []) if o["rule"] == rule_id]
            if any(o.get("breach_start") is not None for o in mine):
                breached.add(rule_id)
            else:
                complied.add(rule_id)
    gaps: list[Gap] = []
    about = set().union(*(rules for rules, _ in scenarios)) if scenarios else set()
    for rule_id in sorted(form.rules):
        if form.rules[rule_id].kind not in ("duty", "prohibition"):
            continue
        if rule_id not in coverage.exercised or rule_id not in about:
            continue  # never exercised is reported once, as such
        if rule_id not in breached:
            gaps.append(Gap(rule_id, ("id",), f"no scenario shows {rule_id} breached"))
        if rule_id not in complied:
            gaps.append(Gap(rule_id, ("id",), f"no scenario shows {rule_id} complied with"))
    return gaps


def render_coverage(coverage: Coverage, form: CompiledForm, extra: Sequence[Gap] = ()) -> list[str]:
    """``FILE:LINE: what was never exercised``, one line each in file order, then a summary line."""
    trees: dict[str, Any] = {}
    placed = [(_place(gap.rule_id, gap.path, form, trees), gap.message) for gap in [*coverage.gaps, *extra]]
    lines = [f"{file}:{line}: {message}" if line else f"{file}: {message}" for (file, line), message in sorted(placed)]
    total = len(coverage.rule_ids)
    done = len([r for r in coverage.rule_ids if r in coverage.exercised])
    gaps = len(coverage.gaps) + len(extra)
    lines.append(f"coverage: {done} of {total} rules exercised, {gaps} gap{'s' if gaps != 1 else ''}")
    return lines


def _place(rule_id: str, path: tuple[int | str, ...], form: CompiledForm, trees: dict[str, Any]) -> tuple[str, int]:
    file = form.files[rule_id]
    if file not in trees:
        try:
            trees[file] = read_yaml(Path(file))
        except InputError:
            trees[file] = None
    line, _ = locate(trees[file], list(path)) if trees[file] is not None else (None, None)
    return display_path(file), line or 0


def display_path(file: str) -> str:
    """A path relative to the working directory when it is under it: what a person typed."""
    path = Path(file)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return file
