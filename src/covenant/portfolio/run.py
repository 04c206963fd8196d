"""Portfolios: many agreements on a few forms, evaluated in one run, reported as one.

A run reads the fact logs twice so that memory stays the size of one
agreement: pass 1 (``feed``) finds where each agreement's facts are, pass 2
(``work``) evaluates a few agreements at a time on a backend. Reports come
back in agreement-id order whatever the backend, so ``--jobs 1``,
``--jobs N`` and a Dask cluster write the same bytes; this module gathers
them, adds the totals and streams the whole report.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from covenant.law.obligations import Status
from covenant.portfolio.feed import FactIndex, index_facts
from covenant.portfolio.file import PortfolioSpec, load_portfolio
from covenant.portfolio.pieces import Render
from covenant.portfolio.since import Earlier, Movement, load_earlier, previous_for
from covenant.portfolio.totals import Totals, render_movement_text, render_totals_text
from covenant.portfolio.work import (
    AgreementResult,
    Backend,
    FormSource,
    InProcess,
    chunks,
    indent_json,
    problem_order,
)

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; json writes the same bytes, slower
    _orjson = None  # type: ignore[assignment]

from covenant.calendar import Date, as_date
from covenant.diagnostics import InputError, Problem


# --- the whole run ---------------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What a run found, beside the report it wrote."""

    agreements: int = 0
    facts: int = 0
    totals: Totals = field(default_factory=Totals)
    skipped: list[Problem] = field(default_factory=list)

    @property
    def breached(self) -> int:
        return self.totals.statuses.get(Status.BREACHED, 0)


def prepare(
    portfolio_file: Path, fact_paths: Sequence[Path], *, lenient: bool = False, include_roots: Sequence[Path] = ()
) -> tuple[PortfolioSpec, FactIndex]:
    """Load the portfolio and index its facts; raise ``InputError`` for what pass 1 can see."""
    spec = load_portfolio(portfolio_file, include_roots)
    index = index_facts(fact_paths, spec, lenient=lenient)
    return spec, index


def gather(
    spec: PortfolioSpec,
    index: FactIndex,
    as_of: Date | None,
    backend: Backend,
    forms: dict[str, FormSource],
    *,
    render: Render,
    color: bool,
    lenient: bool,
    facts_per_chunk: int,
    earlier: Earlier | None = None,
    within: int | None = None,
) -> Iterator[AgreementResult]:
    """Every agreement's result in id order; ``InputError`` with every problem of every agreement, if any.

    ``earlier``: compare each agreement with its earlier report; ``within``:
    pick each agreement's deadlines in that many days (``upcoming``).
    """
    strict_problems = [p for p in index.problems if p.code != "skipped"]
    if strict_problems:
        # Pass 1 found problems: still validate every agreement (no evaluation) so all are reported at once.
        found = list(strict_problems)
        for result in backend.run(
            chunks(spec, index, as_of, lenient=lenient, validate_only=True, facts_per_chunk=facts_per_chunk), forms
        ):
            for agreement in result.results:
                found.extend(agreement.problems)
        raise InputError(found)
    problems: list[Problem] = []
    work = chunks(
        spec,
        index,
        as_of,
        render=render,
        color=color,
        lenient=lenient,
        facts_per_chunk=facts_per_chunk,
        previous=previous_for(earlier, (m.id for m in spec.members)),
        since=earlier.source if earlier else "--since",
        within=within,
    )
    for result in backend.run(work, forms):
        for agreement in result.results:
            problems.extend(agreement.problems)
            if not problems:
                yield agreement
    if problems:
        raise InputError(problems)


