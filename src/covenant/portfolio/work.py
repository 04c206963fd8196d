"""Pass 2 of a portfolio run: a batch of agreements evaluated in whatever process.

``chunks`` reads back the lines of a few agreements at a time;
``evaluate_chunk`` (in this process, a worker process or a Dask worker)
validates them as ``covenant check`` would (``pipeline``), evaluates each on
its form's compiled ruleset and renders its report. Each agreement is one
engine session (``sid`` = its id), closed when its evaluation ends, so the C
core's limit of 1,024 sessions per ruleset never caps a portfolio's size.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tempfile
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from covenant.portfolio.deadlines import upcoming_of
from covenant.portfolio.feed import OFFSET_BITS, FactIndex, line_content
from covenant.portfolio.file import Member, PortfolioSpec
from covenant.portfolio.overview import Overview, overview
from covenant.portfolio.pieces import Piece, Render, render_piece

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; json writes the same bytes, slower
    _orjson = None  # type: ignore[assignment]

from covenant import facts as fact_logs
from covenant.calendar import Date, as_date
from covenant.diagnostics import InputError, Problem
from covenant.facts import MAX_LINE_BYTES, FactLog
from covenant.language.compiler import CompiledForm
from covenant.language.loader import AGREEMENT_FILE
from covenant.law.driver import FormEvaluator
from covenant.pipeline import (
    agreement_checks,
    evaluate,
    evaluator_for,
)
from covenant.report.changes import diff


# --- work for a worker ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FormSource:
    """Where a worker finds a form: its folder here, and (for a cluster) its files to write down there."""

    folder: str
    digest: str
    files: tuple[tuple[str, bytes], ...] = ()

    @staticmethod
    def of(folder: Path, ship: bool = False) -> FormSource:
        paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))
        contents = tuple((p.name, p.read_bytes()) for p in paths)
        digest = hashlib.sha256()
        for name, data in contents:
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return FormSource(str(folder), digest.hexdigest()[:20], contents if ship else ())


@dataclass(frozen=True)
class AgreementWork:
    """One agreement's raw fact lines, as (file number, line number, bytes) in input order."""

    member: Member
    lines: tuple[tuple[int, int, bytes], ...]


@dataclass(frozen=True)
class Chunk:
    """A batch of whole agreements for one worker call."""

    number: int
    as_of: str | None
    files: tuple[str, ...]  # display names, by file number
    work: tuple[AgreementWork, ...]
    render: Render = "json"
    color: bool = False
    lenient: bool = False
    validate_only: bool = False
    previous: dict[str, Any] = field(default_factory=dict)  # agreement id -> its earlier report (--since)
    since: str = "--since"  # the earlier report's file, as problems name it
    within: int | None = None  # with a window: each agreement's deadlines in it (upcoming --portfolio)


@dataclass(frozen=True)
class AgreementResult:
    id: str
    rendered: str  # the report as JSON (at its depth in the portfolio report) or text
    amounts: dict[str, dict[str, str]]  # the report's summary totals: kind -> buyer -> amount
    statuses: dict[str, int]
    problems: tuple[Problem, ...] = ()
    skipped: tuple[Problem, ...] = ()
    overview: Overview = field(default_factory=Overview)
    piece: Piece = field(default_factory=Piece)  # CSV's cells and columns (other formats: ``rendered``)
    upcoming: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ChunkResult:
    number: int
    results: tuple[AgreementResult, ...]


