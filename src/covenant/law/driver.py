"""The engine driver: simulated time over one agreement's facts.

Evaluation walks the dates of its agenda in order. On each date:

1. duties whose deadline passed yesterday are declared breached, and a
   ``breach`` fact is asserted so remedy rules (2(f), 4(l), 4(r)) chain;
2. period ends (month, fiscal quarter, fiscal year) are asserted;
3. the facts taking effect that day are asserted in input order; the engine
   matches them and calls back here, through ``HANDLERS``, to create, meet,
   extend, permit or waive obligations, and to derive facts, which are
   asserted back in turn;
4. prohibitions whose act happened that day and that no consent permitted
   are declared breached (consents dated the same day count);
5. facts that can no longer matter are retracted, so working memory stays
   the size of what is open, not of what was read.

Conditions are matched by durable-rules. What the driver leans on lives
beside it: the agenda (``agenda``), working memory (``memory``), the
obligations and their state machine (``obligations``), how they arise
(``arising``), holdings (``holdings``), deadlines (``deadlines``) and derived
facts and periods (``derivations``). This module walks the days and connects
the engine's firings to them; ``FormEvaluator`` runs one walk per agreement
on the engine of a compiled form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from covenant.calendar import Date, day_of, shift
from covenant.engine.core import EnginePool, Patterns, Ruleset
from covenant.engine.names import BREACH, HOLDER, SESSION
from covenant.facts import Fact
from covenant.language.compiler import BINDING_KINDS, Binding, CompiledForm, engine_field_for
from covenant.language.model import (
    Agreement,
    DutyRule,
    ProhibitionRule,
    RemedyRule,
    section_of,
)
from covenant.law.agenda import Agenda
from covenant.law.arising import Arising
from covenant.law.deadlines import Deadlines, DueMemo, calendar_of
from covenant.law.defaults import Defaults
from covenant.law.derivations import Derivations, PeriodEnds
from covenant.law.holdings import Holdings
from covenant.law.measures import Measures
from covenant.law.memory import EngineFact, ObligationFacts, WorkingMemory
from covenant.law.obligations import PENDING, Obligation, ObligationBook, Status
from covenant.law.schedules import Schedules


@dataclass
class AgreementState:
    """Everything one evaluation produced, for remedies and reports."""

    agreement_id: str
    agreement: Agreement
    as_of: Date
    closing: Date | None
    obligations: dict[str, Obligation]
    holding: dict[str, tuple[Date, Date | None]]
    facts: tuple[Fact, ...]
    derived: dict[str, Fact]
    facts_used: set[str]
    facts_ignored_after_as_of: int
    fired: set[str] = field(default_factory=set)
    """The engine rules (``form.bindings`` names) that fired: what coverage reads."""
    facts_by_id: dict[str, Fact] = field(init=False, repr=False, compare=False)
    indexes: dict[tuple[str, str], list[tuple[Date, Decimal]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """A floating rate's index history (fact type, field) -> [(date, value)], read from the facts once."""

    def __post_init__(self) -> None:
        # Every explanation looks its trigger up here.
        self.facts_by_id = {fact.id: fact for fact in self.facts}


