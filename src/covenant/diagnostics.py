"""Problems found in the input, as values with a place, printed by one formatter.

Every loader (facts, rule files, scenarios) reports what is wrong as a list of
``Problem`` objects instead of raising at the first one, so a person fixing a
file sees every mistake in one run. ``InputError`` carries them to the CLI,
which prints them and exits 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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
        place = self.file
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        text = f"{place}: {self.field}: {self.message}" if self.field else f"{place}: {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class InputError(Exception):
    """Bad input: nothing is evaluated, the CLI exits 2."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=_problem_order)
        super().__init__("\n".join(p.format() for p in self.problems))


def _problem_order(problem: Problem) -> tuple[str, int, int, str]:
    return (problem.file, problem.line or 0, problem.column or 0, problem.message)
