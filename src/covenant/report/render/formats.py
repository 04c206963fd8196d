"""Picking a renderer by name, and what renderers may use beside the report (``Context``).

Each renderer only formats ``report.build_report``'s dict, so every format
says the same thing. ``render`` picks one by name; the HTML timeline also
takes what the report does not carry (the dates of trigger facts, rule
titles) from a ``Context`` built from the fact log and the rule files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FORMATS = ("text", "json", "markdown", "html", "csv")


@dataclass(frozen=True)
class Context:
    """What a renderer may use beside the report: presentation settings and lookups."""

    color: bool = False
    width: int = 120
    trigger_dates: Mapping[str | None, str] = field(default_factory=dict)
    rule_titles: Mapping[str, str] = field(default_factory=dict)
    every_obligation: bool = False  # text: list every obligation (fulfilled too), not only breaches and deadlines
    words: Any = None  # common.RemedyWords: the form's words for its remedies; None: named from the kinds


def context_from(checked: Any, *, color: bool = False, width: int = 120, every_obligation: bool = False) -> Context:
    """A Context from ``pipeline.check``'s result: trigger facts' dates and rule titles."""
    from covenant.report.render.common import RemedyWords, trigger_dates

    titles = {rule_id: getattr(rule, "title", "") for rule_id, rule in checked.form.rules.items()}
    return Context(
        color=color,
        width=width,
        trigger_dates=trigger_dates(checked.log.facts, checked.form.agreement),
        rule_titles=titles,
        every_obligation=every_obligation,
        words=RemedyWords.of(checked.form.agreement),
    )


def render(report: Mapping[str, Any], output_format: str, context: Context | None = None) -> str:
    """The report in ``output_format`` (one of FORMATS). Renderers are imported on demand."""
    context = context or Context()
    from covenant.report.render.common import NO_WORDS

    words = context.words or NO_WORDS
    if output_format == "json":
        from covenant.report.build import render_json

        return render_json(dict(report))
    if output_format == "text":
        from covenant.report.render.text import render_text

        return render_text(
            report, color=context.color, width=context.width, every=context.every_obligation, words=words
        )
    if output_format == "markdown":
        from covenant.report.render.markdown import render_markdown

        return render_markdown(report, words)
    if output_format == "html":
        from covenant.report.render.html import render_html

        return render_html(report, trigger_dates=context.trigger_dates, rule_titles=context.rule_titles, words=words)
    if output_format == "csv":
        from covenant.report.render.spreadsheet import render_csv

        return render_csv(report, words)
    raise ValueError(f"unknown format {output_format!r}; expected one of {', '.join(FORMATS)}")
