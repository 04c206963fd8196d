"""Commands and helpers for the reports people read: ``covenant upcoming``, progress, ``--since``.

``evaluate`` is the one way the commands run the pipeline: a progress
indicator on standard error while it works (only when that is a terminal,
so a nightly job's log stays clean), and bad input turned into the
documented exit status 2 with every problem on standard error.

This module does not import ``covenant.cli.main`` at load time (cli imports it),
so either can be imported first.
"""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from covenant.calendar import Date, as_date
from covenant.cli.options import (
    as_of_option,
    jobs_option,
    output_option,
    portfolio_option,
    progress_option,
    rules_option,
    skip_invalid_option,
)
from covenant.cli.output import emit, refuse_input_as_output, write_atomically
from covenant.diagnostics import printable_data
from covenant.pipeline import Evaluated
from covenant.pipeline import check as run_check
from covenant.report.render.common import money, owed_to
from covenant.report.render.text import deadline_table
from covenant.report.upcoming import open_breaches, per_day_total, upcoming_entries

MAX_WITHIN = 36_525
"""A hundred years of deadlines; a billion days overflowed the date library."""


def _describe(facts: Sequence[Path], rules_dir: Path) -> str:
    size = 0
    for path in facts:
        files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        size += sum(f.stat().st_size for f in files if f.is_file())
    logs = f"{len(facts)} fact log{'s' if len(facts) != 1 else ''}"
    return f"Evaluating {logs} ({size / 1024:,.0f} KiB) against {rules_dir}"


@contextmanager
def progress(description: str, *, enabled: bool) -> Iterator[None]:
    """An indeterminate progress bar on standard error while the body runs; nothing when not enabled.

    The evaluation is one library call with no progress hook, so the bar
    pulses and the clock runs; it is transient (erased when done).
    """
    if not enabled:
        yield
        return
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        bar.add_task(description, total=None)
        yield


def show_progress(requested: bool | None) -> bool:
    """``--progress/--no-progress``; by default only when standard error is a terminal."""
    return sys.stderr.isatty() if requested is None else requested


def evaluate(
    facts: Sequence[Path],
    rules_dir: Path,
    as_of: Date | None,
    *,
    lenient: bool = False,
    with_progress: bool = False,
) -> Evaluated:
    """``pipeline.check`` with progress.

    Bad input, files that cannot be read and an engine that refuses go up to
    the command group (``cli.exits.Monitor``), the one place that prints
    problems and exits 2.
    """
    with progress(_describe(facts, rules_dir), enabled=with_progress):
        return run_check(list(facts), rules_dir, as_of, lenient=lenient)


def terminal_width() -> int:
    """The width to render the text report for: the terminal's, within reason; 120 when not a terminal."""
    if not sys.stdout.isatty():
        return 120
    return max(80, min(shutil.get_terminal_size((120, 40)).columns, 200))


def upcoming_items(checked: Evaluated, within: int) -> list[dict[str, Any]]:
    """Obligations due in (as_of, as_of + within], soonest first, each with what meets it.

    Those that have arisen and those that will arise in the window (period
    ends, fixed dates, the instrument's schedule): ``report.upcoming``.
    """
    return upcoming_entries(checked, within)


