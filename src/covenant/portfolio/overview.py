"""One agreement in a line: what a portfolio's readers compare across agreements.

A portfolio manager reads a table of agreements before any one report: how
many breaches are open, how many are Events of Default, the money accrued,
what falls due next. A worker reduces each agreement's report to this line
(``Overview``) beside the rendered report, so the process that writes the
portfolio's page never holds the reports themselves. Everything is read
from the report's data, nothing from a form's words: an Event of Default is
a breach whose remedies include a flag (a remedy without an amount, the
``flag`` formula of agreement.yaml), whatever the form calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from covenant.law.obligations import Status
from covenant.report.render.common import breach_end

CHANGE_KEYS = ("new_breaches", "newly_cured", "newly_waived", "amounts_grew", "no_longer_reported")
"""The lists of ``report.changes.diff``, in its order: what a portfolio counts per agreement and in total."""


@dataclass(frozen=True)
class Overview:
    """An agreement's line in the portfolio's table, and its breaches for the portfolio's chart."""

    open_breaches: int = 0
    events_of_default: int = 0
    accrued: str = "0.00"  # every amount accrued to the as-of date, all kinds and Buyers (decimal text)
    next_due: str | None = None
    next_clause: str | None = None
    breaches: tuple[tuple[str, str | None], ...] = ()  # (first day in breach, last day or None while open)
    changes: tuple[tuple[str, int], ...] | None = None  # (CHANGE_KEYS item, count) with --since

    def to_json(self) -> dict[str, Any]:
        """The line as the portfolio's JSON and templates read it (breach periods left out: the chart's)."""
        return {
            "open_breaches": self.open_breaches,
            "events_of_default": self.events_of_default,
            "accrued": self.accrued,
            "next_deadline": {"due": self.next_due, "clause": self.next_clause} if self.next_due else None,
        }


def is_event_of_default(obligation: Mapping[str, Any]) -> bool:
    """In breach (now or once) and carrying a flag remedy: what makes a breach an Event of Default."""
    return bool(obligation["breach_start"]) and any("amount" not in r for r in obligation["remedies"])


def overview(report: Mapping[str, Any]) -> Overview:
    """The line of one agreement's report (``report.build_report``'s dict, with ``changes`` if compared)."""
    obligations = report["obligations"]
    accrued = sum((Decimal(by_buyer["total"]) for by_buyer in report["summary"].get("totals", {}).values()), Decimal(0))
    waiting = sorted(
        (o["due"], o["clause"]) for o in obligations if o["status"] == Status.PENDING and o["due"] is not None
    )
    ended = tuple(
        (o["breach_start"], breach_end(o) if o["status"] != Status.BREACHED else None)
        for o in obligations
        if o["breach_start"]
    )
    changes = report.get("changes")
    return Overview(
        open_breaches=sum(1 for o in obligations if o["status"] == Status.BREACHED),
        events_of_default=sum(1 for o in obligations if is_event_of_default(o)),
        accrued=f"{accrued:.2f}",
        next_due=waiting[0][0] if waiting else None,
        next_clause=waiting[0][1] if waiting else None,
        breaches=tuple(sorted(ended, key=lambda period: (period[0], period[1] or "9999-12-31"))),
        changes=tuple((key, len(changes.get(key, ()))) for key in CHANGE_KEYS) if changes is not None else None,
    )
