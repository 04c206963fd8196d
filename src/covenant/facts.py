"""The loading of fact logs, and the kinds of value a fact's fields hold.

A fact log is JSONL typed by people or written by other programs, so it is
validated here, at the edge: unknown types and fields, bad dates, wrong JSON
types, duplicate ids and dangling refs are all reported, every one of them,
with file, line and field. Which fact types exist belongs to the agreement
form, not to this module: each form declares them in its rule folder
(``vocabulary.yaml``, docs/vocabulary.md), ``language/vocabulary.py`` builds
one pydantic model per type from the field kinds defined here (``FactDate``,
``Amount``, ``Identifier``...), and the reader takes the result as a
``FactVocabulary``. What passes is a tuple of immutable ``Fact`` values in
input order; nothing downstream re-checks the shape of a fact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Protocol

import pendulum
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictInt,
    WithJsonSchema,
)

from covenant.calendar import Date
from covenant.diagnostics import InputError, Problem

MAX_LINE_BYTES = 1_000_000
"""A fact is a few hundred bytes; a longer line is a broken export, not a fact (docs/limits.md)."""

MAX_FACTS = 1_000_000
"""Facts per run, all files together: far beyond any agreement's history, short of exhausting memory."""

MAX_ID_LENGTH = 200
FIRST_DAY = pendulum.Date(1900, 1, 1)
LAST_DAY = pendulum.Date(2199, 12, 31)
"""Dates of facts (and the as-of date): the calendar walks month by month from the Closing, within these."""
MAX_AMOUNT = Decimal(10) ** 15
"""Amounts in USD: a quadrillion is no real amount, and keeps the arithmetic exact."""

MAX_SHARES = 10**15
"""Share counts: the engine compares 64-bit integers, times small factors (twice the issuable shares)."""

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-/#]*$"
_RESERVED_ID = re.compile(r"^\d{4}-\d{2}-\d{2}$")
"""Period ends are the triggers of calendar obligations, named by their date: a fact may not take that name."""
_AMOUNT_TEXT = re.compile(r"^-?\d+(\.\d+)?$")
_BOM = b"\xef\xbb\xbf"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _parse_date(value: Any) -> Date:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise ValueError("expected a date written YYYY-MM-DD")
    return _date_from_text(value)


@lru_cache(maxsize=1 << 16)
def _date_from_text(value: str) -> Date:
    """Remembered: a log names the same days again and again, and pendulum builds each Date in Python."""
    try:
        day = pendulum.Date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{value!r} is out of range ({FIRST_DAY} to {LAST_DAY})")
    return day


def _parse_amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError('expected an amount: a decimal string such as "1250.00" or a number')
    text = str(value).strip()
    if isinstance(value, str) and not _AMOUNT_TEXT.match(text):
        raise ValueError(f"{value!r} is not a decimal amount")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    if amount < 0:
        raise ValueError(f"{value!r} is negative; amounts are zero or more")
    if amount >= MAX_AMOUNT:
        raise ValueError(f"{value!r} is too large; amounts are below {MAX_AMOUNT:,}")
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if exponent < -6:
        raise ValueError(f"{value!r} has more than six decimal places")
    if exponent > 0:
        amount = amount.quantize(Decimal(1))  # 1E+3 from a JSON number: written as 1000
    return amount


def _check_id(value: str) -> str:
    if _RESERVED_ID.match(value):
        raise ValueError(f"{value!r} is shaped like a date; such ids name period ends (use e.g. 'f-{value}')")
    return value


def _parse_month(value: Any) -> str:
    if not isinstance(value, str) or not _MONTH_RE.match(value):
        raise ValueError("expected a month written YYYY-MM")
    return value


FactDate = Annotated[Date, PlainValidator(_parse_date), WithJsonSchema({"type": "string", "format": "date"})]
Amount = Annotated[
    Decimal,
    PlainValidator(_parse_amount),
    WithJsonSchema({"type": ["string", "number"], "pattern": r"^\d+(\.\d{1,6})?$", "minimum": 0}),
]
Month = Annotated[str, PlainValidator(_parse_month), WithJsonSchema({"type": "string", "pattern": r"^\d{4}-\d{2}$"})]
Text = Annotated[str, Field(min_length=1, max_length=500)]
Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH, pattern=_ID_PATTERN)]
FactId = Annotated[Identifier, AfterValidator(_check_id)]
Shares = Annotated[StrictInt, Field(ge=0, le=MAX_SHARES)]


