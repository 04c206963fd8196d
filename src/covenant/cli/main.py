"""The ``covenant`` command: arguments in, library calls, renderers out.

Exit codes (README.md): 0 the evaluation ran; 1 ``--fail-on breach`` and a
breach was found; 2 bad input or bad rules, with every problem on standard
error as ``FILE:LINE: field: what was expected``, or an output that cannot be
written; 70 an internal error (a defect of the monitor: one line says what
failed and where to report it; ``covenant --debug ...`` adds the traceback),
so a nightly job never takes a crash for a breach; 128 + N when signal N
(SIGINT 130, SIGTERM 143, SIGHUP 129) ended the run, after the same clean-up
as any failure (no temporary file, worker processes stopped).
"""

from __future__ import annotations

import signal
import sys
import traceback
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click

from covenant.calendar import Date
from covenant.cli.authoring import (
    compile_command,
    explain_command,
    lint_command,
    new_command,
    schema_command,
    test_command,
)
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
from covenant.cli.output import OutputError, emit, refuse_input_as_output, silence_stdout, write_atomically
from covenant.cli.portfolio import portfolio, run_portfolio
from covenant.cli.reports import evaluate, show_progress, terminal_width, upcoming
from covenant.diagnostics import InputError, printable
from covenant.report.changes import diff, load_previous
from covenant.report.render.formats import FORMATS, context_from, render

EXIT_BREACH = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 70
"""EX_SOFTWARE of sysexits.h: the monitor failed, not the input and not the agreement."""
REPORT_TO = "the covenant monitor's issue tracker, with the command line and the input files"
EXIT_SIGNAL = 128
"""Plus the signal's number, as a shell reports a process a signal ended."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised where the program is so that it unwinds as after SIGINT.

    A BaseException, like KeyboardInterrupt: no ``except Exception`` swallows
    it, and every ``finally`` and ``except BaseException`` clean-up runs (the
    temporary ``--output`` file is removed, worker processes are stopped).
    """

    def __init__(self, number: int):
        super().__init__(number)
        self.number = number


def _terminate(number: int, _frame: FrameType | None) -> None:
    signal.signal(number, signal.SIG_DFL)  # a second signal ends the process at once
    raise Terminated(number)


def _catch_signals() -> dict[int, Any]:
    """Handle SIGTERM and SIGHUP for the run; return the handlers they had, to put back after it."""
    previous: dict[int, Any] = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None:
            try:
                previous[number] = signal.signal(number, _terminate)
            except ValueError:  # not the main thread (an embedding program): leave its handlers alone
                break
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler if handler is not None else signal.SIG_DFL)


class Monitor(click.Group):
    """The command group, with the one place where failures become exit codes.

    Bad input and outputs that cannot be written exit 2 with one line per
    problem; an OSError is about files and disks, so exit 2 as well; any other
    exception is a defect of the monitor and exits 70 with one line (the
    traceback with ``--debug``); a signal exits 128 + its number.
    """

    def invoke(self, ctx: click.Context) -> Any:
        previous = _catch_signals()
        try:
            return self._invoke(ctx)
        finally:
            _restore_signals(previous)  # a program or a test that runs the command keeps its own handlers

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            _flush_stdout()
            return result
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except SystemExit:
            _flush_stdout()
            raise
        except InputError as error:
            for problem in error.problems:
                click.echo(problem.format(), err=True)
            _exit(EXIT_INPUT)
        except OutputError as error:
            click.echo(f"covenant: {error}", err=True)
            _exit(EXIT_INPUT)
        except KeyboardInterrupt:
            click.echo("covenant: interrupted", err=True)
            _exit(EXIT_SIGNAL + signal.SIGINT)
        except Terminated as error:
            click.echo(f"covenant: ended by {signal.Signals(error.number).name}", err=True)
            _exit(EXIT_SIGNAL + error.number)
        except OSError as error:
            where = f"{printable(str(error.filename))}: " if error.filename else ""
            click.echo(f"covenant: {where}{error.strerror or error}", err=True)
            _exit(EXIT_INPUT)
        except Exception as error:
            if ctx.meta.get("covenant.debug"):
                traceback.print_exc()
            place = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
            where = f" in {Path(place.filename).name}:{place.lineno}" if place else ""
            hint = "" if ctx.meta.get("covenant.debug") else "; `covenant --debug ...` prints the traceback"
            click.echo(
                f"covenant: internal error ({type(error).__name__}{where}): a defect of the monitor, not of the input; "
                f"please report it to {REPORT_TO}{hint}",
                err=True,
            )
            _exit(EXIT_INTERNAL)


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except OSError as error:
        silence_stdout()
        click.echo(f"covenant: cannot write to standard output: {error.strerror or error}", err=True)
        _exit(EXIT_INPUT)
    except ValueError:  # closed by the caller (click's test runner)
        pass


