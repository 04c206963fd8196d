"""The Jinja2 environments of the Markdown and HTML reports.

Templates live beside this module (``templates/``, package data) and are
loaded by package, so an installed wheel renders the same as a checkout.
HTML autoescapes every value; Markdown escapes every value through
``finalize``, so no fact id, note or explanation can break a table or
inject markup, and a template cannot forget to escape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from jinja2.runtime import Context as JinjaContext
from markupsafe import Markup

from covenant.diagnostics import printable
from covenant.report.render import common

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
"""Characters that would start emphasis, code, a link, HTML or a table cell anywhere in a line."""


_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
"""Everything a Markdown reader or an editor may take for the end of a line: a break would start a heading."""


def markdown_escape(value: Any) -> Any:
    """Backslash-escape what Markdown would read as markup; line breaks become spaces (a table cell is one line).

    Every kind of line break counts (``\\r``, U+2028, U+2029...), not only
    ``\\n``: a clause holding one would otherwise start a real heading. Other
    control codes are shown escaped, as on the terminal.
    """
    if value is None or isinstance(value, Markup | int | float):
        return value
    text = printable(_LINE_BREAKS.sub(" ", str(value)))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


# The remedy filters read the form's words from the template's `words` (common.RemedyWords).
@pass_context
def _remedy_label(context: JinjaContext, kind: str) -> str:
    return common.remedy_label(kind, context.get("words", common.NO_WORDS))


@pass_context
def _remedy_title(context: JinjaContext, kind: str) -> str:
    return common.remedy_title(kind, context.get("words", common.NO_WORDS))


@pass_context
def _remedy_phrases(context: JinjaContext, obligation: Mapping[str, Any]) -> list[str]:
    return common.remedy_phrases(obligation, context.get("words", common.NO_WORDS))


@pass_context
def _owed_to(context: JinjaContext, obligation: Mapping[str, Any]) -> str:
    return common.owed_to(obligation, context.get("words", common.NO_WORDS))


def _filters() -> dict[str, Any]:
    return {
        "money": common.money,
        "owed_to": _owed_to,
        "measure_words": common.measure_words,
        "measure_limit": common.measure_limit,
        "end_words": common.end_words,
        "remedy_label": _remedy_label,
        "remedy_title": _remedy_title,
        "remedy_phrases": _remedy_phrases,
    }


def _environment(**options: Any) -> Environment:
    environment = Environment(
        loader=PackageLoader("covenant.report.render", "templates"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        **options,
    )
    environment.filters.update(_filters())
    return environment


@cache
def html_environment() -> Environment:
    return _environment(autoescape=True)


@cache
def markdown_environment() -> Environment:
    return _environment(autoescape=False, finalize=markdown_escape)
