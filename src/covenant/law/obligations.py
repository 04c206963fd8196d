"""Obligations and the book that keeps them: the state machine of the law, without the engine.

An obligation is pending until something settles it: met in time (fulfilled),
met late (breached, then cured if the duty is curable), waived by those it is
owed to, discharged when its Buyer transfers all its Securities, or permitted
by consent (a prohibition, fulfilled). Reviews are not decided at all.

The transitions live here, apart from the engine, so that they can be read
and tested as the law they encode. The book tells its owner about the two
moments the engine must hear of through hooks: a breach (remedy rules chain
on it) and a close (the obligation's engine fact can leave working memory).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from covenant.calendar import Date, shift
from covenant.law.holdings import Holdings


class Status(StrEnum):
    """Where an obligation stands; the values are the words of every report."""

    PENDING = "pending"
    FULFILLED = "fulfilled"
    BREACHED = "breached"
    CURED = "cured"
    WAIVED = "waived"
    DISCHARGED = "discharged"
    REVIEW = "review"


PENDING = Status.PENDING
BREACHED = Status.BREACHED
UNSETTLED = (PENDING, BREACHED)
"""A breached duty may still be cured, waived or discharged; every other status is final."""


@dataclass(slots=True)
class Obligation:
    """One (rule, trigger, beneficiary) and everything known about it."""

    rule_id: str
    clause: str
    kind: str  # duty | prohibition | review | test | default | default_rate
    key: str
    trigger_key: str
    trigger_id: str | None  # as reported: fact id, period end, or None (fixed date)
    trigger_date: Date
    beneficiary: str | None
    due: Date | None
    status: Status = PENDING
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
    payments: list[tuple[Date, Decimal]] = field(default_factory=list)  # (day, amount) of each part paid
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
    measure: dict[str, str | None] | None = None  # a financial test's value (None: not computed), limit, comparison
    valid: bool | None = None  # an act listed for review: valid on its date, by the rule's valid_when

    @property
    def settled(self) -> bool:
        return self.status not in UNSETTLED

    def note_evidence(self, fact_id: str) -> None:
        if fact_id not in self.evidence:
            self.evidence.append(fact_id)


def obligation_key(rule_id: str, trigger_key: str, beneficiary: str | None) -> str:
    """One obligation per rule, trigger and Buyer; ``*`` when it is owed to all of them together."""
    return f"{rule_id}|{trigger_key}|{beneficiary or '*'}"


def _ignore(_item: Any) -> None:
    """The hook of a book nobody listens to (a test's)."""


class ObligationBook:
    """Every obligation of one agreement, by key, and the transitions between their statuses.

    ``on_breach`` hears of each breach once its start is set; ``on_close`` gets the
    engine fact of each obligation nothing can change any more, which may go.
    The hooks should not hold the book's owner: a cycle would keep every
    evaluation alive until the garbage collector finds it.
    """

    __slots__ = ("_on_breach", "_on_close", "holdings", "obligations")

    def __init__(
        self,
        holdings: Holdings,
        on_breach: Callable[[Obligation], None] = _ignore,
        on_close: Callable[[dict[str, Any]], None] = _ignore,
    ) -> None:
        self.obligations: dict[str, Obligation] = {}
        self.holdings = holdings
        self._on_breach = on_breach
        self._on_close = on_close

    def __len__(self) -> int:
        return len(self.obligations)

    def __contains__(self, key: str) -> bool:
        return key in self.obligations

    def get(self, key: str) -> Obligation | None:
        return self.obligations.get(key)

    def __getitem__(self, key: str) -> Obligation:
        return self.obligations[key]

    # --- opening ----------------------------------------------------------
    def may_open(self, key: str, rule_id: str, beneficiary: str | None, one_open_at_a_time: bool) -> bool:
        """Whether an obligation may arise under ``key``: not twice, nor beside an open one if the rule says so."""
        if key in self.obligations:
            return False
        return not (
            one_open_at_a_time
            and any(
                o.rule_id == rule_id and o.beneficiary == beneficiary and not o.settled
                for o in self.obligations.values()
            )
        )

    def open(
        self,
        rule_id: str,
        clause: str,
        kind: str,
        trigger_key: str,
        trigger_id: str | None,
        trigger_date: Date,
        beneficiary: str | None,
        due: Date | None,
        *,
        alt: int = 0,
        one_open_at_a_time: bool = False,
    ) -> Obligation | None:
        """A new obligation in the book, or None where none arises.

        None arises twice for one rule, trigger and Buyer; nor beside an open one
        when the rule allows one at a time; nor for a Buyer who did not hold on
        the trigger date or has transferred since ("each holder").
        """
        key = obligation_key(rule_id, trigger_key, beneficiary)
        if not self.may_open(key, rule_id, beneficiary, one_open_at_a_time):
            return None
        if beneficiary is not None and not self.holdings.owed_on(beneficiary, trigger_date):
            return None
        obligation = Obligation(
            rule_id=rule_id,
            clause=clause,
            kind=kind,
            key=key,
            trigger_key=trigger_key,
            trigger_id=trigger_id,
            trigger_date=trigger_date,
            beneficiary=beneficiary,
            due=due,
            status=Status.REVIEW if kind == "review" else PENDING,
            alt=alt,
        )
        self.obligations[key] = obligation
        return obligation

    # --- the transitions --------------------------------------------------
    def breach(self, obligation: Obligation, start: Date) -> None:
        obligation.status = BREACHED
        obligation.breach_start = start
        self._on_breach(obligation)

    def fulfil(self, obligation: Obligation, on: Date) -> None:
        obligation.status = Status.FULFILLED
        obligation.met_on = on
        self.close(obligation)

    def cure(self, obligation: Obligation, on: Date) -> None:
        obligation.status = Status.CURED
        obligation.cured_on = on
        self.close(obligation)

    def end(self, obligation: Obligation, status: Status, on: Date) -> None:
        """Waived or discharged; the day it ended matters only if it had been breached (the breach stops there)."""
        obligation.status = status
        if obligation.breach_start is not None:
            obligation.ended_on = on
        self.close(obligation)

    def close(self, obligation: Obligation) -> None:
        if obligation.engine_fact is not None:
            self._on_close(obligation.engine_fact)
            obligation.engine_fact = None

    def meet(self, obligation: Obligation, on: Date, curable: bool) -> None:
        """A duty's requirement met on ``on``: fulfilled if in time, else breached, and cured if it may be.

        Once settled, later meetings change nothing: the first one that counted stays on the record.
        """
        if obligation.settled:
            return
        if obligation.due is None:  # in breach from the trigger unless met the same day
            if obligation.status == PENDING:
                self.fulfil(obligation, on)
            elif curable:
                self.cure(obligation, on)
            return
        if on <= obligation.due:
            self.fulfil(obligation, on)
            return
        if obligation.breach_start is None:
            self.breach(obligation, shift(obligation.due, 1))
        if curable:
            self.cure(obligation, on)

    def decide_morning(self, obligation: Obligation, day: Date) -> None:
        """The morning after a duty's last day: breached from the day after its deadline, unless settled.

        ``decide_on`` is the morning last planned: an extension granted since moves it, and the old one passes.
        """
        if obligation.status == PENDING and obligation.decide_on == day:
            assert obligation.due is not None
            self.breach(obligation, shift(obligation.due, 1))

    def decide_tonight(self, obligation: Obligation, day: Date) -> None:
        """After the facts of ``day``: acts that nothing permitted, and duties that were overdue when they arose.

        A prohibition still pending has not been permitted: breached from its act.
        A duty with no deadline (in breach from its trigger unless met) is fulfilled
        if its requirement was met and every event since answered, else breached
        from its trigger; one whose deadline had passed when it arose, from then.
        """
        if obligation.status != PENDING:
            return
        if obligation.kind == "prohibition":
            self.breach(obligation, obligation.trigger_date)
        elif obligation.due is None:
            if obligation.requirement_met and set(obligation.events) <= obligation.answered:
                self.fulfil(obligation, day)
            else:
                self.breach(obligation, obligation.trigger_date)
        elif obligation.due < day:
            self.breach(obligation, shift(obligation.due, 1))

    def waive(self, obligation: Obligation, buyer: str, on: Date) -> None:
        """One Buyer's waiver; an obligation owed to all ends when every holder on its trigger date has waived."""
        if obligation.settled:
            return
        if obligation.beneficiary is not None:
            self.end(obligation, Status.WAIVED, on)
            return
        obligation.waived_by.setdefault(buyer, on)
        holders = self.holdings.holders_on(obligation.trigger_date) - set(obligation.discharged_by)
        if holders <= set(obligation.waived_by):
            self.end(obligation, Status.WAIVED, max(obligation.waived_by[b] for b in holders) if holders else on)

    def discharge(self, buyer: str, on: Date, transfer_id: str) -> None:
        """A Buyer transferred all its Securities: what was owed to it alone is discharged, from then on.

        What is owed to all the Buyers together stays open; the Buyer only drops
        out of those who must still waive it.
        """
        for obligation in self.obligations.values():
            if obligation.settled or obligation.kind == "review":
                continue
            if obligation.beneficiary == buyer:
                obligation.status = Status.DISCHARGED
                obligation.ended_on = on
                obligation.note_evidence(transfer_id)
                self.close(obligation)
            elif obligation.beneficiary is None:
                obligation.discharged_by[buyer] = on
                obligation.note_evidence(transfer_id)
