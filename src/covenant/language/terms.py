"""agreement.yaml's grammar: the parties, the instrument, the conventions of time and the remedies.

Every rule of a folder uses these terms; a portfolio may give an agreement its
own (``terms:``), validated by the same models. The rule files' grammar is
``model.py``, which also re-exports these names, so that one import gives the
whole language.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, ConfigDict, Field, StrictBool, StrictInt, model_validator

from covenant.calendar import Date, add_months, as_date
from covenant.facts import MAX_AMOUNT, MAX_SHARES
from covenant.language.basics import FACT_NAME, MAX_DAYS, MAX_YEARS, RULE_ID, Scalar, Strict

LAST_SCHEDULED = Date(2199, 12, 31)
"""An open-ended schedule (no ``last``) stops here: no fact can be dated later."""

MAX_RATE = 10
"""Interest and damages rates: 1,000% a year or a month; ``1e999999`` overflowed the arithmetic."""


PARTY_ID = r"^[a-z0-9][a-z0-9_-]*$"
DayCount = Literal["actual/365", "actual/360", "30/360"]


class Buyer(Strict):
    """A party: a holder of the instrument (a Buyer, a note holder, a lender), or one who holds nothing (an agent)."""

    id: Annotated[str, Field(pattern=PARTY_ID)]
    name: str
    role: Annotated[str, Field(pattern=FACT_NAME, description="the form's word: buyer, holder, lender, agent...")] = (
        "buyer"
    )
    principal: Decimal = Field(
        default=Decimal(0), ge=0, lt=MAX_AMOUNT, decimal_places=6, description="the principal it holds at the start"
    )
    holder: StrictBool = Field(default=True, description="false: it holds nothing and never consents (an agent)")
    warrants: StrictInt = Field(default=0, ge=0, le=MAX_SHARES)


Party = Buyer


class MailConvention(Strict):
    """Which facts take effect ``mail_delay_days`` after their date: those whose ``field`` has this ``value``."""

    field: Annotated[str, Field(pattern=FACT_NAME, description="the fact field that says how it was sent")]
    value: str = Field(min_length=1, description="the field's value that means it takes mail_delay_days to arrive")


class CalendarSettings(Strict):
    """The memo's conventions of time, each named so the report can cite it."""

    business_days: str = Field(default="USNY", description="a financial calendar of the holidays package")
    country: str | None = Field(default=None, description="instead of business_days: public holidays of a country")
    subdivision: str | None = None
    roll: Literal["following", "none"] = "following"
    mail_delay_days: StrictInt = Field(default=5, ge=0, le=MAX_DAYS)
    by_mail: MailConvention | None = Field(
        default=None, description="which facts take mail_delay_days to arrive (a field and its value); none: no fact"
    )


class ScheduledPayment(Strict):
    """A payment the instrument schedules (interest each 15 May and 15 November, a yearly installment)."""

    pays: Literal["interest", "principal"]
    first: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    every_months: StrictInt = Field(default=0, ge=0, description="0: once")
    last: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    amount: Decimal | None = Field(default=None, ge=0, description="principal: the total, shared pro rata")

    def dates(self) -> list[Date]:
        """``first``, then every ``every_months`` months from it (from ``first`` each time) to ``last`` included."""
        first = as_date(self.first)
        if self.every_months == 0:
            return [first]
        last = as_date(self.last) if self.last is not None else LAST_SCHEDULED
        out = []
        number = 0
        while (day := add_months(first, number * self.every_months)) <= last:
            out.append(day)
            number += 1
        return out


