"""Portfolios: many agreements on a few forms, evaluated in one run.

A fund monitors hundreds or thousands of agreements, most of them on the same
form (one rule folder), each with its own parties, principals and
conventions. A portfolio file lists them::

    portfolio: fund-iii
    agreements:
      - id: amnis-2003
        rules: ../rules/amnis-spa-2003     # the form, relative to this file
        terms:                             # overrides the folder's agreement.yaml
          title: Securities Purchase Agreement, Amnis Systems Inc.
          buyers:
            - {id: sds, name: SDS Merchant Fund, LP, principal: "500000.00"}

Facts carry ``agreement`` (required when the portfolio lists more than one)
and are routed to it. A run reads the fact logs twice so that memory stays
the size of one agreement, not of the whole portfolio:

1. ``index_facts`` decodes every line, routes it by ``agreement`` and keeps
   only where it is (file, byte offset, line): about a dozen bytes a fact;
2. ``chunks`` reads back the lines of a few agreements at a time and
   ``evaluate_chunk`` (in this process, a worker process or a Dask worker)
   validates them with the fact models, checks ids, refs and buyers within
   the agreement, evaluates them on the form's compiled ruleset and renders
   each agreement's report.

Each agreement is one engine session (``sid`` = its id) of its form's
ruleset; sessions are closed when their evaluation ends, so the C core's
limit of 1,024 sessions per ruleset never caps a portfolio's size.
Reports come back in agreement-id order whatever the backend, so
``--jobs 1``, ``--jobs N`` and a Dask cluster write the same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import shutil
import tempfile
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; json writes the same bytes, slower
    _orjson = None  # type: ignore[assignment]

from covenant import facts as fact_logs
from covenant.calendar import Date, as_date
from covenant.diagnostics import InputError, Problem
from covenant.facts import MAX_FACTS, MAX_LINE_BYTES, FactLog, expand_paths
from covenant.language.compiler import CompiledForm
from covenant.language.loader import AGREEMENT_FILE, locate, read_yaml
from covenant.language.model import RULE_ID, Agreement
from covenant.law.driver import FormEvaluator
from covenant.pipeline import agreement_checks, evaluate, evaluator_for
from covenant.report.build import STATUS_ORDER
from covenant.report.render.text import render_text

Render = Literal["json", "text"]
"""How a worker hands back each report: JSON text (at its depth in the portfolio report) or terminal text."""

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BOM = b"\xef\xbb\xbf"
_OFFSET_BITS = 40  # a fact log may be up to 1 TiB; the file number goes in the bits above
_LIST_AT_MOST = 8  # agreements named in an "unknown agreement" message


# --- the portfolio file ---------------------------------------------------------------------------------------------
class AgreementEntry(BaseModel):
    """One agreement of the portfolio: its id, its form, and the terms that differ from the form's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=RULE_ID, description="the agreement's id; facts name it in `agreement`")]
    rules: Annotated[str, Field(min_length=1, description="the form's rule folder, relative to the portfolio file")]
    terms: dict[str, Any] = Field(
        default_factory=dict,
        description="keys of agreement.yaml (title, buyers, debentures, calendar...) that replace the form's",
    )


class PortfolioPart(BaseModel):
    """A file of more agreements, named by the portfolio file's ``include``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agreements: list[AgreementEntry] = Field(min_length=1)


class PortfolioFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    portfolio: Annotated[str, Field(pattern=RULE_ID)] | None = Field(
        default=None, description="the portfolio's name (default: the file's name)"
    )
    agreements: list[AgreementEntry] = Field(default_factory=list)
    include: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="files of more agreements (`agreements:` only), relative to this file: a portfolio of any size",
    )


@dataclass(frozen=True)
class Member:
    """An agreement of the portfolio, with its terms merged over its form's."""

    id: str
    rules: Path
    agreement: Agreement


@dataclass(frozen=True)
class PortfolioSpec:
    name: str
    file: str
    members: tuple[Member, ...]  # sorted by id: the order of the report

    def by_id(self) -> dict[str, Member]:
        return {m.id: m for m in self.members}


