"""The report as CSV: one row per obligation, for spreadsheets.

The JSON fields are flattened: remedies become one amount column per
(remedy kind, Buyer), evidence is joined with spaces, waivers and discharges
become ``buyer:date`` lists. Columns come in a fixed order (report.md's
fields, then the amounts, SLD first, Buyers sorted), so a spreadsheet that
reads yesterday's file reads today's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from covenant.report.render.common import NO_WORDS, RemedyWords, buyers_in

FIELDS = (
    "rule",
    "clause",
    "beneficiary",
    "trigger",
    "due",
    "status",
    "breach_start",
    "cured_on",
    "days_in_breach",
    "ended_on",
    "waived_by",
    "discharged_by",
)
TAIL = ("evidence", "explanation", "survival_note")
MEASURE_FIELDS = ("measure_value", "measure_limit", "measure_test")
"""A financial test's figure, limit and comparison; only in a report that has tests (a form without none)."""


def amount_column(kind: str, buyer: str) -> str:
    """The column of one remedy kind's amount for one Buyer: ``standard_liquidated_damages_alpha``."""
    return f"{kind}_{buyer}"


def column_parts(report: Mapping[str, Any], words: RemedyWords = NO_WORDS) -> tuple[list[tuple[str, str]], list[str]]:
    """The (kind, Buyer) of every amount column and the kind of every flag column, in the fixed order.

    Apart from ``columns`` so that a portfolio's CSV can take the union of
    its agreements' columns in the same order.
    """
    kinds_with_amounts = set()
    flag_kinds = set()
    for obligation in report["obligations"]:
        for remedy in obligation["remedies"]:
            (kinds_with_amounts if "amount" in remedy else flag_kinds).add(remedy["kind"])
    order = words.ordered({*words.amounts, *words.flags, *kinds_with_amounts, *flag_kinds})
    buyers = buyers_in(report)
    amounts = [
        (kind, buyer) for kind in order if kind in kinds_with_amounts or kind in words.amounts for buyer in buyers
    ]
    flags = [kind for kind in order if kind in flag_kinds or kind in words.flags]
    return amounts, flags


def columns(report: Mapping[str, Any], words: RemedyWords = NO_WORDS) -> list[str]:
    """Every column, in the fixed order; flag-only remedies (event of default) get one yes/empty column."""
    amounts, flags = column_parts(report, words)
    measured = MEASURE_FIELDS if any(o.get("measure") for o in report["obligations"]) else ()
    return [*FIELDS, *measured, *(amount_column(kind, buyer) for kind, buyer in amounts), *flags, *TAIL]


def _pairs(mapping: Mapping[str, str] | None) -> str:
    return " ".join(f"{buyer}:{day}" for buyer, day in sorted((mapping or {}).items()))


def row(obligation: Mapping[str, Any]) -> dict[str, str]:
    """One obligation as CSV cells (strings; empty for null)."""
    cells: dict[str, str] = {}
    for name in FIELDS:
        value = obligation.get(name)
        if name in ("waived_by", "discharged_by"):
            cells[name] = _pairs(value)
        else:
            cells[name] = "" if value is None else str(value)
    for remedy in obligation["remedies"]:
        if "amount" in remedy and remedy.get("buyer"):
            cells[amount_column(remedy["kind"], remedy["buyer"])] = remedy["amount"]
        else:
            cells[remedy["kind"]] = "yes"
    measure = obligation.get("measure") or {}
    for name in MEASURE_FIELDS:
        value = measure.get(name.removeprefix("measure_"))
        if value is not None:
            cells[name] = str(value)
    cells["evidence"] = " ".join(obligation["evidence"])
    cells["explanation"] = obligation.get("explanation", "")
    cells["survival_note"] = obligation.get("survival_note", "")
    return cells


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet program read a cell as a formula (OWASP, "CSV injection")."""


def neutralised(cell: str) -> str:
    """A cell no spreadsheet runs: one that would start a formula gets a leading apostrophe.

    No cell the monitor writes starts so today (ids start with a letter or a
    digit, dates with the year, explanations with the clause), so this only
    ever changes text a rule or fact file should not have held.
    """
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def render_csv(report: Mapping[str, Any], words: RemedyWords = NO_WORDS) -> str:
    """RFC 4180 CSV (CRLF line ends, quoted when needed), a header row, then one row per obligation."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns(report, words), restval="", extrasaction="raise")
    writer.writeheader()
    for obligation in report["obligations"]:
        writer.writerow(safe_row(obligation))
    return buffer.getvalue()


def safe_row(obligation: Mapping[str, Any]) -> dict[str, str]:
    """``row`` with every cell ``neutralised``: what a file may hold."""
    return {name: neutralised(cell) for name, cell in row(obligation).items()}
