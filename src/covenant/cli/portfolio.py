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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Literal

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
    scheduler_option,
    skip_invalid_option,
)
from covenant.cli.output import OutputError, atomic_output, refuse_input_as_output, silence_stdout
from covenant.pipeline import check_as_of
from covenant.portfolio.backends import backend_for
from covenant.portfolio.run import Outcome, write_report


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
) -> int:
    """Evaluate a portfolio as the command line does; return the exit status (0, or 1 with a breach and --fail-on).

    Bad input, an output that cannot be written, an engine or a cluster that
    fails raise to the command group (``cli.exits.Monitor``), which prints
    them and exits 2.

    ``covenant check --portfolio FILE`` calls this with its own options; a
    format other than json or text is refused (exit 2) rather than ignored.
    """
    if output_format not in ("json", "text"):
        raise Refused(f"--format {output_format} is not available for a portfolio (json or text)")
    if jobs < 1:
        raise Refused("--jobs must be 1 or more")
    check_as_of(as_of)  # in check's words
    refuse_input_as_output(output, [portfolio_file, *facts])
    use_color = (sys.stdout.isatty() if color is None and output is None else bool(color)) and output_format == "text"

    def write(stream: IO[str]) -> Outcome:
        with backend_for(jobs, scheduler) as backend:
            return write_report(
                portfolio_file,
                list(facts),
                stream,
                as_of=as_of,
                output_format="text" if output_format == "text" else "json",
                color=use_color,
                lenient=lenient,
                backend=backend,
                include_roots=include_roots,
            )

    outcome = _report_to(output, write)
    for problem in outcome.skipped:
        click.echo(f"skipped: {problem.format()}", err=True)
    if fail_on == "breach" and outcome.breached:
        return EXIT_FOUND
    return EXIT_OK


@click.command()
@click.argument("portfolio_file", metavar="PORTFOLIO.yaml", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("facts", nargs=-1, required=True, type=click.Path(path_type=Path))
@as_of_option("Evaluate as of this day (default: the latest fact's date in the portfolio).")
@click.option("--format", "output_format", type=click.Choice(["json", "text"]), default="json", show_default=True)
@output_option
@jobs_option()
@scheduler_option()
@fail_on_option
@skip_invalid_option
@color_option
@include_root_option
def portfolio(
    portfolio_file: Path,
    facts: tuple[Path, ...],
    as_of: Date | None,
    output_format: Literal["json", "text"],
    output: Path | None,
    jobs: int,
    scheduler: str | None,
    fail_on: str,
    skip_invalid: bool,
    color: bool | None,
    include_roots: tuple[Path, ...],
) -> None:
    """Evaluate every agreement of PORTFOLIO.yaml over the fact logs FACTS... and report them all.

    Each fact names its agreement in `agreement`. The report lists each
    agreement's report in id order, then totals per agreement and per Buyer.
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
    )
    sys.exit(status)
