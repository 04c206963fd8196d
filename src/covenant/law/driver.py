"""The engine driver: simulated time over one agreement's facts.

Evaluation walks dates in order. The agenda holds every date on which
something can happen: a fact takes effect, a period ends, an obligation's
time to act runs out. On each date:

1. duties whose deadline passed yesterday are declared breached, and a
   ``breach`` fact is asserted so remedy rules (2(f), 4(l), 4(r)) chain;
2. period ends (month, fiscal quarter, fiscal year) are asserted;
3. the facts taking effect that day are asserted in input order; the engine
   matches them and calls back here (``_on_*``) to create, meet, extend,
   permit or waive obligations, and to derive facts, which are asserted
   back in turn;
4. prohibitions whose act happened that day and that no consent permitted
   are declared breached (consents dated the same day count);
5. facts that can no longer matter are retracted, so working memory stays
   the size of what is open, not of what was read.

Conditions are matched by durable-rules; this module only keeps the state
of each obligation (pending, fulfilled, breached, cured, waived,
discharged, review) and computes dates with the agreement's calendar.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from covenant.calendar import (
    BusinessCalendar,
    Date,
    add_months,
    as_date,
    day_of,
    month_text,
    shared_calendar,
    shift,
)
from covenant.engine.core import EnginePool, Patterns, Ruleset
from covenant.facts import Fact
from covenant.language.compiler import BREACH, HOLDER, OBLIGATION, PERIOD, SESSION, CompiledForm, engine_field_for
from covenant.language.model import (
    Agreement,
    DateTerm,
    DeriveRule,
    Due,
    DutyRule,
    FactTrigger,
    PeriodRule,
    PeriodTrigger,
    ProhibitionRule,
    RemedyRule,
    ReviewRule,
    scalar_json,
    section_of,
)

OPEN = "pending"
DueMemo = dict[tuple[int, BusinessCalendar, Date], tuple[Date, str]]
"""Deadlines already computed: (the rule's ``Due``, the calendar, the anchor day) -> (deadline, its words)."""
UNKNOWN_END = 10**8
"""A period end not known yet (no registration effective): compares after every real day."""


@dataclass(slots=True)
class Obligation:
    """One (rule, trigger, beneficiary) and everything known about it."""

    rule_id: str
    clause: str
    kind: str  # duty | prohibition | review
    key: str
    trigger_key: str
    trigger_id: str | None  # as reported: fact id, period end, or None (fixed date)
    trigger_date: Date
    beneficiary: str | None
    due: Date | None
    status: str = OPEN
    breach_start: Date | None = None
    cured_on: Date | None = None
    ended_on: Date | None = None  # waiver or discharge that ended it
    evidence: list[str] = field(default_factory=list)
    derived_basis: list[str] = field(default_factory=list)  # derived facts it rests on (the chain)
    matched: list[str] = field(default_factory=list)  # the facts that met, permitted or cured it
    remedies: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    due_basis: str = ""
    trigger_fields: dict[str, Any] = field(default_factory=dict)
    paid: Decimal = Decimal(0)
    paid_by: set[str] = field(default_factory=set)
    consents: dict[str, str] = field(default_factory=dict)  # buyer -> consent fact id
    waived_by: dict[str, Date] = field(default_factory=dict)
    discharged_by: dict[str, Date] = field(default_factory=dict)
    met_on: Date | None = None
    decide_on: Date | None = None
    extended: bool = False
    act_by: Date | None = None
    requirement_met: bool = False
    events: dict[str, int] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)
    alt: int = 0
    engine_fact: dict[str, Any] | None = None

    @property
    def settled(self) -> bool:
        return self.status not in (OPEN, "breached")

    def note_evidence(self, fact_id: str) -> None:
        if fact_id not in self.evidence:
            self.evidence.append(fact_id)


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
        self.agreement = agreement or form.agreement
        settings = self.agreement.calendar
        self.calendar = shared_calendar(
            settings.business_days, settings.country, settings.subdivision, settings.roll, settings.mail_delay_days
        )
        self.ruleset = ruleset
        self.sid = sid
        self.as_of = as_of
        all_facts = tuple(facts)
        self.facts = tuple(f for f in all_facts if f.date <= as_of)
        self.ignored_after_as_of = len(all_facts) - len(self.facts)
        self.today: Date = as_of
        self.closing: Date | None = None
        self.obligations: dict[str, Obligation] = {}
        self.holding: dict[str, tuple[Date, Date | None]] = {}
        self.holder_facts: dict[str, dict[str, Any]] = {}
        self.derived: dict[str, Fact] = {}
        self.derived_counts: dict[str, int] = defaultdict(int)
        self.used: set[str] = set()
        self._agenda: list[Date] = []
        self._agenda_seen: set[Date] = set()
        self._decisions: dict[Date, list[str]] = defaultdict(list)
        self._end_of_day: dict[Date, list[str]] = defaultdict(list)
        self._retract_today: list[dict[str, Any]] = []
        self._consumed: list[dict[str, Any]] = []
        self._consumed_ids: set[str] = set()  # engine ids of today's facts used up by a rule (a payment)
        self._by_engine_key: dict[str, Fact] = {}
        self._period_queue: list[tuple[Date, str, int]] = []
        self._due_memo = due_memo if due_memo is not None else {}
        self._period_inputs: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self._periods: dict[str, dict[str, Any]] = {}
        self._copied_fields = self._plan_copied_fields()

    # --- the walk -------------------------------------------------------
    def run(self) -> AgreementState:
        self._assert({"t": SESSION, "_c": 1})
        by_day: dict[Date, list[Fact]] = defaultdict(list)
        for fact in sorted(self.facts, key=lambda f: (f.date, f.order)):
            effective = self.calendar.effective_date(fact.date, fact.fields.get("method"))
            if effective <= self.as_of:
                by_day[effective].append(fact)
        for day in by_day:
            self._schedule(day)
        while self._agenda:
            day = heapq.heappop(self._agenda)
            if day > self.as_of:
                break
            self.today = day
            self._decide_duties(day)
            self._assert_periods(day)
            for fact in by_day.get(day, ()):
                self._assert_user_fact(fact, day)
            self._decide_tonight(day)
            self._end_day()
        return AgreementState(
            agreement_id=self.agreement.id,
            agreement=self.agreement,
            as_of=self.as_of,
            closing=self.closing,
            obligations=self.obligations,
            holding=self.holding,
            facts=self.facts,
            derived=self.derived,
            facts_used=self.used,
            facts_ignored_after_as_of=self.ignored_after_as_of,
        )

    def _schedule(self, day: Date) -> None:
        if day not in self._agenda_seen:
            self._agenda_seen.add(day)
            heapq.heappush(self._agenda, day)

    def _assert(self, engine_fact: dict[str, Any]) -> bool:
        return self.ruleset.assert_fact(self.sid, engine_fact)

    def _assert_user_fact(self, fact: Fact, day: Date) -> None:
        keep = fact.type in self.form.keep_always
        for engine_fact in _engine_facts(fact, day):
            self._by_engine_key[fact.id] = fact
            handled = self._assert(engine_fact)
            if handled:
                self.used.add(fact.id)
            if not keep and not self._may_answer_later(fact, engine_fact):
                self._retract_today.append(engine_fact)

    def _may_answer_later(self, fact: Fact, engine_fact: dict[str, Any]) -> bool:
        """Kept while a join on its trigger may still use it (a preview sent before the filing)."""
        for fields in self.form.joined_on_trigger.get(fact.type, ()):
            if all(name in engine_fact for name in fields):
                return engine_fact["id"] not in self._consumed_ids
        return False

    def _end_day(self) -> None:
        # By engine id: an action's pattern is a copy of the fact asserted, and either may be listed.
        retracted: set[str] = set()
        for engine_fact in self._retract_today + self._consumed:
            if engine_fact["id"] not in retracted:
                retracted.add(engine_fact["id"])
                self.ruleset.retract_fact(engine_fact)
        self._retract_today.clear()
        self._consumed.clear()
        self._consumed_ids.clear()

    # --- periods ----------------------------------------------------------
    def _plan_periods(self) -> None:
        """Every period end from a year before the Closing to the as-of date."""
        assert self.closing is not None
        fy_month, fy_day = (int(p) for p in self.agreement.fiscal_year_end.split("-"))
        ends: list[tuple[Date, str, int]] = []
        cursor = self.closing.subtract(years=1).start_of("month")
        while cursor <= self.as_of:
            end = cursor.end_of("month")
            months_after_fy = (end.month - fy_month) % 12
            if "month_end" in self.form.period_kinds:
                ends.append((end, "month_end", 0))
            if months_after_fy % 3 == 0 and "fiscal_quarter_end" in self.form.period_kinds:
                ends.append((end, "fiscal_quarter_end", 4 if months_after_fy == 0 else months_after_fy // 3))
            if months_after_fy == 0 and end.day >= fy_day and "fiscal_year_end" in self.form.period_kinds:
                ends.append((end, "fiscal_year_end", 4))
            cursor = cursor.add(months=1)
        self._period_queue = sorted(e for e in ends if e[0] <= self.as_of)
        for end, _, _ in self._period_queue:
            if end > self.closing:
                self._schedule(end)

    def _assert_periods(self, day: Date) -> None:
        """Assert the period ends up to ``day`` (on the Closing, those before it too)."""
        while self._period_queue and self._period_queue[0][0] <= day:
            end, kind, quarter = self._period_queue.pop(0)
            period = {
                "t": PERIOD,
                "every": kind,
                "quarter": quarter,
                "key": end.isoformat(),
                "date": end.isoformat(),
                "month": month_text(end),
                "day": end.toordinal(),
                "_c": 1,
            }
            self._assert(period)
            self._retract_today.append(period)

    # --- the engine's callbacks -------------------------------------------
    def _on_session_opened(self, _rule: str | None, _i: int, _d: int, _patterns: Patterns) -> None:
        """Nothing to do: the firing itself readies the session for delete_state."""

    def _on_holding_starts(self, _rule: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        if self.closing is not None:
            return
        self.closing = self.today
        self.used.add(patterns["c"]["key"])
        for buyer in self.agreement.buyers:
            self.holding[buyer.id] = (self.today, None)
            holder = {"t": HOLDER, "buyer": buyer.id, "_c": 1}
            self.holder_facts[buyer.id] = holder
            self._assert(holder)
        if self.form.period_kinds:
            # Periods that ended before the Closing but may fall due after it.
            self._plan_periods()
            self._assert_periods(self.today)

    def _on_holding_ends(self, _rule: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        buyer = patterns["o"]["buyer"]
        if buyer not in self.holder_facts:
            return  # a second transfer of all the same day: the holding has already ended
        transfer_id = patterns["m"]["key"]
        start, _ = self.holding[buyer]
        self.holding[buyer] = (start, self.today)
        self._consumed.append(self.holder_facts.pop(buyer))
        for obligation in self.obligations.values():
            if obligation.settled or obligation.kind == "review":
                continue
            if obligation.beneficiary == buyer:
                obligation.status = "discharged"
                obligation.ended_on = self.today
                obligation.note_evidence(transfer_id)
                self._close(obligation)
            elif obligation.beneficiary is None:
                obligation.discharged_by[buyer] = self.today
                obligation.note_evidence(transfer_id)

    def _on_arise(self, rule_id: str | None, index: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        rule = self.form.rules[rule_id]
        trigger = rule.triggers()[index]
        fact = patterns["f"]
        beneficiary = self._beneficiary(rule.owed_to, patterns)
        created_before = len(self.obligations)
        if isinstance(rule, DutyRule):
            self._arise_duty(rule, trigger, index, fact, beneficiary, patterns)
        else:
            self._arise_prohibition(rule, trigger, index, fact, beneficiary, patterns)
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
        if key not in self.derived:
            obligation.note_evidence(key)
            self.used.add(key)
            return
        if key not in obligation.derived_basis:
            obligation.derived_basis.append(key)
        for source in self.derived[key].fields.get("from", ()):
            self._note(obligation, source)

    def _exact_fields(self, engine_fact: dict[str, Any]) -> dict[str, Any]:
        """A fact's fields as validated (amounts as Decimal), not as the engine saw them."""
        user_fact = self._by_engine_key.get(engine_fact.get("key", ""))
        if user_fact is not None and engine_fact.get("t") == user_fact.type:
            return {**engine_fact, **user_fact.fields}
        return {k: v for k, v in engine_fact.items() if k not in ("sid", "id", "_c", "t")}

    def _beneficiary(self, owed_to: Any, patterns: Patterns) -> str | None:
        if owed_to == "all":
            return None
        if owed_to == "each_holder":
            return patterns["h"]["buyer"]
        return patterns["f"].get(owed_to["buyer_in"])

    def _plan_copied_fields(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Which trigger fields and terms every obligation carries for joins, planned once (in ``__init__``)."""
        from_trigger: list[tuple[str, str]] = []
        from_terms: list[tuple[str, str]] = []
        for engine_field, reference in self.form.obligation_fields.items():
            if engine_field in ("tkey", "tdate", "beneficiary"):
                continue
            head, _, name = reference.partition(".")
            (from_trigger if head == "trigger" else from_terms).append((engine_field, name))
        return from_trigger, from_terms

    def _trigger_fields(self, fact: dict[str, Any], terms: dict[str, Any], beneficiary: str | None) -> dict[str, Any]:
        from_trigger, from_terms = self._copied_fields
        fields = {engine_field: fact[name] for engine_field, name in from_trigger if name in fact}
        fields.update((engine_field, terms[name]) for engine_field, name in from_terms if name in terms)
        return fields

    def _new_obligation(
        self,
        rule: Any,
        index: int,
        fact: dict[str, Any],
        beneficiary: str | None,
        due: Date | None,
        terms: dict[str, Any],
        trigger_key: str,
        trigger_id: str | None,
        kind: str,
    ) -> Obligation | None:
        key = f"{rule.id}|{trigger_key}|{beneficiary or '*'}"
        if key in self.obligations:
            return None
        if getattr(rule, "one_open_at_a_time", False) and any(
            o.rule_id == rule.id and o.beneficiary == beneficiary and not o.settled for o in self.obligations.values()
        ):
            return None
        trigger_date = day_of(fact["day"]) if "day" in fact else self.today
        if beneficiary is not None and beneficiary in self.holding:
            held_from, held_to = self.holding[beneficiary]
            if trigger_date < held_from or held_to is not None:
                return None  # "each holder": holding on the trigger date, and not since transferred
        obligation = Obligation(
            rule_id=rule.id,
            clause=rule.clause,
            kind=kind,
            key=key,
            trigger_key=trigger_key,
            trigger_id=trigger_id,
            trigger_date=trigger_date,
            beneficiary=beneficiary,
            due=due,
            alt=index,
            trigger_fields=self._exact_fields(fact),
        )
        if fact.get("key") and fact.get("t") != PERIOD:
            obligation.note_evidence(fact["key"])
            self.used.add(fact["key"])
        self.obligations[key] = obligation
        engine_fact = {
            "t": OBLIGATION,
            "rule": rule.id,
            "alt": index,
            "okey": key,
            "tkey": trigger_key,
            "tid": fact.get("key", trigger_key),
            "tday": obligation.trigger_date.toordinal(),
            "tdate": obligation.trigger_date.isoformat(),
            "beneficiary": beneficiary or "*",
            "due": due.toordinal() if due else 0,
            "_c": 1,
            **self._trigger_fields(fact, terms, beneficiary),
        }
        obligation.engine_fact = engine_fact
        return obligation

    def _arise_duty(
        self,
        rule: DutyRule,
        trigger: Any,
        index: int,
        fact: dict[str, Any],
        beneficiary: str | None,
        patterns: Patterns,
    ) -> None:
        anchor = day_of(fact["day"])
        if rule.breach_starts == "on_trigger":
            self._arise_from_trigger(rule, trigger, index, fact, beneficiary, anchor)
            return
        due_rule = trigger.due or rule.due
        due, basis = self._due(due_rule, anchor)
        if not self._in_window(rule, due, trigger, anchor):
            return
        fixed = due_rule.date is not None
        trigger_key = fact["key"]
        trigger_id = None if fixed else fact["key"]
        obligation = self._new_obligation(
            rule, index, fact, beneficiary, due, trigger.terms, trigger_key, trigger_id, "duty"
        )
        if obligation is None:
            return
        obligation.due_basis = basis
        assert obligation.engine_fact is not None
        ext_deadline = due
        if due_rule.extended_by:
            ext_deadline = max(
                self.calendar.business_days_after(due, e.no_later_than_business_days_after_due)
                for e in due_rule.extended_by
            )
            obligation.engine_fact["ext_deadline"] = ext_deadline.toordinal()
        self._plan_decision(obligation, shift(ext_deadline, 1))
        self._assert(obligation.engine_fact)

    def _arise_from_trigger(
        self, rule: DutyRule, trigger: Any, index: int, fact: dict[str, Any], beneficiary: str | None, anchor: Date
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
            obligation.act_by, obligation.due_basis = self._due(rule.act_by, anchor)
            obligation.engine_fact["act_by"] = obligation.act_by.toordinal()
        for number, again in enumerate(rule.again_after):
            if again.act_by is not None:
                again_by, _ = self._due(again.act_by, anchor)
                obligation.engine_fact[f"again_by_{number}"] = again_by.toordinal()
        self._assert(obligation.engine_fact)
        if rule.act_by is None and not rule.again_after:
            if obligation.status == OPEN:
                self._breach(obligation, anchor)  # from the trigger's date: a same-day cure is one day
        else:
            self._end_of_day[self.today].append(obligation.key)

    def _arise_prohibition(
        self,
        rule: ProhibitionRule,
        trigger: FactTrigger,
        index: int,
        fact: dict[str, Any],
        beneficiary: str | None,
        patterns: Patterns,
    ) -> None:
        trigger_key = fact.get(trigger.one_per) if trigger.one_per else fact["key"]
        obligation = self._new_obligation(
            rule, index, fact, beneficiary, None, trigger.terms, str(trigger_key), fact["key"], "prohibition"
        )
        if obligation is None:
            return
        self._end_of_day[self.today].append(obligation.key)
        assert obligation.engine_fact is not None
        self._assert(obligation.engine_fact)

    def _on_review(self, rule_id: str | None, index: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        rule: ReviewRule = self.form.rules[rule_id]
        fact = patterns["f"]
        obligation = self._new_obligation(rule, index, fact, None, None, {}, fact["key"], fact["key"], "review")
        if obligation is not None:
            obligation.status = "review"
            if rule.bearing and obligation.engine_fact is not None:
                self._assert(obligation.engine_fact)  # stays: facts bearing on it may come later
            obligation.engine_fact = None

    def _due(self, due: Due, anchor: Date) -> tuple[Date, str]:
        """The deadline and the words that justify it; the same for every Buyer of a trigger."""
        key = (id(due), self.calendar, anchor)
        known = self._due_memo.get(key)
        if known is None:
            known = self._due_memo[key] = self._compute_due(due, anchor)
        return known

    def _compute_due(self, due: Due, anchor: Date) -> tuple[Date, str]:
        roll = self.calendar.roll == "following" if due.roll is None else due.roll
        rolled = "rolled to the next business day" if roll else "not rolled"
        if due.days_after is not None:
            raw = shift(anchor, due.days_after)
            day = self.calendar.rolled(raw) if roll else raw
            return day, _rolled_basis(f"{due.days_after} calendar days after {anchor}", raw, day, rolled, self.calendar)
        if due.days_before is not None:
            day = shift(anchor, -due.days_before)
            return day, f"on or before {due.days_before} calendar days before {anchor}"
        if due.business_days_after is not None:
            day = self.calendar.business_days_after(anchor, due.business_days_after)
            return day, f"business day {due.business_days_after} after {anchor}"
        if due.business_days_before is not None:
            day = self.calendar.business_days_before(anchor, due.business_days_before)
            return day, f"on or before business day {due.business_days_before} before {anchor}"
        assert due.date is not None
        raw = as_date(due.date)
        day = self.calendar.rolled(raw) if roll else raw
        return day, _rolled_basis(f"the fixed date {raw}", raw, day, rolled, self.calendar)

    def _in_window(self, rule: DutyRule, due: Date, trigger: Any, anchor: Date) -> bool:
        if isinstance(trigger, PeriodTrigger) and trigger.starting and month_text(anchor) < trigger.starting:
            return False
        window = rule.window
        if window is None or self.closing is None:
            return True
        if window.due_after_closing and due <= self.closing:
            return False
        return not (
            window.due_within_years_of_closing and due > self.closing.add(years=window.due_within_years_of_closing)
        )

    def _plan_decision(self, obligation: Obligation, day: Date) -> None:
        """Decide the breach on ``day``; one already past (a preview due before its filing) tonight."""
        if day <= self.today:
            self._end_of_day[self.today].append(obligation.key)
            return
        obligation.decide_on = day
        self._decisions[day].append(obligation.key)
        self._schedule(day)

    def _on_extend(self, rule_id: str | None, index: int, detail: int, patterns: Patterns) -> None:
        obligation = self.obligations[patterns["o"]["okey"]]
        if obligation.extended or obligation.status != OPEN or obligation.due is None:
            return
        rule: DutyRule = self.form.rules[obligation.rule_id]
        due_rule = rule.triggers()[index].due or rule.due
        assert due_rule is not None
        extension = due_rule.extended_by[detail]
        old_due = obligation.due
        obligation.due = self.calendar.rolled(shift(old_due, extension.days))
        obligation.extended = True
        obligation.note_evidence(patterns["m"]["key"])
        self.used.add(patterns["m"]["key"])
        obligation.due_basis += f"; extended by {extension.days} days by {patterns['m']['key']} to {obligation.due}"
        self._consume(patterns["m"])
        self._plan_decision(obligation, shift(obligation.due, 1))

    def _on_meet(self, rule_id: str | None, index: int, _d: int, patterns: Patterns) -> None:
        obligation = self.obligations.get(patterns["o"]["okey"])
        if obligation is None or obligation.settled:
            return
        rule: DutyRule = self.form.rules[obligation.rule_id]
        meeting = rule.met_by[index]
        fact = patterns["m"]
        if meeting.adding_up:
            if fact["key"] in obligation.paid_by:
                return
            obligation.paid_by.add(fact["key"])
            obligation.paid += self._exact_fields(fact).get(meeting.adding_up, Decimal(0))
            obligation.matched.append(fact["key"])
            self._note(obligation, fact["key"])
            self._consume(fact)
            target = obligation.trigger_fields.get(engine_field_for(meeting.to).removeprefix("t_"), Decimal(0))
            if obligation.paid < target:
                return
        self._note(obligation, fact["key"])
        if fact["key"] not in obligation.matched:
            obligation.matched.append(fact["key"])
        if "$trigger" in _joined_names(meeting):
            self._consume(fact)
        if rule.again_after:
            obligation.requirement_met = True  # the rest is decided tonight, with the events
            return
        self._meet(obligation, day_of(fact["day"]), rule.curable)

    def _meet(self, obligation: Obligation, on: Date, curable: bool) -> None:
        if obligation.due is None:  # in breach from the trigger unless met the same day
            if obligation.status == OPEN:
                obligation.status = "fulfilled"
                obligation.met_on = on
                self._close(obligation)
            elif curable:
                obligation.status = "cured"
                obligation.cured_on = on
                self._close(obligation)
            return
        if on <= obligation.due:
            obligation.status = "fulfilled"
            obligation.met_on = on
            self._close(obligation)
            return
        if obligation.breach_start is None:
            self._breach(obligation, shift(obligation.due, 1))
        if curable:
            obligation.status = "cured"
            obligation.cured_on = on
            self._close(obligation)

    def _on_permit(self, rule_id: str | None, index: int, _d: int, patterns: Patterns) -> None:
        obligation = self.obligations.get(patterns["o"]["okey"])
        if obligation is None or obligation.status != OPEN:
            return
        rule: ProhibitionRule = self.form.rules[obligation.rule_id]
        permission = rule.unless[index]
        consent = patterns["m"]
        obligation.consents[consent["by"]] = consent["key"]
        if consent["key"] not in obligation.matched:
            obligation.matched.append(consent["key"])
        obligation.note_evidence(consent["key"])
        self.used.add(consent["key"])
        if self._permitted(permission.given_by, obligation):
            obligation.status = "fulfilled"
            obligation.met_on = self.today
            self._close(obligation)

    def _permitted(self, given_by: str, obligation: Obligation) -> bool:
        consenting = set(obligation.consents)
        if given_by == "beneficiary":
            return obligation.beneficiary in consenting
        if given_by == "every_holder":
            return self._holders_on(obligation.trigger_date) <= consenting
        principals = {b.id: b.principal for b in self.agreement.buyers}
        share = sum((principals[b] for b in consenting if b in principals), Decimal(0))
        return share > self.agreement.principal_total() * self.agreement.majority_in_interest_more_than

    def _holders_on(self, day: Date) -> set[str]:
        return {b for b, (start, end) in self.holding.items() if start <= day and (end is None or day < end)}

    def _on_waive(self, _rule: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        obligation = self.obligations.get(patterns["o"]["okey"])
        if obligation is None or obligation.settled:
            return
        waiver = patterns["m"]
        buyer = waiver["by"]
        obligation.note_evidence(waiver["key"])
        self.used.add(waiver["key"])
        on = day_of(waiver["day"])
        if obligation.beneficiary is not None:
            self._end(obligation, "waived", on)
            return
        obligation.waived_by.setdefault(buyer, on)
        holders = self._holders_on(obligation.trigger_date) - set(obligation.discharged_by)
        if holders <= set(obligation.waived_by):
            self._end(obligation, "waived", max(obligation.waived_by[b] for b in holders) if holders else on)

    def _end(self, obligation: Obligation, status: str, on: Date) -> None:
        obligation.status = status
        if obligation.breach_start is not None:
            obligation.ended_on = on
        self._close(obligation)

    def _on_derive(self, rule_id: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        rule: DeriveRule = self.form.rules[rule_id]
        if rule.once and self.derived_counts[rule_id]:
            return
        self.derived_counts[rule_id] += 1
        inputs = [patterns[name]["key"] for name in sorted(patterns)]
        fact_id = rule_id if rule.once else f"{rule_id}#{self.derived_counts[rule_id]}"
        derived = Fact(
            id=fact_id,
            type=rule.derives,
            date=self.today,
            fields={"from": inputs},
            file=self.form.files[rule_id],
            line=0,
            order=-1,
        )
        first = patterns["p0"]
        copied = {name: first[name] for name in rule.copy_fields if name in first}
        fields = {**copied, **{k: scalar_json(v) for k, v in rule.set_fields.items()}}
        derived.fields.update(fields)
        self.derived[fact_id] = derived
        self.used.update(inputs)
        self._assert(
            {
                "t": rule.derives,
                "key": fact_id,
                "by_rule": rule_id,
                "day": self.today.toordinal(),
                "tday": self.today.toordinal(),
                "_c": 1,
                **fields,
            }
        )

    def _on_grant(self, rule_id: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        assert rule_id is not None
        rule = self.form.rules[rule_id]
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

    def _on_derive_ends(self, rule_id: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        self.used.add(patterns["m"]["key"])
        self.ruleset.retract_fact(patterns["o"])

    def _on_period_input(self, rule_id: str | None, _i: int, _d: int, patterns: Patterns) -> None:
        """Recompute a derived period (the Lock-up Period) when one of its inputs arrives."""
        assert rule_id is not None
        fact = patterns["f"]
        self._period_inputs[fact["t"]][fact.get("key", fact["id"])] = fact  # a re-derived period replaces
        if "key" in fact and not fact.get("by_rule"):
            self.used.add(fact["key"])
        rule: PeriodRule = self.form.rules[rule_id]
        starts = sorted(f["day"] for f in self._period_inputs[rule.starts_on].values())
        if not starts:
            return
        ends = [self._date_term(term) for term in rule.ends.later_of]
        known = all(end is not None for end in ends)
        end = max(e for e in ends if e is not None) if known else UNKNOWN_END
        current = self._periods.get(rule_id)
        if current is not None and (current["start"], current["end"]) == (starts[0], end):
            return
        if current is not None:
            self.ruleset.retract_fact(current)
        period = {
            "t": rule.derives,
            "key": rule_id,
            "by_rule": rule_id,
            "day": self.today.toordinal(),
            "tday": self.today.toordinal(),
            "start": starts[0],
            "end": end,
            "end_known": known,
            "_c": 1,
        }
        self._periods[rule_id] = period
        own_types = {rule.starts_on} | {t.fact for t in rule.ends.later_of}
        own_types |= {t.plus_days_of for t in rule.ends.later_of if t.plus_days_of}
        sources = sorted(
            {f["key"] for kind in own_types for f in self._period_inputs.get(kind, {}).values() if "key" in f},
            key=lambda k: (k in self.derived, k),
        )
        fields: dict[str, Any] = {"start": day_of(starts[0]), "from": sources}
        if known:
            fields["end"] = day_of(end)
        self.derived[rule_id] = Fact(
            id=rule_id,
            type=rule.derives,
            date=self.today,
            fields=fields,
            file=self.form.files[rule_id],
            line=0,
            order=-1,
        )
        self._assert(period)

    def _date_term(self, term: DateTerm) -> int | None:
        """The ordinal of a computed date, or None while a fact it needs has not happened."""
        facts = sorted(self._period_inputs.get(term.fact, {}).values(), key=lambda f: f["day"])
        if not facts:
            return None
        base_fact = facts[0]
        if term.field == "date":
            base = base_fact["day"]
        elif base_fact.get(term.field) is None or (term.field == "end" and not base_fact.get("end_known", True)):
            return None
        else:
            base = base_fact[term.field]
        day = day_of(base).add(years=term.years_after, days=term.days_after)
        if term.plus_days_of:
            extra = 0
            suspended: set[int] = set()
            for span in self._period_inputs.get(term.plus_days_of, {}).values():
                if "until" not in span:
                    return None  # open-ended: the period has not ended
                first = max(span["day"], base)
                last = Date.fromisoformat(span["until"]).toordinal()
                suspended.update(range(first, last + 1))
            extra = len(suspended)
            day = shift(day, extra)
        return day.toordinal()

    # --- breaches ---------------------------------------------------------
    def _decide_duties(self, day: Date) -> None:
        for key in self._decisions.pop(day, ()):
            obligation = self.obligations[key]
            if obligation.status == OPEN and obligation.decide_on == day:
                assert obligation.due is not None
                self._breach(obligation, shift(obligation.due, 1))

    def _decide_tonight(self, day: Date) -> None:
        """Acts of today that nothing permitted, and duties that were overdue when they arose."""
        for key in self._end_of_day.pop(day, ()):
            obligation = self.obligations[key]
            if obligation.status != OPEN:
                continue
            if obligation.kind == "prohibition":
                self._breach(obligation, obligation.trigger_date)
            elif obligation.due is None:
                if obligation.requirement_met and set(obligation.events) <= obligation.answered:
                    obligation.status = "fulfilled"
                    obligation.met_on = day
                    self._close(obligation)
                else:
                    self._breach(obligation, obligation.trigger_date)
            elif obligation.due < day:
                self._breach(obligation, shift(obligation.due, 1))

    def _breach(self, obligation: Obligation, start: Date) -> None:
        obligation.status = "breached"
        obligation.breach_start = start
        rule = self.form.rules[obligation.rule_id]
        breach = {
            "t": BREACH,
            "rule": rule.id,
            "section": section_of(rule.clause),
            "okey": obligation.key,
            "day": start.toordinal(),
            "_c": 1,
        }
        self._assert(breach)
        self._retract_today.append(breach)

    def _close(self, obligation: Obligation) -> None:
        if obligation.engine_fact is not None:
            self._consumed.append(obligation.engine_fact)
            obligation.engine_fact = None

    def _consume(self, engine_fact: dict[str, Any]) -> None:
        self._consumed_ids.add(engine_fact["id"])
        self._consumed.append(engine_fact)


def _joined_names(meeting: Any) -> set[str]:
    names: set[str] = set()
    for condition in meeting.where.values():
        same_as = getattr(condition, "same_as", None)
        if same_as and same_as.startswith("trigger"):
            names.add("$trigger")
    return names


def _rolled_basis(what: str, raw: Date, day: Date, rolled: str, calendar: BusinessCalendar) -> str:
    if raw == day:
        return f"{what} ({day}, a business day)" if rolled.startswith("rolled") else what
    reason = calendar.holiday_name(raw) or raw.format("dddd")
    return f"{what} is {raw} ({reason}), {rolled}: {day}"


def _engine_facts(fact: Fact, day: Date) -> list[dict[str, Any]]:
    """A fact as the engine sees it: scalars only; a list field becomes one fact per item."""
    base: dict[str, Any] = {"t": fact.type, "key": fact.id, "day": day.toordinal(), "_c": 1}
    lists: list[tuple[str, list[Any]]] = []
    for name, value in fact.fields.items():
        if isinstance(value, list):
            lists.append((name, value))
        elif isinstance(value, Decimal):
            # A number, so `above`/`below` compare amounts; the exact Decimal stays on the Fact.
            base[name] = float(value)
        elif isinstance(value, Date):
            base[name] = value.isoformat()
        else:
            base[name] = value
    if fact.type in ("delivery", "sec_filing", "press_release"):
        base["date"] = fact.date.isoformat()
    out = [base]
    for name, values in lists:
        out = [{**item, name: value} for item in out for value in dict.fromkeys(values)]
    return out


class Portfolio:
    """A compiled form, its engine, and one evaluation per agreement."""

    def __init__(self, form: CompiledForm):
        self.form = form
        self._runs: dict[str, Evaluation] = {}
        # Shared by every agreement of the form: a deadline depends only on the rule, the calendar and the day.
        self._due_memo: DueMemo = {}
        actions = {
            name: self._dispatcher(binding.kind, binding.rule_id, binding.index, binding.detail)
            for name, binding in form.bindings.items()
        }
        self.pool = EnginePool(form.name, form.definition, actions)

    def _dispatcher(self, kind: str, rule_id: str | None, index: int, detail: int) -> Any:
        handler = f"_on_{kind}"

        def fire(sid: str, patterns: Patterns) -> None:
            getattr(self._runs[sid], handler)(rule_id, index, detail, patterns)

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


__all__ = ["AgreementState", "Evaluation", "Obligation", "Portfolio", "add_months", "default_as_of"]
