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
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any, NamedTuple

from covenant.calendar import Date, add_months, days_between, shift
from covenant.facts import Fact
from covenant.language.compiler import CompiledForm
from covenant.language.model import RemedyDefinition
from covenant.law.driver import AgreementState
from covenant.law.obligations import Obligation

CENT = Decimal("0.01")
DAYS_IN_YEAR = Decimal(365)
_PRECISION = Context(prec=50)


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


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
                accrued += index.principal_on(segment_start) * index.rate * (change - segment_start) / DAYS_IN_YEAR
                index.change_days.append(change)
                index.accrued_at_change.append(accrued)
                segment_start = change
        return index

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
                accrued += self.principal_on(segment_start) * self.rate * (day - segment_start) / DAYS_IN_YEAR
            paid_position = bisect.bisect_right(self.payment_days, day)
            paid = self.paid_by[paid_position - 1] if paid_position else Decimal(0)
            return max(accrued - paid, Decimal(0))


def ledgers_from_facts(
    facts: Iterable[Fact], principals: dict[str, Decimal], annual_rate: Decimal, closing: Date
) -> dict[str, BuyerLedger]:
    ledgers = {buyer: BuyerLedger(principal, annual_rate, closing) for buyer, principal in principals.items()}
    for fact in facts:
        if fact.type == "conversion":
            ledgers[fact.fields["buyer"]].conversions.append((fact.date, fact.fields["principal"]))
        elif fact.type == "interest_payment":
            ledgers[fact.fields["buyer"]].interest_paid.append((fact.date, fact.fields["amount"]))
    return ledgers


class MonthLine(NamedTuple):
    """One month of SLD: the arithmetic a lawyer checks (a tuple: a long breach makes hundreds)."""

    number: int
    start: Date
    end: Date  # exclusive
    rate: Decimal
    base: Decimal
    days: int
    days_in_month: int
    amount: Decimal


@dataclass(frozen=True)
class Computation:
    amount: Decimal
    lines: tuple[MonthLine, ...] = ()
    summary: str = ""


def monthly_rates_on_outstanding(
    ledger: BuyerLedger, rates: list[Decimal], start: Date, end_exclusive: Date
) -> Computation:
    """SLD over [start, end): months anchored at ``start``, rate of month 1 then later months."""
    lines: list[MonthLine] = []
    total = Decimal(0)
    number = 1
    month_start = start
    with localcontext(_PRECISION):
        while month_start < end_exclusive:
            month_end = add_months(start, number)  # from the anchor each time: 01-31, 02-28, 03-31
            days = days_between(month_start, min(month_end, end_exclusive))
            days_in_month = days_between(month_start, month_end)
            rate = rates[min(number, len(rates)) - 1]
            base = ledger.base_on(month_start)
            amount = rate * base * days / days_in_month
            lines.append(MonthLine(number, month_start, month_end, rate, base, days, days_in_month, amount))
            total += amount
            number += 1
            month_start = month_end
    return Computation(to_cents(total), tuple(lines))


def simple_interest_on_amount(principal: Decimal, rate: Decimal, start: Date, end_exclusive: Date) -> Computation:
    """Simple interest, actual/365, from ``start`` (included) to ``end_exclusive``."""
    days = max(days_between(start, end_exclusive), 0)
    with localcontext(_PRECISION):
        amount = principal * rate * days / DAYS_IN_YEAR
    summary = f"{principal} x {rate * 100}% x {days}/365 days ({start} to {end_exclusive} excluded)"
    return Computation(to_cents(amount), (), summary)


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
        if definition.formula == "none":
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
            if definition.formula == "monthly_rates_on_outstanding":
                start = obligation.breach_start
                computation = monthly_rates_on_outstanding(ledgers[buyer], definition.rates, start, end_exclusive)
            else:
                assert definition.rate is not None
                start = (
                    obligation.trigger_date if definition.accrues_from == "trigger_date" else obligation.breach_start
                )
                amount = Decimal(obligation.trigger_fields.get("amount", Decimal(0)))
                if obligation.cured_on is not None and stop == obligation.cured_on:
                    end_exclusive = obligation.cured_on  # to the day it is paid in full, excluded
                computation = simple_interest_on_amount(amount, definition.rate, start, end_exclusive)
            lines.append(
                RemedyLine(
                    definition.report_as, buyer, computation.amount, remedy_id, start, end_exclusive, computation
                )
            )
    return sorted(lines, key=lambda line: (line.kind, line.buyer or ""))
