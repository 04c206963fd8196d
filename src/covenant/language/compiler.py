"""Rule files -> one durable-rules ruleset per agreement form.

The compiler is a row of small passes over the validated rule models:

1. ``_conditions``: a ``where`` mapping -> the engine's ``$and`` terms, joins
   to the obligation (``same_as``) included;
2. one function per rule kind -> named engine rules (``sec-report-copies/met/0``)
   each with a ``Binding`` that tells the evaluator what its firing means;
3. the agreement's own engine rules (holding, waivers, discharge);
4. retention: which facts must stay in working memory, and for how long.

Every engine rule that joins a fact to an obligation ends its ``$and`` with
``{"_c": {"o": "_c"}}``, a term that is always true: durable-rules can crash
when the last term of such an ``$and`` is false (upstream issue #381).
Lists of values become one alternative per value only where the core needs it:
``$or`` of plain terms within one pattern is safe; ``$or`` across patterns is
never generated (separate engine rules instead).

``compile_form`` is pure: the same rule folder gives the same ruleset, which
``covenant compile --show`` prints.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from covenant.engine.names import ALWAYS_TRUE, BREACH, HOLDER, OBLIGATION, PERIOD, SCHEDULED, SESSION
from covenant.language.loader import RuleFolder
from covenant.language.model import (
    Agreement,
    DefaultRateRule,
    DeriveRule,
    DutyRule,
    EventOfDefaultRule,
    FactPattern,
    FactTrigger,
    FieldTimes,
    FinancialTest,
    PeriodRule,
    PeriodTrigger,
    ProhibitionRule,
    RemedyRule,
    ReviewRule,
    ScheduleTrigger,
    Test,
    describe_reference,
    scalar_json,
)
from covenant.language.vocabulary import Vocabulary

BindingKind = Literal[
    "again_event",
    "again_met",
    "bearing",
    "derive_ends",
    "period_input",
    "arise",
    "meet",
    "extend",
    "permit",
    "derive",
    "grant",
    "review",
    "holding_starts",
    "session_opened",
    "holding_ends",
    "waive",
    "figures",
    "default_breach",
    "default_notice",
    "election",
]
BINDING_KINDS: frozenset[str] = frozenset(get_args(BindingKind))
"""Every meaning a firing can have: the evaluator checks at import that it handles exactly these."""


@dataclass(frozen=True)
class Binding:
    """What the firing of one engine rule means to the evaluator."""

    kind: BindingKind
    rule_id: str | None = None
    index: int = 0  # which trigger / meeting / permission of the rule
    detail: int = 0  # which extension of that trigger


@dataclass
class CompiledForm:
    """Everything the evaluator needs to run one agreement form."""

    name: str
    agreement: Agreement
    rules: dict[str, Any]
    files: dict[str, str]
    vocabulary: Vocabulary
    """The form's fact types (its folder's vocabulary.yaml): fact logs and scenarios are read with it."""
    definition: dict[str, dict[str, Any]] = field(default_factory=dict)
    bindings: dict[str, Binding] = field(default_factory=dict)
    period_kinds: set[str] = field(default_factory=set)
    schedules: set[str] = field(default_factory=set)
    """The kinds of scheduled payments (``pays``) some rule's ``arises: {schedule: ...}`` names."""
    period_inputs: set[str] = field(default_factory=set)
    keep_always: set[str] = field(default_factory=set)
    dated: frozenset[str] = frozenset()
    """Fact types whose ``date`` (the date a fact bears, as text) some engine rule compares: only they carry it."""
    joined_on_trigger: dict[str, list[frozenset[str]]] = field(default_factory=dict)
    obligation_fields: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, patterns: list[dict[str, Any]], binding: Binding) -> None:
        self.definition[name] = {"all": patterns}
        self.bindings[name] = binding


def engine_field_for(reference: str) -> str:
    """Where an obligation keeps a referenced value: ``trigger.month`` -> ``t_month``."""
    head, tail = describe_reference(reference)
    if head == "beneficiary":
        return "beneficiary"
    if head == "derived":
        return str(tail)
    if head == "trigger":
        if tail == "date":
            return "tdate"
        return "tkey" if tail in (None, "id") else f"t_{tail}"
    return f"terms_{tail}"


