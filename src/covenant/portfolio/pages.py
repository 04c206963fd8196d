"""A portfolio report for people: Markdown, one HTML page, or one CSV, composed of its agreements' reports.

The page opens with what the portfolio's readers compare (totals per party
and for the portfolio, a table of agreements with their open breaches,
Events of Default, money accrued and next deadline, the open breaches over
time) and then holds each agreement's report as the single-agreement
renderer wrote it (``pieces``). The parts arrive in agreement-id order
while the head needs every agreement's line, so the parts are spooled to a
temporary file and copied after the head: memory holds the lines, never
the reports. CSV is every agreement's rows under one header, the union of
their columns, each row naming its agreement.
"""

from __future__ import annotations

import base64
import csv
import gzip
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import IO, Any

from markupsafe import escape

from covenant.portfolio.chart import open_breaches_chart
from covenant.portfolio.overview import Overview
from covenant.portfolio.pieces import anchor
from covenant.portfolio.since import Movement
from covenant.portfolio.work import AgreementResult
from covenant.report.render.common import STATUS_WORDS, SUMMARY_ORDER, RemedyWords, money
from covenant.report.render.spreadsheet import FIELDS, MEASURE_FIELDS, TAIL, amount_column
from covenant.report.render.templating import html_environment, markdown_environment

MARKER = "<!--covenant:agreements-->"
"""Where the HTML page's template puts the agreements' parts."""

INLINE_AGREEMENTS = 50
"""Up to this many agreements, each report sits in the page as HTML; beyond, each is stored compressed.

An agreement's report is about 350 KB of HTML (its timeline, every
obligation with its explanation): a thousand of them would be a page of
hundreds of megabytes and millions of elements, which no browser opens
quickly. Stored gzip-compressed (base64 in an inert ``<script>`` element,
about 45 KB) and unfolded by the page's script when the reader opens it,
the page stays tens of megabytes and its elements those of the table.
The compression happens in the process that writes the page, so its
bytes do not depend on the workers' zlib. Figures: docs/reports.md.
"""

NO_SCRIPT = (
    "<noscript><p>This report is stored compressed and unfolds with JavaScript; "
    "the Markdown or CSV format of the portfolio holds it without.</p></noscript>\n"
)


def packed(html: str) -> str:
    """An agreement's report as the page keeps it when folded: gzip (no time stamp), base64, in an inert element."""
    data = base64.b64encode(gzip.compress(html.encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")
    return f'<script type="application/octet-stream" class="packed">{data}</script>\n{NO_SCRIPT}'


@dataclass(frozen=True)
class Row:
    """An agreement's line in the table, with its anchor on the page and its count of changes."""

    id: str
    anchor: str
    line: Overview

    @property
    def changes(self) -> int:
        return sum(count for _, count in self.line.changes or ())


@dataclass(frozen=True)
class Head:
    """What the page's head says beside the rows: the portfolio's name, day, totals and its changes."""

    name: str
    as_of: str | None
    totals: Mapping[str, Any]  # run.Totals.to_json()
    words: RemedyWords
    movement: Movement | None
    facts: Mapping[str, Any] | None
    skipped: list[str]


def _version() -> str:
    try:
        return version("covenant-monitor")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "unknown"


def _context(head: Head, rows: list[Row]) -> dict[str, Any]:
    statuses = head.totals["statuses"]
    kinds = head.words.ordered({k for amounts in head.totals["buyers"].values() for k in amounts if k != "total"})
    return {
        "name": head.name,
        "as_of": head.as_of,
        "rows": rows,
        "obligations": sum(statuses.values()),
        "counts": [(status, STATUS_WORDS[status], statuses.get(status, 0)) for status in SUMMARY_ORDER],
        "totals": head.totals,
        "kinds": kinds,
        "words": head.words,
        "open_breaches": sum(r.line.open_breaches for r in rows),
        "breached_agreements": sum(1 for r in rows if r.line.open_breaches),
        "events_of_default": sum(r.line.events_of_default for r in rows),
        "movement": head.movement.to_json() if head.movement is not None else None,
        "facts": head.facts,
        "skipped": head.skipped,
        "tool_version": _version(),
    }


def write_page(
    output_format: str,
    stream: IO[str],
    results: Iterable[AgreementResult],
    seen: Callable[[AgreementResult], None],
    head: Callable[[], Head],
    *,
    inline: bool = True,
) -> None:
    """Write the portfolio's ``markdown``, ``html`` or ``csv`` report of ``results`` to ``stream``.

    ``seen`` is called with each agreement as it arrives (the run's totals
    and progress); ``head`` once they all have, for what the head says.
    ``inline``: each agreement's HTML report as HTML, else ``packed``.
    """
    if output_format == "csv":
        _write_csv(stream, results, seen)
        return
    rows: list[Row] = []
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n") as parts:
        for result in results:
            seen(result)
            row = Row(result.id, anchor(result.id), result.overview)
            rows.append(row)
            if output_format == "html":
                parts.write(f'<details class="agreement" id="{escape(row.anchor)}">\n<summary>{escape(row.id)}: ')
                plural = "es" if row.line.open_breaches != 1 else ""
                parts.write(
                    f"{row.line.open_breaches} open breach{plural}, accrued {money(row.line.accrued)}</summary>\n"
                )
                parts.write(result.rendered if inline else packed(result.rendered))
                parts.write("</details>\n")
            else:
                parts.write("\n")
                parts.write(result.rendered)
        context = _context(head(), rows)
        if output_format == "html":
            context["chart"] = open_breaches_chart((p for r in rows for p in r.line.breaches), context["as_of"])
            page = html_environment().get_template("portfolio.html.j2").render(**context)
            before, after = page.split(MARKER + "\n", 1)
        else:
            before, after = _squeeze(markdown_environment().get_template("portfolio.md.j2").render(**context)), ""
        stream.write(before)
        parts.seek(0)
        shutil.copyfileobj(parts, stream, 1 << 20)
        stream.write(after)


def _squeeze(text: str) -> str:
    """At most one blank line in a row (template control lines leave runs of them), ending with one newline."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.strip() or (lines and lines[-1].strip()):
            lines.append(line.rstrip())
    return "\n".join(lines).strip("\n") + "\n"


def _write_csv(stream: IO[str], results: Iterable[AgreementResult], seen: Callable[[AgreementResult], None]) -> None:
    """One header (``agreement``, the single report's columns, the union of every agreement's), then every row."""
    amounts: dict[str, set[str]] = {}  # kind -> Buyers, kinds in the order first met
    flags: dict[str, None] = {}
    measured = False  # a financial test's columns, when some agreement's form has tests
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n") as spool:
        for result in results:
            seen(result)
            for kind, buyer in result.piece.amount_columns:
                amounts.setdefault(kind, set()).add(buyer)
            flags.update(dict.fromkeys(result.piece.flag_columns))
            for cells in result.piece.cells:
                measured = measured or MEASURE_FIELDS[0] in cells
                spool.write(json.dumps(cells, ensure_ascii=False, separators=(",", ":")) + "\n")
        names = [amount_column(kind, buyer) for kind, buyers in amounts.items() for buyer in sorted(buyers)]
        fields = ["agreement", *FIELDS, *(MEASURE_FIELDS if measured else ()), *names, *flags, *TAIL]
        writer = csv.DictWriter(stream, fieldnames=fields, restval="", extrasaction="raise")
        writer.writeheader()
        spool.seek(0)
        for line in spool:
            writer.writerow(json.loads(line))
