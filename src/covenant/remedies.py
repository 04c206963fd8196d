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
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from covenant.calendar import Date, add_months
from covenant.facts import Fact

CENT = Decimal("0.01")
DAYS_IN_YEAR = Decimal(365)
_PRECISION = Context(prec=50)


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class BuyerLedger:
    """One Buyer's Debentures over time: principal, accrued and paid interest."""

    original_principal: Decimal
    annual_rate: Decimal
    closing: Date
    conversions: list[tuple[Date, Decimal]] = field(default_factory=list)
    interest_paid: list[tuple[Date, Decimal]] = field(default_factory=list)

    def principal_on(self, day: Date) -> Decimal:
        """Original principal less conversions dated on or before ``day``."""
        converted = sum((amount for when, amount in self.conversions if when <= day), Decimal(0))
        return max(self.original_principal - converted, Decimal(0))

    def accrued_interest_on(self, day: Date) -> Decimal:
        """Interest for each day from the Closing (included) to ``day`` (excluded), less payments."""
        with localcontext(_PRECISION):
            accrued = Decimal(0)
            segment_start = self.closing
            changes = sorted({when for when, _ in self.conversions if self.closing < when < day})
            for change in [*changes, day]:
                if change <= segment_start:
                    continue
                days = (change - segment_start).days
                accrued += self.principal_on(segment_start) * self.annual_rate * days / DAYS_IN_YEAR
                segment_start = change
            paid = sum((amount for when, amount in self.interest_paid if when <= day), Decimal(0))
            return max(accrued - paid, Decimal(0))

    def base_on(self, day: Date) -> Decimal:
        if day < self.closing:
            return Decimal(0)
        return self.principal_on(day) + self.accrued_interest_on(day)


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


@dataclass(frozen=True)
class MonthLine:
    """One month of SLD: the arithmetic a lawyer checks."""

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
    with localcontext(_PRECISION):
        while True:
            month_start = add_months(start, number - 1)
            if month_start >= end_exclusive:
                break
            month_end = add_months(start, number)
            days = (min(month_end, end_exclusive) - month_start).days
            days_in_month = (month_end - month_start).days
            rate = rates[min(number, len(rates)) - 1]
            base = ledger.base_on(month_start)
            amount = rate * base * days / days_in_month
            lines.append(MonthLine(number, month_start, month_end, rate, base, days, days_in_month, amount))
            total += amount
            number += 1
    return Computation(to_cents(total), tuple(lines))


def simple_interest_on_amount(principal: Decimal, rate: Decimal, start: Date, end_exclusive: Date) -> Computation:
    """Simple interest, actual/365, from ``start`` (included) to ``end_exclusive``."""
    days = max((end_exclusive - start).days, 0)
    with localcontext(_PRECISION):
        amount = principal * rate * days / DAYS_IN_YEAR
    summary = f"{principal} x {rate * 100}% x {days}/365 days ({start} to {end_exclusive} excluded)"
    return Computation(to_cents(amount), (), summary)


def month_count(start: Date, end_exclusive: Date) -> int:
    """How many anchored months a breach period touches (for reports)."""
    boundaries = []
    number = 0
    while add_months(start, number) < end_exclusive:
        boundaries.append(add_months(start, number))
        number += 1
    return bisect.bisect_left(boundaries, end_exclusive)