def _bound(value: Any) -> Any:
    if isinstance(value, FieldTimes):
        if value.times == 1:
            return {"$m": value.field}
        return {"$mul": {"$l": {"$m": value.field}, "$r": value.times}}
    return scalar_json(value)


_COMPARISONS = {"below": "$lt", "at_most": "$lte", "above": "$gt", "at_least": "$gte"}


def _conditions(where: dict[str, Any], form: CompiledForm, joined: set[str]) -> list[dict[str, Any]]:
    """Translate a ``where`` mapping into ``$and`` terms on the current pattern.

    ``joined`` collects the fields tied to the obligation by ``same_as``.
    """
    terms: list[dict[str, Any]] = []
    for name, condition in where.items():
        field_name = "day" if name == "date" else name
        if isinstance(condition, list):
            terms.append({"$or": [{field_name: scalar_json(v)} for v in condition]})
        elif isinstance(condition, Test):
            terms.extend(_test_terms(field_name, condition, form, joined))
        else:
            terms.append({field_name: scalar_json(condition)})
    return terms


def _test_terms(name: str, test: Test, form: CompiledForm, joined: set[str]) -> list[dict[str, Any]]:
    if test.same_as is not None:
        engine_field = engine_field_for(test.same_as)
        if test.same_as.startswith("derived."):
            return [{name: {"o": engine_field}}]
        form.obligation_fields[engine_field] = test.same_as
        joined.add(name)
        if test.same_as.startswith("trigger"):
            joined.add("$trigger")
        return [{name: {"o": engine_field}}]
    if test.on_or_before is not None or test.on_or_after is not None:
        reference = test.on_or_before or test.on_or_after
        assert reference is not None
        engine_field = "tday" if reference in ("trigger", "trigger.date") else engine_field_for(reference)
        operator = "$lte" if test.on_or_before is not None else "$gte"
        return [{operator: {name: {"o": engine_field}}}]
    if test.not_ is not None:
        # A fact without the field is not equal to the value either.
        return [{"$or": [{"$nex": {name: 1}}, {"$neq": {name: scalar_json(test.not_)}}]}]
    if test.one_of is not None:
        return [{"$or": [{name: scalar_json(v)} for v in test.one_of]}]
    if test.not_one_of is not None:
        differs = [{"$neq": {name: scalar_json(v)}} for v in test.not_one_of]
        return [{"$or": [{"$nex": {name: 1}}, {"$and": differs} if len(differs) > 1 else differs[0]]}]
    if test.present is not None:
        return [{"$ex" if test.present else "$nex": {name: 1}}]
    for key, operator in _COMPARISONS.items():
        bound = getattr(test, key)
        if bound is not None:
            return [{operator: {name: _bound(bound)}}]
    raise AssertionError("a Test always has one test")  # the language guarantees it


def _fact_terms(pattern: FactPattern, form: CompiledForm, joined: set[str]) -> list[dict[str, Any]]:
    """The ``where`` conditions and the ``any_of`` groups of one pattern."""
    terms = _conditions(pattern.where, form, joined)
    if pattern.any_of:
        groups = [_conditions(group, form, joined) for group in pattern.any_of]
        terms.append({"$or": [g[0] if len(g) == 1 else {"$and": g} for g in groups]})
    return terms


