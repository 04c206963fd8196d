"""The report as a person reads it in a terminal.

Breaches first (what a lawyer looks for), with due date, breach start,
cure, days and amounts per Buyer; then totals; then what is pending.
Rendered with rich; plain text when the output is not a terminal.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.table import Table

_BREACHES = ("breached", "cured", "waived", "discharged")


def _money(remedies: list[dict[str, Any]]) -> str:
    parts = []
    for remedy in remedies:
        if "amount" in remedy:
            label = "SLD" if remedy["kind"] == "standard_liquidated_damages" else remedy["kind"]
            parts.append(f"{label} {remedy['buyer']} {remedy['amount']}")
        else:
            parts.append(remedy["kind"].replace("_", " "))
    return "\n".join(parts)


def render_text(report: dict[str, Any], *, color: bool = False, width: int = 140) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False)
    obligations = report["obligations"]
    statuses = report["summary"]["statuses"]
    counted = ", ".join(f"{n} {s}" for s, n in statuses.items() if n)
    console.print(
        f"[bold]{report['agreement']}[/bold] as of {report['as_of']}: "
        f"{len(obligations)} obligations ({counted or 'none'})"
    )
    breaches = [o for o in obligations if o["breach_start"]]
    breaches.sort(key=lambda o: (o["breach_start"], o["rule"], o["trigger"] or "", o["beneficiary"] or ""))
    if breaches:
        table = Table(title="Breaches", title_justify="left", show_lines=False)
        for column in (
            "clause",
            "rule",
            "owed to",
            "trigger",
            "due",
            "breach start",
            "cured / ended",
            "days",
            "status",
            "remedies",
        ):
            table.add_column(column, no_wrap=column not in ("remedies",))
        for o in breaches:
            ended = o["cured_on"] or o.get("ended_on") or "open"
            table.add_row(
                o["clause"],
                o["rule"],
                o["beneficiary"] or "all",
                o["trigger"] or "-",
                o["due"] or "-",
                o["breach_start"],
                ended,
                str(o["days_in_breach"]),
                o["status"],
                _money(o["remedies"]),
            )
        console.print(table)
    else:
        console.print("No breaches.")
    totals = report["summary"]["totals"]
    for kind, amounts in totals.items():
        label = (
            "Standard Liquidated Damages"
            if kind == "standard_liquidated_damages"
            else kind.replace("_", " ").capitalize()
        )
        per_buyer = ", ".join(f"{b} {a}" for b, a in amounts.items() if b != "total")
        console.print(f"{label}: {per_buyer}; total {amounts['total']}")
    pending = [o for o in obligations if o["status"] == "pending"]
    if pending:
        table = Table(title="Pending", title_justify="left")
        for column in ("due", "clause", "rule", "owed to", "trigger"):
            table.add_column(column, no_wrap=True)
        for o in sorted(pending, key=lambda o: o["due"] or ""):
            table.add_row(o["due"] or "-", o["clause"], o["rule"], o["beneficiary"] or "all", o["trigger"] or "-")
        console.print(table)
    review = [o for o in obligations if o["status"] == "review"]
    for o in review:
        console.print(f"Review {o['clause']} {o['rule']}: {o['explanation']}")
    for line in report.get("skipped", []):
        console.print(f"skipped: {line}")
    facts = report["facts"]
    console.print(
        f"Facts: {facts['read']} read, {facts['used']} used, {facts['after_as_of']} after the as-of date, "
        f"{facts['not_relevant']} not relevant to any rule."
    )
    return buffer.getvalue()
