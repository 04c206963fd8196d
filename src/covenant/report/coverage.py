"""Coverage: which rules, triggers and ways of meeting a duty no run ever exercised.

Kept apart from the evaluator, as OPA keeps ``cover`` apart from ``topdown``:
an evaluation only records which engine rules fired (``AgreementState.fired``);
coverage reads those names against the compiled bindings, each of which says
which rule and which alternative (the second trigger, the first ``met_by``)
it was compiled from. Nothing is re-matched here, so what coverage says was
exercised is exactly what the engine matched, joins and comparisons included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from covenant.diagnostics import InputError
from covenant.language.compiler import Binding, CompiledForm
from covenant.language.lint import triggers_with_paths
from covenant.language.loader import locate, read_yaml
from covenant.language.model import PeriodTrigger, ScheduleTrigger


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


def compute_coverage(runs: Iterable[Iterable[str]], form: CompiledForm) -> Coverage:
    """Coverage of a compiled rule folder by evaluations, each given as the engine rules that fired in it.

    Each engine rule's ``Binding`` says which rule, which alternative
    (trigger, ``met_by``, ``unless``, extension, ``bearing``) it was compiled
    from; a firing of it is that alternative matched. A rule counts as
    exercised when it gave rise to something: an obligation's trigger, a
    review item, a derived fact or period, a remedy granted.
    """
    coverage = Coverage(rule_ids=sorted(form.rules))
    fired: set[str] = set().union(*runs)
    for name in sorted(fired):
        binding = form.bindings.get(name)
        if binding is None or binding.rule_id is None or binding.rule_id not in form.rules:
            continue  # the agreement's own rules (holding, waivers) belong to no rule file
        rule = form.rules[binding.rule_id]
        if binding.kind in _GIVES_RISE:
            coverage.exercised.add(binding.rule_id)
        path = _path_of(binding, rule)
        if path is not None:
            coverage.matched.add((binding.rule_id, path))
    coverage.gaps = _gaps(coverage, form)
    return coverage


_GIVES_RISE = frozenset({"arise", "review", "derive", "period_input", "grant"})


def _path_of(binding: Binding, rule: Any) -> tuple[int | str, ...] | None:
    """Where in the rule file the alternative an engine rule was compiled from is written."""
    index = binding.index
    if binding.kind in ("arise", "review"):
        return triggers_with_paths(rule)[index][0]
    if binding.kind == "extend":
        path, trigger = triggers_with_paths(rule)[index]
        base = (*path, "due") if getattr(trigger, "due", None) else ("due",)
        return (*base, "extended_by", binding.detail)
    return {
        "meet": ("met_by", index),
        "permit": ("unless", index),
        "bearing": ("bearing", index),
        "again_event": ("again_after", index, "event"),
        "again_met": ("again_after", index, "met_by"),
    }.get(binding.kind)


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
    if isinstance(trigger, ScheduleTrigger):
        return f"each scheduled date of {trigger.schedule}"
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