def _ors_last(terms: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Put ``$or`` terms after every other term, and the always-true join term last.

    Measured here: in a pattern that refers to an earlier one, a ``$or`` placed
    before a reference term makes durable-rules skip that reference's test
    (a listing dated before its obligation matched it). After them, every
    combination gives the right answer (docs/engine-notes.md).
    """
    terms = list(terms)
    plain = [t for t in terms if "$or" not in t and t != ALWAYS_TRUE and not _is_always_true(t)]
    ors = [t for t in terms if "$or" in t]
    closing = [t for t in terms if t == ALWAYS_TRUE or _is_always_true(t)]
    return plain + ors + closing


def _is_always_true(term: dict[str, Any]) -> bool:
    value = term.get("_c")
    return isinstance(value, dict) and list(value.values()) == ["_c"]


def _pattern(kind: str, terms: Iterable[dict[str, Any]]) -> dict[str, Any]:
    all_terms = [{"t": kind}, *_ors_last(terms)]
    return all_terms[0] if len(all_terms) == 1 else {"$and": all_terms}


def _obligation_pattern(rule_id: str, *extra: dict[str, Any]) -> dict[str, Any]:
    return {"o": _pattern(OBLIGATION, [{"rule": rule_id}, *extra])}


def _joined_pattern(
    pattern: FactPattern, form: CompiledForm, extra: Iterable[dict[str, Any]] = ()
) -> tuple[dict[str, Any], set[str]]:
    joined: set[str] = set()
    terms = _fact_terms(pattern, form, joined)
    terms.extend(extra)
    if "$trigger" not in joined:
        # A fact that does not name the trigger can only answer an obligation
        # that existed when it happened: not one that arose later.
        terms.append({"$gte": {"day": {"o": "tday"}}})
    terms.append(ALWAYS_TRUE)
    if "$trigger" in joined:
        fields = frozenset(f for f in joined if f != "$trigger")
        form.joined_on_trigger.setdefault(pattern.fact, []).append(fields)
    return {"m": _pattern(pattern.fact, terms)}, joined


def _trigger_patterns(
    trigger: FactTrigger | PeriodTrigger | ScheduleTrigger, owed_to: Any, form: CompiledForm
) -> list[dict[str, Any]]:
    if isinstance(trigger, ScheduleTrigger):
        form.schedules.add(trigger.schedule)
        patterns = [{"f": _pattern(PERIOD, [{"every": SCHEDULED}, {"pays": trigger.schedule}])}]
    elif isinstance(trigger, PeriodTrigger):
        form.period_kinds.add(trigger.every)
        terms: list[dict[str, Any]] = [{"every": trigger.every}]
        if trigger.quarters:
            terms.append({"$or": [{"quarter": q} for q in trigger.quarters]})
        patterns = [{"f": _pattern(PERIOD, terms)}]
    else:
        patterns = [{"f": _pattern(trigger.on, _fact_terms(trigger, form, set()))}]
        for number, condition in enumerate(trigger.provided):
            # Dated on or before the trigger: a fact derived later never reaches back.
            terms = [*_fact_terms(condition, form, set()), {"$lte": {"day": {"f": "day"}}}]
            if condition.covers_trigger:
                terms += [{"$lte": {"start": {"f": "day"}}}, {"$gte": {"end": {"f": "day"}}}]
            terms.append({"_c": {"f": "_c"}})
            patterns.append({f"q{number}": _pattern(condition.fact, terms)})
            form.keep_always.add(condition.fact)
    if owed_to == "each_holder":
        patterns.append({"h": {"t": HOLDER}})
    if isinstance(trigger, FactTrigger):
        number = 0
        for condition in trigger.provided_none:
            for alternative in _without_ors(condition):
                patterns.append({f"n{number}$not": _pattern(condition.fact, _fact_terms(alternative, form, set()))})
                number += 1
    return patterns


def _without_ors(pattern: FactPattern) -> list[FactPattern]:
    """One pattern per alternative of its lists: "none of A or B" is "not A and not B".

    Measured here: a ``$not`` pattern holding a ``$or`` fires as soon as one
    matching fact is retracted, even while another still matches; one ``$not``
    per alternative is right (docs/engine-notes.md).
    """
    choices: list[list[tuple[str, Any]]] = []
    for name, condition in pattern.where.items():
        values = condition if isinstance(condition, list) else getattr(condition, "one_of", None)
        choices.append([(name, v) for v in values] if values is not None else [(name, condition)])
    groups = [[(k, v) for k, v in group.items()] for group in pattern.any_of] or [[]]
    alternatives = []
    for combination in itertools.product(*choices):
        for group in groups:
            alternatives.append(FactPattern(fact=pattern.fact, where=dict([*combination, *group])))
    return alternatives


def _compile_duty(rule: DutyRule, form: CompiledForm) -> None:
    for index, trigger in enumerate(rule.triggers()):
        form.add(
            f"{rule.id}/arises/{index}",
            _trigger_patterns(trigger, rule.owed_to, form),
            Binding("arise", rule.id, index),
        )
        due = trigger.due or rule.due
        for number, extension in enumerate(due.extended_by if due else ()):
            pattern, _ = _joined_pattern(extension, form, [{"$lte": {"day": {"o": "ext_deadline"}}}])
            form.add(
                f"{rule.id}/extends/{index}/{number}",
                [_obligation_pattern(rule.id, {"alt": index}), pattern],
                Binding("extend", rule.id, index, number),
            )
    act_by = [{"$lte": {"day": {"o": "act_by"}}}] if rule.act_by else []
    for index, meeting in enumerate(rule.met_by):
        pattern, _ = _joined_pattern(meeting, form, act_by)
        form.add(f"{rule.id}/met/{index}", [_obligation_pattern(rule.id), pattern], Binding("meet", rule.id, index))
    for index, again in enumerate(rule.again_after):
        event, _ = _joined_pattern(again.event, form, [{"$lte": {"day": {"o": "tday"}}}])
        event = {"e": event["m"]}
        form.keep_always.add(again.event.fact)
        form.add(
            f"{rule.id}/again/{index}/event",
            [_obligation_pattern(rule.id), event],
            Binding("again_event", rule.id, index),
        )
        deadline = [{"$lte": {"day": {"o": f"again_by_{index}"}}}] if again.act_by else []
        answer, _ = _joined_pattern(again.met_by, form, [*deadline, {"$gt": {"day": {"e": "day"}}}])
        answer["m"]["$and"].append({"_c": {"e": "_c"}})
        form.add(
            f"{rule.id}/again/{index}/met",
            [_obligation_pattern(rule.id), event, answer],
            Binding("again_met", rule.id, index),
        )


def _compile_prohibition(rule: ProhibitionRule, form: CompiledForm) -> None:
    for index, trigger in enumerate(rule.triggers()):
        form.add(
            f"{rule.id}/arises/{index}",
            _trigger_patterns(trigger, rule.owed_to, form),
            Binding("arise", rule.id, index),
        )
    for index, permission in enumerate(rule.unless):
        joined: set[str] = set()
        base = _conditions(permission.where, form, joined)
        base.append({"$lte": {"day": {"o": "tday"}}})
        if permission.given_by == "beneficiary":
            base.append({"by": {"o": "beneficiary"}})
        variants: list[list[dict[str, Any]]] = [[{"$nex": {"ref": 1}}], [{"ref": {"o": "tid"}}]]
        if permission.ref == "required":
            variants = variants[1:]
        for one_per in sorted({t.one_per for t in rule.triggers() if t.one_per}):
            variants.append([{"ref": {"o": f"t_{one_per}"}}])
            form.obligation_fields[f"t_{one_per}"] = f"trigger.{one_per}"
        for variant_number, variant in enumerate(variants):
            terms = [*base, *variant, ALWAYS_TRUE]
            form.add(
                f"{rule.id}/permitted/{index}/{variant_number}",
                [_obligation_pattern(rule.id), {"m": _pattern(permission.fact, terms)}],
                Binding("permit", rule.id, index),
            )
        form.keep_always.add(permission.fact)


def _compile_derive(rule: DeriveRule, form: CompiledForm) -> None:
    patterns = []
    for number, pattern in enumerate(rule.when):
        patterns.append({f"p{number}": _pattern(pattern.fact, _conditions(pattern.where, form, set()))})
        form.keep_always.add(pattern.fact)
    form.add(f"{rule.id}/derives", patterns, Binding("derive", rule.id))
    if rule.ends_when is not None:
        ending, _ = _joined_pattern(rule.ends_when, form)
        derived = {"o": _pattern(rule.derives, [{"by_rule": rule.id}])}
        form.add(f"{rule.id}/ends", [derived, ending], Binding("derive_ends", rule.id))


def _compile_period(rule: PeriodRule, form: CompiledForm) -> None:
    inputs = {rule.starts_on}
    for term in rule.ends.later_of:
        inputs.add(term.fact)
        if term.plus_days_of:
            inputs.add(term.plus_days_of)
    for fact_type in sorted(inputs):
        form.add(f"{rule.id}/input/{fact_type}", [{"f": {"t": fact_type}}], Binding("period_input", rule.id))
        form.period_inputs.add(fact_type)
        form.keep_always.add(fact_type)


def _compile_remedy(rule: RemedyRule, form: CompiledForm) -> None:
    section = rule.applies_to_section
    form.add(f"{rule.id}/grants", [{"b": _pattern(BREACH, [{"section": section}])}], Binding("grant", rule.id))


def _compile_own_remedies(rule: DutyRule | ProhibitionRule | FinancialTest, form: CompiledForm) -> None:
    if rule.remedies:
        form.add(f"{rule.id}/grants", [{"b": _pattern(BREACH, [{"rule": rule.id}])}], Binding("grant", rule.id))


def _compile_review(rule: ReviewRule, form: CompiledForm) -> None:
    for index, trigger in enumerate(rule.triggers()):
        form.add(
            f"{rule.id}/arises/{index}", _trigger_patterns(trigger, "all", form), Binding("review", rule.id, index)
        )
    for index, bearing in enumerate(rule.bearing):
        pattern, _ = _joined_pattern(bearing, form)
        form.add(
            f"{rule.id}/bearing/{index}", [_obligation_pattern(rule.id), pattern], Binding("bearing", rule.id, index)
        )


def _compile_test(rule: FinancialTest, form: CompiledForm) -> None:
    """A financial test: every figures fact the engine matches is kept, and completes the windows it can."""
    terms = _fact_terms(FactPattern(fact=rule.figures.fact, where=rule.figures.where), form, set())
    form.add(f"{rule.id}/figures", [{"f": _pattern(rule.figures.fact, terms)}], Binding("figures", rule.id))


def _compile_default(rule: EventOfDefaultRule, form: CompiledForm) -> None:
    """An Event of Default hears of each breach of the rules it rests on, and of each notice it counts from."""
    for rests_on in rule.on_breach_of:
        form.add(
            f"{rule.id}/breach/{rests_on}",
            [{"b": _pattern(BREACH, [{"rule": rests_on}])}],
            Binding("default_breach", rule.id),
        )
    for index, notice in enumerate(rule.grace.notice if rule.grace else []):
        for number, single in enumerate(_without_ors(notice)):
            terms = _fact_terms(single, form, set())
            suffix = f"/{number}" if number else ""
            form.add(
                f"{rule.id}/notice/{index}{suffix}",
                [{"f": _pattern(single.fact, terms)}],
                Binding("default_notice", rule.id, index),
            )


def _compile_default_rate(rule: DefaultRateRule, form: CompiledForm) -> None:
    """A default rate elected by holders hears of each election; one without election needs no engine rule."""
    if rule.elected_by is not None:
        form.add(f"{rule.id}/election", [{"f": {"t": rule.elected_by.fact}}], Binding("election", rule.id))


def _compile_agreement(form: CompiledForm) -> None:
    """Rules every agreement has: who holds Securities, waivers, discharge."""
    # Every session fires at least once: durable-rules leaves a session's action
    # context uninitialised until its first action, and delete_state then frees
    # a garbage pointer (a lone fact before the Closing crashed the process).
    form.add("$session/opened", [{"s": {"t": SESSION}}], Binding("session_opened"))
    # Holdings start and end on the facts agreement.yaml's `effects` name (the
    # Amnis Closing, a transfer of all); the first of each kind keeps the plain name.
    for number, effect in enumerate(form.agreement.effects_doing("holding_starts")):
        where = [{name: scalar_json(value)} for name, value in effect.where.items()]
        pattern = {"$and": [{"t": effect.on}, *where, ALWAYS_TRUE]} if where else {"t": effect.on}
        form.add("$holding/starts" + (f"/{number}" if number else ""), [{"c": pattern}], Binding("holding_starts"))
    for number, effect in enumerate(form.agreement.effects_doing("holding_ends")):
        assert effect.party is not None  # the model requires it
        where = [{name: scalar_json(value)} for name, value in effect.where.items()]
        form.add(
            "$holding/ends" + (f"/{number}" if number else ""),
            [
                {"o": {"t": HOLDER}},
                {"m": {"$and": [{"t": effect.on}, *where, {effect.party: {"o": "buyer"}}, ALWAYS_TRUE]}},
            ],
            Binding("holding_ends"),
        )
    # Waivers: the fact types whose effect `waives` an obligation of the rule they name in `rule` (and, if
    # they name one, of that trigger), given by the party in the effect's `party` field; named by the type.
    for number, effect in enumerate(form.agreement.effects_doing("waives")):
        assert effect.party is not None  # the model requires it
        where = [{name: scalar_json(value)} for name, value in effect.where.items()]
        suffix = f"/{number}" if number else ""
        # A majority waives for every party: any obligation of the rule, whoever its beneficiary.
        scopes: tuple[tuple[str, list[dict[str, Any]], list[dict[str, Any]]], ...] = (
            (("every", [], []),)
            if effect.given_by == "majority"
            else (("own", [], [{effect.party: {"o": "beneficiary"}}]), ("shared", [{"beneficiary": "*"}], []))
        )
        for scope, obligation_terms, by_terms in scopes:
            for which, trigger_terms in (("any", [{"$nex": {"trigger": 1}}]), ("named", [{"trigger": {"o": "tid"}}])):
                terms = [{"t": effect.on}, *where, {"rule": {"o": "rule"}}, *by_terms, *trigger_terms, ALWAYS_TRUE]
                form.add(
                    f"${effect.on}/{scope}/{which}{suffix}",
                    [{"o": _pattern(OBLIGATION, obligation_terms)}, {"m": {"$and": terms}}],
                    Binding("waive", index=number),
                )
        form.keep_always.add(effect.on)


_COMPILERS = {
    DutyRule: _compile_duty,
    ProhibitionRule: _compile_prohibition,
    DeriveRule: _compile_derive,
    PeriodRule: _compile_period,
    RemedyRule: _compile_remedy,
    ReviewRule: _compile_review,
    FinancialTest: _compile_test,
    EventOfDefaultRule: _compile_default,
    DefaultRateRule: _compile_default_rate,
}


def compile_form(folder: RuleFolder) -> CompiledForm:
    """Compile a loaded rule folder into one ruleset and its bindings."""
    form = CompiledForm(
        name=folder.agreement.id,
        agreement=folder.agreement,
        rules={r.rule.id: r.rule for r in folder.rules},
        files={r.rule.id: r.file for r in folder.rules},
        vocabulary=folder.vocabulary,
    )
    _compile_agreement(form)
    for sourced in folder.rules:
        rule = sourced.rule
        _COMPILERS[type(rule)](rule, form)
        if isinstance(rule, DutyRule | ProhibitionRule | FinancialTest):
            _compile_own_remedies(rule, form)
    # A fact's own date reaches a rule two ways: a pattern testing its `date`, or a derived fact copying it.
    copied = {
        r.rule.when[0].fact for r in folder.rules if isinstance(r.rule, DeriveRule) and "date" in r.rule.copy_fields
    }
    form.dated = frozenset(_types_comparing("date", form.definition.values()) | copied)
    return form


def _types_comparing(name: str, rules: Iterable[dict[str, Any]]) -> set[str]:
    """The fact types some pattern of ``rules`` tests the field ``name`` of (by key, at any depth)."""

    def mentions(term: Any) -> bool:
        if isinstance(term, dict):
            return any(key == name or mentions(value) for key, value in term.items())
        if isinstance(term, list):
            return any(mentions(item) for item in term)
        return False

    types: set[str] = set()
    for rule in rules:
        for pattern in rule.get("all", ()):
            for condition in pattern.values():
                terms = condition.get("$and", [condition]) if isinstance(condition, dict) else []
                kinds = [term["t"] for term in terms if isinstance(term, dict) and isinstance(term.get("t"), str)]
                others = [term for term in terms if not (isinstance(term, dict) and "t" in term)]
                if kinds and mentions(others):
                    types.update(kinds)
    return types
