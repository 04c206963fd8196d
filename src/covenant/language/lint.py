"""``covenant lint``: every mistake in a rule folder, with its line, before any evaluation.

Loading a rule folder (rulefiles.py) already refuses bad YAML and anything
the rule language does not allow. Lint goes further and checks what one
file cannot know alone: that the facts a rule names exist (in facts.md, or
derived by another rule), that the fields it tests are fields of those
facts, that a join to the obligation (``same_as: trigger.period``) can ever
succeed, that remedies are defined in ``agreement.yaml``, that derived
facts are used, that rule ids are unique, and that the clause quoted in
each rule is the agreement's own words.

As in yamllint, each check is a small function that yields ``Problem``
values with a stable code (docs/errors.md has a section per code); one
formatter prints them all. Lint never evaluates anything and never changes
a file.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter

from covenant.calendar import BusinessCalendar, as_date
from covenant.diagnostics import InputError, Problem
from covenant.engine.names import INTERNAL_TYPES
from covenant.facts import FACT_TYPES, reference_problems
from covenant.language.compiler import compile_form
from covenant.language.limits import rule_problems
from covenant.language.loader import (
    AGREEMENT_FILE,
    VOCABULARY_FILE,
    RuleFolder,
    SourcedRule,
    _validate,
    locate,
    read_yaml,
)
from covenant.language.model import (
    Agreement,
    Due,
    DutyRule,
    FactTrigger,
    FieldTimes,
    PeriodTrigger,
    Rule,
    Test,
    describe_reference,
)
from covenant.language.scenariofiles import Scenario, load_scenarios, scenario_files

SCHEMA_LINE = "# yaml-language-server: $schema="
PERIOD_FIELDS = frozenset({"date", "month", "quarter"})
"""What a period trigger (``every: month_end``) offers to ``same_as: trigger.<field>``."""

_RULE_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)
FACT_NAME_KEYS = ("fact", "on", "starts_on", "plus_days_of")
"""Keys whose value names a kind of fact, wherever they appear in a rule."""


@dataclass(frozen=True)
class LintedRule:
    """One rule file that passed the language: the model, its file and its YAML tree (for lines)."""

    rule: Any
    file: str
    tree: Any
    text: str


@dataclass(frozen=True)
class ScenarioFileTree:
    """A scenario file whose facts loaded: its scenarios and its YAML tree (for lines)."""

    file: str
    tree: Any
    scenarios: list[Scenario]


@dataclass
class LintFolder:
    """What the checks look at: the rules that loaded, the agreement, the agreement's text."""

    folder: Path
    rules: list[LintedRule]
    agreement: Agreement | None
    agreement_file: str
    agreement_tree: Any
    agreement_text: str | None = None
    text_files: list[str] = field(default_factory=list)
    scenario_files: list[ScenarioFileTree] = field(default_factory=list)
    unreadable_texts: list[str] = field(default_factory=list)
    unloaded_ids: set[str] = field(default_factory=set)
    unloaded_derived: set[str] = field(default_factory=set)
    """Facts that rule files which did not load derive: rules using them are not told they are unknown."""
    """Ids of rule files that did not load: a scenario naming one is not told the rule does not exist."""

    def derived(self) -> dict[str, list[LintedRule]]:
        """Fact name -> the rules that derive it (several rules may derive the same fact)."""
        out: dict[str, list[LintedRule]] = {}
        for rule in self.rules:
            name = getattr(rule.rule, "derives", None)
            if isinstance(name, str):
                out.setdefault(name, []).append(rule)
        return out

    def fact_fields(self, name: str) -> frozenset[str] | None:
        """The fields a ``where`` may test on a kind of fact; None when lint cannot know them.

        A ``derive`` rule's fact has the fields it copies or sets; other
        derived facts (periods) have fields lint does not model.
        """
        model = FACT_TYPES.get(name)
        if model is not None:
            return frozenset(model.model_fields) - {"type", "agreement", "note"} | {"date"}
        deriving = self.derived().get(name)
        if not deriving or any(r.rule.kind != "derive" for r in deriving):
            return None
        fields = {"date"}
        for rule in deriving:
            fields |= set(getattr(rule.rule, "copy_fields", ()) or ())
            fields |= set(getattr(rule.rule, "set_fields", {}) or {})
        return frozenset(fields)

    def known_fact(self, name: str) -> bool:
        return name in FACT_TYPES or name in INTERNAL_TYPES or name in self.derived() or name in self.unloaded_derived


Check = Callable[[LintFolder], Iterable[Problem]]