def chunk_size(total_facts: int, jobs: int) -> int:
    """Enough batches to keep ``jobs`` workers busy to the end, few enough that each is worth sending."""
    if jobs <= 1:
        return 20_000
    return max(500, min(20_000, total_facts // (jobs * 8) or 1))


def write_report(
    portfolio_file: Path,
    fact_paths: Sequence[Path],
    stream: IO[str],
    *,
    as_of: Date | None = None,
    output_format: Render = "json",
    color: bool = False,
    lenient: bool = False,
    backend: Backend | None = None,
    include_roots: Sequence[Path] = (),
    since: Path | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> Outcome:
    """Evaluate a portfolio and write its report to ``stream``, one agreement at a time.

    On ``InputError`` part of a report may have been written: callers write
    to a temporary file and keep it only when this returns (``covenant
    portfolio`` does). ``backend`` defaults to this process (``--jobs 1``).
    ``since``: an earlier portfolio JSON report to compare each agreement
    with. ``progress(agreements done, agreements in all, facts done)`` is
    called as each agreement's report arrives.
    """
    backend = backend or InProcess()
    spec, index = prepare(portfolio_file, fact_paths, lenient=lenient, include_roots=include_roots)
    earlier = load_earlier(since) if since is not None else None
    movement = Movement(earlier) if earlier is not None else None
    day = as_of or (as_date(index.latest) if index.latest else None)
    folders = sorted({m.rules for m in spec.members})
    forms = {str(folder): FormSource.of(folder, ship=backend.ship_rules) for folder in folders}
    outcome = Outcome(facts=index.count)
    results = gather(
        spec,
        index,
        day,
        backend,
        forms,
        render=output_format,
        color=color,
        lenient=lenient,
        facts_per_chunk=chunk_size(index.count, backend.workers),
        earlier=earlier,
    )
    skipped = [p for p in index.problems if p.code == "skipped"]
    done_facts = 0

    def seen(result: AgreementResult) -> None:
        nonlocal done_facts
        outcome.agreements += 1
        outcome.totals.add(result)
        skipped.extend(result.skipped)
        if movement is not None:
            movement.add(result.id, result.overview)
        if progress is not None:
            done_facts += len(index.positions.get(result.id, ()))
            progress(outcome.agreements, len(spec.members), done_facts)

    if output_format in ("markdown", "html", "csv"):
        from covenant.portfolio.pages import INLINE_AGREEMENTS, Head, write_page
        from covenant.report.render.common import NO_WORDS, RemedyWords

        words = RemedyWords.of(spec.members[0].agreement) if spec.members else NO_WORDS
        facts_read = {"read": index.count, "per_file": dict(sorted(index.lines_read.items()))}

        def head() -> Head:
            lines = [p.format() for p in sorted(skipped, key=problem_order)]
            return Head(
                spec.name,
                day.isoformat() if day else None,
                outcome.totals.to_json(),
                words,
                movement,
                facts_read,
                lines,
            )

        write_page(output_format, stream, results, seen, head, inline=len(spec.members) <= INLINE_AGREEMENTS)
    elif output_format == "json":
        # The report is one JSON object written member by member, each value as
        # render_json would indent it at its depth, so that the agreements'
        # reports stream through without the whole object ever being in memory.
        stream.write("{\n")
        _write_member(stream, "portfolio", spec.name)
        _write_member(stream, "as_of", day.isoformat() if day else None)
        stream.write('  "agreements": [')
        first = True
        for result in results:
            stream.write("\n    " if first else ",\n    ")
            stream.write(result.rendered)
            first = False
            seen(result)
        stream.write("\n  ],\n" if not first else "],\n")
        _write_member(stream, "totals", outcome.totals.to_json())
        if movement is not None:
            _write_member(stream, "changes", movement.to_json())
        facts = {"read": index.count, "per_file": dict(sorted(index.lines_read.items()))}
        _write_member(stream, "facts", facts, last=not skipped)
        if skipped:
            _write_member(stream, "skipped", [p.format() for p in sorted(skipped, key=problem_order)], last=True)
        stream.write("}\n")
    else:
        for result in results:
            if outcome.agreements:
                stream.write("\n")
            stream.write(result.rendered)
            seen(result)
        stream.write("\n" if outcome.agreements else "")
        stream.write(render_totals_text(spec.name, day, outcome.totals, color=color))
        if movement is not None:
            stream.write(render_movement_text(movement))
    outcome.skipped = sorted(skipped, key=problem_order)
    return outcome


def _write_member(stream: IO[str], key: str, value: Any, *, last: bool = False) -> None:
    """One ``"key": value`` of the top-level report object, indented as ``render_json`` would."""
    stream.write(f"  {json.dumps(key)}: {indent_json(value, 1)}{'' if last else ','}\n")


def evaluate_portfolio(
    portfolio_file: Path,
    fact_paths: Sequence[Path],
    as_of: Date | None = None,
    *,
    lenient: bool = False,
    backend: Backend | None = None,
) -> dict[str, Any]:
    """The whole portfolio report as one dict (for programs and tests; ``write_report`` streams instead)."""
    buffer = io.StringIO()
    write_report(portfolio_file, fact_paths, buffer, as_of=as_of, lenient=lenient, backend=backend)
    result: dict[str, Any] = json.loads(buffer.getvalue())
    return result
