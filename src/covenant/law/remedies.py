"""What a breach costs: Standard Liquidated Damages and expense interest.

The formulas are the memo's, parameterised by ``agreement.yaml`` (rates,
interest on the Debentures); the ledger of each Buyer (principal after
conversions, interest accrued and paid) comes from the fact log. Money is
``Decimal`` with 50 digits of working precision and is rounded half-up to
cents once, at the end, as the memo says. Each computation also returns its
lines month by month, so ``explain`` can show the arithmetic.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from covenant.calendar import Date, days_between, shift
from covenant.facts import Fact
from covenant.language.compiler import CompiledForm
from covenant.language.model import Agreement, RemedyDefinition
from covenant.law.driver import AgreementState
from covenant.law.formulas import (
    CENT,
    PRECISION,
    Computation,
    DayCount,
    MonthLine,
    Rate,
    days_30_360,
    interest_over_period,
    monthly_rates_on_outstanding,
    simple_interest_on_amount,
    to_cents,
    year_days,
)
from covenant.law.holdings import effect_amounts
from covenant.law.obligations import Obligation

_PRECISION = PRECISION
__all__ = [
    "CENT",
    "BuyerLedger",
    "Computation",
    "MonthLine",
    "RemedyLine",
    "interest_over_period",
    "ledgers_from_facts",
    "monthly_rates_on_outstanding",
    "remedy_lines",
    "simple_interest_on_amount",
    "to_cents",
]


@dataclass
class BuyerLedger:
    """One Buyer's Debentures over time: principal, accrued and paid interest.

    SLD asks for the base on the first day of every month of every breach, and
    a log spanning decades holds hundreds of conversions and payments, so the
    ledger is indexed once (day ordinals, prefix sums) on the first question
    and each answer is a bisection. The Decimal operations are those of the
    memo's day-by-day sum, grouped by segments of constant principal, in the
    same order: the amounts are the same to the last digit.
    """

    original_principal: Decimal
    annual_rate: Decimal
    closing: Date
    day_count: DayCount = "actual/365"
    conversions: list[tuple[Date, Decimal]] = field(default_factory=list)
    interest_paid: list[tuple[Date, Decimal]] = field(default_factory=list)
    _index: _LedgerIndex | None = field(default=None, init=False, repr=False, compare=False)
    _bases: dict[Date, Decimal] = field(default_factory=dict, init=False, repr=False, compare=False)

    def _indexed(self) -> _LedgerIndex:
        if self._index is None:
            self._index = _LedgerIndex.build(self)
        return self._index

    def principal_on(self, day: Date) -> Decimal:
        """Original principal less conversions dated on or before ``day``."""
        return self._indexed().principal_on(day.toordinal())

    def accrued_interest_on(self, day: Date) -> Decimal:
        """Interest for each day from the Closing (included) to ``day`` (excluded), less payments."""
        return self._indexed().accrued_interest_on(day.toordinal())

    def base_on(self, day: Date) -> Decimal:
        """Principal plus unpaid interest on ``day``: SLD's base for a month starting that day.

        Remembered: breaches that start the same day (several rules, one filing)
        ask for the same month starts. The ledger's facts are all known before
        the first question, so an answer never changes.
        """
        known = self._bases.get(day)
        if known is None:
            before_closing = day < self.closing
            known = Decimal(0) if before_closing else self.principal_on(day) + self.accrued_interest_on(day)
            self._bases[day] = known
        return known


@dataclass(frozen=True)
class _LedgerIndex:
    """Prefix sums of a ledger, by day ordinal."""

    original: Decimal
    rate: Decimal
    closing: int
    day_count: DayCount
    year: Decimal
    conversion_days: list[int]
    converted_by: list[Decimal]  # total converted on or before conversion_days[i]
    change_days: list[int]  # days after the Closing on which the principal changes
    accrued_at_change: list[Decimal]  # interest from the Closing to change_days[i], excluded
    payment_days: list[int]
    paid_by: list[Decimal]

    @staticmethod
    def build(ledger: BuyerLedger) -> _LedgerIndex:
        conversions = sorted((when.toordinal(), amount) for when, amount in ledger.conversions)
        conversion_days = [day for day, _ in conversions]
        converted_by = list(itertools.accumulate((amount for _, amount in conversions), initial=Decimal(0)))[1:]
        payments = sorted((when.toordinal(), amount) for when, amount in ledger.interest_paid)
        paid_by = list(itertools.accumulate((amount for _, amount in payments), initial=Decimal(0)))[1:]
        index = _LedgerIndex(
            original=ledger.original_principal,
            rate=ledger.annual_rate,
            closing=ledger.closing.toordinal(),
            day_count=ledger.day_count,
            year=Decimal(year_days(ledger.day_count)),
            conversion_days=conversion_days,
            converted_by=converted_by,
            change_days=[],
            accrued_at_change=[],
            payment_days=[day for day, _ in payments],
            paid_by=paid_by,
        )
        with localcontext(_PRECISION):
            accrued = Decimal(0)
            segment_start = index.closing
            for change in sorted({day for day in conversion_days if day > index.closing}):
                days = index.days(segment_start, change)
                accrued += index.principal_on(segment_start) * index.rate * days / index.year
                index.change_days.append(change)
                index.accrued_at_change.append(accrued)
                segment_start = change
        return index

    def days(self, first: int, stop: int) -> int:
        """Days from ``first`` (included) to ``stop`` (excluded), by ordinals, on the instrument's day count."""
        if self.day_count == "30/360":
            return days_30_360(Date.fromordinal(first), Date.fromordinal(stop))
        return stop - first

    def principal_on(self, day: int) -> Decimal:
        position = bisect.bisect_right(self.conversion_days, day)
        converted = self.converted_by[position - 1] if position else Decimal(0)
        return max(self.original - converted, Decimal(0))

    def accrued_interest_on(self, day: int) -> Decimal:
        with localcontext(_PRECISION):
            position = bisect.bisect_left(self.change_days, day)  # changes strictly before ``day``
            if position:
                accrued = self.accrued_at_change[position - 1]
                segment_start = self.change_days[position - 1]
            else:
                accrued, segment_start = Decimal(0), self.closing
            if day > segment_start:
                accrued += self.principal_on(segment_start) * self.rate * self.days(segment_start, day) / self.year
            paid_position = bisect.bisect_right(self.payment_days, day)
            paid = self.paid_by[paid_position - 1] if paid_position else Decimal(0)
            return max(accrued - paid, Decimal(0))


