"""``covenant portfolio``: every agreement of a portfolio in one run.

The command only parses arguments, picks where agreements are evaluated
(this process, ``--jobs N`` worker processes, or a Dask cluster with
``--scheduler``) and sends the report to its place: ``--output`` is written
to a temporary file beside it and renamed when complete; standard output gets
the report only once every agreement has been evaluated, so bad input never
leaves half a report anywhere. ``run_portfolio`` is the same thing as a
function, for ``covenant check --portfolio``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click

from covenant.calendar import Date
from covenant.cli.exits import EXIT_FOUND, EXIT_OK, Refused
from covenant.cli.options import (
    as_of_option,
    color_option,
    fail_on_option,
    include_root_option,
    jobs_option,
    output_option,
    progress_option,
    scheduler_option,
    since_option,
    skip_invalid_option,
)
from covenant.cli.output import (
    OutputError,
    atomic_output,
    emit,
    refuse_input_as_output,
    silence_stdout,
    write_atomically,
)
from covenant.pipeline import check_as_of
from covenant.portfolio.backends import backend_for
from covenant.portfolio.run import Outcome, write_report

FORMATS = ("json", "text", "markdown", "html", "csv")
"""A portfolio's report formats: those of ``covenant check``, each composed of its agreements' reports."""


def _report_to(output: Path | None, write: Callable[[IO[str]], Outcome]) -> Outcome:
    """Run ``write`` into ``--output`` (``outputs.atomic_output``), or into a temporary file copied to standard output.

    Standard output gets the report only once it is complete: bad input found
    half-way leaves nothing there.
    """
    if output is not None:
        with atomic_output(output) as stream:
            return write(stream)
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n") as stream:
        outcome = write(stream)
        stream.seek(0)
        try:
            shutil.copyfileobj(stream, sys.stdout, 1 << 20)
            sys.stdout.flush()
        except OSError as error:
            silence_stdout()
            raise OutputError(f"cannot write to standard output: {error.strerror or error}") from None
    return outcome


def run_portfolio(
    portfolio_file: Path,
    facts: Sequence[Path],
    *,
    as_of: Date | None = None,
    output_format: str = "json",
    output: Path | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    lenient: bool = False,
    color: bool | None = None,
    fail_on: str = "never",
    include_roots: Sequence[Path] = (),
    since: Path | None = None,
    show_progress: bool = False,
) -> int:
    """Evaluate a portfolio as the command line does; return the exit status (0, or 1 with a breach and --fail-on).

    Bad input, an output that cannot be written, an engine or a cluster that
    fails raise to the command group (``cli.exits.Monitor``), which prints
    them and exits 2.

    ``covenant check --portfolio FILE`` calls this with its own options; a
    format no portfolio has is refused (exit 2) rather than ignored.
    ``show_progress``: a bar on standard error (agreements done of all,
    facts per second) while the agreements are evaluated.
    """
    if output_format not in FORMATS:
        raise Refused(f"--format {output_format} is not available for a portfolio ({', '.join(FORMATS)})")
    if jobs < 1:
        raise Refused("--jobs must be 1 or more")
    check_as_of(as_of)  # in check's words
    refuse_input_as_output(output, [portfolio_file, *facts, since])
    use_color = (sys.stdout.isatty() if color is None and output is None else bool(color)) and output_format == "text"

    def write(stream: IO[str]) -> Outcome:
        with backend_for(jobs, scheduler) as backend, agreements_progress(enabled=show_progress) as progress:
            return write_report(
                portfolio_file,
                list(facts),
                stream,
                as_of=as_of,
                output_format=output_format,  # type: ignore[arg-type]  # one of FORMATS, checked above
                color=use_color,
                lenient=lenient,
                backend=backend,
                include_roots=include_roots,
                since=since,
                progress=progress,
            )

    outcome = _report_to(output, write)
    for problem in outcome.skipped:
        click.echo(f"skipped: {problem.format()}", err=True)
    if fail_on == "breach" and outcome.breached:
        return EXIT_FOUND
    return EXIT_OK


@contextmanager
def agreements_progress(*, enabled: bool) -> Iterator[Callable[[int, int, int], None] | None]:
    """A bar on standard error, agreements done of all and facts per second; nothing when not enabled.

    The rate is read from the wall clock for the person watching only: no
    report ever holds it. The bar is transient (erased when done).
    """
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    started = time.monotonic()
    with Progress(
        TextColumn("Evaluating agreements"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("agreements", total=None, rate="")

        def advance(done: int, total: int, facts: int) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            bar.update(task, completed=done, total=total, rate=f"{facts / elapsed:,.0f} facts/s")

        yield advance


@click.command()
@click.argument("portfolio_file", metavar="PORTFOLIO.yaml", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("facts", nargs=-1, required=True, type=click.Path(path_type=Path))
@as_of_option("Evaluate as of this day (default: the latest fact's date in the portfolio).")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="json", show_default=True)
@output_option
@jobs_option()
@scheduler_option()
@fail_on_option
@skip_invalid_option
@color_option
@include_root_option
@since_option("An earlier portfolio JSON report: add what changed since it, per agreement and in total.")
@progress_option
def portfolio(
    portfolio_file: Path,
    facts: tuple[Path, ...],
    as_of: Date | None,
    output_format: str,
    output: Path | None,
    jobs: int,
    scheduler: str | None,
    fail_on: str,
    skip_invalid: bool,
    color: bool | None,
    include_roots: tuple[Path, ...],
    since: Path | None,
    show: bool | None,
) -> None:
    """Evaluate every agreement of PORTFOLIO.yaml over the fact logs FACTS... and report them all.

    Each fact names its agreement in `agreement`. The report lists each
    agreement's report in id order, then totals per agreement and per Buyer;
    markdown and html open with the totals and a table of the agreements,
    csv is one row per obligation with its agreement.
    """
    status = run_portfolio(
        portfolio_file,
        facts,
        as_of=as_of,
        output_format=output_format,
        output=output,
        jobs=jobs,
        scheduler=scheduler,
        lenient=skip_invalid,
        color=color,
        fail_on=fail_on,
        include_roots=include_roots,
        since=since,
        show_progress=sys.stderr.isatty() if show is None else show,
    )
    sys.exit(status)


def portfolio_upcoming(
    portfolio_file: Path,
    facts: Sequence[Path],
    as_of: Date | None,
    within: int,
    output_format: str,
    output: Path | None,
    lenient: bool,
    jobs: int = 1,
) -> None:
    """``covenant upcoming --portfolio``: every agreement's deadlines in the window, as text, JSON or iCalendar."""
    from covenant.portfolio.agenda import portfolio_agenda

    if jobs < 1:
        raise Refused("--jobs must be 1 or more")
    check_as_of(as_of)
    refuse_input_as_output(output, [portfolio_file, *facts])
    with backend_for(jobs, None) as backend:
        agenda = portfolio_agenda(portfolio_file, list(facts), within, as_of=as_of, lenient=lenient, backend=backend)
    for problem in agenda.skipped:
        click.echo(f"skipped: {problem.format()}", err=True)
    width = (
        120 if output is not None or not sys.stdout.isatty() else max(80, min(shutil.get_terminal_size().columns, 200))
    )
    text = agenda.render(output_format, width)
    if output is not None:
        write_atomically(output, text)
    else:
        emit(text)