def upcoming_text(
    report: Mapping[str, Any],
    within: int,
    items: Sequence[Mapping[str, Any]],
    width: int,
    breaches: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The window of deadlines as a terminal table (plain text when not a terminal), then the open breaches."""
    report, items = printable_data(report), printable_data(items)  # text from files, never terminal commands
    breaches = printable_data(breaches)
    console = Console(
        file=io.StringIO(),  # rendering never touches standard output: emit() writes it, and reports a full disk
        width=width,
        no_color=True,
        force_terminal=False,
        highlight=False,
        emoji=False,
        markup=False,
        record=True,
    )
    with console.capture() as captured:
        plural = "s" if len(items) != 1 else ""
        header = f"{report['agreement']}: {len(items)} deadline{plural} in the {within} days after {report['as_of']}"
        console.print(Text(header, style="bold"))
        if items:
            console.print(deadline_table(items))
        else:
            console.print("Nothing falls due in the window.")
        if breaches:
            console.print()
            console.print(Text(_breaches_header(report, breaches), style="bold"))
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
            table.add_column("since", no_wrap=True)
            table.add_column("days", justify="right", no_wrap=True)
            table.add_column("clause", max_width=10)
            table.add_column("rule / trigger", no_wrap=True)
            table.add_column("owed to", max_width=10)
            table.add_column("per day", justify="right", no_wrap=True)
            table.add_column("cured by", ratio=1)
            for breach in breaches:
                table.add_row(
                    breach["breach_start"],
                    str(breach["days_in_breach"]),
                    breach["clause"],
                    Text.assemble(breach["rule"], "\n", (breach["trigger"] or "-", "dim")),
                    owed_to(breach),
                    money(breach["per_day_total"]) if breach["per_day"] else ", ".join(breach["flags"]) or "-",
                    breach["cured_by"] or "-",
                )
            console.print(table)
    return "\n".join(line.rstrip() for line in captured.get().split("\n"))


def _breaches_header(report: Mapping[str, Any], breaches: Sequence[Mapping[str, Any]]) -> str:
    plural = "es" if len(breaches) != 1 else ""
    return (
        f"{len(breaches)} open breach{plural} as of {report['as_of']}, "
        f"accruing {money(per_day_total(breaches))} a day in all"
    )


@click.command()
@click.argument("facts", nargs=-1, required=True, type=click.Path(path_type=Path))
@rules_option
@portfolio_option("A portfolio file (instead of --rules): every agreement's deadlines, each naming its agreement.")
@jobs_option("With --portfolio: worker processes.")
@as_of_option("Count from this day (default: the latest fact's date).")
@click.option(
    "--within",
    type=click.IntRange(min=0, max=MAX_WITHIN),
    default=30,
    show_default=True,
    help="List obligations due in the next WITHIN days after the as-of date.",
)
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json", "ics"]), default="text", show_default=True
)
@output_option
@skip_invalid_option
@progress_option
def upcoming(
    facts: tuple[Path, ...],
    rules_dir: Path | None,
    portfolio_file: Path | None,
    jobs: int,
    as_of: Date | None,
    within: int,
    output_format: str,
    output: Path | None,
    skip_invalid: bool,
    show: bool | None,
) -> None:
    """Obligations falling due within a window, soonest first, with what meets each; then the open breaches.

    The window holds the obligations that have arisen and those that will
    arise in it (month, fiscal quarter and year ends, fixed dates, the
    instrument's schedule). Open breaches are listed apart, with the days so
    far and the money accruing each day. --format ics writes an iCalendar file
    (one all-day event per deadline, and a note of the open breaches' daily
    cost on the as-of date) for a calendar program.
    """
    if (rules_dir is None) == (portfolio_file is None):
        raise click.UsageError("give either --rules DIR (one agreement) or --portfolio FILE (many)")
    if portfolio_file is not None:
        from covenant.cli.portfolio import portfolio_upcoming

        portfolio_upcoming(portfolio_file, facts, as_of, within, output_format, output, skip_invalid, jobs)
        return
    if jobs != 1:
        raise click.UsageError("--jobs goes with --portfolio")
    assert rules_dir is not None
    refuse_input_as_output(output, [*facts, rules_dir])
    checked = evaluate(facts, rules_dir, as_of, lenient=skip_invalid, with_progress=show_progress(show))
    report = checked.report
    for line in report.get("skipped", []):
        click.echo(f"skipped: {line}", err=True)
    items = upcoming_items(checked, within)
    breaches = open_breaches(checked)
    if output_format == "json":
        from covenant.report.build import render_json

        text = render_json(
            {
                "agreement": report["agreement"],
                "as_of": report["as_of"],
                "within": within,
                "until": as_date(report["as_of"]).add(days=within).isoformat() if report["as_of"] else None,
                "upcoming": items,
                "open_breaches": breaches,
                "per_day_total": f"{per_day_total(breaches):.2f}",
            }
        )
    elif output_format == "ics":
        from covenant.report.render.ics import render_ics

        text = render_ics(report["agreement"], report["as_of"] or "1970-01-01", items, breaches)
    else:
        text = upcoming_text(report, within, items, terminal_width(), breaches)
    if output is not None:
        write_atomically(output, text)
    else:
        emit(text)