def _plain(value: Any) -> Any:
    """ruamel's containers as plain dicts and lists (and unquoted dates as text), for pydantic."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    return value


def merge_terms(base: dict[str, Any], terms: dict[str, Any]) -> dict[str, Any]:
    """The form's terms with the agreement's over them: mappings merge key by key, anything else is replaced.

    So ``calendar: {mail_delay_days: 3}`` changes one convention and keeps the
    others, while ``buyers: [...]`` is the agreement's whole list of Buyers.
    """
    merged = dict(base)
    for key, value in terms.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_terms(merged[key], value)
        else:
            merged[key] = value
    return merged


def _problems(error: ValidationError, tree: Any, display: str, prefix: Sequence[int | str]) -> list[Problem]:
    problems = []
    for item in error.errors():
        path = [*prefix, *(p for p in item["loc"] if not (isinstance(p, str) and p.endswith("]")))]
        line, column = locate(tree, path)
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (see docs/portfolios.md)"
        elif item["type"] == "missing":
            message = "required key is missing"
        field_name = ".".join(str(p) for p in path) or None
        problems.append(Problem(display, line, field_name, message, column))
    return problems


def _read(path: Path, model: type[BaseModel]) -> tuple[Any, Any]:
    tree = read_yaml(path)
    try:
        return tree, model.model_validate(_plain(tree))
    except ValidationError as error:
        raise InputError(_problems(error, tree, str(path), [])) from None


def load_portfolio(path: Path) -> PortfolioSpec:
    """Read and validate a portfolio file and the files it includes; every problem comes with its file and line.

    Each file is read with ``language.yamlfile.read_yaml`` (safe YAML, at most 1 MB):
    a portfolio too big for one file lists the others in ``include``.
    """
    display = str(path)
    tree, parsed = _read(path, PortfolioFile)
    assert isinstance(parsed, PortfolioFile)
    problems: list[Problem] = []
    files: list[tuple[Path, Any, list[AgreementEntry]]] = [(path, tree, parsed.agreements)]
    for number, name in enumerate(parsed.include):
        part = path.parent / name
        if not part.is_file():
            line, column = locate(tree, ["include", number])
            problems.append(Problem(display, line, f"include.{number}", f"no such file {part}", column))
            continue
        try:
            part_tree, part_parsed = _read(part, PortfolioPart)
        except InputError as error:
            problems.extend(error.problems)
            continue
        assert isinstance(part_parsed, PortfolioPart)
        files.append((part, part_tree, part_parsed.agreements))
    if not problems and not any(entries for _, _, entries in files):
        line, column = locate(tree, ["agreements"])
        problems.append(Problem(display, line, "agreements", "the portfolio lists no agreement", column))
    members: dict[str, Member] = {}
    places: dict[str, str] = {}
    forms: dict[Path, dict[str, Any]] = {}
    for file, file_tree, entries in files:
        for index, entry in enumerate(entries):
            member, found = _member(file, file_tree, index, entry, forms)
            if member is not None and member.id in members:
                line, column = locate(file_tree, ["agreements", index, "id"])
                message = f"agreement {entry.id!r} is listed twice (first at {places[entry.id]})"
                found.append(Problem(str(file), line, "id", message, column))
            elif member is not None:
                members[member.id] = member
                places[member.id] = f"{file}:{locate(file_tree, ['agreements', index, 'id'])[0]}"
            problems.extend(found)
    if problems:
        raise InputError(problems)
    return PortfolioSpec(
        name=parsed.portfolio or path.stem,
        file=display,
        members=tuple(members[k] for k in sorted(members)),
    )


def _member(
    file: Path, tree: Any, index: int, entry: AgreementEntry, forms: dict[Path, dict[str, Any]]
) -> tuple[Member | None, list[Problem]]:
    """One entry with its terms merged over its form's, or the problems with it."""
    display = str(file)
    where: list[int | str] = ["agreements", index]
    folder = (file.parent / entry.rules).resolve()
    if folder not in forms:
        if not (folder / AGREEMENT_FILE).is_file():
            line, column = locate(tree, [*where, "rules"])
            return None, [Problem(display, line, "rules", f"no rule folder with {AGREEMENT_FILE} at {folder}", column)]
        # The rule files are checked here, once per folder; the form's own terms are the base of each agreement's.
        forms[folder] = evaluator_for(folder).form.agreement.model_dump(exclude_none=True)
    if "id" in entry.terms:
        line, column = locate(tree, [*where, "terms", "id"])
        return None, [Problem(display, line, "terms.id", "the agreement's id is the entry's `id`", column)]
    merged = merge_terms(forms[folder], _plain(entry.terms))
    merged["id"] = entry.id
    try:
        agreement = Agreement.model_validate(merged)
    except ValidationError as error:
        return None, _problems(error, tree, display, [*where, "terms"])
    return Member(id=entry.id, rules=folder, agreement=agreement), []


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


