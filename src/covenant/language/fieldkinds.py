"""The kinds of field a vocabulary.yaml may declare, and what each accepts: the declaration's grammar.

``vocabulary.yaml`` lists fact types, each with fields of a kind (a date, an
amount, one of a list, a party, a ref...). These models read that file, and
``field_definition`` turns each declared field into the pydantic annotation a
fact model is built from (``vocabulary.build_vocabulary``), from the very
field types ``facts.py`` declares, so that a generated model accepts and
refuses what the hand-written one did.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    WithJsonSchema,
    field_validator,
)

from covenant.facts import (
    MAX_AMOUNT,
    Amount,
    FactDate,
    Identifier,
    Month,
    Shares,
    Text,
)

ANY_FACT = "any"
"""A ``ref`` to ``any`` names a fact of any type (by its id)."""

_NAME = r"^[a-z][a-z0-9_]*$"
Name = Annotated[str, Field(pattern=_NAME, max_length=60)]
Meaning = Annotated[str, Field(min_length=1, max_length=500)]


# The declaration file. Each kind of field is one model, told apart by ``type:``.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


When = dict[Name, Annotated[str, Field(min_length=1)] | Annotated[list[str], Field(min_length=1)]]
"""Values of other fields of the fact (``one_of`` fields): ``{what: default_notice}``, ``{what: [a, b]}``."""


class _Kind(_Strict):
    meaning: Meaning | None = None
    optional: bool = False
    required_when: When | None = None
    """An optional field that must be given when the fact's other fields have these values."""
    only_when: When | None = None
    """An optional field that may be given only when the fact's other fields have these values."""


class Scheduled(_Strict):
    """The date must be one the instrument's schedule gives for the kind of payment the field ``by`` names."""

    by: Name


class DateKind(_Kind):
    """A calendar day written YYYY-MM-DD, between 1900 and 2199."""

    type: Literal["date"]
    scheduled: Scheduled | None = None
    """A date of ``agreement.yaml``'s ``instrument.schedule`` for the ``pays`` the field ``by`` gives."""


class MonthKind(_Kind):
    """A month written YYYY-MM."""

    type: Literal["month"]


class AmountKind(_Kind):
    """Money in USD: a decimal string or number, at most six places; zero or more unless ``negative``."""

    type: Literal["amount"]
    negative: bool = False


class DecimalKind(_Kind):
    """A rate or fraction (``"0.0325"``), within ``min`` and ``max`` when given."""

    type: Literal["decimal"]
    min: Decimal | None = None
    max: Decimal | None = None
    places: Annotated[int, Field(ge=0, le=12)] = 6


class IntegerKind(_Kind):
    """A whole number (JSON integer), within ``min`` and ``max`` when given."""

    type: Literal["integer"]
    min: int | None = None
    max: int | None = None


class SharesKind(_Kind):
    """A share count: a whole number from 0 to a quadrillion."""

    type: Literal["shares"]


class TextKind(_Kind):
    """Text of 1 to 500 characters; with ``pattern``, text the pattern (a regular expression) matches."""

    type: Literal["text"]
    pattern: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a regular expression: {error}") from None
        return value


class IdentifierKind(_Kind):
    """A name written like an id: letters, digits and ``_ . : - / #``."""

    type: Literal["identifier"]


class OneOfKind(_Kind):
    """One of the ``values`` listed."""

    type: Literal["one_of"]
    values: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(min_length=1, max_length=200)]


class BoolKind(_Kind):
    """true or false (JSON booleans only); ``default`` is taken when the field is absent."""

    type: Literal["bool"]
    default: bool | None = None


class PartyKind(_Kind):
    """The id of a party of the agreement (a Buyer, a holder, a lender): checked against agreement.yaml."""

    type: Literal["party"]


class RefCase(_Strict):
    """When another field of the fact has one of these values, the ref names ``to`` instead."""

    when: When
    to: Name


class RefKind(_Kind):
    """The id of another fact of the log (of type ``to``, or ``any``), or a name declared by a ``name`` field."""

    type: Literal["ref"]
    to: Name | Annotated[list[Name], Field(min_length=1)]
    cases: list[RefCase] = Field(default_factory=list)

    def targets(self) -> tuple[str, ...]:
        return (self.to,) if isinstance(self.to, str) else tuple(self.to)


class NameKind(_Kind):
    """A name several facts share (an offering named by each of its steps); ``ref`` fields may name it."""

    type: Literal["name"]
    names: Name


class RuleKind(_Kind):
    """The id of a rule of the folder (a waiver names the rule waived)."""

    type: Literal["rule"]


class ClauseKind(_Kind):
    """A clause of the folder's rules, as they write it (``4(e)``)."""

    type: Literal["clause"]


ItemKind = Annotated[
    DateKind
    | MonthKind
    | AmountKind
    | DecimalKind
    | IntegerKind
    | SharesKind
    | TextKind
    | IdentifierKind
    | OneOfKind
    | PartyKind
    | RefKind
    | NameKind
    | RuleKind
    | ClauseKind,
    Field(discriminator="type"),
]


