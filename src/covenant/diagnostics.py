"""Problems found in the input, as values with a place, printed by one formatter.

Every loader (facts, rule files, scenarios) reports what is wrong as a list of
``Problem`` objects instead of raising at the first one, so a person fixing a
file sees every mistake in one run. ``InputError`` carries them to the CLI,
which prints them and exits 2.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 control codes (ESC starts terminal sequences), line and paragraph separators, bidi overrides."""
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
EXCERPT_CHARS = 120
"""How much of a value from the input a message quotes."""


def printable(text: str, *, limit: int | None = None) -> str:
    """Text that came from input, safe to print to a terminal or a text report.

    Control codes would reach the terminal as commands (an ESC or OSC sequence
    recolours it, sets its title, writes a hyperlink), so each is shown as an
    escape (``\\x1b``, ``\\u2028``) instead. ``limit`` cuts a long value to a short excerpt.
    """
    if limit is not None and len(text) > limit:
        text = text[:limit] + "..."
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    named = _NAMED.get(character)
    if named is not None:
        return named
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable_data(value: Any) -> Any:
    """Every string of a report (keys and values), escaped with ``printable``: what the text renderers print."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(k) if isinstance(k, str) else k: printable_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable_data(v) for v in value]
    return value


def read_input_file(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or ``InputError``.

    Checked before reading: a FIFO would block forever and ``/dev/zero`` never
    ends, so only regular files are read, and a file's size is known before
    any of it is in memory (read at most ``limit + 1`` bytes, in case it grew).
    """
    display = str(path)
    try:
        with open(path, "rb", opener=_open_nonblocking) as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InputError(
                    [
                        Problem(
                            display,
                            None,
                            None,
                            f"not a regular file: a {what} is never read from a folder, device or pipe",
                        )
                    ]
                )
            if info.st_size > limit:
                raise InputError([Problem(display, None, None, f"{what} is over {limit:,} bytes")])
            data = stream.read(limit + 1)
    except OSError as error:
        raise InputError([Problem(display, None, None, f"cannot read the {what}: {error.strerror or error}")]) from None
    if len(data) > limit:
        raise InputError([Problem(display, None, None, f"{what} is over {limit:,} bytes")])
    return data


def _open_nonblocking(path: str, flags: int) -> int:
    # O_NONBLOCK: opening a FIFO for reading waits for a writer otherwise; regular files ignore the flag.
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one place of one file."""

    file: str
    line: int | None
    field: str | None
    message: str
    column: int | None = None
    code: str = "input"
    hint: str | None = None

    def format(self) -> str:
        """``FILE:LINE:COLUMN: field: message (hint: ...)``, every part escaped: it goes to a terminal."""
        place = printable(self.file)
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        message = printable(self.message)
        text = (
            f"{place}: {printable(self.field, limit=EXCERPT_CHARS)}: {message}" if self.field else f"{place}: {message}"
        )
        if self.hint:
            text += f" (hint: {printable(self.hint)})"
        return text


class InputError(Exception):
    """Bad input: nothing is evaluated, the CLI exits 2."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=_problem_order)
        super().__init__("\n".join(p.format() for p in self.problems))


def _problem_order(problem: Problem) -> tuple[str, int, int, str]:
    return (problem.file, problem.line or 0, problem.column or 0, problem.message)