def _exit(code: int) -> NoReturn:
    raise SystemExit(code)


def _debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    ctx.meta["covenant.debug"] = value
    return value


@click.group(cls=Monitor, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="covenant-monitor")
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_debug,
    help="On an internal error (exit 70), print the traceback.",
)
def main() -> None:
    """Covenant monitor: which promises of a financing agreement were broken, when, and what it costs."""


@main.command()
@click.argument("facts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--rules", "rules_dir", default=None, type=click.Path(path_type=Path), help="The agreement's rule folder."
)
@click.option(
    "--portfolio",
    "portfolio_file",
    default=None,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A portfolio file of agreements (instead of --rules): every agreement is reported.",
)
@jobs_option("With --portfolio: worker processes.")
@include_root_option
@scheduler_option("With --portfolio: a Dask scheduler address (tcp://host:8786) to evaluate on.")
@as_of_option()
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True)
@output_option
@fail_on_option
@skip_invalid_option
@color_option
@click.option(
    "--since",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="An earlier JSON report: add what changed since it (a 'changes' key in JSON, a section in text).",
)
@click.option(
    "--progress/--no-progress", "show", default=None, help="Progress on standard error (default: when a terminal)."
)
@click.option(
    "--coverage",
    "show_coverage",
    is_flag=True,
    help="On standard error: rules, triggers and met_by alternatives no fact exercised.",
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Text format: list every obligation with its status, fulfilled ones too.",
)
def check(
    facts: tuple[Path, ...],
    rules_dir: Path | None,
    portfolio_file: Path | None,
    jobs: int,
    include_roots: tuple[Path, ...],
    scheduler: str | None,
    as_of: Date | None,
    output_format: str,
    output: Path | None,
    fail_on: str,
    skip_invalid: bool,
    color: bool | None,
    since: Path | None,
    show: bool | None,
    show_coverage: bool,
    show_all: bool,
) -> None:
    """Evaluate fact logs FACTS... against the rules and report every obligation.

    Formats: text (terminal), json (report.md), markdown, html (one
    self-contained file with a timeline), csv (one row per obligation).
    """
    if (rules_dir is None) == (portfolio_file is None):
        raise click.UsageError("give either --rules DIR (one agreement) or --portfolio FILE (many)")
    if portfolio_file is not None:
        sys.exit(
            run_portfolio(
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
        )
    if jobs != 1 or scheduler is not None:
        raise click.UsageError("--jobs and --scheduler go with --portfolio")
    if include_roots:
        raise click.UsageError("--include-root goes with --portfolio")
    assert rules_dir is not None
    refuse_input_as_output(output, [*facts, rules_dir, since])
    checked = evaluate(facts, rules_dir, as_of, lenient=skip_invalid, with_progress=show_progress(show))
    report = checked.report
    for line in report.get("skipped", []):
        click.echo(f"skipped: {line}", err=True)
    if since is not None:
        report["changes"] = diff(load_previous(since), report, source=str(since))
    use_color = sys.stdout.isatty() if color is None and output is None else bool(color)
    width = terminal_width() if output is None else 120
    context = context_from(checked, color=use_color and output_format == "text", width=width, every_obligation=show_all)
    text = render(report, output_format, context)
    if output is not None:
        write_atomically(output, text)
    else:
        emit(text, color=context.color or None)  # click strips ANSI off a pipe unless told
    if show_coverage:
        from covenant.report.coverage import compute_coverage, render_coverage

        fired = checked.state.fired if checked.state is not None else set()
        for line in render_coverage(compute_coverage([fired], checked.form), checked.form):
            click.echo(printable(line), err=True)
    if fail_on == "breach" and any(o["status"] == "breached" for o in report["obligations"]):
        sys.exit(EXIT_BREACH)


main.add_command(upcoming)
main.add_command(portfolio)
main.add_command(lint_command)
main.add_command(test_command)
main.add_command(explain_command)
main.add_command(schema_command)
main.add_command(compile_command)
main.add_command(new_command)


if __name__ == "__main__":  # pragma: no cover
    main()