class Evaluation:
    """One agreement evaluated as of a date, on a session of the form's ruleset."""

    def __init__(
        self,
        form: CompiledForm,
        ruleset: Ruleset,
        sid: str,
        facts: Iterable[Fact],
        as_of: Date,
        agreement: Agreement | None = None,
        due_memo: DueMemo | None = None,
    ):
        self.form = form
        self.rules = form.rules
        self.agreement = agreement or form.agreement
        self.calendar = calendar_of(self.agreement.calendar)
        self.as_of = as_of
        all_facts = tuple(facts)
        self.facts = tuple(f for f in all_facts if f.date <= as_of)
        self.ignored_after_as_of = len(all_facts) - len(self.facts)
        self.today: Date = as_of
        self.closing: Date | None = None
        self.used: set[str] = set()
        self.fired: set[str] = set()
        self.holder_facts: dict[str, EngineFact] = {}
        self.agenda = Agenda()
        self.memory = WorkingMemory(ruleset, sid, form.keep_always, form.joined_on_trigger, form.dated)
        self._assert = self.memory.assert_fact
        self.holdings = Holdings(self.agreement, self.facts)
        self.book = ObligationBook(self.holdings, _breach_notice(form.rules, self.memory), self.memory.retire)
        # The book's own dict: the handlers look an obligation up on every firing.
        self.obligations = self.book.obligations
        self.deadlines = Deadlines(self.calendar, due_memo)
        self.derivations = Derivations(form, self.memory, self.used)
        self.period_ends = PeriodEnds(form, self.agreement.fiscal_year_end, self.memory)
        encoding = ObligationFacts(form.obligation_fields)
        roles: dict[str, str] = {}
        for party in self.agreement.parties:
            roles.setdefault(party.role, party.id)  # the first party of a role: the Agent
        self.schedules = Schedules(self.agreement, self.facts) if form.schedules else None
        self.arising = Arising(
            form.rules,
            self.book,
            self.memory,
            encoding,
            self.deadlines,
            self.agenda,
            self.derivations,
            self.used,
            roles,
            self.schedules,
        )
        self.measures = Measures(
            form.rules,
            self.book,
            self.agreement.fiscal_year_end,
            self.derivations.note,
            self._assert_obligation(encoding),
        )

        self.defaults = Defaults(form.rules, self.book, self.calendar, self.holdings)

    def _assert_obligation(self, encoding: ObligationFacts) -> Callable[[Obligation], None]:
        """A test's obligation joins waivers like any other: its engine fact, triggered by the period end."""

        assert_fact = self._assert  # not self: the hook must not keep the evaluation alive

        def assert_it(obligation: Obligation) -> None:
            obligation.engine_fact = encoding.encode(obligation, {"key": obligation.trigger_key}, {})
            assert_fact(obligation.engine_fact)

        return assert_it

    # --- the walk -------------------------------------------------------
    def run(self) -> AgreementState:
        self._assert({"t": SESSION, "_c": 1})
        by_day: dict[Date, list[Fact]] = {}
        for fact in sorted(self.facts, key=lambda f: (f.date, f.order)):
            effective = self.calendar.effective_date(fact.date, fact.fields)
            if effective <= self.as_of:
                by_day.setdefault(effective, []).append(fact)
        agenda, memory, used = self.agenda, self.memory, self.used
        for day in by_day:
            agenda.schedule(day)
        while agenda:
            day = agenda.next_day()
            if day > self.as_of:
                break
            self.today = day
            self._decide_duties(day)
            self.period_ends.assert_until(day)
            if self.schedules is not None:
                self.schedules.assert_until(day, memory)
            for fact in by_day.get(day, ()):
                if memory.assert_user_fact(fact, day):
                    used.add(fact.id)
            self._decide_tonight(day)
            memory.end_day()
        self.defaults.finish(self.as_of)
        return AgreementState(
            agreement_id=self.agreement.id,
            agreement=self.agreement,
            as_of=self.as_of,
            closing=self.closing,
            obligations=self.obligations,
            holding=self.holdings.held,
            facts=self.facts,
            derived=self.derivations.derived,
            facts_used=self.used,
            facts_ignored_after_as_of=self.ignored_after_as_of,
            fired=self.fired,
        )

    def _decide_duties(self, day: Date) -> None:
        obligations, decide = self.obligations, self.book.decide_morning
        for key in self.agenda.morning(day):
            decide(obligations[key], day)

    def _decide_tonight(self, day: Date) -> None:
        obligations, decide = self.obligations, self.book.decide_tonight
        for key in self.agenda.night(day):
            decide(obligations[key], day)

    # --- holding ----------------------------------------------------------
    def _on_session_opened(self, _rule: str | None, _i: int, _d: int, _patterns: Patterns) -> None:
        """Nothing to do: the firing itself readies the session for delete_state."""

    def _on_holding_starts(self, _rule: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        if self.closing is not None:
            return
        self.closing = self.today
        self.used.add(patterns["c"]["key"])
        for buyer in self.agreement.parties:
            if not buyer.holder:
                continue  # an agent holds nothing
            self.holdings.start(buyer.id, self.today)
            holder = {"t": HOLDER, "buyer": buyer.id, "_c": 1}
            self.holder_facts[buyer.id] = holder
            self._assert(holder)
        if self.form.period_kinds:
            # Periods that ended before the Closing but may fall due after it.
            for end in self.period_ends.plan(self.closing, self.as_of):
                self.agenda.schedule(end)
            self.period_ends.assert_until(self.today)
        if self.schedules is not None:
            # The dates the instrument schedules after the Closing: obligations arise on them.
            for day in self.schedules.plan(self.form.schedules, self.closing, self.as_of):
                self.agenda.schedule(day)

    def _on_holding_ends(self, _rule: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        buyer = patterns["o"]["buyer"]
        if buyer not in self.holder_facts:
            return  # a second transfer of all the same day: the holding has already ended
        self.holdings.end(buyer, self.today)
        self.memory.retire(self.holder_facts.pop(buyer))
        self.book.discharge(buyer, self.today, patterns["m"]["key"])

    # --- obligations arising ----------------------------------------------
    def _on_arise(self, rule_id: str | None, index: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        self.arising.arise(rule_id, index, patterns, self.today, self.closing)

    def _on_review(self, rule_id: str | None, index: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        self.arising.review(rule_id, index, patterns["f"], self.today)

    # --- obligations answered ---------------------------------------------
    def _on_extend(self, rule_id: str | None, index: int, detail: int, patterns: Patterns) -> None:
        obligation = self.obligations[patterns["o"]["okey"]]
        if obligation.extended or obligation.status != PENDING or obligation.due is None:
            return
        rule: DutyRule = self.rules[obligation.rule_id]
        due_rule = rule.triggers()[index].due or rule.due
        assert due_rule is not None
        extension = due_rule.extended_by[detail]
        request = patterns["m"]
        obligation.due = self.deadlines.extended(obligation.due, extension)
        obligation.extended = True
        obligation.note_evidence(request["key"])
        self.used.add(request["key"])
        obligation.due_basis += f"; extended by {extension.days} days by {request['key']} to {obligation.due}"
        self.memory.consume(request)
        self.agenda.plan_decision(obligation, shift(obligation.due, 1), self.today)

    def _on_meet(self, rule_id: str | None, index: int, _d: int, patterns: Patterns) -> None:
        obligation = self.obligations.get(patterns["o"]["okey"])
        if obligation is None or obligation.settled:
            return
        rule: DutyRule = self.rules[obligation.rule_id]
        meeting = rule.met_by[index]
        fact = patterns["m"]
        if meeting.adding_up:
            if fact["key"] in obligation.paid_by:
                return
            obligation.paid_by.add(fact["key"])
            part = self.memory.exact_fields(fact).get(meeting.adding_up, Decimal(0))
            obligation.paid += part
            obligation.payments.append((day_of(fact["day"]), part))
            obligation.matched.append(fact["key"])
            self.derivations.note(obligation, fact["key"])
            self.memory.consume(fact)
            target = obligation.trigger_fields.get(engine_field_for(meeting.to).removeprefix("t_"), Decimal(0))
            if obligation.paid < target:
                return
        self.derivations.note(obligation, fact["key"])
        if fact["key"] not in obligation.matched:
            obligation.matched.append(fact["key"])
        if _joins_trigger(meeting):
            self.memory.consume(fact)
        if rule.again_after:
            obligation.requirement_met = True  # the rest is decided tonight, with the events
            return
        self.book.meet(obligation, day_of(fact["day"]), rule.curable)

    def _on_permit(self, rule_id: str | None, index: int, _d: int, patterns: Patterns) -> None:
        obligation = self.obligations.get(patterns["o"]["okey"])
        if obligation is None or obligation.status != PENDING:
            return
        rule: ProhibitionRule = self.rules[obligation.rule_id]
        permission = rule.unless[index]
        consent = patterns["m"]
        obligation.consents[consent["by"]] = consent["key"]
        if consent["key"] not in obligation.matched:
            obligation.matched.append(consent["key"])
        obligation.note_evidence(consent["key"])
        self.used.add(consent["key"])
        if self.holdings.permitted(
            permission.given_by, obligation.consents, obligation.beneficiary, obligation.trigger_date
        ):
            self.book.fulfil(obligation, self.today)

    def _on_waive(self, _rule: str | None, index: int, _d: int, patterns: Patterns) -> None:
        obligation = self.obligations.get(patterns["o"]["okey"])
        if obligation is None or obligation.settled:
            return
        waiver = patterns["m"]
        effect = self.form.agreement.effects_doing("waives")[index]
        party = effect.party
        assert party is not None  # the model requires it
        day = day_of(waiver["day"])
        if effect.given_by == "majority":
            parties = self.memory.exact_fields(waiver).get(party, ())
            parties = [parties] if isinstance(parties, str) else list(parties)
            if not self.holdings.permitted("majority_in_interest", parties, None, day):
                return  # a waiver by less than a majority changes nothing (a review rule may list it)
            obligation.note_evidence(waiver["key"])
            self.used.add(waiver["key"])
            self.book.end(obligation, Status.WAIVED, day)
            return
        obligation.note_evidence(waiver["key"])
        self.used.add(waiver["key"])
        self.book.waive(obligation, waiver[party], day)

    def _on_grant(self, rule_id: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        rule = self.rules[rule_id]
        obligation = self.obligations[patterns["b"]["okey"]]
        granted = rule.grants if isinstance(rule, RemedyRule) else rule.remedies
        for remedy in granted:
            if remedy not in obligation.remedies:
                obligation.remedies.append(remedy)
        if rule_id not in obligation.notes:
            obligation.notes.append(rule_id)

    def _on_again_event(self, rule_id: str | None, index: int, _d: int, patterns: Patterns) -> None:
        obligation = self.obligations.get(patterns["o"]["okey"])
        if obligation is None or obligation.settled:
            return
        obligation.events.setdefault(patterns["e"]["key"], index)
        obligation.note_evidence(patterns["e"]["key"])
        self.used.add(patterns["e"]["key"])

    def _on_again_met(self, rule_id: str | None, index: int, _d: int, patterns: Patterns) -> None:
        obligation = self.obligations.get(patterns["o"]["okey"])
        if obligation is None or obligation.settled:
            return
        obligation.answered.add(patterns["e"]["key"])
        obligation.note_evidence(patterns["m"]["key"])
        self.used.add(patterns["m"]["key"])

    def _on_bearing(self, rule_id: str | None, index: int, _d: int, patterns: Patterns) -> None:
        obligation = self.obligations.get(patterns["o"]["okey"])
        if obligation is not None:
            obligation.note_evidence(patterns["m"]["key"])
            self.used.add(patterns["m"]["key"])

    # --- derived facts and periods ----------------------------------------
    def _on_derive(self, rule_id: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        self.derivations.derive(rule_id, patterns, self.today)

    def _on_derive_ends(self, rule_id: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        self.used.add(patterns["m"]["key"])
        self.memory.retract(patterns["o"])

    def _on_figures(self, rule_id: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        fact = patterns["f"]
        self.measures.figures(rule_id, fact["key"], self.memory.exact_fields(fact), self.today)

    def _on_default_breach(self, rule_id: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        self.defaults.breach(rule_id, patterns["b"]["okey"])

    def _on_default_notice(self, rule_id: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        fact = patterns["f"]
        self.used.add(fact["key"])
        self.defaults.notice(rule_id, self.memory.exact_fields(fact), day_of(fact["day"]), fact["key"])

    def _on_election(self, rule_id: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        rule = self.rules[rule_id]
        fact = patterns["f"]
        self.used.add(fact["key"])
        fields = self.memory.exact_fields(fact)
        self.defaults.election(rule_id, fields, day_of(fact["day"]), fact["key"], rule.elected_by.field)

    def _on_period_input(self, rule_id: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        self.derivations.period_input(rule_id, patterns["f"], self.today)


Handler = Callable[[Evaluation, str | None, int, int, Patterns], None]

HANDLERS: dict[str, Handler] = {
    "session_opened": Evaluation._on_session_opened,
    "holding_starts": Evaluation._on_holding_starts,
    "holding_ends": Evaluation._on_holding_ends,
    "arise": Evaluation._on_arise,
    "review": Evaluation._on_review,
    "extend": Evaluation._on_extend,
    "meet": Evaluation._on_meet,
    "permit": Evaluation._on_permit,
    "waive": Evaluation._on_waive,
    "grant": Evaluation._on_grant,
    "again_event": Evaluation._on_again_event,
    "again_met": Evaluation._on_again_met,
    "bearing": Evaluation._on_bearing,
    "derive": Evaluation._on_derive,
    "derive_ends": Evaluation._on_derive_ends,
    "period_input": Evaluation._on_period_input,
    "figures": Evaluation._on_figures,
    "default_breach": Evaluation._on_default_breach,
    "default_notice": Evaluation._on_default_notice,
    "election": Evaluation._on_election,
}
"""What each kind of engine firing means to the evaluation (the compiler's ``Binding.kind``)."""

# Evaluated now rather than on the first firing of a kind no test happens to exercise.
if HANDLERS.keys() != BINDING_KINDS:
    raise ImportError(
        f"covenant.law.driver handles {sorted(HANDLERS.keys() - BINDING_KINDS)} which the compiler never binds"
        f" and misses {sorted(BINDING_KINDS - HANDLERS.keys())} which it does"
    )


def _breach_notice(rules: dict[str, Any], memory: WorkingMemory) -> Callable[[Obligation], None]:
    """The book's breach hook: a ``breach`` fact for the day, on which remedy rules chain.

    A closure over the rules and working memory, not a method: the book must not hold the evaluation.
    """
    assert_for_today = memory.assert_for_today

    def notice(obligation: Obligation) -> None:
        rule = rules[obligation.rule_id]
        assert obligation.breach_start is not None
        assert_for_today(
            {
                "t": BREACH,
                "rule": rule.id,
                "section": section_of(rule.clause),
                "okey": obligation.key,
                "day": obligation.breach_start.toordinal(),
                "_c": 1,
            }
        )

    return notice


def _joins_trigger(meeting: Any) -> bool:
    """Whether a meeting is tied to its trigger (``same_as: trigger...``): then the fact answers one obligation only."""
    return any(
        (same_as := getattr(condition, "same_as", None)) and same_as.startswith("trigger")
        for condition in meeting.where.values()
    )


class FormEvaluator:
    """A compiled form, its engine, and one evaluation per agreement."""

    def __init__(self, form: CompiledForm):
        self.form = form
        self._runs: dict[str, Evaluation] = {}
        # Shared by every agreement of the form: a deadline depends only on the rule, the calendar and the day.
        self._due_memo: DueMemo = {}
        actions = {name: self._dispatcher(name, binding) for name, binding in form.bindings.items()}
        self.pool = EnginePool(form.name, form.definition, actions)

    def _dispatcher(self, name: str, binding: Binding) -> Callable[[str, Patterns], None]:
        handler = HANDLERS[binding.kind]
        runs = self._runs
        rule_id, index, detail = binding.rule_id, binding.index, binding.detail

        def fire(sid: str, patterns: Patterns) -> None:
            run = runs[sid]
            run.fired.add(name)
            handler(run, rule_id, index, detail, patterns)

        return fire

    def evaluate(
        self, sid: str, facts: Iterable[Fact], as_of: Date, agreement: Agreement | None = None
    ) -> AgreementState:
        """Evaluate one agreement; ``agreement`` overrides the form's terms (a portfolio's own parties)."""
        ruleset = self.pool.session(sid)
        run = Evaluation(self.form, ruleset, sid, facts, as_of, agreement, self._due_memo)
        self._runs[sid] = run
        try:
            return run.run()
        finally:
            del self._runs[sid]
            try:
                ruleset.close_session(sid)
            finally:
                self.pool.forget(sid)


def default_as_of(facts: Iterable[Fact]) -> Date | None:
    dates = [f.date for f in facts]
    return max(dates) if dates else None


__all__ = ["HANDLERS", "AgreementState", "Evaluation", "FormEvaluator", "Obligation", "default_as_of"]