@dataclass(frozen=True)
class LintResult:
    problems: list[Problem]
    rule_files: int
    scenario_files: int = 0


# --- walking a rule -----------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A model inside a rule, with its path in the YAML file and the models around it."""

    path: tuple[int | str, ...]
    model: BaseModel
    ancestors: tuple[Node, ...]

    def pattern(self) -> Node | None:
        """The nearest enclosing pattern (a model naming a fact with ``fact`` or ``on``)."""
        for node in (self, *reversed(self.ancestors)):
            if _named_fact(node.model) is not None:
                return node
        return None


def _named_fact(model: BaseModel) -> str | None:
    for key in ("fact", "on"):
        value = getattr(model, key, None)
        if isinstance(value, str) and hasattr(model, "where"):
            return value
    return None


def walk(model: BaseModel, path: tuple[int | str, ...] = (), ancestors: tuple[Node, ...] = ()) -> Iterator[Node]:
    """Every model inside ``model``, depth first, with the YAML path to it (aliases as written)."""
    node = Node(path, model, ancestors)
    yield node
    for name, info in type(model).model_fields.items():
        for suffix, child in _models_in(getattr(model, name), (info.alias or name,)):
            yield from walk(child, path + suffix, (*ancestors, node))


def _models_in(value: Any, path: tuple[int | str, ...]) -> Iterator[tuple[tuple[int | str, ...], BaseModel]]:
    """The models inside a field's value: itself, or items of lists and mappings, at any depth."""
    if isinstance(value, BaseModel):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _models_in(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _models_in(item, (*path, key))


def _problem(rule: LintedRule, path: Sequence[int | str], code: str, message: str, hint: str | None = None) -> Problem:
    line, column = locate(rule.tree, list(path))
    return Problem(rule.file, line, None, message, column, code=code, hint=hint)


def _did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.7)
    return f"did you mean {close[0]!r}?" if close else None


def _conditions(model: BaseModel) -> Iterator[tuple[tuple[int | str, ...], str, Any]]:
    """(path, field name, condition) of a pattern's ``where`` and of each ``any_of`` group."""
    for name, condition in (getattr(model, "where", None) or {}).items():
        yield ("where", name), name, condition
    for index, group in enumerate(getattr(model, "any_of", None) or []):
        for name, condition in group.items():
            yield ("any_of", index, name), name, condition


def triggers_with_paths(rule: Any) -> list[tuple[tuple[int | str, ...], Any]]:
    """Each trigger of a rule with its path (``arises`` or ``forbids``, one or a list)."""
    for key in ("arises", "forbids"):
        value = getattr(rule, key, None)
        if value is None:
            continue
        if isinstance(value, list):
            return [((key, i), t) for i, t in enumerate(value)]
        return [((key,), value)]
    return []


def _trigger_fields(trigger: Any, folder: LintFolder) -> frozenset[str] | None:
    """What ``trigger.<field>`` may name for one trigger; None when unknown."""
    if isinstance(trigger, PeriodTrigger):
        return PERIOD_FIELDS
    name = getattr(trigger, "on", None)
    if name is None:
        return None
    fields = folder.fact_fields(name)
    return None if fields is None else fields | {"id"}


# --- the checks ---------------------------------------------------------------


def check_duplicate_ids(folder: LintFolder) -> Iterator[Problem]:
    """``duplicate-id``: two rule files with the same ``id``; reports and waivers would mix them."""
    seen: dict[str, LintedRule] = {}
    for rule in folder.rules:
        first = seen.setdefault(rule.rule.id, rule)
        if first is not rule:
            yield _problem(
                rule,
                ["id"],
                "duplicate-id",
                f"rule id {rule.rule.id!r} is also used in {first.file}",
                "every rule file needs its own id; waivers and reports name rules by id",
            )


def check_fact_types(folder: LintFolder) -> Iterator[Problem]:
    """``unknown-fact``: a rule names a kind of fact that facts.md lacks and no rule derives."""
    known = set(FACT_TYPES) | set(folder.derived())
    for rule in folder.rules:
        for node in walk(rule.rule):
            for key in FACT_NAME_KEYS:
                name = getattr(node.model, key, None)
                if isinstance(name, str) and key in type(node.model).model_fields and not folder.known_fact(name):
                    hint = _did_you_mean(name, known) or "the fact types: docs/facts.md; or derive it"
                    yield _problem(
                        rule,
                        [*node.path, key],
                        "unknown-fact",
                        f"unknown fact type {name!r}: not in the fact vocabulary and no rule derives it",
                        hint,
                    )