class Interest(Strict):
    """The instrument the parties hold: its name, the interest it bears and, where there is one, its schedule."""

    name: str | None = Field(default=None, description="the form's word: Debentures, Notes, Term Loan")
    rate: Decimal | None = Field(default=None, gt=0, le=MAX_RATE, description="a fixed rate; or give floating")
    floating: FloatingRate | None = Field(
        default=None, description="a rate that follows an index (the Prime Rate plus a margin), day by day"
    )
    day_count: DayCount = "actual/365"
    schedule: list[ScheduledPayment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_rate(self) -> Interest:
        if (self.rate is None) == (self.floating is None):
            raise ValueError("give exactly one of `rate` (fixed) and `floating` (an index plus a margin)")
        return self

    @property
    def fixed_rate(self) -> Decimal:
        """The fixed rate; a floating instrument's accrues nothing in the ledgers (their formulas need a fixed one)."""
        return self.rate if self.rate is not None else Decimal(0)

    def scheduled_dates(self) -> dict[str, frozenset[Date]]:
        """Each kind of scheduled payment (``pays``) -> every date the schedule gives it."""
        out: dict[str, set[Date]] = {}
        for entry in self.schedule:
            out.setdefault(entry.pays, set()).update(entry.dates())
        return {pays: frozenset(dates) for pays, dates in out.items()}


Instrument = Interest


class Majority(Strict):
    """How consents add up to a majority in interest: a share of the principal, strictly more or at least."""

    more_than: Decimal | None = Field(default=None, gt=0, lt=1)
    at_least: Decimal | None = Field(default=None, gt=0, le=1)
    of: Literal["original_principal", "outstanding_principal"] = Field(
        default="original_principal", description="outstanding: after conversions and payments, on the act's day"
    )

    @model_validator(mode="after")
    def _one_threshold(self) -> Majority:
        if (self.more_than is None) == (self.at_least is None):
            raise ValueError("give exactly one of more_than and at_least")
        return self


class Effect(Strict):
    """What a kind of fact does to holdings: start or end them, reduce principal, pay interest; or waive.

    ``waives``: the fact waives, for the party in its ``party`` field, the
    obligations of the rule it names in ``rule`` (of one trigger if it names
    one in ``trigger``).

    ``party`` names the fact's field that says whose holding changes (none
    for ``holding_starts``: every holder's starts), ``by`` the field with the
    amount; ``where`` restricts the effect to facts with these field values.
    """

    on: Annotated[str, Field(pattern=FACT_NAME, description="a fact type")]
    where: dict[Annotated[str, Field(pattern=FACT_NAME)], Scalar] = Field(default_factory=dict)
    does: Literal["holding_starts", "holding_ends", "principal_reduced", "interest_paid", "waives"]
    party: Annotated[str, Field(pattern=FACT_NAME)] | None = None
    given_by: Literal["each", "majority"] = Field(
        default="each",
        description="waives: each party for itself (each), or a majority in interest for every party (majority)",
    )
    by: Annotated[str, Field(pattern=FACT_NAME)] | None = None

    @model_validator(mode="after")
    def _fields_it_needs(self) -> Effect:
        if self.does == "holding_starts":
            if self.party is not None or self.by is not None:
                raise ValueError("holding_starts starts every holder's holding: give no party or by")
        elif self.party is None:
            raise ValueError(f"{self.does} needs `party`: the fact's field naming the party")
        elif (self.by is None) != (self.does in ("holding_ends", "waives")):
            raise ValueError(
                "principal_reduced and interest_paid need `by` (the amount's field); holding_ends and waives take none"
            )
        return self


class IndexRate(Strict):
    """A rate read from facts: from each fact's date on, the value of its field (the Prime Rate)."""

    fact: Annotated[str, Field(pattern=FACT_NAME)]
    field: Annotated[str, Field(pattern=FACT_NAME)] = "rate"


class FloatingRate(Strict):
    """The greater of ``floor`` and the index plus ``margin``."""

    index: IndexRate
    margin: Decimal = Field(default=Decimal(0), ge=-MAX_RATE, le=MAX_RATE)
    floor: Decimal | None = Field(default=None, ge=0, le=MAX_RATE)


Interest.model_rebuild()


class RemedyDefinition(Strict):
    """How a remedy's amount is computed (a formula of law/formulas.py); rules name remedies by their key."""

    clause: str
    report_as: Annotated[str, Field(pattern=FACT_NAME, description="the form's own word for it, in reports")]
    label: str | None = Field(default=None, description="its short name in reports (SLD); default: report_as")
    title: str | None = Field(default=None, description="its long name in headings; default: report_as")
    formula: Literal[
        "monthly_rates_on_outstanding", "simple_interest_on_amount", "interest_over_period", "flag", "none"
    ] = Field(description="none: the same as flag")
    rates: list[Annotated[Decimal, Field(ge=0, le=MAX_RATE)]] = Field(
        default_factory=list, description="month 1, then every later month"
    )
    rate: Decimal | None = Field(default=None, ge=0, le=MAX_RATE)
    floating: FloatingRate | None = Field(default=None, description="interest_over_period: instead of rate")
    less: Decimal = Field(default=Decimal(0), ge=0, le=MAX_RATE, description="the excess over this rate only")
    day_count: DayCount = "actual/365"
    on: Literal["amount", "unpaid_amount", "outstanding_principal"] = Field(
        default="amount",
        description="interest_over_period: the trigger's amount, what of it is still unpaid each day, or principal",
    )
    amount_field: Annotated[str, Field(pattern=FACT_NAME)] = Field(
        default="amount", description="the trigger's field holding the amount"
    )
    excluding_overdue: list[Annotated[str, Field(pattern=RULE_ID)]] = Field(
        default_factory=list,
        description="on outstanding_principal: less what of it is overdue under these rules, which bears its own",
    )
    accrues_from: Literal["breach_start", "trigger_date", "due_date"] = Field(
        default="breach_start", description="due_date: from the day the amount fell due, included (overdue interest)"
    )
    description: str | None = None

    @model_validator(mode="after")
    def _parameters_of_the_formula(self) -> RemedyDefinition:
        if self.formula == "monthly_rates_on_outstanding" and not self.rates:
            raise ValueError("monthly_rates_on_outstanding needs `rates`: month 1, then every later month")
        if self.formula == "simple_interest_on_amount" and self.rate is None:
            raise ValueError("simple_interest_on_amount needs `rate`")
        if self.formula == "interest_over_period" and (self.rate is None) == (self.floating is None):
            raise ValueError("interest_over_period needs exactly one of `rate` and `floating`")
        return self

    @property
    def has_amount(self) -> bool:
        return self.formula not in ("flag", "none")


class Survival(Strict):
    years: StrictInt = Field(ge=1, le=MAX_YEARS)
    sections: list[str]
    note: str


def _form_words_in_schema(schema: dict[str, Any]) -> None:
    """The editor's schema accepts the Amnis words: ``buyers`` for ``parties``, ``debentures`` for ``instrument``."""
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    one_of = []
    for word, general in (("buyers", "parties"), ("debentures", "instrument")):
        if general in properties:
            properties[word] = {**properties[general], "description": f"the Amnis word for `{general}`"}
        if general in required:
            required.remove(general)
            one_of.append({"oneOf": [{"required": [general]}, {"required": [word]}]})
    if one_of:
        schema["allOf"] = one_of


class Agreement(Strict):
    """``agreement.yaml``: the parties, the money and the conventions."""

    model_config = ConfigDict(json_schema_extra=_form_words_in_schema)

    id: Annotated[str, Field(pattern=RULE_ID)]
    title: str
    text_file: str | list[str] | None = Field(
        default=None,
        description="the agreement's text, for lint; or a list: the agreement, then its amendments in order",
    )

    def text_files(self) -> list[str]:
        """The text files, one or several (an amendment adds its own), relative to the rule folder."""
        if self.text_file is None:
            return []
        return [self.text_file] if isinstance(self.text_file, str) else list(self.text_file)

    parties: list[Buyer] = Field(
        min_length=1,
        validation_alias=AliasChoices("parties", "buyers"),
        description="who the parties are and what each holds; `buyers` is the Amnis word for the same list",
    )
    instrument: Interest = Field(
        validation_alias=AliasChoices("instrument", "debentures"),
        description="what the holders hold; `debentures` is the Amnis word",
    )
    fiscal_year_end: Annotated[str, Field(pattern=r"^\d{2}-\d{2}$")] = "12-31"
    majority: Majority = Field(default_factory=lambda: Majority(more_than=Decimal("0.5")))
    effects: list[Effect] = Field(default_factory=list, description="what facts do to holdings")
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    remedies: dict[str, RemedyDefinition]
    survival: Survival | None = None

    @model_validator(mode="before")
    @classmethod
    def _form_words_win(cls, data: Any) -> Any:
        """``buyers`` and ``debentures`` over ``parties`` and ``instrument`` when both are given.

        Only a merge gives both: a portfolio's ``terms`` in the form's words
        laid over a form already read (whose keys are the general ones).
        """
        if isinstance(data, dict):
            for word, general in (("buyers", "parties"), ("debentures", "instrument")):
                if word in data and general in data:
                    data = {key: value for key, value in data.items() if key != general}
        return data

    @property
    def buyers(self) -> list[Buyer]:
        """Every party (the Amnis word): the ids facts may name."""
        return self.parties

    @property
    def debentures(self) -> Interest:
        return self.instrument

    def principal_total(self) -> Decimal:
        return sum((b.principal for b in self.parties), Decimal(0))

    def effects_doing(self, does: str) -> list[Effect]:
        return [effect for effect in self.effects if effect.does == does]

    def starts_holdings(self, fact_type: str, fields: Mapping[str, Any]) -> bool:
        """Whether a fact of this type and fields starts the holdings (a `holding_starts` effect, the Amnis Closing)."""
        return any(
            effect.on == fact_type and all(fields.get(name) == value for name, value in effect.where.items())
            for effect in self.effects_doing("holding_starts")
        )

    def everyone(self) -> str:
        """An obligation owed to all the holders together, in the form's word: all Buyers, all Holders, all Lenders."""
        holders = [party for party in self.parties if party.holder] or self.parties
        return f"all {holders[0].role.capitalize()}s" if holders else "all parties"

    def start_word(self) -> str:
        """The form's word for the day the holdings start: its first `holding_starts` fact type, capitalised."""
        starts = self.effects_doing("holding_starts")
        word = starts[0].on.replace("_", " ") if starts else "start of the holdings"
        return word[:1].upper() + word[1:]

    def remedy_kinds(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The report's words for remedies, in declaration order: those with an amount, then flags."""
        amounts = dict.fromkeys(r.report_as for r in self.remedies.values() if r.has_amount)
        flags = dict.fromkeys(r.report_as for r in self.remedies.values() if not r.has_amount)
        return tuple(amounts), tuple(flags)


__all__ = [
    "LAST_SCHEDULED",
    "MAX_RATE",
    "PARTY_ID",
    "Agreement",
    "Buyer",
    "CalendarSettings",
    "DayCount",
    "Effect",
    "FloatingRate",
    "IndexRate",
    "Instrument",
    "Interest",
    "MailConvention",
    "Majority",
    "Party",
    "RemedyDefinition",
    "ScheduledPayment",
    "Survival",
]
