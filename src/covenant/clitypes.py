"""Parameter types shared by the commands (kept apart so command modules need not import each other)."""

from __future__ import annotations

import click

from covenant.calendar import Date, as_date


class DateType(click.ParamType):
    """A ``YYYY-MM-DD`` option, as a pendulum Date; anything else is a usage error (exit 2)."""

    name = "YYYY-MM-DD"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> Date:
        if isinstance(value, Date):
            return value
        try:
            return as_date(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date written YYYY-MM-DD", param, ctx)
