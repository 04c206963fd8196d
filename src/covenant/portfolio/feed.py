"""Pass 1 of a portfolio run: where each agreement's facts are in the fact logs.

Facts carry ``agreement`` (required when the portfolio lists more than one)
and are routed to it. Every line is decoded once and only its place is kept
(file, byte offset, line): about a dozen bytes a fact, so memory stays the
size of one agreement, not of the whole portfolio.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from covenant.portfolio.file import PortfolioSpec

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; json writes the same bytes, slower
    _orjson = None  # type: ignore[assignment]

from covenant import facts as fact_logs
from covenant.diagnostics import Problem
from covenant.facts import MAX_FACTS, expand_paths

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BOM = b"\xef\xbb\xbf"
OFFSET_BITS = 40  # a fact log may be up to 1 TiB; the file number goes in the bits above
_LIST_AT_MOST = 8  # agreements named in an "unknown agreement" message


# --- pass 1: where each agreement's facts are -----------------------------------------------------------------------
@dataclass
class FactIndex:
    """Every routed fact line, as (file number, byte offset) and line number per agreement.

    Lines are decoded once here only to read ``agreement`` and ``date``;
    the fact models validate them in pass 2, agreement by agreement.
    """

    files: list[Path]
    positions: dict[str, array] = field(default_factory=dict)  # agreement -> packed file number and offset
    lines: dict[str, array] = field(default_factory=dict)  # agreement -> line numbers
    lines_read: dict[str, int] = field(default_factory=dict)
    latest: str | None = None  # the latest well-formed fact date, for the default as-of date
    problems: list[Problem] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(p) for p in self.positions.values())

    def count_for(self, agreement_id: str) -> int:
        positions = self.positions.get(agreement_id)
        return len(positions) if positions is not None else 0


def line_content(raw: bytes, number: int) -> bytes:
    """A line read back as ``facts`` reads it: no byte order mark, no line end."""
    if number == 1 and raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    return raw.rstrip(b"\n").rstrip(b"\r")


def _lines_with_offsets(stream: IO[bytes]) -> Iterator[tuple[int, int, bytes | None, int]]:
    """``facts``' own line reader (same line ends, same limit), with where each line starts."""
    lines = fact_logs.raw_lines(stream)  # type: ignore[arg-type]
    while True:
        offset = stream.tell()
        item = next(lines, None)
        if item is None:
            return
        number, raw, length = item
        yield number, offset, raw, length


def _route(raw: bytes) -> dict[str, Any] | None:
    """The fast decode of pass 1; ``None`` when the line is not a JSON object (pass 1 then asks ``facts`` why)."""
    try:
        value = _orjson.loads(raw) if _orjson else json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # orjson.JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    return value if isinstance(value, dict) else None


def _unknown_agreement(value: Any, spec: PortfolioSpec) -> str:
    ids = [m.id for m in spec.members]
    listed = ", ".join(ids[:_LIST_AT_MOST]) + (
        f" and {len(ids) - _LIST_AT_MOST:,} more" if len(ids) > _LIST_AT_MOST else ""
    )
    return f"unknown agreement {value!r}; the portfolio {spec.name!r} lists {listed}"


def index_facts(paths: Iterable[Path], spec: PortfolioSpec, *, lenient: bool = False) -> FactIndex:
    """Pass 1: route every fact line to its agreement, keeping only its place.

    Only what routing needs is checked here (the line is a JSON object, its
    ``agreement`` is one of the portfolio's); everything else about a fact
    is checked in pass 2, with its agreement's buyers.
    """
    files = expand_paths(paths)
    index = FactIndex(files=files)
    known = {m.id for m in spec.members}
    single = spec.members[0].id if len(spec.members) == 1 else None
    skipped: list[Problem] = []
    for file_number, path in enumerate(files):
        display = str(path)
        if not path.is_file():
            index.problems.append(Problem(display, None, None, "no such fact log"))
            continue
        count = 0
        try:
            count = _index_file(index, path, file_number, spec, known, single, lenient, skipped)
        except OSError as error:
            index.problems.append(Problem(display, None, None, f"cannot read: {error.strerror or error}"))
        index.lines_read[display] = count
    if lenient:
        index.problems.extend(Problem(p.file, p.line, p.field, p.message, p.column, code="skipped") for p in skipped)
    return index


def _index_file(
    index: FactIndex,
    path: Path,
    file_number: int,
    spec: PortfolioSpec,
    known: set[str],
    single: str | None,
    lenient: bool,
    skipped: list[Problem],
) -> int:
    """Route the lines of one log (``index_facts``); return how many lines it holds."""
    display = str(path)
    count = 0
    with path.open("rb") as stream:
        for number, offset, raw, length in _lines_with_offsets(stream):
            if raw is not None and not raw.strip():
                continue
            count += 1
            value = _route(raw) if raw is not None else None
            problem: Problem | None = None
            if value is None:
                _, problem = fact_logs.decode_line(number, raw, length, display)
                problem = problem or Problem(display, number, None, "not a fact")
            else:
                target = value.get("agreement", single)
                if target is None:
                    problem = Problem(
                        display,
                        number,
                        "agreement",
                        f"required: the portfolio {spec.name!r} has {len(known):,} agreements; "
                        "say which one this fact belongs to",
                    )
                elif not isinstance(target, str) or target not in known:
                    problem = Problem(display, number, "agreement", _unknown_agreement(target, spec))
                elif index.count_for(target) >= MAX_FACTS:
                    problem = Problem(display, number, None, f"more than {MAX_FACTS:,} facts for agreement {target!r}")
            if problem is not None:
                (skipped if lenient else index.problems).append(problem)
                continue
            assert value is not None
            if target not in index.positions:
                index.positions[target] = array("q")
                index.lines[target] = array("I")
            index.positions[target].append((file_number << OFFSET_BITS) | offset)
            index.lines[target].append(number)
            day = value.get("date")
            if isinstance(day, str) and _DATE_RE.match(day) and (index.latest is None or day > index.latest):
                index.latest = day
    return count
