"""The fact vocabulary (shared/spec/facts.md) and the loading of fact logs.

A fact log is JSONL typed by people or written by other programs, so it is
validated here, at the edge, with one pydantic model per fact type: unknown
types and fields, bad dates, wrong JSON types, duplicate ids and dangling
``ref``s are all reported, every one of them, with file, line and field.
What passes is a tuple of immutable ``Fact`` values in input order; nothing
downstream re-checks the shape of a fact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

import pendulum
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from covenant.calendar import Date
from covenant.diagnostics import InputError, Problem

MAX_LINE_BYTES = 1_000_000
"""A fact is a few hundred bytes; a longer line is a broken export, not a fact."""

MAX_ID_LENGTH = 200
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-/#]*$"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _parse_date(value: Any) -> Date:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise ValueError("expected a date written YYYY-MM-DD")
    try:
        return pendulum.Date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date") from None


def _parse_amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError('expected an amount: a decimal string such as "1250.00" or a number')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    if amount < 0:
        raise ValueError(f"{value!r} is negative; amounts are zero or more")
    if amount.as_tuple().exponent < -6:  # type: ignore[operator]
        raise ValueError(f"{value!r} has more than six decimal places")
    return amount


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
BuyerId = Identifier
Shares = Annotated[StrictInt, Field(ge=0)]


class _FactModel(BaseModel):
    """Fields every fact has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    date: FactDate
    agreement: Identifier | None = None
    note: Annotated[str, Field(max_length=10_000)] | None = None


class Closing(_FactModel):
    type: Literal["closing"]


class SecFiling(_FactModel):
    type: Literal["sec_filing"]
    form: Text
    period: FactDate | None = None
    about: Text | None = None
    names_buyers: Annotated[list[BuyerId], Field(max_length=50)] | None = None
    required_by_law: StrictBool | None = None


class PressRelease(_FactModel):
    type: Literal["press_release"]
    about: Text | None = None
    names_buyers: Annotated[list[BuyerId], Field(max_length=50)] | None = None


class StockholderNotice(_FactModel):
    type: Literal["stockholder_notice"]


DeliveryWhat = Literal[
    "sec_report",
    "press_release",
    "stockholder_notice",
    "reserve_list",
    "information_statement",
    "offering_notice",
    "contact_information",
    "form_d_copy",
    "exchange_notice",
    "sec_correspondence",
]


class Delivery(_FactModel):
    type: Literal["delivery"]
    to: BuyerId
    what: DeliveryWhat
    ref: Identifier | None = None
    period: Month | None = None
    method: Literal["personal", "courier", "fax", "mail", "email"] | None = None


class Invoice(_FactModel):
    type: Literal["invoice"]
    buyer: BuyerId
    amount: Amount


class Payment(_FactModel):
    type: Literal["payment"]
    buyer: BuyerId
    amount: Amount
    ref: Identifier


class InterestPayment(_FactModel):
    type: Literal["interest_payment"]
    buyer: BuyerId
    amount: Amount


class Conversion(_FactModel):
    type: Literal["conversion"]
    buyer: BuyerId
    principal: Amount


class Transfer(_FactModel):
    type: Literal["transfer"]
    buyer: BuyerId
    all: StrictBool


class Reserve(_FactModel):
    type: Literal["reserve"]
    authorized_reserved: Shares
    issuable: Shares


class StockholderApproval(_FactModel):
    type: Literal["stockholder_approval"]


class CertificateOfAmendment(_FactModel):
    type: Literal["certificate_of_amendment"]


class SecComment(_FactModel):
    type: Literal["sec_comment"]


class SecResponse(_FactModel):
    type: Literal["sec_response"]
    ref: Identifier


class RegistrationEffective(_FactModel):
    type: Literal["registration_effective"]


class SalesSuspended(_FactModel):
    type: Literal["sales_suspended"]
    until: FactDate | None = None


class Financing(_FactModel):
    type: Literal["financing"]
    ref: Identifier
    stage: Literal["negotiation", "agreement", "amendment", "closing"]
    discount_to_market: StrictBool = False
    variable_conversion: StrictBool = False
    warrants: StrictBool = False
    exempt: Literal["underwritten", "acquisition", "strategic", "existing_securities"] | None = None
    more_favorable: StrictBool | None = None


class Consent(_FactModel):
    type: Literal["consent"]
    by: Annotated[list[BuyerId], Field(min_length=1, max_length=50)]
    clause: Text
    ref: Identifier | None = None


class Waiver(_FactModel):
    type: Literal["waiver"]
    by: Annotated[list[BuyerId], Field(min_length=1, max_length=50)]
    rule: Identifier
    trigger: Identifier | None = None


class ReverseSplit(_FactModel):
    type: Literal["reverse_split"]
    ratio: Annotated[str, Field(pattern=r"^\d+:\d+$")]


class UseOfProceeds(_FactModel):
    type: Literal["use_of_proceeds"]
    purpose: Text
    amount: Amount


