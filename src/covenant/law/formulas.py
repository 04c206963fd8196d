"""The library of remedy formulas an ``agreement.yaml`` names and parameterises.

A form does not bring Python: its remedies pick one of these formulas and give
its figures (rates, day count, what the interest runs on). Each returns a
``Computation``: the amount, rounded half-up to cents once at the end as the
memo says, with the arithmetic a lawyer checks (month lines for liquidated
damages, a one-line summary otherwise). Money is ``Decimal`` with 50 digits of
working precision; a float never touches an amount.

- ``monthly_rates_on_outstanding``: liquidated damages by month (Amnis 2(f)).
- ``simple_interest_on_amount``: simple interest on one amount (Amnis 4(f)).
- ``interest_over_period``: interest at a fixed or floating rate on a base that
  may change (outstanding principal, an unpaid amount), split by day wherever
  the rate or the base changes (Oil-Dri's and Elysium's Default Rate).
- ``flag`` (no function): the remedy is a right, not a sum (an Event of Default).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Literal, NamedTuple, Protocol

from covenant.calendar import Date, add_months, days_between

CENT = Decimal("0.01")
PRECISION = Context(prec=50)
DayCount = Literal["actual/365", "actual/360", "30/360"]
DAY_COUNTS: tuple[DayCount, ...] = ("actual/365", "actual/360", "30/360")
FORMULAS = ("monthly_rates_on_outstanding", "simple_interest_on_amount", "interest_over_period", "flag")
"""The formulas a remedy may name; ``flag`` has no amount."""


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# --- day counts --------------------------------------------------------------------------------------------------
def days_30_360(start: Date, end: Date) -> int:
    """Days between two dates on the 30/360 bond basis (Oil-Dri spec, "Time and money").

    360 x (Y2 - Y1) + 30 x (M2 - M1) + (d2 - d1), with d1 = min(D1's day, 30)
    and d2 = 30 when D2's day is 31 and d1 is 30, else D2's day: a semi-annual
    coupon period is always 180 days, whatever the months' lengths.
    """
    d1 = min(start.day, 30)
    d2 = 30 if end.day == 31 and d1 == 30 else end.day
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def day_count_days(start: Date, end: Date, day_count: DayCount) -> int:
    """The days a period counts, first day included, last excluded; never negative."""
    days = days_30_360(start, end) if day_count == "30/360" else days_between(start, end)
    return max(days, 0)


def year_days(day_count: DayCount) -> int:
    """The year the day count divides by: 365 for actual/365, 360 otherwise."""
    return 365 if day_count == "actual/365" else 360


# --- rates -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rate:
    """An annual rate on each day: fixed, or the greater of a floor and an index plus a margin; less an excess base.

    ``index`` is the index's history as (day ordinal it applies from, value),
    sorted; before its first entry the index is taken as zero, so the floor
    (if any) decides. ``less`` is what the remedy leaves out because another
    payment already carries it (Oil-Dri's "excess of the Default Rate over
    3.95%"). A rate never goes below zero.
    """

    fixed: Decimal | None = None
    index: tuple[tuple[int, Decimal], ...] = ()
    margin: Decimal = Decimal(0)
    floor: Decimal | None = None
    less: Decimal = Decimal(0)

    @staticmethod
    def floating(
        history: Iterable[tuple[Date, Decimal]], margin: Decimal, floor: Decimal | None, less: Decimal = Decimal(0)
    ) -> Rate:
        index = tuple(sorted((day.toordinal(), value) for day, value in history))
        return Rate(None, index, margin, floor, less)

    def on(self, day: Date) -> Decimal:
        if self.fixed is not None:
            rate = self.fixed
        else:
            position = bisect.bisect_right(self.index, day.toordinal(), key=lambda entry: entry[0])
            value = self.index[position - 1][1] if position else Decimal(0)
            rate = value + self.margin
            if self.floor is not None:
                rate = max(rate, self.floor)
        return max(rate - self.less, Decimal(0))

    def changes(self, start: Date, end_exclusive: Date) -> list[Date]:
        """Days strictly inside (start, end) from which the index takes a new value."""
        first, last = start.toordinal(), end_exclusive.toordinal()
        return [Date.fromordinal(day) for day, _ in self.index if first < day < last]


# --- results -----------------------------------------------------------------------------------------------------
class MonthLine(NamedTuple):
    """One month of liquidated damages: the arithmetic a lawyer checks (a tuple: a long breach makes hundreds)."""

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
    exact: Decimal | None = None
    """The amount before it is rounded to the cent: what one more day adds is told from two of these
    (``covenant upcoming``), since the difference of two rounded amounts may be a cent off."""


class Outstanding(Protocol):
    """What liquidated damages by month read: the base (principal plus unpaid interest) on a day."""

    def base_on(self, day: Date) -> Decimal: ...


# --- the formulas ------------------------------------------------------------------------------------------------
def monthly_rates_on_outstanding(
    ledger: Outstanding, rates: Sequence[Decimal], start: Date, end_exclusive: Date
) -> Computation:
    """Liquidated damages over [start, end): months anchored at ``start``, rate of month 1 then later months.

    Each month: rate x the base on the month's first day x days inside the
    breach / days in the month (a partial month is prorated).
    """
    lines: list[MonthLine] = []
    total = Decimal(0)
    number = 1
    month_start = start
    with localcontext(PRECISION):
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
    return Computation(to_cents(total), tuple(lines), exact=total)


def simple_interest_on_amount(
    principal: Decimal, rate: Decimal, start: Date, end_exclusive: Date, day_count: DayCount = "actual/365"
) -> Computation:
    """Simple interest on one amount from ``start`` (included) to ``end_exclusive``."""
    days = day_count_days(start, end_exclusive, day_count)
    year = year_days(day_count)
    with localcontext(PRECISION):
        amount = principal * rate * days / Decimal(year)
    summary = f"{principal} x {rate * 100}% x {days}/{year} days ({start} to {end_exclusive} excluded)"
    return Computation(to_cents(amount), (), summary, exact=amount)


def interest_over_period(
    base_on: Callable[[Date], Decimal],
    base_changes: Iterable[Date],
    rate: Rate,
    start: Date,
    end_exclusive: Date,
    day_count: DayCount,
) -> Computation:
    """Interest from ``start`` (included) to ``end_exclusive``, split wherever the rate or the base changes.

    ``base_on`` gives the amount interest runs on each day (outstanding
    principal, an unpaid amount); ``base_changes`` the days it may change.
    Each segment is counted with the day count between its own first and
    last day, as the Oil-Dri spec splits a 30/360 period; the segments'
    exact amounts are summed and the total rounded once.
    """
    cuts = {start, end_exclusive}
    cuts.update(day for day in base_changes if start < day < end_exclusive)
    cuts.update(rate.changes(start, end_exclusive))
    bounds = sorted(cuts)
    year = year_days(day_count)
    total = Decimal(0)
    parts: list[str] = []
    with localcontext(PRECISION):
        for first, stop in itertools.pairwise(bounds):
            days = day_count_days(first, stop, day_count)
            base, annual = base_on(first), rate.on(first)
            total += base * annual * days / Decimal(year)
            parts.append(f"{base:.2f} x {(annual * 100).normalize():f}% x {days}/{year} ({first} to {stop} excluded)")
    summary = " + ".join(parts) if parts else f"no day from {start} to {end_exclusive} excluded"
    return Computation(to_cents(total), (), summary, exact=total)
