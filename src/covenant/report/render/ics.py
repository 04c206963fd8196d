"""Deadlines as an iCalendar file (RFC 5545) that a calendar program imports.

One all-day VEVENT per deadline on its due date (arisen or ahead), the clause and
the Buyer owed in its SUMMARY, what meets it and the explanation in its
DESCRIPTION; and, when breaches are open, one all-day VEVENT on the as-of
date noting them and what they cost a day. Nothing reads the clock: the UID is a hash of the obligation's
identity and due date (re-importing tomorrow's file updates the same events
instead of duplicating them) and DTSTAMP is the report's as-of date, so the
same input gives the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from icalendar import Calendar, Event

from covenant.calendar import as_date
from covenant.diagnostics import printable
from covenant.report.render.common import money, owed_to

PRODID = "-//covenant-monitor//upcoming deadlines//EN"


def event_uid(agreement: str, item: Mapping[str, Any]) -> str:
    """Stable across runs for the same obligation and due date."""
    key = "\x1f".join([agreement, item["rule"], item["trigger"] or "", item["beneficiary"] or "", item["due"] or ""])
    return f"{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@covenant-monitor"


def summary(item: Mapping[str, Any]) -> str:
    return f"{item['clause']} {item['rule']} due, owed to {owed_to(item)}"


def _text(value: str) -> str:
    """A TEXT value without control characters (RFC 5545 3.3.11 allows none but the escaped line break).

    Each line is escaped as the terminal report escapes it; the description's
    own line breaks are kept (icalendar writes them as ``\\n``).
    """
    return "\n".join(printable(line) for line in value.split("\n"))


def breaches_uid(agreement: str, as_of: str) -> str:
    """One note per agreement and as-of date: tomorrow's file adds its own, today's is replaced if re-imported."""
    key = "\x1f".join([agreement, "open breaches", as_of])
    return f"{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@covenant-monitor"


def breaches_note(agreement: str, as_of: str, breaches: Sequence[Mapping[str, Any]], stamp: datetime) -> Event:
    """The open breaches as one all-day event on the as-of date: their number, and what they cost a day."""
    day = as_date(as_of)
    start = date(day.year, day.month, day.day)
    total = sum((Decimal(b["per_day_total"]) for b in breaches), Decimal(0))
    plural = "es" if len(breaches) != 1 else ""
    event = Event()
    event.add("uid", breaches_uid(agreement, as_of))
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(days=1))
    event.add("summary", _text(f"{len(breaches)} open breach{plural}: {money(total)} a day"))
    lines = []
    for breach in breaches:
        cost = f"{money(breach['per_day_total'])} a day" if breach["per_day"] else ", ".join(breach["flags"]) or "-"
        lines.append(
            f"{breach['clause']} {breach['rule']} ({breach['trigger'] or 'fixed date'}), owed to {owed_to(breach)}: "
            f"in breach since {breach['breach_start']}, {breach['days_in_breach']} days; {cost}."
        )
    lines.append(f"Listed by covenant-monitor from the report of {agreement} as of {as_of}.")
    event.add("description", "\n".join(_text(line) for line in lines))
    event.add("categories", ["open breaches"])
    event.add("transp", "TRANSPARENT")
    return event


def render_ics(
    agreement: str, as_of: str, items: Sequence[Mapping[str, Any]], breaches: Sequence[Mapping[str, Any]] = ()
) -> str:
    """The calendar of ``items`` (upcoming entries: obligation fields plus ``met_by``), and a note of ``breaches``.

    An item of a portfolio names its own ``agreement``: its event says so
    and its UID is that agreement's, so two agreements' same deadline are
    two events; ``agreement`` then names the calendar (the portfolio).
    """
    stamp_day = as_date(as_of)
    stamp = datetime(stamp_day.year, stamp_day.month, stamp_day.day, tzinfo=UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{agreement} deadlines")
    for item in items:
        due = as_date(item["due"])
        day = date(due.year, due.month, due.day)  # a plain date: VALUE=DATE, an all-day event
        owner = item.get("agreement", agreement)
        event = Event()
        event.add("uid", event_uid(owner, item))
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        named = f"{owner}: {summary(item)}" if "agreement" in item else summary(item)
        event.add("summary", _text(named))
        lines = [f"Trigger: {item['trigger'] or 'fixed date'}."]
        if item.get("met_by"):
            lines.append(f"Met by: {item['met_by']}.")
        lines.append(item.get("explanation", ""))
        lines.append(f"Listed by covenant-monitor from the report of {owner} as of {as_of}.")
        event.add("description", "\n".join(_text(line) for line in lines if line))
        event.add("categories", [_text(item["clause"]), _text(item["rule"])])
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    if breaches:
        calendar.add_component(breaches_note(agreement, as_of, breaches, stamp))
    return calendar.to_ical().decode("utf-8")