class Listing(_FactModel):
    type: Literal["listing"]
    market: Text
    status: Literal["listed", "delisted"]


class CorporateTransaction(_FactModel):
    type: Literal["corporate_transaction"]
    kind: Literal["merger", "consolidation", "asset_sale", "dissolution"]
    successor_assumes: StrictBool = False
    successor_listed: StrictBool = False


class OpinionOfCounsel(_FactModel):
    type: Literal["opinion_of_counsel"]
    buyer: BuyerId


class OpinionAccepted(_FactModel):
    type: Literal["opinion_accepted"]
    ref: Identifier


class RepresentationBreach(_FactModel):
    type: Literal["representation_breach"]
    clause: Text


class RepresentationCured(_FactModel):
    type: Literal["representation_cured"]
    ref: Identifier


FACT_MODELS: tuple[type[_FactModel], ...] = (
    Closing,
    SecFiling,
    PressRelease,
    StockholderNotice,
    Delivery,
    Invoice,
    Payment,
    InterestPayment,
    Conversion,
    Transfer,
    Reserve,
    StockholderApproval,
    CertificateOfAmendment,
    SecComment,
    SecResponse,
    RegistrationEffective,
    SalesSuspended,
    Financing,
    Consent,
    Waiver,
    ReverseSplit,
    UseOfProceeds,
    Listing,
    CorporateTransaction,
    OpinionOfCounsel,
    OpinionAccepted,
    RepresentationBreach,
    RepresentationCured,
)

