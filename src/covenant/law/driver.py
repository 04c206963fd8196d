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
obligations and their state machine (``obligations``), holdings
(``holdings``), deadlines (``deadlines``) and derived facts and periods
(``derivations``). This module only connects the engine's firings to them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from covenant.calendar import Date, day_of, shared_calendar, shift
from covenant.engine.core import EnginePool, Patterns, Ruleset
from covenant.facts import Fact
from covenant.language.compiler import (
    BINDING_KINDS,
    BREACH,
    HOLDER,
    PERIOD,
    SESSION,
    Binding,
    CompiledForm,
    engine_field_for,
)
from covenant.language.model import (
    Agreement,
    DutyRule,
    FactTrigger,
    ProhibitionRule,
    RemedyRule,
    ReviewRule,
    section_of,
)
from covenant.law.agenda import Agenda
from covenant.law.deadlines import Deadlines, DueMemo, in_window
from covenant.law.derivations import Derivations, PeriodEnds
from covenant.law.holdings import Holdings
from covenant.law.memory import EngineFact, ObligationFacts, WorkingMemory
from covenant.law.obligations import PENDING, Obligation, ObligationBook


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
    facts_by_id: dict[str, Fact] = field(init=False, repr=False, compare=False)

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
        settings = self.agreement.calendar
        self.calendar = shared_calendar(
            settings.business_days, settings.country, settings.subdivision, settings.roll, settings.mail_delay_days
        )
        self.as_of = as_of
        all_facts = tuple(facts)
        self.facts = tuple(f for f in all_facts if f.date <= as_of)
        self.ignored_after_as_of = len(all_facts) - len(self.facts)
        self.today: Date = as_of
        self.closing: Date | None = None
        self.used: set[str] = set()
        self.holder_facts: dict[str, EngineFact] = {}
        self.agenda = Agenda()
        self.memory = WorkingMemory(ruleset, sid, form.keep_always, form.joined_on_trigger)
        self._assert = self.memory.assert_fact
        self.holdings = Holdings(self.agreement)
        self.book = ObligationBook(self.holdings, _breach_notice(form.rules, self.memory), self.memory.retire)
        # The book's own dict: the handlers look an obligation up on every firing.
        self.obligations = self.book.obligations
        self.deadlines = Deadlines(self.calendar, due_memo)
        self.derivations = Derivations(form, self.memory, self.used)
        self.period_ends = PeriodEnds(form, self.agreement.fiscal_year_end, self.memory)
        self.obligation_facts = ObligationFacts(form.obligation_fields)

    # --- the walk -------------------------------------------------------
    def run(self) -> AgreementState:
        self._assert({"t": SESSION, "_c": 1})
        by_day: dict[Date, list[Fact]] = {}
        for fact in sorted(self.facts, key=lambda f: (f.date, f.order)):
            effective = self.calendar.effective_date(fact.date, fact.fields.get("method"))
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
            for fact in by_day.get(day, ()):
                if memory.assert_user_fact(fact, day):
                    used.add(fact.id)
            self._decide_tonight(day)
            memory.end_day()
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
        )

    def _decide_duties(self, day: Date) -> None:
        obligations, decide = self.obligations, self.book.decide_morning
        for key in self.agenda.morning(day):
            decide(obligations[key], day)

    def _decide_tonight(self, day: Date) -> None:
        obligations, decide = self.obligations, self.book.decide_tonight
        for key in self.agenda.night(day):
            decide(obligations[key], day)

    def _plan_decision(self, obligation: Obligation, day: Date) -> None:
        """Decide the breach on ``day``; one already past (a preview due before its filing) tonight."""
        if day <= self.today:
            self.agenda.decide_tonight(self.today, obligation.key)
            return
        obligation.decide_on = day
        self.agenda.decide_in_the_morning(day, obligation.key)

    # --- holding ----------------------------------------------------------
    def _on_session_opened(self, _rule: str | None, _i: int, _d: int, _patterns: Patterns) -> None:
        """Nothing to do: the firing itself readies the session for delete_state."""

    def _on_holding_starts(self, _rule: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        if self.closing is not None:
            return
        self.closing = self.today
        self.used.add(patterns["c"]["key"])
        for buyer in self.agreement.buyers:
            self.holdings.start(buyer.id, self.today)
            holder = {"t": HOLDER, "buyer": buyer.id, "_c": 1}
            self.holder_facts[buyer.id] = holder
            self._assert(holder)
        if self.form.period_kinds:
            # Periods that ended before the Closing but may fall due after it.
            for end in self.period_ends.plan(self.closing, self.as_of):
                self.agenda.schedule(end)
            self.period_ends.assert_until(self.today)

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
        rule = self.rules[rule_id]
        trigger = rule.triggers()[index]
        fact = patterns["f"]
        beneficiary = self._beneficiary(rule.owed_to, patterns)
        created_before = len(self.obligations)
        if isinstance(rule, DutyRule):
            self._arise_duty(rule, trigger, index, fact, beneficiary)
        else:
            self._arise_prohibition(rule, trigger, index, fact, beneficiary)
        if len(self.obligations) == created_before:
            return
        new_keys = (
            list(self.obligations)[created_before:]
            if len(self.obligations) - created_before > 1
            else [next(reversed(self.obligations))]
        )
        for key in new_keys:
            for name, matched in sorted(patterns.items()):
                if name.startswith("q"):  # a provided fact: the Lock-up Period, Stockholder Approval complete
                    self._note(self.obligations[key], matched["key"])

    def _note(self, obligation: Obligation, key: str) -> None:
        """Record what a finding rests on; a derived fact brings the facts it came from."""
        derived = self.derivations.derived
        if key not in derived:
            obligation.note_evidence(key)
            self.used.add(key)
            return
        if key not in obligation.derived_basis:
            obligation.derived_basis.append(key)
        for source in derived[key].fields.get("from", ()):
            self._note(obligation, source)

    def _beneficiary(self, owed_to: Any, patterns: Patterns) -> str | None:
        if owed_to == "all":
            return None
        if owed_to == "each_holder":
            return patterns["h"]["buyer"]
        return patterns["f"].get(owed_to["buyer_in"])

    def _new_obligation(
        self,
        rule: Any,
        index: int,
        fact: EngineFact,
        beneficiary: str | None,
        due: Date | None,
        terms: dict[str, Any],
        trigger_key: str,
        trigger_id: str | None,
        kind: str,
    ) -> Obligation | None:
        """Open an obligation in the book, with the engine fact its meetings join on (asserted by the caller)."""
        obligation = self.book.open(
            rule.id,
            rule.clause,
            kind,
            trigger_key,
            trigger_id,
            day_of(fact["day"]) if "day" in fact else self.today,
            beneficiary,
            due,
            alt=index,
            one_open_at_a_time=getattr(rule, "one_open_at_a_time", False),
        )
        if obligation is None:
            return None
        obligation.trigger_fields = self.memory.exact_fields(fact)
        if fact.get("key") and fact.get("t") != PERIOD:
            obligation.note_evidence(fact["key"])
            self.used.add(fact["key"])
        obligation.engine_fact = self.obligation_facts.encode(obligation, fact, terms)
        return obligation

    def _arise_duty(self, rule: DutyRule, trigger: Any, index: int, fact: EngineFact, beneficiary: str | None) -> None:
        anchor = day_of(fact["day"])
        if rule.breach_starts == "on_trigger":
            self._arise_from_trigger(rule, trigger, index, fact, beneficiary, anchor)
            return
        due_rule = trigger.due or rule.due
        due, basis = self.deadlines.due(due_rule, anchor)
        if not in_window(rule, due, trigger, anchor, self.closing):
            return
        trigger_id = None if due_rule.date is not None else fact["key"]
        obligation = self._new_obligation(
            rule, index, fact, beneficiary, due, trigger.terms, fact["key"], trigger_id, "duty"
        )
        if obligation is None:
            return
        obligation.due_basis = basis
        assert obligation.engine_fact is not None
        ext_deadline = due
        if due_rule.extended_by:
            ext_deadline = self.deadlines.latest_extension(due, due_rule.extended_by)
            obligation.engine_fact["ext_deadline"] = ext_deadline.toordinal()
        self._plan_decision(obligation, shift(ext_deadline, 1))
        self._assert(obligation.engine_fact)

    def _arise_from_trigger(
        self, rule: DutyRule, trigger: Any, index: int, fact: EngineFact, beneficiary: str | None, anchor: Date
    ) -> None:
        """A duty in breach from its trigger's date unless met by then (listing, notices before a closing)."""
        trigger_key = str(fact.get(trigger.one_per) if trigger.one_per else fact["key"])
        obligation = self._new_obligation(
            rule, index, fact, beneficiary, None, trigger.terms, trigger_key, fact["key"], "duty"
        )
        if obligation is None:
            return
        assert obligation.engine_fact is not None
        if rule.act_by is not None:
            obligation.act_by, obligation.due_basis = self.deadlines.due(rule.act_by, anchor)
            obligation.engine_fact["act_by"] = obligation.act_by.toordinal()
        for number, again in enumerate(rule.again_after):
            if again.act_by is not None:
                again_by, _ = self.deadlines.due(again.act_by, anchor)
                obligation.engine_fact[f"again_by_{number}"] = again_by.toordinal()
        self._assert(obligation.engine_fact)
        if rule.act_by is None and not rule.again_after:
            if obligation.status == PENDING:
                self.book.breach(obligation, anchor)  # from the trigger's date: a same-day cure is one day
        else:
            self.agenda.decide_tonight(self.today, obligation.key)

    def _arise_prohibition(
        self, rule: ProhibitionRule, trigger: FactTrigger, index: int, fact: EngineFact, beneficiary: str | None
    ) -> None:
        trigger_key = fact.get(trigger.one_per) if trigger.one_per else fact["key"]
        obligation = self._new_obligation(
            rule, index, fact, beneficiary, None, trigger.terms, str(trigger_key), fact["key"], "prohibition"
        )
        if obligation is None:
            return
        self.agenda.decide_tonight(self.today, obligation.key)
        assert obligation.engine_fact is not None
        self._assert(obligation.engine_fact)

    def _on_review(self, rule_id: str | None, index: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        rule: ReviewRule = self.rules[rule_id]
        fact = patterns["f"]
        obligation = self._new_obligation(rule, index, fact, None, None, {}, fact["key"], fact["key"], "review")
        if obligation is not None:
            if rule.bearing and obligation.engine_fact is not None:
                self._assert(obligation.engine_fact)  # stays: facts bearing on it may come later
            obligation.engine_fact = None

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
        self._plan_decision(obligation, shift(obligation.due, 1))

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
            obligation.paid += self.memory.exact_fields(fact).get(meeting.adding_up, Decimal(0))
            obligation.matched.append(fact["key"])
            self._note(obligation, fact["key"])
            self.memory.consume(fact)
            target = obligation.trigger_fields.get(engine_field_for(meeting.to).removeprefix("t_"), Decimal(0))
            if obligation.paid < target:
                return
        self._note(obligation, fact["key"])
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
        if self.holdings.permitted(permission.given_by, obligation):
            self.book.fulfil(obligation, self.today)

    def _on_waive(self, _rule: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        obligation = self.obligations.get(patterns["o"]["okey"])
        if obligation is None or obligation.settled:
            return
        waiver = patterns["m"]
        obligation.note_evidence(waiver["key"])
        self.used.add(waiver["key"])
        self.book.waive(obligation, waiver["by"], day_of(waiver["day"]))

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
}
"""What each kind of engine firing means to the evaluation (the compiler's ``Binding.kind``)."""

# Checked now rather than on the first firing of a kind no test happens to exercise.
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
        actions = {name: self._dispatcher(binding) for name, binding in form.bindings.items()}
        self.pool = EnginePool(form.name, form.definition, actions)

    def _dispatcher(self, binding: Binding) -> Callable[[str, Patterns], None]:
        handler = HANDLERS[binding.kind]
        runs = self._runs
        rule_id, index, detail = binding.rule_id, binding.index, binding.detail

        def fire(sid: str, patterns: Patterns) -> None:
            handler(runs[sid], rule_id, index, detail, patterns)

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
