"""One agreement's part of a portfolio report, rendered where it was evaluated.

A portfolio report in any format is its agreements' reports, each rendered
by the single-agreement renderer of that format, put together with the
portfolio's totals (``pages``). The worker that evaluated an agreement
renders its part (the report never travels back whole): JSON at its depth
in the portfolio's object, the terminal text, Markdown one heading level
down, the HTML report's body with its ids after the agreement's, or CSV
rows whose columns the page takes the union of.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from covenant.report.render.common import RemedyWords, trigger_dates
from covenant.report.render.html import render_html_part
from covenant.report.render.markdown import render_markdown
from covenant.report.render.spreadsheet import column_parts, neutralised, safe_row
from covenant.report.render.text import render_text

Render = Literal["json", "text", "markdown", "html", "csv", "none"]
"""How a worker hands back each agreement: the portfolio's formats, or nothing (``upcoming`` reads no report)."""


@dataclass(frozen=True)
class Piece:
    """What a worker renders of one agreement: text for most formats, cells and columns for CSV."""

    text: str = ""
    cells: tuple[dict[str, str], ...] = ()
    amount_columns: tuple[tuple[str, str], ...] = ()
    flag_columns: tuple[str, ...] = ()


def anchor(agreement_id: str) -> str:
    """The HTML id of an agreement's part of the page: readable, and unique whatever characters the id holds."""
    readable = re.sub(r"[^A-Za-z0-9_-]", "-", agreement_id)[:40]
    return f"a-{readable}-{hashlib.sha256(agreement_id.encode('utf-8')).hexdigest()[:8]}"


def demoted(markdown: str) -> str:
    """Every heading one level down, so an agreement's report sits under the portfolio's own heading.

    Only the templates start a line with ``#``: every value is escaped and
    its line breaks become spaces (``templating.markdown_escape``).
    """
    return "\n".join("#" + line if line.startswith("#") else line for line in markdown.split("\n"))


def render_piece(
    report: Mapping[str, Any],
    render: Render,
    *,
    agreement: Any,
    facts: Any,
    rule_titles: Mapping[str, str],
    color: bool = False,
) -> Piece:
    """``report`` as its agreement's part of a portfolio report in ``render``'s format.

    ``agreement`` is the agreement's terms (its remedy words, its Closing for
    the timeline); ``facts`` its fact log's facts. JSON is ``work``'s
    (``indent_json``), written at its depth in the portfolio's object.
    """
    words = RemedyWords.of(agreement)
    if render == "text":
        return Piece(render_text(report, color=color, words=words))
    if render == "markdown":
        return Piece(demoted(render_markdown(report, words)))
    if render == "html":
        dates = trigger_dates(facts, agreement)
        prefix = anchor(report["agreement"]) + "-"
        return Piece(render_html_part(report, prefix=prefix, trigger_dates=dates, rule_titles=rule_titles, words=words))
    if render == "csv":
        amounts, flags = column_parts(report, words)
        cells = tuple({"agreement": neutralised(report["agreement"]), **safe_row(o)} for o in report["obligations"])
        return Piece("", cells, tuple(amounts), tuple(flags))
    return Piece()
