"""Deadlines across a portfolio: ``covenant upcoming --portfolio``.

Whoever runs a fund's calendar wants one list: every agreement's deadlines
in the window, soonest first, each naming its agreement. A worker picks each
agreement's deadlines from its evaluation (``upcoming_of``: exactly what
``covenant upcoming`` lists for that agreement, looking ahead included); this
module merges them in one order and words them as text, JSON or an iCalendar
file whose events name their agreement.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from covenant.calendar import as_date
from covenant.diagnostics import printable_data
from covenant.report.build import Evaluated
from covenant.report.render.text import deadline_table
from covenant.report.upcoming import upcoming_entries


def upcoming_of(checked: Evaluated, within: int) -> tuple[dict[str, Any], ...]:
    """One agreement's deadlines in (as_of, as_of + within], as ``covenant upcoming`` lists them, with ``agreement``.

    The same sources as a single agreement's (``report.upcoming``): what has
    arisen, and what the calendar, fixed dates and schedules will create.
    """
    agreement = checked.report["agreement"]
    return tuple({"agreement": agreement, **entry} for entry in upcoming_entries(checked, within))


def soonest_first(items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every agreement's deadlines in one order: due date, then agreement, clause, rule, trigger, Buyer."""
    return sorted(
        items,
        key=lambda i: (i["due"], i["agreement"], i["clause"], i["rule"], i["trigger"] or "", i["beneficiary"] or ""),
    )


def upcoming_json(name: str, as_of: str | None, within: int, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``covenant upcoming --format json``'s object, for a portfolio: ``portfolio`` instead of ``agreement``."""
    return {
        "portfolio": name,
        "as_of": as_of,
        "within": within,
        "until": as_date(as_of).add(days=within).isoformat() if as_of else None,
        "upcoming": list(items),
    }


def upcoming_text(name: str, as_of: str | None, within: int, items: Sequence[Mapping[str, Any]], width: int) -> str:
    """The window of every agreement's deadlines as a plain table, the agreement in its own column."""
    from rich.console import Console
    from rich.text import Text

    name, items = printable_data(name), printable_data(list(items))  # text from files, never terminal commands
    console = Console(
        file=io.StringIO(), width=width, no_color=True, force_terminal=False, highlight=False, emoji=False, markup=False
    )
    with console.capture() as captured:
        agreements = len({i["agreement"] for i in items})
        plural = "s" if len(items) != 1 else ""
        console.print(
            Text(
                f"Portfolio {name}: {len(items)} deadline{plural} of {agreements} agreement"
                f"{'s' if agreements != 1 else ''} in the {within} days after {as_of or '-'}",
                style="bold",
            )
        )
        if items:
            console.print(deadline_table(items, agreements=True))
        else:
            console.print("Nothing falls due in the window.")
    return "\n".join(line.rstrip() for line in captured.get().split("\n"))