class ListKind(_Kind):
    """A JSON list of ``of`` (a kind's name, or a kind with its options), ``min`` to ``max`` items."""

    type: Literal["list"]
    of: Annotated[ItemKind, Field(json_schema_extra=lambda schema: _name_or_kind(schema))]
    min: Annotated[int, Field(ge=0)] | None = None
    max: Annotated[int, Field(ge=1)] | None = None

    @field_validator("of", mode="before")
    @classmethod
    def _kind_name(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value


def _name_or_kind(schema: dict[str, Any]) -> None:
    """``of: party`` is written as the kind's name alone, as ``_kind_name`` reads it: the editor schema says so too."""
    kind = dict(schema)
    schema.clear()
    names = [name for name in KINDS if name not in ("bool", "list")]
    schema["anyOf"] = [{"type": "string", "enum": names}, kind]


FieldKind = Annotated[ItemKind | BoolKind | ListKind, Field(discriminator="type")]
KINDS = (
    "date",
    "month",
    "amount",
    "decimal",
    "integer",
    "shares",
    "text",
    "identifier",
    "one_of",
    "bool",
    "party",
    "ref",
    "name",
    "rule",
    "clause",
    "list",
)


class FactTypeDecl(_Strict):
    """One type of fact: what it records, and its fields besides id, type, date, agreement and note."""

    meaning: Meaning
    fields: dict[Name, FieldKind] = Field(default_factory=dict)
    unique: Annotated[list[Name], Field(min_length=1, max_length=8)] | None = None
    """At most one fact of this type per combination of values of these fields (``[period]``)."""


class ImportDecl(_Strict):
    """What facts an importer of outside data writes for this form: their type, and its fields by the importer's words.

    An importer (``covenant import edgar``) knows its source's words (a
    filing's form and period of report), never a form's fact types: the form
    says here which of its types and fields receive them, so two forms with
    different words read the same EDGAR files.
    """

    fact: Annotated[Name, Field(description="the fact type the importer writes")]
    fields: dict[Name, Name] = Field(
        default_factory=dict, description="the importer's word -> the field of `fact` that receives it"
    )


class VocabularyDecl(_Strict):
    """``vocabulary.yaml``: the fact types of one agreement form, in the order the schema lists them."""

    types: Annotated[dict[Name, FactTypeDecl], Field(min_length=1, max_length=500)]
    imports: dict[Name, ImportDecl] = Field(
        default_factory=dict, description="importer (edgar) -> the fact type and fields its facts take"
    )


def field_definition(kind: Any) -> tuple[Any, Any]:
    """(annotation, default) of one declared field, for ``create_model``."""
    annotation = _annotation(kind)
    described = Field(description=kind.meaning) if kind.meaning else None
    if isinstance(kind, BoolKind) and kind.default is not None:
        default: Any = kind.default
    elif kind.optional:
        annotation, default = annotation | None, None
    else:
        default = ...
    if described is None:
        return annotation, default
    return annotation, Field(default, description=kind.meaning)


def _annotation(kind: Any) -> Any:
    """The field type of ``facts.py`` a kind stands for, so values, messages and schema are the same."""
    simple = {
        "date": FactDate,
        "month": Month,
        "shares": Shares,
        "identifier": Identifier,
        "party": Identifier,
        "ref": Identifier,
        "name": Identifier,
        "rule": Identifier,
        "clause": Text,
        "bool": StrictBool,
    }
    if kind.type in simple:
        return simple[kind.type]
    if isinstance(kind, AmountKind):
        return _signed_amount() if kind.negative else Amount
    if isinstance(kind, DecimalKind):
        return _decimal(kind.min, kind.max, kind.places)
    if isinstance(kind, IntegerKind):
        return Annotated[StrictInt, Field(ge=kind.min, le=kind.max)]
    if isinstance(kind, TextKind):
        return Text if kind.pattern is None else Annotated[str, Field(pattern=kind.pattern)]
    if isinstance(kind, OneOfKind):
        return Literal[tuple(kind.values)]
    if isinstance(kind, ListKind):
        return Annotated[list[_annotation(kind.of)], Field(min_length=kind.min, max_length=kind.max)]  # type: ignore[misc]
    raise AssertionError(kind.type)


_DECIMAL_TEXT = re.compile(r"^-?\d+(\.\d+)?$")


def _decimal_parser(low: Decimal | None, high: Decimal | None, places: int, what: str) -> Any:
    """A parser like ``facts._parse_amount``'s, with its bounds: a string of digits or a JSON number, never a float."""

    def parse(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise ValueError(f'expected {what}: a decimal string such as "0.0325" or a number')
        text = str(value).strip()
        if isinstance(value, str) and not _DECIMAL_TEXT.match(text):
            raise ValueError(f"{value!r} is not a decimal number")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        if low is not None and number < low:
            raise ValueError(f"{value!r} is below {low}")
        if high is not None and number > high:
            raise ValueError(f"{value!r} is above {high}")
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)  # finite
        if exponent < -places:
            raise ValueError(f"{value!r} has more than {places} decimal places")
        return number.quantize(Decimal(1)) if exponent > 0 else number

    return parse


def _decimal(low: Decimal | None, high: Decimal | None, places: int) -> Any:
    schema: dict[str, Any] = {"type": ["string", "number"], "pattern": rf"^-?\d+(\.\d{{1,{places}}})?$"}
    if low is not None:
        schema["minimum"] = str(low)
    if high is not None:
        schema["maximum"] = str(high)
    parser = _decimal_parser(low, high, places, "a decimal number")
    return Annotated[Decimal, PlainValidator(parser), WithJsonSchema(schema)]


def _signed_amount() -> Any:
    """An amount that may be below zero (a net loss), as large either way as ``facts.Amount``."""
    limit = MAX_AMOUNT - Decimal("0.000001")
    parser = _decimal_parser(-limit, limit, 6, "an amount")
    schema = {"type": ["string", "number"], "pattern": r"^-?\d+(\.\d{1,6})?$"}
    return Annotated[Decimal, PlainValidator(parser), WithJsonSchema(schema)]