def check_fields(folder: LintFolder) -> Iterator[Problem]:
    """``unknown-field``: a ``where`` (or one_per, adding_up, buyer_in) names a field the fact lacks."""
    for rule in folder.rules:
        for node in walk(rule.rule):
            fact = _named_fact(node.model)
            fields = folder.fact_fields(fact) if fact else None
            if fact is None or fields is None:
                continue
            for path, name, condition in _conditions(node.model):
                if name not in fields:
                    yield _unknown_field(rule, [*node.path, *path], fact, name, fields)
                    continue
                allowed = _allowed_values(fact, name)
                for index, value in _written_values(condition):
                    if allowed is not None and value not in allowed:
                        where = [*node.path, *path] if index is None else [*node.path, *path, index]
                        yield _problem(
                            rule,
                            where,
                            "unknown-value",
                            f"{fact}.{name} is never {value!r}: the fact vocabulary allows "
                            + ", ".join(repr(v) for v in sorted(allowed, key=str)),
                            _did_you_mean(str(value), [str(v) for v in allowed]),
                        )
                if name != "date" and _date_test(condition):
                    yield _problem(
                        rule,
                        [*node.path, *path],
                        "never-matches",
                        f"on_or_before and on_or_after compare the fact's own date, not {name!r}",
                        f"write date: {{on_or_before: ...}}, or compare {name} with same_as",
                    )
                if name == "date" and not _date_test(condition):
                    yield _problem(
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
                fields = _trigger_fields(trigger, folder)
                if fields is not None and owed_to["buyer_in"] not in fields:
                    name = getattr(trigger, "on", "a period")
                    yield _problem(
                        rule,
                        ["owed_to", "buyer_in"],
                        "unknown-field",
                        f"owed_to buyer_in {owed_to['buyer_in']!r}: a {name} fact (arises at "
                        f"{'.'.join(map(str, path))}) has no such field",
                        f"fields of {name}: {', '.join(sorted(fields))}",
                    )


def _allowed_values(fact: str, name: str) -> frozenset[Any] | None:
    """The fixed vocabulary of a field (``delivery.what``), or None when any value may be written."""
    model = FACT_TYPES.get(fact)
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


def _unknown_field(
    rule: LintedRule, path: Sequence[int | str], fact: str, name: str, fields: frozenset[str]
) -> Problem:
    hint = _did_you_mean(name, fields) or f"fields of {fact}: {', '.join(sorted(fields))}"
    return _problem(rule, path, "unknown-field", f"a {fact} fact has no field {name!r}", hint)


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
        for node in walk(rule.rule):
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
                    yield _problem(
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
                yield _problem(
                    rule,
                    [*path, "quarters"],
                    "never-matches",
                    f"quarters only apply to every: fiscal_quarter_end, not {trigger.every}",
                    "remove quarters, or use every: fiscal_quarter_end",
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
        yield _problem(
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
            fields = _trigger_fields(trigger, folder)
            if fields is not None and tail not in fields:
                kind = f"every: {trigger.every}" if isinstance(trigger, PeriodTrigger) else f"a {trigger.on} fact"
                lacking.append(f"{where} ({kind})")
                known |= fields
        elif head == "terms" and tail not in (getattr(trigger, "terms", None) or {}):
            lacking.append(where)
    if not lacking:
        return
    triggers_text = ("the trigger at " if len(lacking) == 1 else "the triggers at ") + ", ".join(lacking)
    if head == "trigger":
        yield _problem(
            rule,
            path,
            "never-matches",
            f"{key}: {reference}, but {triggers_text} {'has' if len(lacking) == 1 else 'have'} no field {tail!r}: "
            "this can never match",
            _did_you_mean(str(tail), known) or f"the trigger's fields: {', '.join(sorted(known))}",
        )
    else:
        yield _problem(
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
        yield _problem(
            rule,
            path,
            "never-matches",
            f"{key}: {reference} outside a rule that derives a fact",
            "derived.<field> is for ends_when of a derive rule",
        )
        return
    fields = folder.fact_fields(name)
    if fields is not None and tail not in fields:
        yield _problem(
            rule,
            path,
            "never-matches",
            f"{key}: {reference}, but the derived fact {name!r} has no field {tail!r}: this can never match",
            f"its fields: {', '.join(sorted(fields))} (add the field to copy: or set:)",
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
                    yield _problem(
                        rule,
                        [key, index],
                        "unknown-remedy",
                        f"remedy {name!r} is not defined in {AGREEMENT_FILE} (remedies:)",
                        _did_you_mean(name, defined) or f"defined: {', '.join(sorted(defined))}",
                    )


def check_derived(folder: LintFolder) -> Iterator[Problem]:
    """``unused-derived`` and ``derived-shadows-fact``: a derived fact nothing uses, or one named like a fact."""
    used: set[str] = set()
    for rule in folder.rules:
        for node in walk(rule.rule):
            for key in FACT_NAME_KEYS:
                name = getattr(node.model, key, None)
                if isinstance(name, str) and key in type(node.model).model_fields:
                    used.add(name)
    for name, rules in sorted(folder.derived().items()):
        rule = rules[0]
        if name in FACT_TYPES or name in INTERNAL_TYPES:
            yield _problem(
                rule,
                ["derives"],
                "derived-shadows-fact",
                f"derives {name!r}, which is already a kind of fact recorded in fact logs",
                "give the derived fact its own name, e.g. " + f"{name}_complete",
            )
        elif name not in used:
            yield _problem(
                rule,
                ["derives"],
                "unused-derived",
                f"derives {name!r}, but no rule uses it (fact: {name})",
                "name it in another rule's met_by, provided or when, or remove this rule",
            )


def check_dates(folder: LintFolder) -> Iterator[Problem]:
    """``bad-date``: a date written in the right shape that is not a calendar date (2003-02-30)."""
    for rule in folder.rules:
        for node in walk(rule.rule):
            if isinstance(node.model, Due) and node.model.date:
                yield from _bad_date(rule, [*node.path, "date"], node.model.date)
            starting = getattr(node.model, "starting", None)
            if isinstance(node.model, PeriodTrigger) and starting:
                yield from _bad_date(rule, [*node.path, "starting"], f"{starting}-01", shown=starting)


def _bad_date(rule: LintedRule, path: list[int | str], text: str, shown: str | None = None) -> Iterator[Problem]:
    try:
        as_date(text)
    except ValueError:
        yield _problem(rule, path, "bad-date", f"{shown or text!r} is not a calendar date", "write YYYY-MM-DD")


def check_deadlines(folder: LintFolder) -> Iterator[Problem]:
    """``bad-deadline``: a deadline that cannot mean what the clause says.

    Two deadlines (the rule's ``due`` and a trigger's own, or ``act_by`` on a
    duty whose breach starts the day after ``due``): one is silently
    ignored. A fixed date before the first period that makes the obligation
    arise. A deadline counted before a trigger while what meets the
    obligation must come on or after that trigger: it can never be met in
    time, so the breach starts before the obligation exists.
    """
    for rule in folder.rules:
        model = rule.rule
        if not isinstance(model, DutyRule):
            continue
        for path, trigger in triggers_with_paths(model):
            if trigger.due is not None and model.due is not None:
                yield _problem(
                    rule,
                    [*path, "due"],
                    "bad-deadline",
                    "two deadlines: this trigger has its own due, and the rule has due as well",
                    "the trigger's due wins; remove one of them",
                )
        if model.act_by is not None and model.breach_starts != "on_trigger":
            yield _problem(
                rule,
                ["act_by"],
                "bad-deadline",
                "two deadlines: act_by is only read when breach_starts: on_trigger; here due decides",
                "remove act_by, or write breach_starts: on_trigger instead of due",
            )
        for path, trigger in triggers_with_paths(model):
            due = trigger.due or model.due
            due_path = [*path, "due"] if trigger.due is not None else ["due"]
            if due is None:
                continue
            if due.date and isinstance(trigger, PeriodTrigger) and trigger.starting:
                yield from _fixed_date_before(rule, due_path, due.date, trigger)
            if (due.days_before or due.business_days_before) and isinstance(trigger, FactTrigger):
                yield from _before_and_after(rule, model, due_path, trigger)


def _fixed_date_before(
    rule: LintedRule, path: list[int | str], fixed: str, trigger: PeriodTrigger
) -> Iterator[Problem]:
    try:
        due = as_date(fixed)
        first = as_date(f"{trigger.starting}-01")
    except ValueError:
        return  # bad-date says so
    if due < first:
        yield _problem(
            rule,
            [*path, "date"],
            "bad-deadline",
            f"due on {fixed}, before the first obligation can arise "
            f"(every {trigger.every} starting {trigger.starting})",
            "every obligation would be in breach the day it arises: check the date or the starting month",
        )


def _before_and_after(
    rule: LintedRule, model: DutyRule, path: list[int | str], trigger: FactTrigger
) -> Iterator[Problem]:
    for index, meeting in enumerate(model.met_by):
        condition = meeting.where.get("date")
        if isinstance(condition, Test) and condition.on_or_after in ("trigger", "trigger.date"):
            yield _problem(
                rule,
                ["met_by", index, "where", "date"],
                "bad-deadline",
                f"due before the {trigger.on} that makes it arise, but met only by a {meeting.fact} "
                "on or after it: it can never be met in time",
                "a deadline before the trigger needs a meeting fact that may come before it; "
                "drop on_or_after, or count the deadline after the trigger",
            )


def check_scenarios(folder: LintFolder) -> Iterator[Problem]:
    """``scenario``: what a scenario compares must exist (rule ids, triggers, beneficiaries).

    A misspelt rule id, a trigger naming no fact of the scenario, a Buyer
    the agreement does not have, or a beneficiary on an obligation owed to
    all: ``covenant test`` would fail on them with a less direct message,
    or (before every scenario could fail) pass without checking anything.
    """
    rules: dict[str, Any] = {r.rule.id: r.rule for r in folder.rules}
    rules.update(dict.fromkeys(folder.unloaded_ids - set(rules)))
    buyers = {b.id for b in folder.agreement.buyers} if folder.agreement else None  # None: agreement.yaml is wrong
    for linted in folder.scenario_files:
        tree = linted.tree
        yield from _unknown_keys(linted, [], tree, SCENARIO_FILE_KEYS)
        file_rule = str(tree.get("rule")) if tree.get("rule") is not None else None
        for index, scenario in enumerate(linted.scenarios):
            at = ["scenarios", index]
            yield from _unknown_keys(linted, at, tree["scenarios"][index], SCENARIO_KEYS)
            for number, entry in enumerate(tree["scenarios"][index].get("expect") or []):
                if isinstance(entry, dict):
                    yield from _unknown_keys(linted, [*at, "expect", number], entry, EXPECTED_KEYS)
            named = [e.get("rule") for e in scenario.expect]
            if file_rule not in rules and scenario.rules is None and not named:
                yield _scenario_problem(
                    linted,
                    ["rule"] if index == 0 else at,
                    f"rule: {file_rule} is not a rule id, and scenario {scenario.name!r} names no rule",
                    _did_you_mean(str(file_rule), rules) or "give the scenario rules: [rule-id, ...]",
                )
            for number, name in enumerate(scenario.rules or ()):
                if name not in rules:
                    yield _unknown_rule(linted, [*at, "rules", number], name, rules)
            facts = {fact.id: fact for fact in scenario.facts}
            clauses = {r.rule.clause for r in folder.rules}
            for fact in scenario.facts:
                for problem in reference_problems(fact, rules, clauses):
                    yield dataclasses.replace(problem, code="scenario")
            for number, entry in enumerate(scenario.expect):
                yield from _expected_entry(linted, [*at, "expect", number], entry, rules, buyers, facts)


SCENARIO_FILE_KEYS = frozenset({"rule", "scenarios"})
SCENARIO_KEYS = frozenset({"name", "title", "as_of", "facts", "rules", "expect"})
EXPECTED_KEYS = frozenset(
    {"rule", "trigger", "beneficiary", "due", "status", "breach_start", "cured_on", "days_in_breach", "remedies"}
    | {"clause", "ended_on", "trigger_date", "waived_by", "discharged_by", "evidence", "explanation"}
)
"""What a scenario file, a scenario and an expected obligation (the report's fields) may say."""


def _unknown_keys(
    linted: ScenarioFileTree, path: list[int | str], mapping: Any, allowed: frozenset[str]
) -> Iterator[Problem]:
    for key in mapping if isinstance(mapping, dict) else ():
        if key not in allowed:
            yield _scenario_problem(
                linted,
                [*path, key],
                f"unknown key {key!r}",
                _did_you_mean(str(key), allowed) or f"the keys here: {', '.join(sorted(allowed))}",
            )


def _scenario_problem(linted: ScenarioFileTree, path: Sequence[int | str], message: str, hint: str | None) -> Problem:
    line, column = locate(linted.tree, list(path))
    return Problem(linted.file, line, None, message, column, code="scenario", hint=hint)


def _unknown_rule(linted: ScenarioFileTree, path: Sequence[int | str], name: Any, rules: dict[str, Any]) -> Problem:
    return _scenario_problem(
        linted,
        path,
        f"no rule of this folder has the id {name!r}",
        _did_you_mean(str(name), rules) or "the rule ids are the id: of each rule file",
    )


def _expected_entry(
    linted: ScenarioFileTree,
    path: list[int | str],
    entry: dict[str, Any],
    rules: dict[str, Any],
    buyers: set[str] | None,
    facts: dict[str, Any],
) -> Iterator[Problem]:
    name = entry.get("rule")
    if str(name) not in rules:
        yield _unknown_rule(linted, [*path, "rule"], name, rules)
        return
    rule = rules[str(name)]
    if rule is None:
        return  # its file did not load; that file's problems say why
    beneficiary = entry.get("beneficiary")
    owed_to = getattr(rule, "owed_to", None)
    if buyers is not None and beneficiary is not None and beneficiary not in buyers:  # None: Buyers unknown
        yield _scenario_problem(
            linted,
            [*path, "beneficiary"],
            f"beneficiary {beneficiary!r} is not a Buyer of the agreement",
            _did_you_mean(str(beneficiary), buyers) or f"the Buyers: {', '.join(sorted(buyers))}, or null",
        )
    elif beneficiary is not None and owed_to == "all":
        yield _scenario_problem(
            linted,
            [*path, "beneficiary"],
            f"rule {name} is owed to all the Buyers together: its obligations have beneficiary null",
            "write beneficiary: null",
        )
    elif beneficiary is None and owed_to == "each_holder":
        yield _scenario_problem(
            linted,
            [*path, "beneficiary"],
            f"rule {name} makes one obligation per Buyer: beneficiary null can never be reported",
            f"write one expected obligation per Buyer: {', '.join(sorted(buyers or ()))}",
        )
    for number, remedy in enumerate(entry.get("remedies") or []):
        amount = remedy.get("amount") if isinstance(remedy, dict) else None
        if amount is not None and not isinstance(amount, str):
            yield _scenario_problem(
                linted,
                [*path, "remedies", number, "amount"],
                f"amount {amount!r} is written as a number: the report writes amounts as text with two decimals",
                f'quote it with its cents: "{amount:.2f}"' if isinstance(amount, int | float) else "quote it",
            )
    trigger = entry.get("trigger")
    if trigger is None or not isinstance(trigger, str):
        return
    fact = facts.get(trigger)
    if fact is None:
        try:
            as_date(trigger)
        except ValueError:
            yield _scenario_problem(
                linted,
                [*path, "trigger"],
                f"trigger {trigger!r} is no fact of this scenario",
                _did_you_mean(trigger, facts)
                or 'a trigger is the id of a fact under facts:, or a period end "YYYY-MM-DD"',
            )
        return
    kinds = {getattr(t, "on", None) for t in _rule_triggers(rule)}
    if kinds and None not in kinds and fact.type not in kinds:
        yield _scenario_problem(
            linted,
            [*path, "trigger"],
            f"trigger {trigger!r} is a fact of type {fact.type}, but rule {name} arises on "
            f"{', '.join(sorted(kinds))} only",
            "name the fact that makes the obligation arise",
        )


def _rule_triggers(rule: Any) -> list[Any]:
    triggers = getattr(rule, "triggers", None)
    return triggers() if callable(triggers) else []


def check_schema_line(folder: LintFolder) -> Iterator[Problem]:
    """``schema-line``: the first line that lets an editor check the file as it is typed is missing or leads nowhere.

    A relative path is resolved from the file, as the editor resolves it: a
    folder copied out of the repository loses ``../../schemas/`` (``covenant
    new`` puts the schemas inside the folder instead).
    """
    for rule in folder.rules:
        first = rule.text.lstrip("\ufeff").split("\n", 1)[0]
        if not first.startswith(SCHEMA_LINE):
            yield Problem(
                rule.file,
                1,
                None,
                "the first line should name the schema, for editors",
                1,
                code="schema-line",
                hint="add `# yaml-language-server: $schema=../../schemas/rule.schema.json` as line 1",
            )
            continue
        target = first[len(SCHEMA_LINE) :].strip()
        if "://" not in target and not (Path(rule.file).parent / target).is_file():
            yield Problem(
                rule.file,
                1,
                None,
                f"the schema {target} does not exist from this file's folder: editors cannot check it",
                len(SCHEMA_LINE) + 1,
                code="schema-line",
                hint="write the schema's path relative to this file; `covenant schema --write FOLDER` writes the "
                "schemas",
            )


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def check_quotes(folder: LintFolder) -> Iterator[Problem]:
    """``quote-not-found``: a rule's ``text`` is not, word for word, in the agreement's text."""
    if folder.agreement_text is None:
        return
    for rule in folder.rules:
        quote = _collapse(rule.rule.text)
        if quote in folder.agreement_text:
            continue
        yield _problem(
            rule,
            ["text"],
            "quote-not-found",
            f"the quoted text does not occur in {' + '.join(folder.text_files)} (spaces and line breaks ignored)",
            _divergence(quote, folder.agreement_text),
        )


def _divergence(quote: str, text: str) -> str:
    """Where the quote stops matching: the longest opening of it that the agreement contains."""
    words = quote.split(" ")
    low, high = 0, len(words)
    while low < high:
        middle = (low + high + 1) // 2
        if " ".join(words[:middle]) in text:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        return "not even its first word is in the agreement: check the text file, or quote the clause exactly"
    matched = " ".join(words[max(0, low - 6) : low])
    different = " ".join(words[low : low + 6])
    return f"the first {low} words match, up to ...{matched!r}; the agreement does not continue with {different!r}"


def check_agreement(folder: LintFolder) -> Iterator[Problem]:
    """``text-file`` and ``unknown-calendar``: agreement.yaml names a text or a calendar that cannot be read."""
    agreement = folder.agreement
    if agreement is None:
        return
    listed = agreement.text_files()
    for name in folder.unreadable_texts:
        path = ["text_file"] if isinstance(agreement.text_file, str) else ["text_file", listed.index(name)]
        line, column = locate(folder.agreement_tree, path)
        yield Problem(
            folder.agreement_file,
            line,
            None,
            f"text_file {name!r} cannot be read (relative to the rule folder)",
            column,
            code="text-file",
            hint="fix the path; an amendment's text is listed under text_file too",
        )
    settings = agreement.calendar
    calendar = BusinessCalendar(
        market=settings.business_days, country=settings.country, subdivision=settings.subdivision
    )
    try:
        calendar.is_business_day(as_date("2000-01-03"))
    except (NotImplementedError, KeyError, ValueError) as error:
        line, column = locate(folder.agreement_tree, ["calendar"])
        yield Problem(
            folder.agreement_file,
            line,
            None,
            f"unknown business-day calendar: {error}",
            column,
            code="unknown-calendar",
            hint="business_days: a financial market of the holidays package (USNY), or country: US",
        )
    month, day = (int(part) for part in agreement.fiscal_year_end.split("-"))
    try:
        as_date(f"2001-{month:02d}-{day:02d}")
    except ValueError:
        line, column = locate(folder.agreement_tree, ["fiscal_year_end"])
        yield Problem(
            folder.agreement_file,
            line,
            None,
            f"fiscal_year_end {agreement.fiscal_year_end!r} is not a day of the year",
            column,
            code="bad-date",
            hint='write "MM-DD", e.g. "12-31"',
        )


CHECKS: tuple[Check, ...] = (
    check_duplicate_ids,
    check_fact_types,
    check_fields,
    check_references,
    check_remedies,
    check_derived,
    check_dates,
    check_deadlines,
    check_scenarios,
    check_schema_line,
    check_quotes,
    check_agreement,
)
"""Every cross-reference check, in the order their problems are most useful."""


# --- loading and running ------------------------------------------------------


def _relabel(problems: Iterable[Problem], code: str) -> list[Problem]:
    return [dataclasses.replace(p, code=code) for p in problems]


def _load_file(path: Path, model: Any) -> tuple[Any, Any, list[Problem]]:
    """(model, tree, problems) of one YAML file validated by the language."""
    display = str(path)
    try:
        tree = read_yaml(path)
    except InputError as error:
        return None, None, _relabel(error.problems, "yaml")
    try:
        return _validate(model, tree, display), tree, []
    except InputError as error:
        return None, tree, _relabel(error.problems, "language")


def _rule_paths(folder: Path) -> list[Path]:
    paths = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    return [p for p in paths if p.name not in (AGREEMENT_FILE, VOCABULARY_FILE)]


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


def load_for_lint(folder: Path, texts: Sequence[Path] = ()) -> tuple[LintFolder, list[Problem]]:
    """Load what can be loaded; problems of single files are returned, not raised.

    Raises ``InputError`` only when there is no folder to lint: no such
    directory, or no ``agreement.yaml`` in it.
    """
    if not folder.is_dir():
        raise InputError([Problem(str(folder), None, None, "no such rule folder", code="folder")])
    agreement_path = folder / AGREEMENT_FILE
    if not agreement_path.is_file():
        raise InputError(
            [Problem(str(agreement_path), None, None, "missing: every rule folder has agreement.yaml", code="folder")]
        )
    agreement, agreement_tree, problems = _load_file(agreement_path, Agreement)
    rules: list[LintedRule] = []
    unloaded: set[str] = set()
    unloaded_derived: set[str] = set()
    for path in _rule_paths(folder):
        rule, tree, file_problems = _load_file(path, _RULE_ADAPTER)
        problems.extend(file_problems)
        if rule is not None:
            rules.append(LintedRule(rule, str(path), tree, _read_text(path) or ""))
        elif isinstance(tree, dict):
            if isinstance(tree.get("id"), str):
                unloaded.add(tree["id"])
            if isinstance(tree.get("derives"), str):
                unloaded_derived.add(tree["derives"])
    linted = LintFolder(
        folder,
        rules,
        agreement,
        str(agreement_path),
        agreement_tree,
        unloaded_ids=unloaded,
        unloaded_derived=unloaded_derived,
    )
    _attach_text(linted, texts, problems)
    for path in scenario_files(folder):
        try:
            tree = read_yaml(path)
        except InputError as error:
            problems.extend(_relabel(error.problems, "yaml"))
            continue
        try:
            linted.scenario_files.append(ScenarioFileTree(str(path), tree, load_scenarios(path, tree)))
        except InputError as error:
            problems.extend(_relabel(error.problems, "scenario"))
    return linted, problems


def _attach_text(linted: LintFolder, texts: Sequence[Path], problems: list[Problem]) -> None:
    """The agreement's words: ``text_file`` of agreement.yaml, plus any ``--text`` (an amendment)."""
    parts: list[str] = []
    for text_file in linted.agreement.text_files() if linted.agreement else []:
        content = _read_text(linted.folder / text_file)
        if content is not None:
            parts.append(content)
            linted.text_files.append(text_file)
        else:
            linted.unreadable_texts.append(text_file)
    for path in texts:
        content = _read_text(path)
        if content is None:
            problems.append(Problem(str(path), None, None, "cannot read this text file", code="text-file"))
            continue
        parts.append(content)
        linted.text_files.append(str(path))
    if parts:
        linted.agreement_text = _collapse("\n".join(parts))


def _compile_problems(linted: LintFolder) -> list[Problem]:
    """Compile what was loaded, as ``covenant check`` would: a failure here is the monitor's, reported all the same."""
    assert linted.agreement is not None
    folder = RuleFolder(
        agreement=linted.agreement,
        agreement_file=linted.agreement_file,
        rules=tuple(SourcedRule(rule=r.rule, file=r.file, tree=r.tree) for r in linted.rules),
        folder=linted.folder,
    )
    try:
        compile_form(folder)
    except Exception as error:  # a compiler failure is reported as a problem, never a traceback
        return [Problem(str(linted.folder), None, None, f"the rules do not compile: {error!r}", code="compile")]
    return []


def _limit_problems(linted: LintFolder, found: list[Problem]) -> list[Problem]:
    """What ``covenant check`` refuses before compiling (rulelimits.py), where lint said nothing yet.

    The engine's limits overlap some checks above (an unknown field is both);
    a place lint already reported keeps lint's message and code only.
    """
    remedies = set(linted.agreement.remedies) if linted.agreement else None
    limits = rule_problems([(r.file, r.tree) for r in linted.rules], remedies)
    reported = {(p.file, p.line) for p in found}
    unloaded = tuple(f"unknown fact type {name!r}" for name in sorted(linted.unloaded_derived))
    return [
        p
        for p in _relabel(limits, "engine-limits")
        if (p.file, p.line) not in reported and not p.message.startswith(unloaded)
    ]


def lint(folder: Path, texts: Sequence[Path] = (), checks: Sequence[Check] = CHECKS) -> LintResult:
    """Every problem of a rule folder, sorted by file and line."""
    linted, problems = load_for_lint(folder, texts)
    for check in checks:
        problems.extend(check(linted))
    problems.extend(_limit_problems(linted, problems))
    if not problems:
        problems.extend(_compile_problems(linted))
    unique = sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.column or 0, p.code, p.message))
    return LintResult(unique, len(_rule_paths(folder)), len(scenario_files(folder)))


def format_problem(problem: Problem) -> str:
    """``FILE:LINE:COLUMN: message (hint: ...) [code]``: one line per problem, editors jump to it."""
    return f"{problem.format()} [{problem.code}]"