class FactBase(BaseModel):
    """Fields every fact has: the base of every form's fact models (``language.vocabulary`` builds them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: FactId
    date: FactDate
    agreement: Identifier | None = None
    note: Annotated[str, Field(max_length=10_000)] | None = None


@dataclass(frozen=True)
class Fact:
    """One validated fact: what the rules see, and where it came from."""

    id: str
    type: str
    date: Date
    fields: dict[str, Any]
    file: str
    line: int
    order: int
    agreement: str | None = None
    note: str | None = field(default=None, compare=False)

    def get(self, name: str, default: Any = None) -> Any:
        if name in ("id", "type", "date"):
            return getattr(self, name)
        return self.fields.get(name, default)

    def to_json(self) -> dict[str, Any]:
        """The fact as it was recorded, for reports and explanations."""
        out: dict[str, Any] = {"id": self.id, "type": self.type, "date": self.date.isoformat()}
        for name, value in self.fields.items():
            out[name] = _jsonable(value)
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, pendulum.Date):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class FactLog:
    """Every fact of one run, in input order, plus what was skipped (lenient mode).

    ``lines_read`` counts the non-blank lines of each file: every one of them
    is either a fact of ``facts`` or a line named by a problem of ``skipped``.
    """

    facts: tuple[Fact, ...]
    skipped: tuple[Problem, ...] = ()
    lines_read: dict[str, int] = field(default_factory=dict)

    def by_id(self) -> dict[str, Fact]:
        return {f.id: f for f in self.facts}

    def skipped_lines(self) -> dict[str, int]:
        """How many lines of each file were skipped (a line may have several problems)."""
        lines: dict[str, set[int | None]] = {}
        for problem in self.skipped:
            lines.setdefault(problem.file, set()).add(problem.line)
        return {file: len(numbers) for file, numbers in sorted(lines.items())}


FactCheck = Callable[[Fact], list[Problem]]
"""A check that needs the agreement (its parties, its id, the ids its rules derive), run on each fact."""

_MESSAGE_TEXT = 120


def clip(text: str, limit: int = _MESSAGE_TEXT) -> str:
    """Messages quote what was written; a megabyte of it helps nobody."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_error(error: dict[str, Any]) -> str:
    """A pydantic error of a fact in the words of a fact log's messages (shared by every form's models)."""
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "union_tag_invalid":
        return (
            f"unknown fact type {clip(repr(error['ctx']['tag']), 60)}"
            " (the types: the rule folder's vocabulary.yaml, or `covenant vocabulary RULES`)"
        )
    if kind == "union_tag_not_found":
        return "required field is missing"
    if kind == "literal_error":
        return f"expected {error['ctx']['expected']}"
    if kind == "string_pattern_mismatch":
        return "expected an identifier (letters, digits and _ . : - / #, starting with a letter or digit)"
    message = str(error["msg"])
    return clip(message.removeprefix("Value error, "), 300)


COMMON_FIELDS = frozenset({"id", "type", "date", "agreement", "note"})
"""Every fact of every form has these; they are kept on ``Fact`` itself rather than in its ``fields``."""


MAX_NESTING = 8
"""A fact is an object of scalars and lists of ids: two levels. Deeper is not a fact (docs/limits.md)."""


def raw_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None, int]]:
    """Yield (line number, bytes without the line end, length) for every line.

    The file is read a line at a time, and a line longer than
    ``MAX_LINE_BYTES`` is never held in memory: it is counted through and
    yielded as ``None`` with its length.
    """
    number = 0
    while True:
        chunk = stream.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return
        number += 1
        if number == 1 and chunk.startswith(_BOM):
            chunk = chunk[len(_BOM) :]
        if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            length = len(chunk)
            while True:
                more = stream.readline(1 << 20)
                length += len(more)
                if not more or more.endswith(b"\n"):
                    break
            yield number, None, length
            continue
        line = chunk.rstrip(b"\n").rstrip(b"\r")
        yield number, line, len(line)


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _value_problem(value: Any) -> tuple[str | None, str] | None:
    """Nesting and text that the rest of the program must never see: (field, message)."""
    stack: list[tuple[Any, int, str | None]] = [(value, 0, None)]
    while stack:
        item, depth, top = stack.pop()
        if depth > MAX_NESTING:
            return top, f"nested more than {MAX_NESTING} levels deep; a fact holds text, numbers and lists of ids"
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return top, "text with an unpaired surrogate (\\ud800-\\udfff) is not Unicode"
        elif isinstance(item, dict):
            for key, inner in item.items():
                name = key if top is None else top
                if _value_problem_key(key):
                    return clip(repr(key), 60), "a field name must be Unicode text without unpaired surrogates"
                stack.append((inner, depth + 1, name))
        elif isinstance(item, list):
            stack.extend((inner, depth + 1, top) for inner in item)
    return None


