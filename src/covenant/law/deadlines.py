"""Due dates, and the words that justify them.

Every deadline in a report comes with its reasoning ("15 calendar days after
2024-03-01 is 2024-03-16 (Saturday), rolled to the next business day:
2024-03-18"), so the date and its words are computed together, here, with
the agreement's business calendar. A deadline depends only on the rule, the
calendar and the anchor day, so it is memoised across every agreement of a
form that shares them.
"""

from __future__ import annotations

from typing import Any

from covenant.calendar import BusinessCalendar, Date, as_date, month_text, shared_calendar, shift
from covenant.language.model import CalendarSettings, Due, DutyRule, Extension, PeriodTrigger

DueMemo = dict[tuple[int, BusinessCalendar, Date], tuple[Date, str]]
"""Deadlines already computed: (the rule's ``Due``, the calendar, the anchor day) -> (deadline, its words)."""


def calendar_of(settings: CalendarSettings) -> BusinessCalendar:
    """The business calendar agreement.yaml's ``calendar:`` describes (shared: built once per process)."""
    convention = settings.by_mail
    return shared_calendar(
        settings.business_days,
        settings.country,
        settings.subdivision,
        settings.roll,
        settings.mail_delay_days,
        convention.field if convention else None,
        convention.value if convention else None,
    )


class Deadlines:
    """The deadlines of one agreement, on its calendar."""

    __slots__ = ("_memo", "calendar")

    def __init__(self, calendar: BusinessCalendar, memo: DueMemo | None = None) -> None:
        self.calendar = calendar
        self._memo: DueMemo = memo if memo is not None else {}

    def due(self, due: Due, anchor: Date) -> tuple[Date, str]:
        """The deadline and the words that justify it; the same for every Buyer of a trigger."""
        key = (id(due), self.calendar, anchor)
        known = self._memo.get(key)
        if known is None:
            known = self._memo[key] = self._compute(due, anchor)
        return known

    def _compute(self, due: Due, anchor: Date) -> tuple[Date, str]:
        calendar = self.calendar
        roll = calendar.roll == "following" if due.roll is None else due.roll
        rolled = "rolled to the next business day" if roll else "not rolled"
        if due.days_after is not None:
            raw = shift(anchor, due.days_after)
            day = calendar.rolled(raw) if roll else raw
            return day, rolled_basis(f"{due.days_after} calendar days after {anchor}", raw, day, rolled, calendar)
        if due.days_before is not None:
            day = shift(anchor, -due.days_before)
            return day, f"on or before {due.days_before} calendar days before {anchor}"
        if due.business_days_after is not None:
            day = calendar.business_days_after(anchor, due.business_days_after)
            return day, f"business day {due.business_days_after} after {anchor}"
        if due.business_days_before is not None:
            day = calendar.business_days_before(anchor, due.business_days_before)
            return day, f"on or before business day {due.business_days_before} before {anchor}"
        assert due.date is not None
        raw = as_date(due.date)
        day = calendar.rolled(raw) if roll else raw
        return day, rolled_basis(f"the fixed date {raw}", raw, day, rolled, calendar)

    def scheduled(self, day: Date) -> tuple[Date, str]:
        """A scheduled date as a deadline: the date itself, rolled by the agreement's convention."""
        calendar = self.calendar
        roll = calendar.roll == "following"
        rolled = "rolled to the next business day" if roll else "not rolled"
        due = calendar.rolled(day) if roll else day
        return due, rolled_basis(f"the scheduled date {day}", day, due, rolled, calendar)

    def latest_extension(self, due: Date, extensions: list[Extension]) -> Date:
        """The last day an extension may still be asked for: breach is not decided before it."""
        return max(self.calendar.business_days_after(due, e.no_later_than_business_days_after_due) for e in extensions)

    def extended(self, due: Date, extension: Extension) -> Date:
        return self.calendar.rolled(shift(due, extension.days))


def in_window(rule: DutyRule, due: Date, trigger: Any, anchor: Date, closing: Date | None) -> bool:
    """Whether a duty arises at all: its trigger on or after ``starting``, its deadline inside the rule's window."""
    if isinstance(trigger, PeriodTrigger) and trigger.starting and month_text(anchor) < trigger.starting:
        return False
    window = rule.window
    if window is None or closing is None:
        return True
    if window.due_after_closing and due <= closing:
        return False
    return not (window.due_within_years_of_closing and due > closing.add(years=window.due_within_years_of_closing))


def rolled_basis(what: str, raw: Date, day: Date, rolled: str, calendar: BusinessCalendar) -> str:
    if raw == day:
        return f"{what} ({day}, a business day)" if rolled.startswith("rolled") else what
    reason = calendar.holiday_name(raw) or raw.format("dddd")
    return f"{what} is {raw} ({reason}), {rolled}: {day}"