def chunks(
    spec: PortfolioSpec,
    index: FactIndex,
    as_of: Date | None,
    *,
    render: Render = "json",
    color: bool = False,
    lenient: bool = False,
    validate_only: bool = False,
    facts_per_chunk: int = 20_000,
    previous: dict[str, Any] | None = None,
    since: str = "--since",
    within: int | None = None,
) -> Iterator[Chunk]:
    """Pass 2's input: whole agreements in id order, about ``facts_per_chunk`` facts a batch, read back lazily.

    ``previous`` (agreement id -> its earlier report) goes with each batch
    for the agreements in it only.
    """
    earlier = previous or {}

    def chunk(number: int, batch: list[AgreementWork]) -> Chunk:
        mine = {w.member.id: earlier[w.member.id] for w in batch if w.member.id in earlier}
        return Chunk(number, day, files, tuple(batch), render, color, lenient, validate_only, mine, since, within)

    handles: dict[int, IO[bytes]] = {}
    files = tuple(str(p) for p in index.files)
    day = as_of.isoformat() if as_of else None
    try:
        batch: list[AgreementWork] = []
        size = 0
        number = 0
        for member in spec.members:
            work = AgreementWork(member, tuple(_read_back(index, member.id, handles)))
            batch.append(work)
            size += len(work.lines)
            if size >= facts_per_chunk:
                yield chunk(number, batch)
                number += 1
                batch, size = [], 0
        if batch:
            yield chunk(number, batch)
    finally:
        for handle in handles.values():
            handle.close()


def _read_back(index: FactIndex, agreement_id: str, handles: dict[int, IO[bytes]]) -> Iterator[tuple[int, int, bytes]]:
    mask = (1 << OFFSET_BITS) - 1
    positions = index.positions.get(agreement_id, array("q"))
    numbers = index.lines.get(agreement_id, array("I"))
    for packed, number in zip(positions, numbers, strict=True):
        file_number, offset = packed >> OFFSET_BITS, packed & mask
        handle = handles.get(file_number)
        if handle is None:
            handle = handles[file_number] = index.files[file_number].open("rb")
        handle.seek(offset)
        yield file_number, number, line_content(handle.readline(MAX_LINE_BYTES + 1), number)


# --- pass 2: one agreement, in whatever process ---------------------------------------------------------------------
_ENGINE_LOCK = threading.Lock()
"""The C engine is not thread-safe: a worker with several threads evaluates one chunk at a time."""


def _form(source: FormSource | None, folder: Path) -> FormEvaluator:
    if source is None or not source.files:
        return evaluator_for(folder)
    target = Path(tempfile.gettempdir()) / "covenant-forms" / source.digest
    if not (target / AGREEMENT_FILE).is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{source.digest}.", dir=target.parent))
        for name, data in source.files:
            (staging / name).write_bytes(data)
        try:
            staging.rename(target)  # atomic: another worker of this machine never sees half a folder
        except OSError:  # that worker wrote it first
            shutil.rmtree(staging, ignore_errors=True)
    return evaluator_for(target)


def load_agreement_facts(work: AgreementWork, files: Sequence[str], form: CompiledForm, lenient: bool) -> FactLog:
    """One agreement's lines validated exactly as ``covenant check`` validates a log.

    The checks are ``facts``' own (models, duplicate ids, refs within the
    agreement) and ``pipeline.agreement_checks`` with this agreement's terms
    (its buyers, its id). Raises ``InputError`` unless ``lenient``.
    """
    own = dataclasses.replace(form, agreement=work.member.agreement)
    loading = fact_logs.FactReader(vocabulary=form.vocabulary, lenient=lenient, check=agreement_checks(own))
    lines_read: dict[str, int] = {}
    for file_number, number, raw in work.lines:
        display = files[file_number]
        lines_read[display] = lines_read.get(display, 0) + 1
        loading.read_line(number, raw, len(raw), display)
    loading.lines_read = lines_read
    # As load_fact_logs does: a ref to nothing is a problem; in lenient mode the fact is skipped, and so on.
    facts = loading.resolve_refs()
    return FactLog(facts=tuple(facts), skipped=tuple(sorted(loading.skipped, key=problem_order)), lines_read=lines_read)


