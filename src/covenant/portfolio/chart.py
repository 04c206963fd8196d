"""The portfolio page's chart: open breaches across every agreement, month by month.

A credit officer asks whether exposure is growing: the count of breaches
open at each month's end, over every agreement, from the first breach to
the as-of date, drawn as inline SVG bars (no script, no library). Only the
breach periods travel from the workers (``overview.Overview.breaches``),
so the chart costs a few numbers per breach whatever the portfolio's size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from covenant.calendar import Date, as_date

WIDTH = 1100
HEIGHT = 220
LEFT = 48
BOTTOM = 28
TOP = 14


@dataclass(frozen=True)
class Column:
    """One month's bar: its end date, how many breaches were open that day, and where the bar sits."""

    day: str
    count: int
    x: float
    y: float
    width: float
    height: float
    label: str  # the year under January (and under the first month), else ""


@dataclass(frozen=True)
class Chart:
    columns: tuple[Column, ...]
    peak: int
    ticks: tuple[tuple[int, float], ...]  # (count, y) of the grid lines
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM


def month_ends(first: Date, last: Date) -> list[Date]:
    """The last day of every month from ``first``'s to ``last``'s, the last one cut at ``last``."""
    days = []
    cursor = first.set(day=1)
    while cursor <= last:
        end = cursor.add(months=1).subtract(days=1)
        days.append(min(end, last))
        cursor = cursor.add(months=1)
    return days


def open_breaches_chart(periods: Iterable[tuple[str, str | None]], as_of: str | None) -> Chart | None:
    """Breaches open at each month's end (a breach is open from its first day until the day it ended).

    None when there is no breach or no as-of date: the page then says so in words.
    """
    spans = sorted(periods, key=lambda period: (period[0], period[1] or "9999-12-31"))
    if not spans or as_of is None:
        return None
    last = as_date(as_of)
    days = month_ends(as_date(spans[0][0]), last)
    counts = [
        sum(1 for start, end in spans if start <= d.isoformat() and (end is None or d.isoformat() < end)) for d in days
    ]
    peak = max(max(counts), 1)
    plot = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT - 8) / len(days)
    columns = []
    for number, (day, count) in enumerate(zip(days, counts, strict=True)):
        height = round(plot * count / peak, 2)
        label = str(day.year) if day.month == 1 or number == 0 else ""
        columns.append(
            Column(
                day.isoformat(),
                count,
                round(LEFT + number * step + step * 0.1, 2),
                round(HEIGHT - BOTTOM - height, 2),
                round(step * 0.8, 2),
                height,
                label,
            )
        )
    ticks = tuple((value, round(HEIGHT - BOTTOM - plot * value / peak, 2)) for value in sorted({0, peak // 2, peak}))
    return Chart(tuple(columns), peak, ticks)
