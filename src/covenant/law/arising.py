"""How an obligation comes into being when the engine matches its trigger.

A trigger's match is not yet an obligation: the rule says to whom it is owed
(all the Buyers, each holder, a Buyer named in the fact), when it falls due
(a deadline, a day to act by, or the trigger itself), and whether it falls
inside the rule's window. This module answers those questions, opens the
obligation in the book, records what it rests on, plans the day its breach
is decided, and asserts the engine fact that meetings, extensions, consents
and waivers join on.
"""

from __future__ import annotations

from typing import Any

from covenant.calendar import Date, day_of, shift
from covenant.engine.core import Patterns
from covenant.engine.names import PERIOD
from covenant.language.model import DutyRule, FactTrigger, ProhibitionRule, ReviewRule, ScheduleTrigger
from covenant.law.agenda import Agenda
from covenant.law.deadlines import Deadlines, in_window
from covenant.law.derivations import Derivations
from covenant.law.memory import EngineFact, ObligationFacts, WorkingMemory
from covenant.law.obligations import PENDING, Obligation, ObligationBook
from covenant.law.schedules import Schedules


class Arising:
    """Opens the obligations of one agreement as their triggers are matched."""

    __slots__ = (
        "_agenda",
        "_assert",
        "_book",
        "_deadlines",
        "_derivations",
        "_encoding",
        "_memory",
        "_roles",
        "_rules",
        "_schedules",
        "_used",
    )

    def __init__(
        self,
        rules: dict[str, Any],
        book: ObligationBook,
        memory: WorkingMemory,
        encoding: ObligationFacts,
        deadlines: Deadlines,
        agenda: Agenda,
        derivations: Derivations,
        used: set[str],
        roles: dict[str, str] | None = None,
        schedules: Schedules | None = None,
    ) -> None:
        self._rules = rules
        self._roles = roles or {}
        self._schedules = schedules
        self._book = book
        self._memory = memory
        self._assert = memory.assert_fact
        self._encoding = encoding
        self._deadlines = deadlines
        self._agenda = agenda
        self._derivations = derivations
        self._used = used

    def arise(self, rule_id: str, index: int, patterns: Patterns, today: Date, closing: Date | None) -> None:
        """A duty's or prohibition's trigger ``index`` matched: open what it creates."""
        rule = self._rules[rule_id]
        trigger = rule.triggers()[index]
        fact = patterns["f"]
        beneficiary = _beneficiary(rule.owed_to, patterns, self._roles)
        obligations = self._book.obligations
        created_before = len(obligations)
        if isinstance(rule, DutyRule):
            self._duty(rule, trigger, index, fact, beneficiary, today, closing)
        else:
            self._prohibition(rule, trigger, index, fact, beneficiary, today)
        if len(obligations) == created_before:
            return
        new_keys = (
            list(obligations)[created_before:]
            if len(obligations) - created_before > 1
            else [next(reversed(obligations))]
        )
        for key in new_keys:
            for name, matched in sorted(patterns.items()):
                if name.startswith("q"):  # a provided fact: the Lock-up Period, Stockholder Approval complete
                    self._derivations.note(obligations[key], matched["key"])

    def review(self, rule_id: str, index: int, fact: EngineFact, today: Date) -> None:
        """A review's trigger matched: recorded for a person to decide; kept in memory only if facts may bear on it."""
        rule: ReviewRule = self._rules[rule_id]
        obligation = self._open(rule, index, fact, None, None, {}, fact["key"], fact["key"], "review", today)
        if obligation is not None:
            if rule.bearing and obligation.engine_fact is not None:
                self._assert(obligation.engine_fact)  # stays: facts bearing on it may come later
            obligation.engine_fact = None

    def _open(
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
        today: Date,
    ) -> Obligation | None:
        """Open an obligation in the book, with the engine fact its answers join on (asserted by the caller)."""
        obligation = self._book.open(
            rule.id,
            rule.clause,
            kind,
            trigger_key,
            trigger_id,
            day_of(fact["day"]) if "day" in fact else today,
            beneficiary,
            due,
            alt=index,
            one_open_at_a_time=getattr(rule, "one_open_at_a_time", False),
        )
        if obligation is None:
            return None
        obligation.trigger_fields = self._memory.exact_fields(fact)
        if fact.get("key") and fact.get("t") != PERIOD:
            obligation.note_evidence(fact["key"])
            self._used.add(fact["key"])
        obligation.engine_fact = self._encoding.encode(obligation, fact, terms)
        return obligation

    def _duty(
        self,
        rule: DutyRule,
        trigger: Any,
        index: int,
        fact: EngineFact,
        beneficiary: str | None,
        today: Date,
        closing: Date | None,
    ) -> None:
        anchor = day_of(fact["day"])
        if rule.breach_starts == "on_trigger":
            self._duty_from_trigger(rule, trigger, index, fact, beneficiary, anchor, today)
            return
        due_rule = trigger.due or rule.due
        if due_rule is None:  # a scheduled date: due that day, rolled
            due, basis = self._deadlines.scheduled(anchor)
        else:
            due, basis = self._deadlines.due(due_rule, anchor)
        if not in_window(rule, due, trigger, anchor, closing):
            return
        trigger_id = None if due_rule is not None and due_rule.date is not None else fact["key"]
        obligation = self._open(
            rule, index, fact, beneficiary, due, trigger.terms, fact["key"], trigger_id, "duty", today
        )
        if obligation is None:
            return
        obligation.due_basis = basis
        if isinstance(trigger, ScheduleTrigger) and self._schedules is not None:
            amount, words = self._schedules.amount(trigger.schedule, anchor, beneficiary, closing)
            obligation.trigger_fields["amount"] = amount
            obligation.due_basis = f"{basis}; amount {words}"
        assert obligation.engine_fact is not None
        last_day = due
        if due_rule is not None and due_rule.extended_by:
            # No breach while more time may still be asked for.
            last_day = self._deadlines.latest_extension(due, due_rule.extended_by)
            obligation.engine_fact["ext_deadline"] = last_day.toordinal()
        self._agenda.plan_decision(obligation, shift(last_day, 1), today)
        self._assert(obligation.engine_fact)

    def _duty_from_trigger(
        self,
        rule: DutyRule,
        trigger: Any,
        index: int,
        fact: EngineFact,
        beneficiary: str | None,
        anchor: Date,
        today: Date,
    ) -> None:
        """A duty in breach from its trigger's date unless met by then (listing, notices before a closing)."""
        trigger_key = str(fact.get(trigger.one_per) if trigger.one_per else fact["key"])
        obligation = self._open(
            rule, index, fact, beneficiary, None, trigger.terms, trigger_key, fact["key"], "duty", today
        )
        if obligation is None:
            return
        assert obligation.engine_fact is not None
        if rule.act_by is not None:
            obligation.act_by, obligation.due_basis = self._deadlines.due(rule.act_by, anchor)
            obligation.engine_fact["act_by"] = obligation.act_by.toordinal()
        for number, again in enumerate(rule.again_after):
            if again.act_by is not None:
                again_by, _ = self._deadlines.due(again.act_by, anchor)
                obligation.engine_fact[f"again_by_{number}"] = again_by.toordinal()
        self._assert(obligation.engine_fact)
        if rule.act_by is None and not rule.again_after:
            if obligation.status == PENDING:
                self._book.breach(obligation, anchor)  # from the trigger's date: a same-day cure is one day
        else:
            self._agenda.decide_tonight(today, obligation.key)

    def _prohibition(
        self,
        rule: ProhibitionRule,
        trigger: FactTrigger,
        index: int,
        fact: EngineFact,
        beneficiary: str | None,
        today: Date,
    ) -> None:
        trigger_key = str(fact.get(trigger.one_per) if trigger.one_per else fact["key"])
        obligation = self._open(
            rule, index, fact, beneficiary, None, trigger.terms, trigger_key, fact["key"], "prohibition", today
        )
        if obligation is None:
            return
        self._agenda.decide_tonight(today, obligation.key)
        assert obligation.engine_fact is not None
        self._assert(obligation.engine_fact)


def _beneficiary(owed_to: Any, patterns: Patterns, roles: dict[str, str]) -> str | None:
    """To whom a new obligation is owed: None for all the parties together, else one party's id."""
    if owed_to == "all":
        return None
    if owed_to == "each_holder":
        return patterns["h"]["buyer"]
    if "role" in owed_to:
        return roles.get(owed_to["role"])
    return patterns["f"].get(owed_to["buyer_in"])
