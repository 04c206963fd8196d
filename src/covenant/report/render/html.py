"""The HTML report: one self-contained file a lawyer or a board opens.

Everything is inline (CSS, the SVG timeline); nothing is fetched, so the
file opens offline, attaches to an e-mail and prints. The page answers, in
order: what is the state (counts and money), which clauses were broken and
for how long (the timeline), what changed since the last report, the
breaches with each amount's basis, what falls due next, and every
obligation.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from covenant.report.render import common
from covenant.report.render.templating import html_environment
from covenant.report.render.timeline import build_timeline


def anchors(report: Mapping[str, Any], prefix: str = "") -> list[str]:
    """A stable HTML id per obligation: its position in the report's stable order (after ``prefix``)."""
    return [f"{prefix}ob-{index + 1}" for index in range(len(report["obligations"]))]


def _version() -> str:
    try:
        return version("covenant-monitor")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "unknown"


def render_html(
    report: Mapping[str, Any],
    *,
    trigger_dates: Mapping[str | None, str] | None = None,
    rule_titles: Mapping[str, str] | None = None,
    words: common.RemedyWords = common.NO_WORDS,
) -> str:
    """The report as one HTML document.

    ``trigger_dates`` (fact id -> date, from the fact log) places the start of
    each obligation's bar; ``rule_titles`` (rule id -> title, from the rule
    files) names each lane on hover. Both are optional: without them a bar
    starts at its period end or due date and a lane shows its rule id only.
    """
    template = html_environment().get_template("report.html.j2")
    return template.render(**_page_context(report, trigger_dates, rule_titles, words, ""))


def render_html_part(
    report: Mapping[str, Any],
    *,
    prefix: str,
    trigger_dates: Mapping[str | None, str] | None = None,
    rule_titles: Mapping[str, str] | None = None,
    words: common.RemedyWords = common.NO_WORDS,
) -> str:
    """The body of ``render_html``'s document alone, every id after ``prefix``: one agreement of a portfolio page.

    A portfolio page holds many agreements' reports; the prefix keeps their
    ids (rows, breaches, the timeline's title) apart, so a bar's link jumps
    to its own agreement's row. The page around it brings the style.
    """
    template = html_environment().get_template("agreement.html.j2")
    return template.render(**_page_context(report, trigger_dates, rule_titles, words, prefix))


def _page_context(
    report: Mapping[str, Any],
    trigger_dates: Mapping[str | None, str] | None,
    rule_titles: Mapping[str, str] | None,
    words: common.RemedyWords,
    prefix: str,
) -> dict[str, Any]:
    ids = anchors(report, prefix)
    anchor_of = {id(o): anchor for o, anchor in zip(report["obligations"], ids, strict=True)}
    dates = trigger_dates or {}
    as_of = report.get("as_of")
    upcoming = [
        {"o": o, "anchor": anchor_of[id(o)], "in_days": common.days_until(o["due"], as_of)}
        for o in common.pending(report)
    ]
    return dict(
        **common.template_summary(report, words),
        breaches=[{"o": o, "anchor": anchor_of[id(o)]} for o in common.breaches(report)],
        upcoming=upcoming,
        review=[{"o": o, "anchor": anchor_of[id(o)]} for o in common.review(report)],
        everything=[
            {"o": o, "anchor": anchor, "arose": common.trigger_date(o, dates)}
            for o, anchor in zip(report["obligations"], ids, strict=True)
        ],
        timeline=build_timeline(report, dates, ids, rule_titles, words),
        changes=report.get("changes"),
        facts=report.get("facts"),
        skipped=report.get("skipped", []),
        tool_version=_version(),
        prefix=prefix,
    )