def _content(raw: bytes, number: int) -> bytes:
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
                        problem = Problem(
                            display, number, None, f"more than {MAX_FACTS:,} facts for agreement {target!r}"
                        )
                if problem is not None:
                    (skipped if lenient else index.problems).append(problem)
                    continue
                assert value is not None
                if target not in index.positions:
                    index.positions[target] = array("q")
                    index.lines[target] = array("I")
                index.positions[target].append((file_number << _OFFSET_BITS) | offset)
                index.lines[target].append(number)
                day = value.get("date")
                if isinstance(day, str) and _DATE_RE.match(day) and (index.latest is None or day > index.latest):
                    index.latest = day
        index.lines_read[display] = count
    if lenient:
        index.problems.extend(Problem(p.file, p.line, p.field, p.message, p.column, code="skipped") for p in skipped)
    return index


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


@dataclass(frozen=True)
class AgreementResult:
    id: str
    rendered: str  # the report as JSON (at its depth in the portfolio report) or text
    amounts: dict[str, dict[str, str]]  # the report's summary totals: kind -> buyer -> amount
    statuses: dict[str, int]
    problems: tuple[Problem, ...] = ()
    skipped: tuple[Problem, ...] = ()


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
) -> Iterator[Chunk]:
    """Pass 2's input: whole agreements in id order, about ``facts_per_chunk`` facts a batch, read back lazily."""
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
                yield Chunk(number, day, files, tuple(batch), render, color, lenient, validate_only)
                number += 1
                batch, size = [], 0
        if batch:
            yield Chunk(number, day, files, tuple(batch), render, color, lenient, validate_only)
    finally:
        for handle in handles.values():
            handle.close()


def _read_back(index: FactIndex, agreement_id: str, handles: dict[int, IO[bytes]]) -> Iterator[tuple[int, int, bytes]]:
    mask = (1 << _OFFSET_BITS) - 1
    positions = index.positions.get(agreement_id, array("q"))
    numbers = index.lines.get(agreement_id, array("I"))
    for packed, number in zip(positions, numbers, strict=True):
        file_number, offset = packed >> _OFFSET_BITS, packed & mask
        handle = handles.get(file_number)
        if handle is None:
            handle = handles[file_number] = index.files[file_number].open("rb")
        handle.seek(offset)
        yield file_number, number, _content(handle.readline(MAX_LINE_BYTES + 1), number)


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
    return FactLog(facts=tuple(facts), skipped=tuple(sorted(loading.skipped, key=_place)), lines_read=lines_read)


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
    report = evaluate(portfolio, log, as_of, member.agreement).report
    summary = report["summary"]
    amounts = {kind: dict(by_buyer) for kind, by_buyer in summary["totals"].items()}
    rendered = render_text(report, color=chunk.color) if chunk.render == "text" else indent_json(report, 2)
    return AgreementResult(member.id, rendered, amounts, dict(summary["statuses"]), (), log.skipped)


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


# --- totals and the whole run ---------------------------------------------------------------------------------------
@dataclass
class Totals:
    """Money per agreement, per Buyer and for the portfolio, and obligations per status."""

    agreements: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    buyers: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)

    def add(self, result: AgreementResult) -> None:
        own: dict[str, Decimal] = {}
        for kind, by_buyer in result.amounts.items():
            for buyer, amount in by_buyer.items():
                if buyer == "total":
                    own[kind] = own.get(kind, Decimal(0)) + Decimal(amount)
                    continue
                entry = self.buyers.setdefault(buyer, {})
                entry[kind] = entry.get(kind, Decimal(0)) + Decimal(amount)
        self.agreements[result.id] = own
        for status, count in result.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.statuses = {s: self.statuses[s] for s in sorted(self.statuses, key=_status_rank)}

    def to_json(self) -> dict[str, Any]:
        portfolio: dict[str, Decimal] = {}
        for amounts in self.agreements.values():
            for kind, amount in amounts.items():
                portfolio[kind] = portfolio.get(kind, Decimal(0)) + amount
        return {
            "statuses": dict(self.statuses),
            "portfolio": _money(portfolio),
            "agreements": {key: _money(self.agreements[key]) for key in sorted(self.agreements)},
            "buyers": {key: _money(self.buyers[key]) for key in sorted(self.buyers)},
        }


def _place(problem: Problem) -> tuple[str, int, int, str]:
    return (problem.file, problem.line or 0, problem.column or 0, problem.message)


def _status_rank(status: str) -> tuple[int, str]:
    return (STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER), status)


def _money(amounts: dict[str, Decimal]) -> dict[str, str]:
    out = {kind: f"{amounts[kind]:.2f}" for kind in sorted(amounts)}
    out["total"] = f"{sum(amounts.values(), Decimal(0)):.2f}"
    return out


