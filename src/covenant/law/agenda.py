"""The days on which something can happen, and what is to be decided on each.

Simulated time does not tick through every day: it jumps from one date on
the agenda to the next. A date is on the agenda because a fact takes
effect, a period ends, or an obligation's time to act runs out. Two lists
hang off each date: the duties whose breach is decided that morning, and
the obligations decided that night, after the day's facts (acts nothing
permitted, duties already overdue when they arose).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from typing import TYPE_CHECKING

from covenant.calendar import Date

if TYPE_CHECKING:
    from covenant.law.obligations import Obligation


class Agenda:
    """A heap of dates, each once, with the decisions due on them."""

    __slots__ = ("_days", "_mornings", "_nights", "_seen")

    def __init__(self) -> None:
        self._days: list[Date] = []
        self._seen: set[Date] = set()
        self._mornings: dict[Date, list[str]] = defaultdict(list)
        self._nights: dict[Date, list[str]] = defaultdict(list)

    def __bool__(self) -> bool:
        return bool(self._days)

    def schedule(self, day: Date) -> None:
        if day not in self._seen:
            self._seen.add(day)
            heapq.heappush(self._days, day)

    def next_day(self) -> Date:
        return heapq.heappop(self._days)

    def decide_in_the_morning(self, day: Date, key: str) -> None:
        """Decide the obligation ``key`` at the start of ``day`` (its deadline was the day before)."""
        self._mornings[day].append(key)
        self.schedule(day)

    def decide_tonight(self, day: Date, key: str) -> None:
        """Decide the obligation ``key`` after the facts of ``day``, which is the day being walked."""
        self._nights[day].append(key)

    def plan_decision(self, obligation: Obligation, day: Date, today: Date) -> None:
        """Decide a breach on the morning of ``day``; if that is past (a preview due before its filing), tonight."""
        if day <= today:
            self._nights[today].append(obligation.key)
            return
        obligation.decide_on = day
        self.decide_in_the_morning(day, obligation.key)

    def morning(self, day: Date) -> list[str]:
        """The keys to decide at the start of ``day``, once."""
        return self._mornings.pop(day, [])

    def night(self, day: Date) -> list[str]:
        """The keys to decide at the end of ``day``, once."""
        return self._nights.pop(day, [])
