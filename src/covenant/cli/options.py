"""Parameter types and options shared by the commands.

Kept apart so command modules need not import each other, and so an option
that two commands take (``check --portfolio`` and ``portfolio``) is declared
once: same name, same type, same help, same error wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from covenant.calendar import Date, as_date

Command = TypeVar("Command", bound=Callable[..., Any])
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class DateType(click.ParamType):
    """A ``YYYY-MM-DD`` option, as a pendulum Date; anything else is a usage error (exit 2)."""

    name = "YYYY-MM-DD"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> Date:
        if isinstance(value, Date):
            return value
        text = str(value)
        try:
            if not _DATE.fullmatch(text):  # fromisoformat also takes 20031231 and 2003-W01-1
                raise ValueError(text)
            return as_date(text)
        except ValueError:
            self.fail(f"{value!r} is not a date written YYYY-MM-DD", param, ctx)


def as_of_option(
    help_text: str = "Evaluate as of this day (default: the latest fact's date).",
) -> Callable[[Command], Command]:
    return click.option("--as-of", type=DateType(), default=None, help=help_text)


def output_option(command: Command) -> Command:
    return click.option(
        "--output",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Write the report here, atomically.",
    )(command)


def fail_on_option(command: Command) -> Command:
    return click.option(
        "--fail-on",
        type=click.Choice(["breach", "never"]),
        default="never",
        show_default=True,
        help="Exit 1 when a breach is found.",
    )(command)


def skip_invalid_option(command: Command) -> Command:
    return click.option(
        "--skip-invalid", is_flag=True, help="Lenient mode: skip invalid fact lines, listing each one."
    )(command)


def color_option(command: Command) -> Command:
    return click.option("--color/--no-color", default=None, help="Colour the text report (default: when a terminal).")(
        command
    )


def include_root_option(command: Command) -> Command:
    return click.option(
        "--include-root",
        "include_roots",
        multiple=True,
        type=click.Path(path_type=Path, file_okay=False),
        help="A folder the portfolio's `include` files may also be in (default: only the portfolio file's folder).",
    )(command)


def jobs_option(help_text: str = "Worker processes.") -> Callable[[Command], Command]:
    return click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True, help=help_text)


def scheduler_option(
    help_text: str = "A Dask scheduler (tcp://host:8786) to evaluate on.",
) -> Callable[[Command], Command]:
    return click.option("--scheduler", default=None, metavar="ADDRESS", help=help_text)


def rules_option(command: Command) -> Command:
    """``--rules DIR``, optional: a command that also takes ``--portfolio`` needs one or the other."""
    return click.option(
        "--rules", "rules_dir", default=None, type=click.Path(path_type=Path), help="The agreement's rule folder."
    )(command)


def portfolio_option(help_text: str) -> Callable[[Command], Command]:
    return click.option(
        "--portfolio",
        "portfolio_file",
        default=None,
        type=click.Path(path_type=Path, dir_okay=False),
        help=help_text,
    )


def since_option(help_text: str) -> Callable[[Command], Command]:
    return click.option("--since", type=click.Path(path_type=Path, dir_okay=False), default=None, help=help_text)


def progress_option(command: Command) -> Command:
    return click.option(
        "--progress/--no-progress", "show", default=None, help="Progress on standard error (default: when a terminal)."
    )(command)