def _may_hide_a_problem(raw: bytes) -> bool:
    """Whether ``_value_problem`` has anything to find in this line.

    Valid UTF-8 decodes to text without surrogates unless the JSON writes
    one as an escape (``\\ud800``), and an object cannot nest deeper than
    its brackets, so most lines need no walk at all.
    """
    return b"\\u" in raw or raw.count(b"{") + raw.count(b"[") > MAX_NESTING


def _value_problem_key(key: str) -> bool:
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def decode_line(number: int, raw: bytes | None, length: int, display: str) -> tuple[Any, Problem | None]:
    """One line -> (decoded object, None) or (None, the problem with it)."""
    if raw is None:
        return None, Problem(
            display, number, None, f"line is {length:,} bytes; a fact line may have at most {MAX_LINE_BYTES:,}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, Problem(display, number, None, f"not UTF-8 text (byte {error.start + 1} of the line)")
    try:
        value = json.loads(
            text,
            parse_float=Decimal,
            parse_int=_parse_int,
            parse_constant=_no_constant,
            object_pairs_hook=_no_duplicate_keys,
        )
    except RecursionError:
        return None, Problem(display, number, None, f"JSON nested too deeply (a fact has at most {MAX_NESTING} levels)")
    except _DuplicateKey as error:
        return None, Problem(display, number, clip(str(error), 60), "field given twice in one fact")
    except (json.JSONDecodeError, ValueError) as error:
        message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        column = error.colno if isinstance(error, json.JSONDecodeError) else None
        return None, Problem(display, number, None, f"invalid JSON: {message}", column=column)
    if not isinstance(value, dict):
        return None, Problem(display, number, None, "expected a JSON object ({...}) describing one fact")
    found = _value_problem(value) if _may_hide_a_problem(raw) else None
    if found is not None:
        return None, Problem(display, number, found[0], found[1])
    return value, None


def _parse_int(text: str) -> int:
    if len(text) > 30:
        raise ValueError("number too long")
    return int(text)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """A directory means every ``*.jsonl`` log in it, in name order.

    A directory without one is an input error ("no facts"): evaluating
    nothing would report every agreement clean "as of None", and a nightly
    job pointed at the wrong folder would never notice.
    """
    out: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            try:
                logs = sorted(p for p in path.iterdir() if p.suffix == ".jsonl" and p.is_file())
            except OSError as error:
                problems.append(Problem(str(path), None, None, f"cannot read the folder: {error.strerror or error}"))
                continue
            if not logs:
                problems.append(Problem(str(path), None, None, "no facts: the folder holds no fact log (*.jsonl)"))
            out.extend(logs)
        else:
            out.append(path)
    if problems:
        raise InputError(problems)
    return out


class FactVocabulary(Protocol):
    """What reading a fact log needs from the form's vocabulary (built from its ``vocabulary.yaml``).

    Which fact types exist, what their fields are and which field names
    another fact belong to the agreement form, not to this module: the rule
    folder declares them and ``language/vocabulary.py`` builds this from the
    declaration. The reader only asks it to parse a line and to find refs
    that name nothing, so any form's log is read by the same loop.
    """

    @property
    def models(self) -> Mapping[str, Any]:
        """Fact type -> the model a fact of it is validated with, in the order the form lists them."""
        ...

    @property
    def names(self) -> Mapping[str, tuple[str, str]]:
        """A shared name (one several facts give, which a ref may name) -> the fact type and field giving it."""
        ...

    def parse_fact(self, raw: dict[str, Any], file: str, line: int, order: int) -> Fact:
        """One decoded JSON object as a ``Fact``; raise ``InputError`` with every problem of it."""
        ...

    def ref_problems(
        self, facts: Sequence[Fact], rejected_ids: dict[str, str], rejected_names: dict[str, dict[str, str]]
    ) -> Iterable[tuple[Fact, Problem]]:
        """Facts whose refs name nothing among ``facts``, with why (naming the refused line when there is one)."""
        ...


@dataclass
class FactReader:
    """Fact lines read one at a time, and what was seen so far.

    ``load_fact_logs`` reads whole files with it; a portfolio feeds it the
    lines of one agreement picked out of a shared feed (``read_line``), then
    asks for the facts whose refs resolve (``resolve_refs``). Either way a
    line is validated the same way, by the form's ``vocabulary``, and every
    problem names its file and line.
    """

    vocabulary: FactVocabulary
    lenient: bool
    check: FactCheck | None
    facts: list[Fact] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    lines_read: dict[str, int] = field(default_factory=dict)
    first_seen: dict[str, Fact] = field(default_factory=dict)
    rejected_ids: dict[str, str] = field(default_factory=dict)  # id of a rejected line -> file:line
    rejected_names: dict[str, dict[str, str]] = field(default_factory=dict)  # shared name -> value -> place

    def resolve_refs(self) -> list[Fact]:
        """The facts whose refs resolve; in lenient mode a dangling ref skips its fact, and so on.

        Raises ``InputError`` with every problem found (strict mode) once the log is read.
        """
        facts = self.facts
        names = self.vocabulary.names
        while True:
            found = list(self.vocabulary.ref_problems(facts, self.rejected_ids, self.rejected_names))
            if not found:
                break
            if not self.lenient:
                self.problems.extend(problem for _, problem in found)
                break
            self.skipped.extend(problem for _, problem in found)
            dropped = {fact.id for fact, _ in found}
            for fact, problem in found:
                place = f"{problem.file}:{problem.line}"
                self.rejected_ids.setdefault(fact.id, place)
                for name, (kind, giving) in names.items():
                    if fact.type == kind and giving in fact.fields:
                        self.rejected_names.setdefault(name, {}).setdefault(fact.fields[giving], place)
            facts = [f for f in facts if f.id not in dropped]
        if self.problems:
            raise InputError(self.problems)
        return facts

    def reject(self, problems: list[Problem], raw: Any) -> None:
        (self.skipped if self.lenient else self.problems).extend(problems)
        if isinstance(raw, dict) and problems:
            place = f"{problems[0].file}:{problems[0].line}"
            if isinstance(raw.get("id"), str):
                self.rejected_ids.setdefault(raw["id"], place)
            for name, (kind, giving) in self.vocabulary.names.items():
                if raw.get("type") == kind and isinstance(raw.get(giving), str):
                    self.rejected_names.setdefault(name, {}).setdefault(raw[giving], place)

    def read_file(self, path: Path) -> None:
        display = str(path)
        if not path.is_file():
            self.problems.append(Problem(display, None, None, "no such fact log"))
            return
        count = 0
        try:
            with path.open("rb") as stream:
                for number, raw_line, length in raw_lines(stream):
                    if raw_line is not None and not raw_line.strip():
                        continue
                    count += 1
                    if len(self.facts) >= MAX_FACTS:
                        self.problems.append(
                            Problem(display, number, None, f"more than {MAX_FACTS:,} facts in one run; split the run")
                        )
                        break
                    self.read_line(number, raw_line, length, display)
        except OSError as error:
            self.problems.append(Problem(display, None, None, f"cannot read: {error.strerror or error}"))
        self.lines_read[display] = count

    def read_line(self, number: int, raw_line: bytes | None, length: int, display: str) -> None:
        value, problem = decode_line(number, raw_line, length, display)
        if problem is not None:
            self.reject([problem], None)
            return
        try:
            fact = self.vocabulary.parse_fact(value, display, number, len(self.facts))
        except InputError as error:
            self.reject(list(error.problems), value)
            return
        self.accept(fact, value)

    def accept(self, fact: Fact, raw: Any = None) -> None:
        """A parsed fact, checked against the agreement and the facts before it (a line's or a scenario's)."""
        line_problems = self.check(fact) if self.check is not None else []
        earlier = self.first_seen.get(fact.id)
        if earlier is not None:
            line_problems.append(
                Problem(
                    fact.file, fact.line, "id", f"duplicate id {fact.id!r}; first used at {earlier.file}:{earlier.line}"
                )
            )
        if line_problems:
            self.reject(line_problems, raw if earlier is None else None)
            return
        self.first_seen[fact.id] = fact
        self.facts.append(fact)


def load_fact_logs(
    paths: Iterable[Path], vocabulary: FactVocabulary, *, lenient: bool = False, check: FactCheck | None = None
) -> FactLog:
    """Read and validate fact logs as facts of ``vocabulary``; every problem of every file is reported at once.

    ``check`` adds the agreement's own checks (parties, agreement id) to each
    fact. In lenient mode, invalid lines are skipped and returned as
    ``skipped``, and so is every fact whose ``ref`` names a skipped fact
    (and the facts naming those, and so on): nothing is dropped silently.
    Facts keep their input order, files in the order given.
    """
    loading = FactReader(vocabulary=vocabulary, lenient=lenient, check=check)
    for path in expand_paths(paths):
        loading.read_file(path)
    facts = loading.resolve_refs()
    return FactLog(facts=tuple(facts), skipped=tuple(sorted(loading.skipped)), lines_read=loading.lines_read)
