"""Where failures become exit codes: the one place that prints problems and exits.

Exit codes (README.md): 0 the evaluation ran; 1 something was found
(``--fail-on breach`` and a breach, a lint problem, a failing scenario); 2 bad
input or bad rules, with every problem on standard error as
``FILE:LINE: field: what was expected``, or an output that cannot be written;
70 an internal error (a defect of the monitor: one line says what failed and
where to report it; ``covenant --debug ...`` adds the traceback), so a nightly
job never takes a crash for a breach; 128 + N when signal N (SIGINT 130,
SIGTERM 143, SIGHUP 129) ended the run, after the same clean-up as any failure
(no temporary file, worker processes stopped).

Commands raise ``InputError`` (problems with places), ``Refused`` (one line
about the command line), ``OutputError``, ``EngineError`` or
``BackendError``; ``Monitor`` prints each the same way and exits.
"""

from __future__ import annotations

import signal
import sys
import traceback
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click

from covenant.cli.output import OutputError, silence_stdout
from covenant.diagnostics import InputError, printable
from covenant.engine.core import EngineError
from covenant.portfolio.backends import BackendError

EXIT_OK = 0
EXIT_FOUND = 1
"""Something was found: ``--fail-on breach`` and a breach, a lint problem, a failing scenario."""
EXIT_INPUT = 2
EXIT_INTERNAL = 70
"""EX_SOFTWARE of sysexits.h: the monitor failed, not the input and not the agreement."""
REPORT_TO = "the covenant monitor's issue tracker, with the command line and the input files"
EXIT_SIGNAL = 128
"""Plus the signal's number, as a shell reports a process a signal ended."""


class Refused(Exception):
    """The command line asks for something the monitor will not do (a format a portfolio has not): exit 2, one line."""


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
        except (Refused, OutputError, BackendError) as error:
            click.echo(f"covenant: {printable(str(error))}", err=True)
            _exit(EXIT_INPUT)
        except EngineError as error:
            click.echo(f"covenant: the rule engine failed: {printable(str(error))}", err=True)
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


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_debug,
    help="On an internal error (exit 70), print the traceback.",
)
