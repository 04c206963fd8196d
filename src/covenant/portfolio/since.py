"""What changed across a portfolio since an earlier portfolio report (``covenant portfolio --since``).

Each agreement is compared with its own earlier report exactly as
``covenant check --since`` compares one (``report.changes.diff``, run by the
worker that evaluates it, so every format shows the agreement's changes
where the single report shows them). This module reads the earlier
portfolio report, hands each agreement its part, and adds up what the
fund reads first: how many new breaches, cures, waivers and grown amounts
in total, and which agreements were added to the portfolio or are gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from covenant.diagnostics import InputError, Problem
from covenant.portfolio.overview import CHANGE_KEYS, Overview
from covenant.report.changes import check_report, read_json


@dataclass(frozen=True)
class Earlier:
    """An earlier portfolio report: its as-of date and each agreement's report by id."""

    source: str
    as_of: str | None
    reports: dict[str, dict[str, Any]]


def load_earlier(path: Path) -> Earlier:
    """Read an earlier ``covenant portfolio --format json`` report; InputError naming the file and the field."""
    name = str(path)
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("agreements"), list):
        raise InputError(
            [Problem(name, None, "agreements", "missing or not a list: is this a covenant portfolio JSON report?")]
        )
    if data.get("as_of") is not None and not isinstance(data["as_of"], str):
        raise InputError([Problem(name, None, "as_of", "neither text nor null")])
    problems: list[Problem] = []
    reports: dict[str, dict[str, Any]] = {}
    for number, report in enumerate(data["agreements"]):
        where = f"agreements[{number}]"
        if not isinstance(report, dict) or not isinstance(report.get("agreement"), str):
            problems.append(Problem(name, None, f"{where}.agreement", "missing or not text"))
            continue
        problems.extend(
            Problem(p.file, p.line, f"{where}.{p.field}" if p.field else where, p.message)
            for p in check_report(name, report)
        )
        if report["agreement"] in reports:
            problems.append(Problem(name, None, f"{where}.agreement", f"{report['agreement']!r} twice"))
        reports[report["agreement"]] = report
    if problems:
        raise InputError(problems)
    return Earlier(name, data.get("as_of"), reports)


@dataclass
class Movement:
    """The portfolio's changes in total, and the agreements added or gone, as the report's ``changes``."""

    earlier: Earlier
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANGE_KEYS, 0))
    seen: list[str] = field(default_factory=list)
    changed: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, agreement_id: str, line: Overview) -> None:
        self.seen.append(agreement_id)
        counts = dict(line.changes or ())
        for key, count in counts.items():
            self.totals[key] += count
        if any(counts.values()):
            self.changed[agreement_id] = counts

    def added(self) -> list[str]:
        """Agreements of this run that the earlier report did not have (compared with an empty report)."""
        return sorted(set(self.seen) - set(self.earlier.reports))

    def gone(self) -> list[str]:
        """Agreements of the earlier report that this run no longer has."""
        return sorted(set(self.earlier.reports) - set(self.seen))

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.earlier.as_of,
            "agreements_added": self.added(),
            "agreements_gone": self.gone(),
            "totals": dict(self.totals),
            "agreements": {key: self.changed[key] for key in sorted(self.changed)},
        }


def previous_for(earlier: Earlier | None, ids: Iterable[str]) -> dict[str, Mapping[str, Any]]:
    """Each agreement's earlier report; an agreement new to the portfolio is compared with an empty one.

    So its breaches are all new: what a fund needs to hear about an
    agreement it just took on.
    """
    if earlier is None:
        return {}
    return {key: earlier.reports.get(key, {"agreement": key, "as_of": earlier.as_of, "obligations": []}) for key in ids}
