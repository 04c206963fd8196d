"""Business days and the agreement's conventions of time.

Every deadline in a rule file is computed here, and only here, so that the
conventions of the interpretation memo ("Time") live in one place and are each
a named setting of the agreement (`agreement.yaml`, key `calendar`):

- which holidays make a day not a business day (`holidays` package calendars:
  a financial market such as ``USNY``, or a country with a subdivision);
- whether a deadline that falls on a non-business day rolls to the next one
  (New York General Construction Law section 25: ``roll: following``);
- how long regular mail takes to be effective (8(f): five days), and which
  facts were sent by mail (`mail`: the fact field and its value that say so).

Dates are ``pendulum.Date`` values throughout; nothing here reads the clock.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date as _stdlib_date
from functools import cached_property, lru_cache
from typing import Any, Literal

import holidays
import pendulum

Date = pendulum.Date
RollConvention = Literal["following", "none"]


def as_date(value: _stdlib_date | str) -> Date:
    """Turn a ``datetime.date`` or ``YYYY-MM-DD`` string into a pendulum Date."""
    if isinstance(value, pendulum.Date):
        return value
    if isinstance(value, str):
        return pendulum.Date.fromisoformat(value)
    return pendulum.Date(value.year, value.month, value.day)


@lru_cache(maxsize=1 << 17)
def day_of(ordinal: int) -> Date:
    """The Date of a day ordinal (how the engine carries days), remembered: pendulum builds each in Python."""
    return Date.fromordinal(ordinal)


def shift(day: Date, days: int) -> Date:
    """``day`` plus a number of calendar days; ordinal arithmetic, far cheaper than ``Date.add``."""
    return day_of(day.toordinal() + days)


def month_text(day: Date) -> str:
    """``YYYY-MM``, the form a ``period`` of a reserve list takes."""
    return f"{day.year:04d}-{day.month:02d}"


def add_months(start: Date, months: int) -> Date:
    """Calendar-month addition, clamped to the month's end (2003-01-31 + 1 = 2003-02-28).

    The arithmetic of ``Date.add(months=...)``, without its duration objects:
    SLD asks for two month boundaries per month of every breach.
    """
    year, month = divmod(start.year * 12 + start.month - 1 + months, 12)
    month += 1
    return Date(year, month, min(start.day, monthrange(year, month)[1]))


def days_between(first: Date, second: Date) -> int:
    """``(second - first).days``, by ordinals: pendulum's subtraction builds an Interval."""
    return second.toordinal() - first.toordinal()


def month_end(day: Date) -> Date:
    """The last calendar day of ``day``'s month ("end of a month" in the memo)."""
    return day.end_of("month")


@dataclass(frozen=True)
class BusinessCalendar:
    """A business-day calendar plus the agreement's roll and mail conventions.

    ``market`` names a financial calendar of the ``holidays`` package (``USNY``
    is the Federal Reserve Bank of New York schedule the memo prescribes);
    ``country``/``subdivision`` may be given instead for public-holiday
    calendars. Weekends are never business days. A fact whose field
    ``mail_field`` has the value ``mail_value`` was sent by mail; with no
    ``mail_field`` every fact takes effect on its date.
    """

    market: str | None = "USNY"
    country: str | None = None
    subdivision: str | None = None
    roll: RollConvention = "following"
    mail_delay_days: int = 5
    mail_field: str | None = None
    mail_value: str | None = None
    _cache: dict[Date, bool] = field(default_factory=dict, compare=False, repr=False)
    _memo: dict[tuple[str, Date, int], Date] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        if self.country:
            return holidays.country_holidays(self.country, subdiv=self.subdivision)
        return holidays.financial_holidays(self.market or "USNY")

    def describe(self) -> str:
        """One phrase a lawyer can check: which calendar, which roll."""
        source = (
            f"{self.country}{'-' + self.subdivision if self.subdivision else ''} public holidays"
            if self.country
            else f"{self.market} banking holidays"
        )
        roll = "rolled to the next business day" if self.roll == "following" else "not rolled"
        return f"business days: Monday to Friday except {source}; deadlines {roll}"

    def is_business_day(self, day: Date) -> bool:
        known = self._cache.get(day)
        if known is None:
            known = day.isoweekday() < 6 and day not in self._holidays
            self._cache[day] = known
        return known

    def holiday_name(self, day: Date) -> str | None:
        """The holiday's name, for explanations ("2003-09-01 is Labor Day")."""
        name = self._holidays.get(day)
        return str(name) if name else None

    def rolled(self, day: Date) -> Date:
        """Apply the roll convention: the next business day on or after ``day``."""
        if self.roll == "none" or self.is_business_day(day):
            return day
        return self._step("rolled", day, 0)

    def business_days_after(self, day: Date, count: int) -> Date:
        """The ``count``-th business day after ``day`` (``day`` itself never counts)."""
        if count < 0:
            return self.business_days_before(day, -count)
        return self._step("after", day, count)

    def business_days_before(self, day: Date, count: int) -> Date:
        """The ``count``-th business day before ``day`` ("at least N business days before")."""
        return self._step("before", day, count)

    def _step(self, kind: str, day: Date, count: int) -> Date:
        # Many obligations share a trigger date (one per Buyer): remember each answer.
        key = (kind, day, count)
        known = self._memo.get(key)
        if known is not None:
            return known
        direction = -1 if kind == "before" else 1
        ordinal = day.toordinal()
        remaining = max(count, 1) if kind == "rolled" else count
        current = day
        while remaining > 0:
            ordinal += direction
            current = day_of(ordinal)
            if self.is_business_day(current):
                remaining -= 1
        if kind == "rolled":
            current = day if self.is_business_day(day) else current
        self._memo[key] = current
        return current

    def days_after(self, day: Date, count: int, *, roll: bool = True) -> Date:
        """``count`` calendar days after ``day``, then rolled unless told not to."""
        target = shift(day, count)
        return self.rolled(target) if roll else target

    def effective_date(self, day: Date, fields: Mapping[str, Any]) -> Date:
        """When a fact with these fields, dated ``day``, takes effect (8(f)): mail later, others at once."""
        if self.mail_field is not None and fields.get(self.mail_field) == self.mail_value:
            return shift(day, self.mail_delay_days)
        return day


@lru_cache(maxsize=64)
def shared_calendar(
    market: str | None,
    country: str | None,
    subdivision: str | None,
    roll: RollConvention,
    mail_delay_days: int,
    mail_field: str | None = None,
    mail_value: str | None = None,
) -> BusinessCalendar:
    """One calendar per set of conventions for the whole process.

    A portfolio holds many agreements on the same conventions; sharing the
    calendar shares its holiday tables and its remembered answers, which
    depend on nothing else.
    """
    return BusinessCalendar(market, country, subdivision, roll, mail_delay_days, mail_field, mail_value)
