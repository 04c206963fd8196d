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
from covenant.diagnostics import InputError
from covenant.engine.core import EngineError
from covenant.facts import FIRST_DAY, LAST_DAY
from covenant.portfolio.backends import BackendError, backend_for
from covenant.portfolio.run import Outcome, write_report

EXIT_BREACH = 1
EXIT_INPUT = 2


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
    """Evaluate a portfolio as the command line does; return the exit status (0, 1 or 2).

    ``covenant check --portfolio FILE`` calls this with its own options; a
    format other than json or text is refused (exit 2) rather than ignored.
    """
    if output_format not in ("json", "text"):
        click.echo(f"covenant: --format {output_format} is not available for a portfolio (json or text)", err=True)
        return EXIT_INPUT
    if jobs < 1:
        click.echo("covenant: --jobs must be 1 or more", err=True)
        return EXIT_INPUT
    if as_of is not None and not FIRST_DAY <= as_of <= LAST_DAY:
        click.echo(f"--as-of: {as_of} is out of range ({FIRST_DAY} to {LAST_DAY})", err=True)  # as check says it
        return EXIT_INPUT
    try:
        refuse_input_as_output(output, [portfolio_file, *facts])
    except OutputError as error:
        click.echo(f"covenant: {error}", err=True)
        return EXIT_INPUT
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

    try:
        outcome = _report_to(output, write)
    except InputError as error:
        for problem in error.problems:
            click.echo(problem.format(), err=True)
        return EXIT_INPUT
    except EngineError as error:
        click.echo(f"covenant: the rule engine failed: {error}", err=True)
        return EXIT_INPUT
    except (BackendError, OutputError) as error:
        click.echo(f"covenant: {error}", err=True)
        return EXIT_INPUT
    for problem in outcome.skipped:
        click.echo(f"skipped: {problem.format()}", err=True)
    if fail_on == "breach" and outcome.breached:
        return EXIT_BREACH
    return 0


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