def ledgers_from_facts(facts: Iterable[Fact], agreement: Agreement, closing: Date) -> dict[str, BuyerLedger]:
    """Each party's ledger of the instrument: principal reduced and interest paid by the declared effects."""
    instrument = agreement.instrument
    ledgers = {
        party.id: BuyerLedger(party.principal, instrument.fixed_rate, closing, instrument.day_count)
        for party in agreement.parties
    }
    facts = tuple(facts)
    for party, changes in effect_amounts(agreement, facts, "principal_reduced").items():
        ledgers[party].conversions.extend(changes)
    for party, payments in effect_amounts(agreement, facts, "interest_paid").items():
        ledgers[party].interest_paid.extend(payments)
    return ledgers


# --- the remedies of one obligation, per Buyer ---------------------------------------------------------------------
@dataclass(frozen=True)
class RemedyLine:
    kind: str
    buyer: str | None
    amount: Decimal | None
    remedy_id: str
    start: Date | None = None
    end_exclusive: Date | None = None
    computation: Computation | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "buyer": self.buyer}
        if self.amount is not None:
            out["amount"] = f"{self.amount:.2f}"
        return out


def breach_end(obligation: Obligation, as_of: Date) -> Date | None:
    """The last day in breach (included), or None when never breached."""
    if obligation.breach_start is None:
        return None
    return obligation.cured_on or obligation.ended_on or as_of


def days_in_breach(obligation: Obligation, as_of: Date) -> int:
    end = breach_end(obligation, as_of)
    if end is None or obligation.breach_start is None:
        return 0
    return max(days_between(obligation.breach_start, end) + 1, 0)


def _buyers_owed(obligation: Obligation, state: AgreementState) -> list[str]:
    if obligation.beneficiary is not None:
        return [obligation.beneficiary]
    start = obligation.breach_start or obligation.trigger_date
    return sorted(
        buyer
        for buyer, (held_from, held_to) in state.holding.items()
        if held_from <= start and (held_to is None or start < held_to)
    )


def _unpaid(amount: Decimal, payments: list[tuple[Date, Decimal]]) -> Callable[[Date], Decimal]:
    """The part of ``amount`` still unpaid on a day: a part paid on a day bears no interest from that day on."""

    def unpaid_on(day: Date) -> Decimal:
        paid = sum((part for when, part in payments if when <= day), Decimal(0))
        return max(amount - paid, Decimal(0))

    return unpaid_on


def _overdue(state: AgreementState, holder: str, rules: list[str]) -> list[Obligation]:
    """The holder's breached obligations of these rules: amounts overdue that bear their own default interest."""
    if not rules:
        return []
    return [
        o
        for o in state.obligations.values()
        if o.rule_id in rules and o.beneficiary == holder and o.breach_start is not None and o.due is not None
    ]


