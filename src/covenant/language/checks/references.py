"""Lint checks of references to the obligation (``same_as: trigger.period``) that can never match."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from covenant.diagnostics import Problem
from covenant.language.checks.common import (
    LintedRule,
    LintFolder,
    did_you_mean,
    models,
    problem,
    trigger_fields,
    triggers_with_paths,
)
from covenant.language.model import PeriodTrigger, ScheduleTrigger, Test, describe_reference
from covenant.language.walker import Node


def check_references(folder: LintFolder) -> Iterator[Problem]:
    """``never-matches``: a join to the obligation that can never succeed.

    ``same_as: trigger.period`` when the trigger's kind of fact has no
    ``period``; ``terms.form`` when a trigger gives no such term;
    ``beneficiary`` when the rule is owed to all Buyers; a reference in the
    trigger's own conditions, where there is no obligation yet.
    """
    for rule in folder.rules:
        triggers = triggers_with_paths(rule.rule)
        trigger_models = {id(t) for _, t in triggers}
        for node in models(rule):
            references = _references(node)
            if not references:
                continue
            owner = node.pattern()
            in_trigger = owner is not None and (
                id(owner.model) in trigger_models
                or (len(owner.path) >= 2 and owner.path[-2] in ("provided", "provided_none"))
                or (owner.path[:1] == ("when",) and rule.rule.kind == "derive")
            )
            for key, reference in references:
                path = [*node.path, key]
                head, tail = describe_reference(reference)
                if head in ("trigger", "beneficiary", "terms") and in_trigger:
                    yield problem(
                        rule,
                        path,
                        "never-matches",
                        f"{key}: {reference} in conditions tested before the obligation exists (the trigger, "
                        "provided or when): this can never match",
                        "references to the obligation belong in met_by, extended_by, unless, again_after or bearing",
                    )
                    continue
                yield from _reference_problems(rule, path, key, reference, head, tail, triggers, folder)
        for path, trigger in triggers:
            if isinstance(trigger, PeriodTrigger) and trigger.quarters and trigger.every != "fiscal_quarter_end":
                yield problem(
                    rule,
                    [*path, "quarters"],
                    "never-matches",
                    f"quarters only apply to every: fiscal_quarter_end, not {trigger.every}",
                    "remove quarters, or use every: fiscal_quarter_end",
                )
            if isinstance(trigger, ScheduleTrigger) and folder.agreement is not None:
                scheduled = {entry.pays for entry in folder.agreement.instrument.schedule}
                if trigger.schedule not in scheduled:
                    yield problem(
                        rule,
                        [*path, "schedule"],
                        "never-matches",
                        f"agreement.yaml's instrument schedules no {trigger.schedule}: this never arises",
                        "add an entry with pays: " + trigger.schedule + " to instrument.schedule in agreement.yaml",
                    )
        for index, meeting in enumerate(getattr(rule.rule, "met_by", None) or []):
            target = getattr(meeting, "to", None)
            if getattr(meeting, "adding_up", None) and isinstance(target, str):
                head, tail = describe_reference(target)
                path = ["met_by", index, "to"]
                yield from _reference_problems(rule, path, "to", target, head, tail, triggers, folder)


def _references(node: Node) -> list[tuple[str, str]]:
    if not isinstance(node.model, Test):
        return []
    keys = ("same_as", "on_or_before", "on_or_after")
    return [(k, getattr(node.model, k)) for k in keys if isinstance(getattr(node.model, k), str)]


def _reference_problems(
    rule: LintedRule,
    path: list[int | str],
    key: str,
    reference: str,
    head: str,
    tail: str | None,
    triggers: list[tuple[tuple[int | str, ...], Any]],
    folder: LintFolder,
) -> Iterator[Problem]:
    if head == "beneficiary" and getattr(rule.rule, "owed_to", None) == "all":
        yield problem(
            rule,
            path,
            "never-matches",
            f"{key}: beneficiary, but the rule is owed to all Buyers (no single beneficiary)",
            "use owed_to: each_holder, or owed_to: {buyer_in: <field>}, or drop this condition",
        )
    if head == "derived":
        yield from _derived_reference(rule, path, key, reference, str(tail), folder)
    lacking: list[str] = []
    known: set[str] = set()
    for trigger_path, trigger in triggers:
        where = ".".join(map(str, trigger_path))
        if head == "trigger" and tail not in (None, "id", "date"):
            fields = trigger_fields(trigger, folder)
            if fields is not None and tail not in fields:
                kind = (
                    f"every: {trigger.every}"
                    if isinstance(trigger, PeriodTrigger)
                    else f"schedule: {trigger.schedule}"
                    if isinstance(trigger, ScheduleTrigger)
                    else f"a {trigger.on} fact"
                )
                lacking.append(f"{where} ({kind})")
                known |= fields
        elif head == "terms" and tail not in (getattr(trigger, "terms", None) or {}):
            lacking.append(where)
    if not lacking:
        return
    triggers_text = ("the trigger at " if len(lacking) == 1 else "the triggers at ") + ", ".join(lacking)
    if head == "trigger":
        yield problem(
            rule,
            path,
            "never-matches",
            f"{key}: {reference}, but {triggers_text} {'has' if len(lacking) == 1 else 'have'} no field {tail!r}: "
            "this can never match",
            did_you_mean(str(tail), known) or f"the trigger's fields: {', '.join(sorted(known))}",
        )
    else:
        yield problem(
            rule,
            path,
            "never-matches",
            f"{key}: {reference}, but {triggers_text} {'gives' if len(lacking) == 1 else 'give'} no term {tail!r}: "
            "this can never match",
            f"add `terms: {{{tail}: ...}}` to {'that trigger' if len(lacking) == 1 else 'those triggers'}",
        )


def _derived_reference(
    rule: LintedRule, path: list[int | str], key: str, reference: str, tail: str, folder: LintFolder
) -> Iterator[Problem]:
    name = getattr(rule.rule, "derives", None)
    if not isinstance(name, str):
        yield problem(
            rule,
            path,
            "never-matches",
            f"{key}: {reference} outside a rule that derives a fact",
            "derived.<field> is for ends_when of a derive rule",
        )
        return
    fields = folder.fact_fields(name)
    if fields is not None and tail not in fields:
        yield problem(
            rule,
            path,
            "never-matches",
            f"{key}: {reference}, but the derived fact {name!r} has no field {tail!r}: this can never match",
            f"its fields: {', '.join(sorted(fields))} (add the field to copy: or set:)",
        )
