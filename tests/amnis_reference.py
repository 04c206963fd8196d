"""The Amnis fact models as facts.py wrote them by hand before the vocabulary moved to the rule folder.

Kept here, in the tests only, as the oracle the generated models are held to
(tests/test_vocabulary.py): every fact accepted, refused or described by the
Amnis ``vocabulary.yaml`` must be so exactly as by these classes. The package
itself names no Amnis fact type (tests/test_forms_are_data.py).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, TypeAdapter, ValidationError

from covenant.diagnostics import InputError, Problem
from covenant.facts import (
    COMMON_FIELDS,
    Amount,
    Fact,
    FactBase,
    FactDate,
    FactLog,
    Identifier,
    Month,
    Shares,
    Text,
    clip,
    describe_error,
)

BuyerId = Identifier


class Closing(FactBase):
    type: Literal["closing"]


class SecFiling(FactBase):
    type: Literal["sec_filing"]
    form: Text
    period: FactDate | None = None
    about: Text | None = None
    names_buyers: Annotated[list[BuyerId], Field(max_length=50)] | None = None
    required_by_law: StrictBool | None = None


class PressRelease(FactBase):
    type: Literal["press_release"]
    about: Text | None = None
    names_buyers: Annotated[list[BuyerId], Field(max_length=50)] | None = None


class StockholderNotice(FactBase):
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


class Delivery(FactBase):
    type: Literal["delivery"]
    to: BuyerId
    what: DeliveryWhat
    ref: Identifier | None = None
    period: Month | None = None
    method: Literal["personal", "courier", "fax", "mail", "email"] | None = None


class Invoice(FactBase):
    type: Literal["invoice"]
    buyer: BuyerId
    amount: Amount


class Payment(FactBase):
    type: Literal["payment"]
    buyer: BuyerId
    amount: Amount
    ref: Identifier


class InterestPayment(FactBase):
    type: Literal["interest_payment"]
    buyer: BuyerId
    amount: Amount


class Conversion(FactBase):
    type: Literal["conversion"]
    buyer: BuyerId
    principal: Amount


class Transfer(FactBase):
    type: Literal["transfer"]
    buyer: BuyerId
    all: StrictBool


class Reserve(FactBase):
    type: Literal["reserve"]
    authorized_reserved: Shares
    issuable: Shares


class StockholderApproval(FactBase):
    type: Literal["stockholder_approval"]


class CertificateOfAmendment(FactBase):
    type: Literal["certificate_of_amendment"]


class SecComment(FactBase):
    type: Literal["sec_comment"]


class SecResponse(FactBase):
    type: Literal["sec_response"]
    ref: Identifier


class RegistrationEffective(FactBase):
    type: Literal["registration_effective"]


class SalesSuspended(FactBase):
    type: Literal["sales_suspended"]
    until: FactDate | None = None


class Financing(FactBase):
    type: Literal["financing"]
    ref: Identifier
    stage: Literal["negotiation", "agreement", "amendment", "closing"]
    discount_to_market: StrictBool = False
    variable_conversion: StrictBool = False
    warrants: StrictBool = False
    exempt: Literal["underwritten", "acquisition", "strategic", "existing_securities"] | None = None
    more_favorable: StrictBool | None = None


class Consent(FactBase):
    type: Literal["consent"]
    by: Annotated[list[BuyerId], Field(min_length=1, max_length=50)]
    clause: Text
    ref: Identifier | None = None


class Waiver(FactBase):
    type: Literal["waiver"]
    by: Annotated[list[BuyerId], Field(min_length=1, max_length=50)]
    rule: Identifier
    trigger: Identifier | None = None


class ReverseSplit(FactBase):
    type: Literal["reverse_split"]
    ratio: Annotated[str, Field(pattern=r"^\d+:\d+$")]


class UseOfProceeds(FactBase):
    type: Literal["use_of_proceeds"]
    purpose: Text
    amount: Amount


class Listing(FactBase):
    type: Literal["listing"]
    market: Text
    status: Literal["listed", "delisted"]


class CorporateTransaction(FactBase):
    type: Literal["corporate_transaction"]
    kind: Literal["merger", "consolidation", "asset_sale", "dissolution"]
    successor_assumes: StrictBool = False
    successor_listed: StrictBool = False


class OpinionOfCounsel(FactBase):
    type: Literal["opinion_of_counsel"]
    buyer: BuyerId


class OpinionAccepted(FactBase):
    type: Literal["opinion_accepted"]
    ref: Identifier


class RepresentationBreach(FactBase):
    type: Literal["representation_breach"]
    clause: Text


class RepresentationCured(FactBase):
    type: Literal["representation_cured"]
    ref: Identifier


FACT_MODELS: tuple[type[FactBase], ...] = (
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

FACT_TYPES: dict[str, type[FactBase]] = {
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
_ADAPTER: TypeAdapter[FactBase] = TypeAdapter(FactModel)


REFS_TO_FACTS: dict[str, str] = {
    "payment": "ref",
    "sec_response": "ref",
    "opinion_accepted": "ref",
    "representation_cured": "ref",
}
"""Fact types whose ``ref`` must name another fact of the log."""


def _ref_problems(
    facts: Sequence[Fact], rejected_ids: dict[str, str], rejected_offerings: dict[str, str]
) -> Iterable[tuple[Fact, Problem]]:
    """Facts whose ``ref`` names nothing in ``facts``, and why."""
    ids = {f.id for f in facts}
    offerings = {f.fields["ref"] for f in facts if f.type == "financing"}
    for fact in facts:
        ref = fact.fields.get("ref")
        if ref is None:
            continue
        if fact.type in REFS_TO_FACTS or (fact.type == "delivery" and fact.fields["what"] != "offering_notice"):
            if ref not in ids:
                message = f"no fact has id {ref!r}"
                if ref in rejected_ids:
                    message = f"names fact {ref!r}, which is invalid or was skipped ({rejected_ids[ref]})"
                yield fact, Problem(fact.file, fact.line, "ref", message)
        elif fact.type == "delivery" and ref not in offerings:
            message = f"no financing fact has ref {ref!r} (an offering)"
            if ref in rejected_offerings:
                place = rejected_offerings[ref]
                message = f"names offering {ref!r}, whose financing fact is invalid or was skipped ({place})"
            yield fact, Problem(fact.file, fact.line, "ref", message)


def buyer_problems(fact: Fact, buyers: Iterable[str]) -> list[Problem]:
    """Every buyer a fact names must be a party of the agreement."""
    known = set(buyers)
    problems: list[Problem] = []
    for name in ("to", "buyer"):
        value = fact.fields.get(name)
        if value is not None and value not in known:
            problems.append(_unknown_buyer(fact, name, value, known))
    for name in ("by", "names_buyers"):
        for value in fact.fields.get(name, ()):
            if value not in known:
                problems.append(_unknown_buyer(fact, name, value, known))
    return problems


def reference_problems(fact: Fact, rule_ids: Iterable[str], clauses: Iterable[str]) -> list[Problem]:
    """A waiver must name a rule of the folder and a consent one of its clauses.

    Either would otherwise match nothing and be counted as read but never
    used, and a lawyer would believe a breach waived or an act permitted.
    """
    if fact.type == "waiver":
        field, value, known, what = "rule", fact.fields.get("rule"), set(rule_ids), "rule id"
    elif fact.type == "consent":
        field, value, known, what = "clause", fact.fields.get("clause"), set(clauses), "clause"
    else:
        return []
    if value is None or value in known:
        return []
    close = difflib.get_close_matches(str(value), sorted(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"the {what}s of the rules: {', '.join(sorted(known))}"
    return [Problem(fact.file, fact.line, field, f"no rule of this folder has the {what} {value!r}", hint=hint)]


def check_buyers(log: FactLog, buyers: Iterable[str]) -> None:
    """Every buyer a fact names must be a party of the agreement."""
    known = set(buyers)
    problems = [problem for fact in log.facts for problem in buyer_problems(fact, known)]
    if problems:
        raise InputError(problems)


def _unknown_buyer(fact: Fact, name: str, value: str, known: set[str]) -> Problem:
    return Problem(
        fact.file,
        fact.line,
        name,
        f"unknown buyer {value!r}; the agreement's buyers are {', '.join(sorted(known))}",
    )


def _field_path(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in FACT_TYPES:
        parts = parts[1:]
    return clip(".".join(parts), 60) or "type"


def parse_fact(raw: dict[str, Any], file: str, line: int, order: int) -> Fact:
    """Validate one decoded JSON object with the hand-written models; raise ``InputError`` listing every problem."""
    try:
        model = _ADAPTER.validate_python(raw)
    except ValidationError as error:
        raise InputError(
            Problem(file, line, _field_path(e["loc"]), describe_error(e)) for e in error.errors()
        ) from None
    data = {
        name: list(value) if isinstance(value, list) else value
        for name, value in model.__dict__.items()
        if value is not None and name not in COMMON_FIELDS
    }
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