def _principal_less_overdue(
    principal_on: Callable[[Date], Decimal], changes: list[Date], overdue: list[Obligation]
) -> tuple[Callable[[Date], Decimal], list[Date]]:
    """Outstanding principal less what of it is overdue on each day (from its due date to the day it is paid).

    No day of principal bears a default rate twice: an overdue installment
    bears the rate on overdue payments, so an election's base leaves it out.
    """
    if not overdue:
        return principal_on, changes
    parts = []
    for obligation in overdue:
        assert obligation.due is not None
        amount = Decimal(obligation.trigger_fields.get("amount", Decimal(0)))
        parts.append((obligation.due, _unpaid(amount, obligation.payments)))
        changes = [*changes, obligation.due, *(day for day, _ in obligation.payments)]

    def base_on(day: Date) -> Decimal:
        overdue_now = sum((unpaid_on(day) for due, unpaid_on in parts if due <= day), Decimal(0))
        return max(principal_on(day) - overdue_now, Decimal(0))

    return base_on, changes


def _rate(definition: RemedyDefinition, state: AgreementState) -> Rate:
    """The remedy's rate: fixed, or floating on an index whose history the facts give (read once per evaluation)."""
    floating = definition.floating
    if floating is None:
        assert definition.rate is not None  # the model requires one of the two
        return Rate(fixed=definition.rate, less=definition.less)
    key = (floating.index.fact, floating.index.field)
    history = state.indexes.get(key)
    if history is None:
        index_facts = [
            fact for fact in state.facts if fact.type == floating.index.fact and floating.index.field in fact.fields
        ]
        history = [(fact.date, Decimal(fact.fields[floating.index.field])) for fact in index_facts]
        state.indexes[key] = history
        state.facts_used.update(fact.id for fact in index_facts)  # the rate rests on them
    return Rate.floating(history, floating.margin, floating.floor, definition.less)


def _accrual_start(obligation: Obligation, definition: RemedyDefinition) -> Date:
    """The first day a remedy accrues: the trigger's date, the due date (an overdue amount), or the breach's start."""
    if definition.accrues_from == "trigger_date":
        return obligation.trigger_date
    if definition.accrues_from == "due_date" and obligation.due is not None:
        return obligation.due
    assert obligation.breach_start is not None  # remedy_lines asks only for a breach
    return obligation.breach_start


def remedy_lines(
    obligation: Obligation, state: AgreementState, form: CompiledForm, ledgers: dict[str, BuyerLedger]
) -> list[RemedyLine]:
    """Every remedy the breach gives, per Buyer, with its arithmetic."""
    if obligation.breach_start is None:
        return []
    end = breach_end(obligation, state.as_of)
    assert end is not None
    lines: list[RemedyLine] = []
    for remedy_id in obligation.remedies:
        definition: RemedyDefinition = state.agreement.remedies[remedy_id]
        if not definition.has_amount:
            lines.append(RemedyLine(definition.report_as, None, None, remedy_id))
            continue
        for buyer in _buyers_owed(obligation, state):
            stop = min(
                [
                    end,
                    *(d for b, d in obligation.waived_by.items() if b == buyer),
                    *(d for b, d in obligation.discharged_by.items() if b == buyer),
                ]
            )
            end_exclusive = shift(stop, 1)
            start = _accrual_start(obligation, definition)
            if definition.formula == "monthly_rates_on_outstanding":
                computation = monthly_rates_on_outstanding(ledgers[buyer], definition.rates, start, end_exclusive)
                lines.append(
                    RemedyLine(
                        definition.report_as, buyer, computation.amount, remedy_id, start, end_exclusive, computation
                    )
                )
                continue
            amount = Decimal(obligation.trigger_fields.get(definition.amount_field, Decimal(0)))
            on_amount = definition.formula == "simple_interest_on_amount" or definition.on != "outstanding_principal"
            if on_amount and obligation.cured_on is not None and stop == obligation.cured_on:
                end_exclusive = obligation.cured_on  # to the day it is paid in full, excluded
            if definition.formula == "simple_interest_on_amount":
                assert definition.rate is not None  # the model requires it
                computation = simple_interest_on_amount(
                    amount, definition.rate, start, end_exclusive, definition.day_count
                )
            else:
                rate = _rate(definition, state)
                if definition.on == "unpaid_amount":
                    computation = interest_over_period(
                        _unpaid(amount, obligation.payments),
                        (day for day, _ in obligation.payments),
                        rate,
                        start,
                        end_exclusive,
                        definition.day_count,
                    )
                elif on_amount:
                    computation = interest_over_period(
                        lambda _day, amount=amount: amount, (), rate, start, end_exclusive, definition.day_count
                    )
                else:
                    ledger = ledgers[buyer]
                    base_on, changes = _principal_less_overdue(
                        ledger.principal_on,
                        [day for day, _ in ledger.conversions],
                        _overdue(state, buyer, definition.excluding_overdue),
                    )
                    computation = interest_over_period(
                        base_on, changes, rate, start, end_exclusive, definition.day_count
                    )
            lines.append(
                RemedyLine(
                    definition.report_as, buyer, computation.amount, remedy_id, start, end_exclusive, computation
                )
            )
    return sorted(lines, key=lambda line: (line.kind, line.buyer or ""))
