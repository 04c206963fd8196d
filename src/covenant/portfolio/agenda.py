"""``covenant upcoming --portfolio``: one run of the portfolio that keeps only its deadlines.

The run is a portfolio run as ``covenant portfolio`` makes it (pass 1, then
batches of agreements on a backend, so ``--jobs`` and a cluster work the
same), but the workers render no report: each hands back its agreement's
deadlines in the window (``deadlines.upcoming_of``), and they are merged
here into one list, soonest first, each naming its agreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from covenant.calendar import Date, as_date
from covenant.diagnostics import Problem
from covenant.portfolio.deadlines import soonest_first, upcoming_json, upcoming_text
from covenant.portfolio.run import chunk_size, gather, prepare
from covenant.portfolio.work import Backend, FormSource, InProcess, problem_order


@dataclass(frozen=True)
class Agenda:
    """Every agreement's deadlines in the window, soonest first, and what was skipped on the way."""

    portfolio: str
    as_of: str | None
    within: int
    items: tuple[dict[str, Any], ...]
    skipped: tuple[Problem, ...]

    def render(self, output_format: str, width: int = 120) -> str:
        """The agenda as ``text``, ``json`` (``upcoming``'s object, ``portfolio`` for ``agreement``) or ``ics``."""
        if output_format == "json":
            from covenant.report.build import render_json

            return render_json(upcoming_json(self.portfolio, self.as_of, self.within, self.items))
        if output_format == "ics":
            from covenant.report.render.ics import render_ics

            return render_ics(self.portfolio, self.as_of or "1970-01-01", self.items)
        return upcoming_text(self.portfolio, self.as_of, self.within, self.items, width)


def portfolio_agenda(
    portfolio_file: Path,
    fact_paths: Sequence[Path],
    within: int,
    *,
    as_of: Date | None = None,
    lenient: bool = False,
    backend: Backend | None = None,
    include_roots: Sequence[Path] = (),
) -> Agenda:
    """Every agreement's pending obligations due in (as_of, as_of + within]; ``InputError`` for bad input."""
    backend = backend or InProcess()
    spec, index = prepare(portfolio_file, fact_paths, lenient=lenient, include_roots=include_roots)
    day = as_of or (as_date(index.latest) if index.latest else None)
    forms = {str(f): FormSource.of(f, ship=backend.ship_rules) for f in sorted({m.rules for m in spec.members})}
    items: list[dict[str, Any]] = []
    skipped = [p for p in index.problems if p.code == "skipped"]
    for result in gather(
        spec,
        index,
        day,
        backend,
        forms,
        render="none",
        color=False,
        lenient=lenient,
        facts_per_chunk=chunk_size(index.count, backend.workers),
        within=within,
    ):
        items.extend(result.upcoming)
        skipped.extend(result.skipped)
    return Agenda(
        spec.name,
        day.isoformat() if day else None,
        within,
        tuple(dict(i) for i in soonest_first(items)),
        tuple(sorted(skipped, key=problem_order)),
    )
