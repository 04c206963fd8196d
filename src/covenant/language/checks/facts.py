"""Lint checks of the facts a rule names: ids, fact types, fields and their values, remedies, derived facts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from covenant.diagnostics import Problem
from covenant.engine.names import INTERNAL_TYPES
from covenant.language.checks.common import (
    LintedRule,
    LintFolder,
    conditions,
    did_you_mean,
    fact_names,
    models,
    problem,
    trigger_fields,
    triggers_with_paths,
)
from covenant.language.expressions import fields_read
from covenant.language.loader import AGREEMENT_FILE
from covenant.language.model import EventOfDefaultRule, FieldTimes, FinancialTest, ReviewRule, Test
from covenant.language.walker import named_fact


def check_duplicate_ids(folder: LintFolder) -> Iterator[Problem]:
    """``duplicate-id``: two rule files with the same ``id``; reports and waivers would mix them."""
    for rule, first in folder.duplicates():
        yield problem(
            rule,
            ["id"],
            "duplicate-id",
            f"rule id {rule.rule.id!r} is also used in {first.file}",
            "every rule file needs its own id; waivers and reports name rules by id",
        )


def check_fact_types(folder: LintFolder) -> Iterator[Problem]:
    """``unknown-fact``: a rule names a kind of fact the folder's vocabulary.yaml lacks and no rule derives."""
    known = set(folder.fact_models() or {}) | set(folder.derived())
    for rule in folder.rules:
        for path, name in fact_names(rule):
            if not folder.known_fact(name):
                hint = did_you_mean(name, known) or "the fact types: this folder's vocabulary.yaml; or derive it"
                yield problem(
                    rule,
                    path,
                    "unknown-fact",
                    f"unknown fact type {name!r}: not in the fact vocabulary and no rule derives it",
                    hint,
                )


def check_fields(folder: LintFolder) -> Iterator[Problem]:
    """``unknown-field``: a ``where`` (or one_per, adding_up, buyer_in) names a field the fact lacks."""
    for rule in folder.rules:
        for node in models(rule):
            fact = named_fact(node.model)
            fields = folder.fact_fields(fact) if fact else None
            if fact is None or fields is None:
                continue
            for path, name, condition in conditions(node.model):
                if name not in fields:
                    yield _unknown_field(rule, [*node.path, *path], fact, name, fields)
                    continue
                allowed = _allowed_values(folder, fact, name)
                for index, value in _written_values(condition):
                    if allowed is not None and value not in allowed:
                        where = [*node.path, *path] if index is None else [*node.path, *path, index]
                        yield problem(
                            rule,
                            where,
                            "unknown-value",
                            f"{fact}.{name} is never {value!r}: the fact vocabulary allows "
                            + ", ".join(repr(v) for v in sorted(allowed, key=str)),
                            did_you_mean(str(value), [str(v) for v in allowed]),
                        )
                if name != "date" and _date_test(condition):
                    yield problem(
                        rule,
                        [*node.path, *path],
                        "never-matches",
                        f"on_or_before and on_or_after compare the fact's own date, not {name!r}",
                        f"write date: {{on_or_before: ...}}, or compare {name} with same_as",
                    )
                if name == "date" and not _date_test(condition):
                    yield problem(
                        rule,
                        [*node.path, *path],
                        "never-matches",
                        "a fact's date is compared with on_or_before or on_or_after, never written as a value",
                        "e.g. date: {on_or_before: trigger.date}",
                    )
                if isinstance(condition, Test):
                    for bound_key in ("below", "at_most", "above", "at_least"):
                        bound = getattr(condition, bound_key)
                        if isinstance(bound, FieldTimes) and bound.field not in fields:
                            where = [*node.path, *path, bound_key, "field"]
                            yield _unknown_field(rule, where, fact, bound.field, fields)
            for key in ("one_per", "adding_up"):
                value = getattr(node.model, key, None)
                if isinstance(value, str) and value not in fields:
                    yield _unknown_field(rule, [*node.path, key], fact, value, fields)
        yield from _copied_fields(rule, folder)
        owed_to = getattr(rule.rule, "owed_to", None)
        if isinstance(owed_to, dict) and "buyer_in" in owed_to:
            for path, trigger in triggers_with_paths(rule.rule):
                fields = trigger_fields(trigger, folder)
                if fields is not None and owed_to["buyer_in"] not in fields:
                    name = getattr(trigger, "on", "a period")
                    yield problem(
                        rule,
                        ["owed_to", "buyer_in"],
                        "unknown-field",
                        f"owed_to buyer_in {owed_to['buyer_in']!r}: a {name} fact (arises at "
                        f"{'.'.join(map(str, path))}) has no such field",
                        f"fields of {name}: {', '.join(sorted(fields))}",
                    )


def _allowed_values(folder: LintFolder, fact: str, name: str) -> frozenset[Any] | None:
    """The fixed vocabulary of a field (``delivery.what``), or None when any value may be written."""
    model = (folder.fact_models() or {}).get(fact)
    info = model.model_fields.get(name) if model is not None else None
    if info is None:
        return None
    values: set[Any] = set()
    pending = [info.annotation]
    while pending:
        annotation = pending.pop()
        if annotation is type(None):
            continue
        if get_origin(annotation) is Literal:
            values.update(get_args(annotation))
        elif get_origin(annotation) in (Union, UnionType):
            pending.extend(get_args(annotation))
        elif annotation is bool or getattr(annotation, "__origin__", None) is bool or _is_strict_bool(annotation):
            values.update((True, False))
        else:
            return None  # text, numbers, dates: anything of the right kind may be written
    return frozenset(values)


