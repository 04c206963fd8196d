"""The Markdown report: the same content as the terminal's, for a pull request, a wiki or an e-mail.

Rendered from a Jinja2 template whose every value is escaped (see
``templating``), so an id or a note with ``|`` or ``*`` cannot break a table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from covenant.report.render import common
from covenant.report.render.templating import markdown_environment


def render_markdown(report: Mapping[str, Any], words: common.RemedyWords = common.NO_WORDS) -> str:
    """The report as GitHub-flavoured Markdown: summary, totals, breaches with their basis, deadlines."""
    as_of = report.get("as_of")
    template = markdown_environment().get_template("report.md.j2")
    text = template.render(
        **common.template_summary(report, words),
        breaches=common.breaches(report),
        upcoming=[{"o": o, "in_days": common.days_until(o["due"], as_of)} for o in common.pending(report)],
        review=common.review(report),
        changes=report.get("changes"),
        facts=report.get("facts"),
    )
    return _squeeze_blank_lines(text)


def _squeeze_blank_lines(text: str) -> str:
    # Template control lines leave runs of blank lines; Markdown needs at most one.
    lines: list[str] = []
    for line in text.splitlines():
        if line.strip() or (lines and lines[-1].strip()):
            lines.append(line.rstrip())
    return "\n".join(lines).strip("\n") + "\n"
