"""The report as a person reads it in a terminal.

A summary first (how many obligations met, pending, breached, cured,
waived; the SLD accrued per Buyer and in total), then the breaches (what a
lawyer looks for), then what changed since the last report when asked, then
the next deadlines. Rendered with rich; plain text (no ANSI codes) when the
output is not a terminal or colour is turned off.

The breach table must fit a 100-120 column terminal without cutting an id:
the rule and its trigger share one cell on two lines, a waiver or discharge
goes under its date, and only free text (clause, owed to, amounts) wraps.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from covenant.diagnostics import printable_data
from covenant.law.obligations import Status
from covenant.report.render.common import (
    NO_WORDS,
    RemedyWords,
    breaches,
    days_until,
    financial_tests,
    measure_words,
    money,
    owed_to,
    pending,
    remedy_label,
    remedy_phrases,
    review,
    status_counts,
    total_lines,
)

STATUS_STYLE = {
    Status.BREACHED: "bold red",
    Status.CURED: "yellow",
    Status.WAIVED: "cyan",
    Status.DISCHARGED: "magenta",
    Status.PENDING: "blue",
    Status.FULFILLED: "green",
    Status.REVIEW: "bold magenta",
}
NEXT_DEADLINES = 10
"""How many pending deadlines the report lists; ``covenant upcoming`` lists a window of them."""
WIDE = 118
"""Narrower than this, the breach table leaves out the due date (the breach start says it)."""


def _titled_table(title: str) -> Table:
    """A table under a bold title, ruled under its head only: every table of the report looks alike."""
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )


def _summary(console: Console, report: Mapping[str, Any], words: RemedyWords) -> None:
    obligations = report["obligations"]
    console.print(
        Text.assemble(
            (str(report["agreement"]), "bold"),
            f" as of {report['as_of']}: {len(obligations)} obligation{'s' if len(obligations) != 1 else ''}",
        )
    )
    counts = Text("  ")
    for index, (status, word, count) in enumerate(status_counts(report)):
        if index:
            counts.append(" · ")
        counts.append(f"{count} {word}", style=STATUS_STYLE[status] if count else "dim")
    console.print(counts)
    lines = total_lines(report, words)
    if not lines:
        console.print("  Nothing accrued.")
        return
    buyers = list(dict.fromkeys(buyer for line in lines for buyer, _ in line.per_buyer))
    table = Table(box=None, pad_edge=False, show_edge=False, padding=(0, 0, 0, 3), header_style="bold")
    table.add_column(f"  accrued as of {report['as_of']}", no_wrap=True)
    for buyer in [*buyers, "total"]:
        table.add_column(buyer, justify="right", no_wrap=True)
    for line in lines:
        amounts = dict(line.per_buyer)
        table.add_row(
            f"  {remedy_label(line.kind, words)}",
            *(money(amounts[b]) if b in amounts else "-" for b in buyers),
            Text(money(line.total), style="bold"),
        )
    console.print(table)


def _end_cell(obligation: Mapping[str, Any]) -> Text:
    if obligation["cured_on"]:
        return Text(obligation["cured_on"], style="green")
    ended = obligation.get("ended_on")
    if ended:
        return Text.assemble(ended, "\n", (obligation["status"], STATUS_STYLE.get(obligation["status"], "")))
    return Text("open", style="bold red")


def _breach_table(report: Mapping[str, Any], width: int, words: RemedyWords) -> Table | Text:
    found = breaches(report)
    if not found:
        return Text("No breaches.", style="green")
    with_due = width >= WIDE  # the breach starts the day after the due date; drop the latter when narrow
    open_count = sum(1 for o in found if o["status"] == Status.BREACHED)
    table = _titled_table(f"Breaches ({len(found)}, {open_count} open)")
    table.add_column("clause", max_width=None if with_due else 9)
    table.add_column("rule / trigger", no_wrap=True)
    table.add_column("owed to", max_width=None if with_due else 7)
    if with_due:
        table.add_column("due", no_wrap=True)
    table.add_column("breach from", no_wrap=True)
    table.add_column("cured", no_wrap=True)
    table.add_column("days", justify="right", no_wrap=True)
    table.add_column("amounts", min_width=12)
    for o in found:
        rule = Text.assemble((o["rule"], STATUS_STYLE.get(o["status"], "")), "\n", (o["trigger"] or "-", "dim"))
        cells: list[str | Text] = [o["clause"], rule, owed_to(o, words)]
        if with_due:
            cells.append(o["due"] or "-")
        cells += [o["breach_start"], _end_cell(o), str(o["days_in_breach"]), "\n".join(remedy_phrases(o, words)) or "-"]
        table.add_row(*cells)
    return table


def _test_table(report: Mapping[str, Any]) -> Table | None:
    """Every financial test, met or not: the period, the measure against its limit, the status."""
    found = financial_tests(report)
    if not found:
        return None
    failed = sum(1 for o in found if o["breach_start"])
    table = _titled_table(f"Financial tests ({len(found)}, {failed} failed)")
    for column in ("period", "clause", "rule", "measure", "status"):
        table.add_column(column, no_wrap=column in ("period", "rule"))
    for o in found:
        status = Text(o["status"], style=STATUS_STYLE.get(o["status"], ""))
        table.add_row(o["trigger"] or "-", o["clause"], o["rule"], measure_words(o), status)
    return table


def deadline_table(items: Sequence[Mapping[str, Any]], *, agreements: bool = False) -> Table:
    """``covenant upcoming``'s table: due, days left, (agreement,) clause, rule and trigger, to whom, what meets it.

    One agreement's and a portfolio's (``agreements``: a column naming each
    item's agreement) are the same table.
    """
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    table.add_column("due", no_wrap=True)
    table.add_column("in", justify="right", no_wrap=True)
    if agreements:
        table.add_column("agreement", no_wrap=True)
    table.add_column("clause", max_width=10)
    table.add_column("rule / trigger", no_wrap=True)
    table.add_column("owed to", max_width=10)
    table.add_column("met by", ratio=1)
    for item in items:
        cells: list[str | Text] = [item["due"], f"{item['days_left']} d"]
        if agreements:
            cells.append(item["agreement"])
        cells += [
            item["clause"],
            Text.assemble(item["rule"], "\n", (item["trigger"] or "-", "dim")),
            owed_to(item),
            item["met_by"] or "-",
        ]
        table.add_row(*cells)
    return table


def _changes(console: Console, changes: Mapping[str, Any], words: RemedyWords) -> None:
    console.print()
    console.print(Text(f"Changes since the report of {changes.get('since') or 'unknown date'}", style="bold"))
    sections = (
        ("new_breaches", "New breaches", "bold red"),
        ("newly_cured", "Newly cured", "green"),
        ("newly_waived", "Newly waived", "cyan"),
        ("amounts_grew", "Amounts that grew", "yellow"),
        ("no_longer_reported", "No longer reported", "dim"),
    )
    said = False
    for key, title, style in sections:
        entries = changes.get(key, [])
        if not entries:
            continue
        said = True
        console.print(Text(f"  {title} ({len(entries)})", style=style))
        for entry in entries:
            console.print(Padding(Text(_change_line(key, entry, words)), (0, 0, 0, 4)))
    if not said:
        console.print("  Nothing changed.")


def _change_line(key: str, entry: Mapping[str, Any], words: RemedyWords) -> str:
    who = f"{entry['clause']} {entry['rule']} ({entry['trigger'] or '-'}, owed to {owed_to(entry, words)})"
    if key == "new_breaches":
        return f"{who}: in breach from {entry['breach_start']}, {entry['status']}"
    if key == "newly_cured":
        return f"{who}: cured on {entry['cured_on']}"
    if key == "newly_waived":
        return f"{who}: waived by {', '.join(entry['buyers'])}"
    if key == "no_longer_reported":
        return f"{who}: in the earlier report, not in this one"
    return (
        f"{who}: {remedy_label(entry['kind'], words)} {entry['buyer']} "
        f"{money(entry['previous'])} -> {money(entry['amount'])} (+{money(entry['increase'])})"
    )


def _next_deadlines(report: Mapping[str, Any], words: RemedyWords) -> Table | Text:
    found = pending(report)
    if not found:
        return Text("No pending deadlines.")
    shown = found[:NEXT_DEADLINES]
    more = f", {len(found) - len(shown)} more: covenant upcoming" if len(found) > len(shown) else ""
    table = _titled_table(f"Next deadlines ({len(found)} pending{more})")
    for column in ("due", "in", "clause", "rule", "owed to", "trigger"):
        table.add_column(
            column, no_wrap=column not in ("clause", "owed to"), justify="right" if column == "in" else "left"
        )
    for o in shown:
        days = days_until(o["due"], report["as_of"])
        table.add_row(
            o["due"] or "-",
            "-" if days is None else f"{days} d",
            o["clause"],
            o["rule"],
            owed_to(o, words),
            o["trigger"] or "-",
        )
    return table


def _every_obligation(report: Mapping[str, Any], words: RemedyWords) -> Table | Text:
    """Every obligation with its status, fulfilled ones too (``check --all``): what a lawyer checks a reading with."""
    obligations = report["obligations"]
    if not obligations:
        return Text("No obligations.")
    table = _titled_table(f"Every obligation ({len(obligations)})")
    table.add_column("clause")
    table.add_column("rule / trigger", no_wrap=True)
    table.add_column("owed to")
    table.add_column("due", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for o in obligations:
        rule = Text.assemble(o["rule"], "\n", (o["trigger"] or "-", "dim"))
        status = Text(o["status"], style=STATUS_STYLE.get(o["status"], ""))
        table.add_row(o["clause"], rule, owed_to(o, words), o["due"] or "-", status)
    return table


def render_text(
    report: Mapping[str, Any],
    *,
    color: bool = False,
    width: int = 120,
    every: bool = False,
    words: RemedyWords = NO_WORDS,
) -> str:
    """The terminal report; ANSI styles only when ``color``; lines at most ``width`` columns; remedies in ``words``.

    Every text of the report came from a file someone else wrote (a clause, a
    fact id, an earlier report's date), so control codes are shown escaped and
    square brackets stay text (``markup=False``): nothing reaches the terminal
    as a command.
    """
    report = printable_data(report)
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )
    _summary(console, report, words)
    console.print()
    console.print(_breach_table(report, width, words))
    tests = _test_table(report)
    if tests is not None:
        console.print()
        console.print(tests)
    changes = report.get("changes")
    if changes is not None:
        _changes(console, changes, words)
    console.print()
    console.print(_next_deadlines(report, words))
    if every:
        console.print()
        console.print(_every_obligation(report, words))
    items = review(report)
    if items:
        console.print()
        console.print(Text(f"For review ({len(items)}, left to judgment by the text)", style="bold"))
        grid = Table.grid(padding=(0, 2, 0, 0))
        grid.add_column(no_wrap=True)
        grid.add_column()
        for index, o in enumerate(items):
            if index:
                grid.add_row("", "")
            who = Text.assemble(
                (o["clause"], "bold"), " ", (o["rule"], STATUS_STYLE[Status.REVIEW]), "\n", (o["trigger"] or "-", "dim")
            )
            grid.add_row(who, o["explanation"])
        console.print(Padding(grid, (0, 0, 0, 2)))
    for line in report.get("skipped", []):
        console.print(f"skipped: {line}", overflow="fold")
    facts = report.get("facts")
    if facts:
        console.print()
        console.print(
            f"Facts: {facts['read']} read, {facts['used']} used, {facts['after_as_of']} after the as-of date, "
            f"{facts['not_relevant']} not relevant to any rule.",
            style="dim",
        )
    text = buffer.getvalue()
    if not color:
        text = "\n".join(line.rstrip() for line in text.split("\n"))
    return text