@dataclass
class Outcome:
    """What a run found, beside the report it wrote."""

    agreements: int = 0
    facts: int = 0
    totals: Totals = field(default_factory=Totals)
    skipped: list[Problem] = field(default_factory=list)

    @property
    def breached(self) -> int:
        return self.totals.statuses.get("breached", 0)


def prepare(
    portfolio_file: Path, fact_paths: Sequence[Path], *, lenient: bool = False
) -> tuple[PortfolioSpec, FactIndex]:
    """Load the portfolio and index its facts; raise ``InputError`` for what pass 1 can see."""
    spec = load_portfolio(portfolio_file)
    index = index_facts(fact_paths, spec, lenient=lenient)
    return spec, index


def _gather(
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
) -> Iterator[AgreementResult]:
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
    work = chunks(spec, index, as_of, render=render, color=color, lenient=lenient, facts_per_chunk=facts_per_chunk)
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
    output_format: Literal["json", "text"] = "json",
    color: bool = False,
    lenient: bool = False,
    backend: Backend | None = None,
) -> Outcome:
    """Evaluate a portfolio and write its report to ``stream``, one agreement at a time.

    On ``InputError`` part of a report may have been written: callers write
    to a temporary file and keep it only when this returns (``covenant
    portfolio`` does). ``backend`` defaults to this process (``--jobs 1``).
    """
    backend = backend or InProcess()
    spec, index = prepare(portfolio_file, fact_paths, lenient=lenient)
    day = as_of or (as_date(index.latest) if index.latest else None)
    folders = sorted({m.rules for m in spec.members})
    forms = {str(folder): FormSource.of(folder, ship=backend.ship_rules) for folder in folders}
    outcome = Outcome(facts=index.count)
    results = _gather(
        spec,
        index,
        day,
        backend,
        forms,
        render=output_format,
        color=color,
        lenient=lenient,
        facts_per_chunk=chunk_size(index.count, backend.workers),
    )
    skipped = [p for p in index.problems if p.code == "skipped"]
    if output_format == "json":
        stream.write("{\n")
        stream.write(f'  "portfolio": {json.dumps(spec.name, ensure_ascii=False)},\n')
        stream.write(f'  "as_of": {json.dumps(day.isoformat() if day else None)},\n')
        stream.write('  "agreements": [')
        first = True
        for result in results:
            stream.write("\n    " if first else ",\n    ")
            stream.write(result.rendered)
            first = False
            outcome.agreements += 1
            outcome.totals.add(result)
            skipped.extend(result.skipped)
        stream.write("\n  ],\n" if not first else "],\n")
        tail: dict[str, Any] = {
            "totals": outcome.totals.to_json(),
            "facts": {"read": index.count, "per_file": dict(sorted(index.lines_read.items()))},
        }
        if skipped:
            tail["skipped"] = [p.format() for p in sorted(skipped, key=_place)]
        stream.write(json.dumps(tail, indent=2, ensure_ascii=False)[2:])  # its keys, and the closing brace
        stream.write("\n")
    else:
        for result in results:
            if outcome.agreements:
                stream.write("\n")
            stream.write(result.rendered)
            outcome.agreements += 1
            outcome.totals.add(result)
            skipped.extend(result.skipped)
        stream.write("\n" if outcome.agreements else "")
        stream.write(render_totals_text(spec.name, day, outcome.totals, color=color))
    outcome.skipped = sorted(skipped, key=_place)
    return outcome


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


def render_totals_text(name: str, as_of: Date | None, totals: Totals, *, color: bool = False, width: int = 120) -> str:
    """The portfolio's totals as a person reads them: per Buyer, then per agreement with money at stake."""
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False)
    data = totals.to_json()
    counted = ", ".join(f"{n} {s}" for s, n in data["statuses"].items() if n)
    console.print(
        f"[bold]Portfolio {name}[/bold] as of {as_of.isoformat() if as_of else '-'}: "
        f"{len(data['agreements'])} agreements, obligations {counted or 'none'}"
    )
    kinds = sorted({k for amounts in data["buyers"].values() for k in amounts if k != "total"})
    for title, rows in (
        ("Totals per Buyer", data["buyers"]),
        ("Totals per agreement (with amounts)", {k: v for k, v in data["agreements"].items() if v["total"] != "0.00"}),
    ):
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        table.add_column("buyer" if "Buyer" in title else "agreement")
        for kind in kinds:
            table.add_column(kind.replace("_", " "), justify="right")
        table.add_column("total", justify="right")
        for key, amounts in rows.items():
            table.add_row(key, *(amounts.get(kind, "0.00") for kind in kinds), amounts["total"])
        console.print(table)
    console.print(f"Portfolio total: {data['portfolio']['total']}")
    return buffer.getvalue()