def _is_strict_bool(annotation: Any) -> bool:
    return get_origin(annotation) is Annotated and get_args(annotation)[0] is bool


def _written_values(condition: Any) -> list[tuple[int | str | None, Any]]:
    """(position, value) of each value a condition compares with equality."""
    if isinstance(condition, list):
        return list(enumerate(condition))
    if isinstance(condition, Test):
        for key in ("not_", "one_of", "not_one_of"):
            value = getattr(condition, key)
            if isinstance(value, list):
                return list(enumerate(value))
            if value is not None:
                return [(None, value)]
        return []
    return [(None, condition)]


def _date_test(condition: Any) -> bool:
    return isinstance(condition, Test) and (condition.on_or_before or condition.on_or_after) is not None


def _copied_fields(rule: LintedRule, folder: LintFolder) -> Iterator[Problem]:
    """``copy: [market]`` copies from the first ``when`` fact: it must have that field."""
    when = getattr(rule.rule, "when", None) or []
    if not when:
        return
    fields = folder.fact_fields(when[0].fact)
    for index, name in enumerate(getattr(rule.rule, "copy_fields", None) or []):
        if fields is not None and name not in fields:
            yield _unknown_field(rule, ["copy", index], when[0].fact, name, fields)


def check_measure_fields(folder: LintFolder) -> Iterator[Problem]:
    """``unknown-field``: a financial test reads a figure (or a period) its figures fact does not have."""
    for rule in folder.rules:
        test = rule.rule
        if not isinstance(test, FinancialTest):
            continue
        fields = folder.fact_fields(test.figures.fact)
        if fields is None:
            continue  # an unknown fact type: check_fact_types says so
        if test.figures.period_field not in fields:
            path = ["figures", "period_field"]
            yield _unknown_field(rule, path, test.figures.fact, test.figures.period_field, fields)
        for name in fields_read(test.measure):
            if name not in fields:
                yield _unknown_field(rule, ["measure"], test.figures.fact, name, fields)


def _unknown_field(
    rule: LintedRule, path: Sequence[int | str], fact: str, name: str, fields: frozenset[str]
) -> Problem:
    hint = did_you_mean(name, fields) or f"fields of {fact}: {', '.join(sorted(fields))}"
    return problem(rule, path, "unknown-field", f"a {fact} fact has no field {name!r}", hint)


def check_rules_named(folder: LintFolder) -> Iterator[Problem]:
    """``unknown-rule``: an Event of Default rests on, or a review counts, a rule the folder does not have."""
    ids = {rule.rule.id for rule in folder.rules}
    defaults = {rule.rule.id for rule in folder.rules if isinstance(rule.rule, EventOfDefaultRule)}
    for rule in folder.rules:
        named: list[tuple[list[int | str], str, set[str], str]] = []
        if isinstance(rule.rule, EventOfDefaultRule):
            named += [(["on_breach_of", i], name, ids, "a rule") for i, name in enumerate(rule.rule.on_breach_of)]
            resting = set(rule.rule.on_breach_of)
            for i, name in enumerate(rule.rule.grace.only_for if rule.rule.grace else []):
                named.append((["grace", "only_for", i], name, resting, "a rule of on_breach_of"))
        if isinstance(rule.rule, ReviewRule):
            for number, alternative in enumerate(rule.rule.valid_when):
                if isinstance(alternative.defaults_continuing, list):
                    path: list[int | str] = ["valid_when", number, "defaults_continuing"]
                    named += [
                        ([*path, i], name, defaults, "an Event of Default rule (kind: default)")
                        for i, name in enumerate(alternative.defaults_continuing)
                    ]
        for path, name, known, what in named:
            if name not in known:
                yield problem(
                    rule, path, "unknown-rule", f"{name!r} is not {what} of this folder", did_you_mean(name, known)
                )


def check_remedies(folder: LintFolder) -> Iterator[Problem]:
    """``unknown-remedy``: a rule names a remedy that agreement.yaml's ``remedies`` does not define."""
    if folder.agreement is None:
        return
    defined = set(folder.agreement.remedies)
    for rule in folder.rules:
        for key in ("remedies", "grants"):
            for index, name in enumerate(getattr(rule.rule, key, None) or []):
                if name not in defined:
                    yield problem(
                        rule,
                        [key, index],
                        "unknown-remedy",
                        f"remedy {name!r} is not defined in {AGREEMENT_FILE} (remedies:)",
                        did_you_mean(name, defined) or f"defined: {', '.join(sorted(defined))}",
                    )


def check_derived(folder: LintFolder) -> Iterator[Problem]:
    """``unused-derived`` and ``derived-shadows-fact``: a derived fact nothing uses, or one named like a fact."""
    used: set[str] = set()
    for rule in folder.rules:
        used.update(name for _path, name in fact_names(rule))
    for name, rules in sorted(folder.derived().items()):
        rule = rules[0]
        if name in (folder.fact_models() or {}) or name in INTERNAL_TYPES:
            yield problem(
                rule,
                ["derives"],
                "derived-shadows-fact",
                f"derives {name!r}, which is already a kind of fact recorded in fact logs",
                "give the derived fact its own name, e.g. " + f"{name}_complete",
            )
        elif name not in used:
            yield problem(
                rule,
                ["derives"],
                "unused-derived",
                f"derives {name!r}, but no rule uses it (fact: {name})",
                "name it in another rule's met_by, provided or when, or remove this rule",
            )
