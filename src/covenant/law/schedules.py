"""What the instrument schedules: its dates, and what each holder is owed on each.

``agreement.yaml``'s ``instrument.schedule`` lists the payments the
instrument schedules (interest on fixed dates, installments of principal);
a rule's ``arises: {schedule: interest}`` makes an obligation arise on each
of those dates, owed to each holder. This module gives the dates and the
amount owed on one of them, from the terms alone (never from what was
actually paid):

- an installment of principal is shared among the holders in proportion to
  their original principal; an entry without ``amount`` pays the rest;
- interest for a period is the holder's scheduled principal (its original
  principal less its shares of the installments scheduled on or before the
  period's first day) x the instrument's rate x the period's day-count
  fraction (30/360: a half-year is 180/360), the period running from the
  previous date of the same schedule (for the first date: the start of the
  holdings, else one period before it) to the date itself, whatever day the
  payment is rolled to.

Each holder's amount is rounded half-up to the cent once. Money is Decimal.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from decimal import Decimal, localcontext

from covenant.calendar import Date, add_months, month_text
from covenant.engine.names import PERIOD, SCHEDULED
from covenant.facts import Fact
from covenant.language.model import Agreement
from covenant.law.formulas import PRECISION, Rate, day_count_days, interest_over_period, to_cents, year_days
from covenant.law.memory import EngineFact, WorkingMemory


class Schedules:
    """One agreement's schedule: the dates to put on the agenda and each holder's amount on each."""

    __slots__ = (
        "_by_kind",
        "_entries",
        "_facts",
        "_holders",
        "_installments",
        "_instrument",
        "_memo",
        "_queue",
        "_rate",
        "_total",
    )

    def __init__(self, agreement: Agreement, facts: Iterable[Fact] = ()) -> None:
        self._instrument = agreement.instrument
        self._facts = tuple(facts)  # a floating rate's index history
        self._rate: Rate | None = None
        self._holders = {party.id: party.principal for party in agreement.parties if party.holder}
        self._total = sum(self._holders.values(), Decimal(0))
        self._entries = [(entry, entry.dates()) for entry in agreement.instrument.schedule]
        self._by_kind: dict[str, list[Date]] = {}
        for entry, dates in self._entries:
            self._by_kind.setdefault(entry.pays, []).extend(dates)
        for dates in self._by_kind.values():
            dates.sort()
        # Installments of principal in date order: (date, total shared pro rata, or None: the rest).
        installments = [
            (day, entry.amount) for entry, dates in self._entries if entry.pays == "principal" for day in dates
        ]
        self._installments = sorted(installments, key=lambda item: item[0])
        self._memo: dict[tuple[str, str, Date, Date | None], Decimal] = {}
        self._queue: list[tuple[Date, str]] = []

    # --- the agenda ------------------------------------------------------------------------------------------
    def plan(self, kinds: set[str], closing: Date, as_of: Date) -> list[Date]:
        """The dates of these kinds after the start of the holdings, up to the as-of date, in order."""
        self._queue = sorted(
            (day, pays) for pays in kinds for day in self._by_kind.get(pays, ()) if closing < day <= as_of
        )
        return sorted({day for day, _ in self._queue})

    def assert_until(self, day: Date, memory: WorkingMemory) -> None:
        """Assert the scheduled dates up to ``day``; each matters on its day only (as a period end does)."""
        queue = self._queue
        while queue and queue[0][0] <= day:
            scheduled, pays = queue.pop(0)
            memory.assert_for_today(self.engine_fact(scheduled, pays))

    @staticmethod
    def engine_fact(day: Date, pays: str) -> EngineFact:
        return {
            "t": PERIOD,
            "every": SCHEDULED,
            "pays": pays,
            "key": day.isoformat(),
            "date": day.isoformat(),
            "month": month_text(day),
            "day": day.toordinal(),
            "_c": 1,
        }

    # --- amounts ---------------------------------------------------------------------------------------------
    def amount(self, pays: str, day: Date, holder: str | None, closing: Date | None) -> tuple[Decimal, str]:
        """What ``holder`` (None: every holder together) is owed on ``day``, and the arithmetic in words."""
        holders = [holder] if holder is not None else sorted(self._holders)
        total = Decimal(0)
        words = []
        for one in holders:
            if pays == "principal":
                amount, said = self._installment_share(one, day)
            else:
                amount, said = self._interest(pays, one, day, closing)
            total += amount
            words.append(said if holder is not None else f"{one}: {said}")
        return total, "; ".join(words)

    def _share(self, holder: str, index: int) -> Decimal:
        """``holder``'s share of installment ``index``, in cents: pro rata, or the rest for an entry without amount."""
        key = ("principal", holder, self._installments[index][0], None)
        known = self._memo.get(key)
        if known is not None:
            return known
        original = self._holders.get(holder, Decimal(0))
        _, amount = self._installments[index]
        with localcontext(PRECISION):
            if amount is None:
                earlier = sum((self._share(holder, number) for number in range(index)), Decimal(0))
                share = max(original - earlier, Decimal(0))
            else:
                share = to_cents(amount * original / self._total) if self._total else Decimal(0)
        self._memo[key] = share
        return share

    def _installment_share(self, holder: str, day: Date) -> tuple[Decimal, str]:
        days = [when for when, _ in self._installments]
        index = bisect.bisect_left(days, day)
        if index >= len(days) or days[index] != day:
            return Decimal(0), f"no installment is scheduled on {day}"
        share = self._share(holder, index)
        _, amount = self._installments[index]
        if amount is None:
            return share, f"the rest of the principal: {share:.2f}"
        original = self._holders.get(holder, Decimal(0))
        return share, f"{amount:.2f} x {original:.2f} / {self._total:.2f} (its share of the principal) = {share:.2f}"

    def scheduled_principal(self, holder: str, on: Date) -> Decimal:
        """Original principal less the holder's shares of the installments scheduled on or before ``on``."""
        original = self._holders.get(holder, Decimal(0))
        paid = sum(
            (self._share(holder, index) for index, (when, _) in enumerate(self._installments) if when <= on),
            Decimal(0),
        )
        return max(original - paid, Decimal(0))

    def _interest(self, pays: str, holder: str, day: Date, closing: Date | None) -> tuple[Decimal, str]:
        dates = self._by_kind.get(pays, [])
        index = bisect.bisect_left(dates, day)
        if index:
            start = dates[index - 1]
        elif closing is not None and closing < day:
            start = closing
        else:
            months = next((e.every_months for e, d in self._entries if e.pays == pays and day in d), 0)
            start = add_months(day, -months) if months else day
        instrument = self._instrument
        base = self.scheduled_principal(holder, start)
        if instrument.floating is not None:
            # Day by day on the index (the Contract Rate: Prime + 7.75%), split where it changes.
            computation = interest_over_period(
                lambda _day: base, (), self._floating_rate(), start, day, instrument.day_count
            )
            return computation.amount, f"{computation.summary} = {computation.amount:.2f}"
        assert instrument.rate is not None  # the model requires one of the two
        days = day_count_days(start, day, instrument.day_count)
        year = year_days(instrument.day_count)
        with localcontext(PRECISION):
            amount = to_cents(base * instrument.rate * days / Decimal(year))
        rate = (instrument.rate * 100).normalize()
        return amount, f"{base:.2f} x {rate:f}% x {days}/{year} ({start} to {day}) = {amount:.2f}"

    def _floating_rate(self) -> Rate:
        floating = self._instrument.floating
        assert floating is not None
        if self._rate is None:
            history = [
                (fact.date, Decimal(fact.fields[floating.index.field]))
                for fact in self._facts
                if fact.type == floating.index.fact and floating.index.field in fact.fields
            ]
            self._rate = Rate.floating(history, floating.margin, floating.floor)
        return self._rate