def indent_json(value: Any, depth: int) -> str:
    """``value`` as ``render_json`` writes it when it sits ``depth`` levels deep, without the first indent.

    orjson's two-space indent writes the same bytes as ``json.dumps(indent=2,
    ensure_ascii=False)`` for a report (text, integers, booleans, nulls),
    about eight times faster; anything it refuses goes through ``json``.
    """
    try:
        text = _orjson.dumps(value, option=_orjson.OPT_INDENT_2).decode("utf-8") if _orjson else None
    except (TypeError, ValueError):
        text = None
    if text is None:
        text = json.dumps(value, indent=2, ensure_ascii=False)
    return text.replace("\n", "\n" + "  " * depth)


def evaluate_agreement(work: AgreementWork, chunk: Chunk, portfolio: FormEvaluator) -> AgreementResult:
    """One agreement's report, as ``covenant check`` would give it for its facts alone, with its own terms."""
    member = work.member
    try:
        log = load_agreement_facts(work, chunk.files, portfolio.form, chunk.lenient)
    except InputError as error:
        return AgreementResult(member.id, "", {}, {}, tuple(error.problems))
    if chunk.validate_only:
        return AgreementResult(member.id, "", {}, {}, (), log.skipped)
    as_of = as_date(chunk.as_of) if chunk.as_of is not None else None  # None: the portfolio has no facts at all
    checked = evaluate(portfolio, log, as_of, member.agreement)
    report = checked.report
    if member.id in chunk.previous:
        report["changes"] = diff(chunk.previous[member.id], report, source=chunk.since)
    summary = report["summary"]
    amounts = {kind: dict(by_buyer) for kind, by_buyer in summary["totals"].items()}
    if chunk.render == "json":
        piece = Piece(indent_json(report, 2))
    else:
        titles = {rule_id: getattr(rule, "title", "") for rule_id, rule in portfolio.form.rules.items()}
        piece = render_piece(
            report, chunk.render, agreement=member.agreement, facts=log.facts, rule_titles=titles, color=chunk.color
        )
    upcoming = upcoming_of(checked, chunk.within) if chunk.within is not None else ()
    return AgreementResult(
        member.id,
        piece.text,
        amounts,
        dict(summary["statuses"]),
        (),
        log.skipped,
        overview(report),
        Piece("", piece.cells, piece.amount_columns, piece.flag_columns),
        upcoming,
    )


def evaluate_chunk(chunk: Chunk, forms: dict[str, FormSource] | None = None) -> ChunkResult:
    """Pass 2 for a batch of agreements: the function workers run (module-level, so it pickles by name)."""
    forms = forms or {}
    with _ENGINE_LOCK:
        try:
            compiled: dict[Path, FormEvaluator] = {}
            for work in chunk.work:
                folder = work.member.rules
                if folder not in compiled:
                    compiled[folder] = _form(forms.get(str(folder)), folder)
            results = tuple(evaluate_agreement(work, chunk, compiled[work.member.rules]) for work in chunk.work)
        except InputError as error:  # a broken rule folder on a worker: hand the problems back, they pickle
            problem_list = tuple(error.problems)
            results = tuple(AgreementResult(w.member.id, "", {}, {}, problem_list) for w in chunk.work)
    return ChunkResult(chunk.number, results)


class Backend(Protocol):
    """Runs ``evaluate_chunk`` on every chunk and yields the results in chunk order."""

    workers: int  # how many chunks it evaluates at once: the chunks are sized for it
    ship_rules: bool  # whether workers get the rule files with the work (they may not see this file system)

    def run(self, work: Iterable[Chunk], forms: dict[str, FormSource]) -> Iterator[ChunkResult]: ...


class InProcess:
    """Every agreement in this process, one after the other: ``--jobs 1``."""

    workers = 1
    ship_rules = False

    def run(self, work: Iterable[Chunk], forms: dict[str, FormSource]) -> Iterator[ChunkResult]:
        for chunk in work:
            yield evaluate_chunk(chunk, forms)


def problem_order(problem: Problem) -> tuple[str, int, int, str]:
    """Problems in file order, then line and column: how every list of them is printed."""
    return (problem.file, problem.line or 0, problem.column or 0, problem.message)