FACT_TYPES: dict[str, type[_FactModel]] = {
    model.model_fields["type"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in FACT_MODELS
}
"""Fact type name -> its model; the rule compiler checks rule files against this."""

FactModel = Annotated[
    Closing
    | SecFiling
    | PressRelease
    | StockholderNotice
    | Delivery
    | Invoice
    | Payment
    | InterestPayment
    | Conversion
    | Transfer
    | Reserve
    | StockholderApproval
    | CertificateOfAmendment
    | SecComment
    | SecResponse
    | RegistrationEffective
    | SalesSuspended
    | Financing
    | Consent
    | Waiver
    | ReverseSplit
    | UseOfProceeds
    | Listing
    | CorporateTransaction
    | OpinionOfCounsel
    | OpinionAccepted
    | RepresentationBreach
    | RepresentationCured,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[_FactModel] = TypeAdapter(FactModel)

COMMON_FIELDS = ("id", "type", "date", "agreement", "note")

REFS_TO_FACTS: dict[str, str] = {
    "payment": "ref",
    "sec_response": "ref",
    "opinion_accepted": "ref",
    "representation_cured": "ref",
}
"""Fact types whose ``ref`` must name another fact of the log."""


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
    """Every fact of one run, in input order, plus what was skipped (lenient mode)."""

    facts: tuple[Fact, ...]
    skipped: tuple[Problem, ...] = ()
    lines_read: dict[str, int] = field(default_factory=dict)

    def by_id(self) -> dict[str, Fact]:
        return {f.id: f for f in self.facts}


def _field_path(loc: Sequence[int | str]) -> str:
    # pydantic puts the discriminator tag first ("delivery", "to"); people want "to".
    parts = [str(p) for p in loc]
    if parts and parts[0] in FACT_TYPES:
        parts = parts[1:]
    return ".".join(parts) or "type"


def _describe(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "union_tag_invalid":
        return f"unknown fact type {error['ctx']['tag']!r} (see facts.md for the types)"
    if kind == "union_tag_not_found":
        return "required field is missing"
    if kind == "literal_error":
        return f"expected {error['ctx']['expected']}"
    if kind == "string_pattern_mismatch":
        return "expected an identifier (letters, digits and _ . : - / #, starting with a letter or digit)"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def parse_fact(raw: dict[str, Any], file: str, line: int, order: int) -> Fact:
    """Validate one decoded JSON object; raise ``InputError`` listing every problem."""
    try:
        model = _ADAPTER.validate_python(raw)
    except ValidationError as error:
        raise InputError(Problem(file, line, _field_path(e["loc"]), _describe(e)) for e in error.errors()) from None
    data = model.model_dump(exclude={"id", "type", "date", "agreement", "note"}, exclude_none=True)
    return Fact(
        id=model.id,
        type=raw["type"],
        date=model.date,
        fields=data,
        file=file,
        line=line,
        order=order,
        agreement=model.agreement,
        note=model.note,
    )


def _decode_lines(path: Path, display: str) -> Iterable[tuple[int, Any, Problem | None]]:
    """Yield (line number, decoded object, problem) for every non-blank line."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for number, raw_line in enumerate(data.split(b"\n"), start=1):
        raw_line = raw_line.rstrip(b"\r")
        if not raw_line.strip():
            continue
        if len(raw_line) > MAX_LINE_BYTES:
            yield (
                number,
                None,
                Problem(
                    display,
                    number,
                    None,
                    f"line is {len(raw_line):,} bytes; a fact line may have at most {MAX_LINE_BYTES:,}",
                ),
            )
            continue
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError as error:
            yield number, None, Problem(display, number, None, f"not UTF-8 text (byte {error.start + 1} of the line)")
            continue
        try:
            value = json.loads(text, parse_float=Decimal, parse_int=_parse_int)
        except RecursionError:
            yield number, None, Problem(display, number, None, "JSON nested too deeply")
            continue
        except (json.JSONDecodeError, ValueError) as error:
            message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
            column = error.colno if isinstance(error, json.JSONDecodeError) else None
            yield number, None, Problem(display, number, None, f"invalid JSON: {message}", column=column)
            continue
        if not isinstance(value, dict):
            yield number, None, Problem(display, number, None, "expected a JSON object ({...}) describing one fact")
            continue
        yield number, value, None


def _parse_int(text: str) -> int:
    if len(text) > 30:
        raise ValueError("number too long")
    return int(text)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """A directory means every ``*.jsonl`` log in it, in name order."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix == ".jsonl" and p.is_file()))
        else:
            out.append(path)
    return out


def load_fact_logs(paths: Iterable[Path], *, lenient: bool = False) -> FactLog:
    """Read and validate fact logs; every problem of every file is reported at once.

    In lenient mode, invalid lines are skipped and returned as ``skipped``;
    nothing is ever dropped silently.
    """
    facts: list[Fact] = []
    problems: list[Problem] = []
    skipped: list[Problem] = []
    lines_read: dict[str, int] = {}
    first_seen: dict[str, Fact] = {}
    order = 0
    for path in expand_paths(paths):
        display = str(path)
        if not path.is_file():
            problems.append(Problem(display, None, None, "no such fact log"))
            continue
        count = 0
        for number, value, problem in _decode_lines(path, display):
            count += 1
            line_problems: list[Problem] = [problem] if problem else []
            fact: Fact | None = None
            if value is not None:
                try:
                    fact = parse_fact(value, display, number, order)
                except InputError as error:
                    line_problems.extend(error.problems)
            if fact is not None and fact.id in first_seen:
                earlier = first_seen[fact.id]
                line_problems.append(
                    Problem(
                        display,
                        number,
                        "id",
                        f"duplicate id {fact.id!r}; first used at {earlier.file}:{earlier.line}",
                    )
                )
                fact = None
            if line_problems:
                (skipped if lenient else problems).extend(line_problems)
                continue
            assert fact is not None
            first_seen[fact.id] = fact
            facts.append(fact)
            order += 1
        lines_read[display] = count
    problems.extend(_dangling_refs(facts, skipped if lenient else None))
    if problems:
        raise InputError(problems)
    if lenient:
        kept_ids = _ids_with_dangling_refs(facts)
        facts = [f for f in facts if f.id not in kept_ids]
    return FactLog(facts=tuple(facts), skipped=tuple(skipped), lines_read=lines_read)


def _ref_problems(facts: Sequence[Fact]) -> Iterable[tuple[Fact, Problem]]:
    ids = {f.id for f in facts}
    offerings = {f.fields["ref"] for f in facts if f.type == "financing"}
    for fact in facts:
        ref = fact.fields.get("ref")
        if ref is None:
            continue
        if fact.type in REFS_TO_FACTS or (fact.type == "delivery" and fact.fields["what"] != "offering_notice"):
            if ref not in ids:
                yield fact, Problem(fact.file, fact.line, "ref", f"no fact has id {ref!r}")
        elif fact.type == "delivery" and ref not in offerings:
            yield fact, Problem(fact.file, fact.line, "ref", f"no financing fact has ref {ref!r} (an offering)")


def _dangling_refs(facts: Sequence[Fact], skipped: list[Problem] | None) -> list[Problem]:
    found = [problem for _, problem in _ref_problems(facts)]
    if skipped is not None:
        skipped.extend(found)
        return []
    return found


def _ids_with_dangling_refs(facts: Sequence[Fact]) -> set[str]:
    return {fact.id for fact, _ in _ref_problems(facts)}


def check_buyers(log: FactLog, buyers: Iterable[str]) -> None:
    """Every buyer a fact names must be a party of the agreement."""
    known = set(buyers)
    problems: list[Problem] = []
    for fact in log.facts:
        for name in ("to", "buyer"):
            value = fact.fields.get(name)
            if value is not None and value not in known:
                problems.append(_unknown_buyer(fact, name, value, known))
        for name in ("by", "names_buyers"):
            for value in fact.fields.get(name, ()):
                if value not in known:
                    problems.append(_unknown_buyer(fact, name, value, known))
    if problems:
        raise InputError(problems)


def _unknown_buyer(fact: Fact, name: str, value: str, known: set[str]) -> Problem:
    return Problem(
        fact.file,
        fact.line,
        name,
        f"unknown buyer {value!r}; the agreement's buyers are {', '.join(sorted(known))}",
    )
