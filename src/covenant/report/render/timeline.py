"""The timeline chart's geometry: lanes, bars and axis, computed once in Python.

The HTML template only draws what this module measures, so the chart's
arithmetic (dates to pixels, packing overlapping obligations into rows) is
testable without a browser and the template stays free of logic.

One lane per rule, ordered by clause. Inside a lane each obligation is a
bar from the day it arose (its trigger) to its due date; its breach period
is a second bar from the first day in breach to the day before its cure
(or to the as-of date while open). Obligations that overlap in time are
packed into rows of the lane, first fit, so no bar hides another.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from covenant.calendar import Date, as_date
from covenant.law.obligations import Status
from covenant.report.render.common import (
    NO_WORDS,
    RemedyWords,
    breach_end,
    measure_words,
    owed_to,
    remedy_phrases,
    trigger_date,
)

PLOT_WIDTH = 1000
LABEL_WIDTH = 340
RIGHT_MARGIN = 24
AXIS_HEIGHT = 46
ROW_HEIGHT = 11
BAR_HEIGHT = 8
LANE_PADDING = 6
MIN_BAR = 3.0
"""A one-day breach must still be visible and hoverable: bars are at least this many pixels wide."""


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str
    anchor: str


@dataclass
class Lane:
    clause: str
    rule: str
    title: str
    y: float
    height: float
    rows: int
    breaches: int
    open_breaches: int
    bars: list[Bar] = field(default_factory=list)
    breach_bars: list[Bar] = field(default_factory=list)


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    year: str | None


@dataclass(frozen=True)
class Timeline:
    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    lanes: list[Lane]
    ticks: list[Tick]
    as_of_x: float | None
    as_of: str | None
    start: str
    end: str


def _clause_key(clause: str) -> tuple[Any, ...]:
    # "4(g)(ii)" after "4(g)(i)", "10" after "9": numbers compare as numbers.
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|[a-z]+", clause))


@dataclass(frozen=True)
class _Item:
    obligation: Mapping[str, Any]
    anchor: str
    start: Date
    due: Date
    breach_from: Date | None
    breach_to: Date | None  # last day in breach, included


def _items(report: Mapping[str, Any], dates: Mapping[str | None, str], anchors: list[str]) -> list[_Item]:
    as_of = as_date(report["as_of"]) if report.get("as_of") else None
    items = []
    for obligation, anchor in zip(report["obligations"], anchors, strict=True):
        due = as_date(obligation["due"]) if obligation["due"] else None
        breach_from = as_date(obligation["breach_start"]) if obligation["breach_start"] else None
        arose = trigger_date(obligation, dates)
        start = as_date(arose) if arose else (due or breach_from)
        if start is None:
            continue
        end = breach_end(obligation)
        breach_to = None
        if breach_from is not None:
            breach_to = as_date(end) if end else (as_of or breach_from)
            breach_to = max(breach_to, breach_from)
        items.append(_Item(obligation, anchor, min(start, due or start), due or start, breach_from, breach_to))
    return items


def _title(obligation: Mapping[str, Any], arose: Date, *, breach: bool, words: RemedyWords = NO_WORDS) -> str:
    who = f"{obligation['clause']} {obligation['rule']}, owed to {owed_to(obligation, words)}"
    trigger = f" (trigger {obligation['trigger']})" if obligation["trigger"] else ""
    if breach:
        end = obligation["cured_on"] or obligation.get("ended_on")
        how = (
            f"cured {obligation['cured_on']}"
            if obligation["cured_on"]
            else f"{obligation['status']} {end}"
            if end
            else "still open"
        )
        amounts = "; ".join(remedy_phrases(obligation, words))
        return (
            f"{who}{trigger}\nIn breach from {obligation['breach_start']}, {how}: "
            f"{obligation['days_in_breach']} days" + (f"\n{amounts}" if amounts else "")
        )
    if obligation.get("measure"):
        return f"{who}{trigger}\nTested: {measure_words(obligation)}: {obligation['status']}"
    due = obligation["due"] or "no due date"
    return f"{who}{trigger}\nArose {arose.isoformat()}, due {due}: {obligation['status']}"


def build_timeline(
    report: Mapping[str, Any],
    dates: Mapping[str | None, str],
    anchors: list[str],
    titles: Mapping[str, str] | None = None,
    words: RemedyWords = NO_WORDS,
) -> Timeline | None:
    """Measure the chart; None when the report has no obligation to draw."""
    items = _items(report, dates, anchors)
    if not items:
        return None
    as_of = as_date(report["as_of"]) if report.get("as_of") else None
    first = min(i.start for i in items)
    last = max([*(i.due for i in items), *(i.breach_to for i in items if i.breach_to), *([as_of] if as_of else [])])
    start = first.start_of("month")
    end = last.add(months=1).start_of("month")
    span = max((end - start).days, 1)
    plot_left = LABEL_WIDTH
    plot_right = LABEL_WIDTH + PLOT_WIDTH

    def x(day: Date) -> float:
        return round(plot_left + PLOT_WIDTH * (day - start).days / span, 2)

    def bar(begin: Date, stop_exclusive: Date, y: float, css: str, title: str, anchor: str, height: float) -> Bar:
        left = x(begin)
        width = max(x(stop_exclusive) - left, MIN_BAR)
        return Bar(left, y, round(width, 2), height, css, title, anchor)

    by_rule: dict[tuple[str, str], list[_Item]] = {}
    for item in items:
        by_rule.setdefault((item.obligation["clause"], item.obligation["rule"]), []).append(item)
    lanes = []
    y = float(AXIS_HEIGHT)
    for clause, rule in sorted(by_rule, key=lambda key: (_clause_key(key[0]), key[1])):
        members = sorted(by_rule[(clause, rule)], key=lambda i: (i.start, i.obligation["beneficiary"] or ""))
        row_ends: list[float] = []
        placed: list[tuple[_Item, int]] = []
        for item in members:
            left = x(item.start)
            right = max(x(max(item.due, item.breach_to or item.due).add(days=1)), left + MIN_BAR) + 2
            row = next((r for r, taken_to in enumerate(row_ends) if taken_to <= left), len(row_ends))
            if row == len(row_ends):
                row_ends.append(right)
            else:
                row_ends[row] = right
            placed.append((item, row))
        rows = max(len(row_ends), 1)
        height = rows * ROW_HEIGHT + 2 * LANE_PADDING
        lane = Lane(
            clause=clause,
            rule=rule,
            title=(titles or {}).get(rule, ""),
            y=y,
            height=height,
            rows=rows,
            breaches=sum(1 for i in members if i.breach_from),
            open_breaches=sum(1 for i in members if i.breach_from and i.obligation["status"] == Status.BREACHED),
        )
        for item, row in placed:
            top = y + LANE_PADDING + row * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
            status = item.obligation["status"]
            window_css = "window " + ("breached-window" if item.breach_from else f"status-{status}")
            lane.bars.append(
                bar(
                    item.start,
                    item.due.add(days=1),
                    top,
                    window_css,
                    _title(item.obligation, item.start, breach=False, words=words),
                    item.anchor,
                    BAR_HEIGHT,
                )
            )
            if item.breach_from and item.breach_to:
                lane.breach_bars.append(
                    bar(
                        item.breach_from,
                        item.breach_to.add(days=1),
                        top - 1,
                        f"breach breach-{status}",
                        _title(item.obligation, item.start, breach=True, words=words),
                        item.anchor,
                        BAR_HEIGHT + 2,
                    )
                )
        lanes.append(lane)
        y += height
    ticks = []
    month = start
    while month <= end:
        ticks.append(
            Tick(x(month), month.format("MMM"), str(month.year) if month.month == 1 or month == start else None)
        )
        month = month.add(months=1)
    return Timeline(
        width=plot_right + RIGHT_MARGIN,
        height=y + 12,
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=AXIS_HEIGHT,
        plot_bottom=y,
        lanes=lanes,
        ticks=ticks,
        as_of_x=x(as_of.add(days=1)) if as_of else None,
        as_of=as_of.isoformat() if as_of else None,
        start=start.isoformat(),
        end=end.isoformat(),
    )
