"""A portfolio's totals: money per agreement, per Buyer and for the portfolio, obligations per status.

Added up in the process that writes the report, one agreement's summary at
a time as its result arrives, in Decimal; written into the JSON report and
worded for the terminal here, with the portfolio's changes (``--since``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from covenant.calendar import Date
from covenant.portfolio.since import Movement
from covenant.portfolio.work import AgreementResult
from covenant.report.build import STATUS_ORDER


@dataclass
class Totals:
    """Money per agreement, per Buyer and for the portfolio, and obligations per status."""

    agreements: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    buyers: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)

    def add(self, result: AgreementResult) -> None:
        own: dict[str, Decimal] = {}
        for kind, by_buyer in result.amounts.items():
            for buyer, amount in by_buyer.items():
                if buyer == "total":
                    own[kind] = own.get(kind, Decimal(0)) + Decimal(amount)
                    continue
                entry = self.buyers.setdefault(buyer, {})
                entry[kind] = entry.get(kind, Decimal(0)) + Decimal(amount)
        self.agreements[result.id] = own
        for status, count in result.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.statuses = {s: self.statuses[s] for s in sorted(self.statuses, key=_status_rank)}

    def to_json(self) -> dict[str, Any]:
        portfolio: dict[str, Decimal] = {}
        for amounts in self.agreements.values():
            for kind, amount in amounts.items():
                portfolio[kind] = portfolio.get(kind, Decimal(0)) + amount
        return {
            "statuses": dict(self.statuses),
            "portfolio": _money(portfolio),
            "agreements": {key: _money(self.agreements[key]) for key in sorted(self.agreements)},
            "buyers": {key: _money(self.buyers[key]) for key in sorted(self.buyers)},
        }


def _status_rank(status: str) -> tuple[int, str]:
    return (STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER), status)


def _money(amounts: dict[str, Decimal]) -> dict[str, str]:
    out = {kind: f"{amounts[kind]:.2f}" for kind in sorted(amounts)}
    out["total"] = f"{sum(amounts.values(), Decimal(0)):.2f}"
    return out


def render_totals_text(name: str, as_of: Date | None, totals: Totals, *, color: bool = False, width: int = 120) -> str:
    """The portfolio's totals as a person reads them: per Buyer, then per agreement with money at stake."""
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False)
    data = totals.to_json()
    counted = ", ".join(f"{n} {s}" for s, n in data["statuses"].items() if n)
    console.print(
        f"[bold]Portfolio {name}[/bold] as of {as_of.isoformat() if as_of else '-'}: "
        f"{len(data['agreements'])} agreements, obligations {counted or 'none'}"
    )
    kinds = sorted({k for amounts in data["buyers"].values() for k in amounts if k != "total"})
    for title, rows in (
        ("Totals per Buyer", data["buyers"]),
        ("Totals per agreement (with amounts)", {k: v for k, v in data["agreements"].items() if v["total"] != "0.00"}),
    ):
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        table.add_column("buyer" if "Buyer" in title else "agreement")
        for kind in kinds:
            table.add_column(kind.replace("_", " "), justify="right")
        table.add_column("total", justify="right")
        for key, amounts in rows.items():
            table.add_row(key, *(amounts.get(kind, "0.00") for kind in kinds), amounts["total"])
        console.print(table)
    console.print(f"Portfolio total: {data['portfolio']['total']}")
    return buffer.getvalue()


def render_movement_text(movement: Movement) -> str:
    """The portfolio's changes in total, for the terminal (each agreement's are in its own report above)."""
    data = movement.to_json()
    totals = data["totals"]
    words = ", ".join(f"{totals[key]} {key.replace('_', ' ')}" for key in totals)
    return (
        f"Changes since the report of {data['since'] or 'an unknown date'}: {words}\n"
        f"  agreements added: {', '.join(data['agreements_added']) or 'none'}\n"
        f"  agreements gone: {', '.join(data['agreements_gone']) or 'none'}\n"
    )
