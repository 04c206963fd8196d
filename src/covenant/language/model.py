"""The rule language: what a rule file may say (agreement.yaml's terms are ``terms.py``).

These pydantic models are the language's grammar. They validate every rule
file before anything is compiled, give the JSON Schema an editor uses while
a lawyer types (``covenant schema rules``), and are what the compiler reads.
docs/rule-language.md documents each construct with an example; keep the two
in step.

A rule file says, for one clause: its number and quoted text, then one of
these kinds of logic:

- ``duty``: something the Company must do by a deadline (``arises``,
  ``owed_to``, ``due``, ``met_by``);
- ``prohibition``: something it must not do unless permitted (``forbids``,
  ``unless``);
- ``derive`` and ``period``: a fact that follows from others (Stockholder
  Approval complete, the Lock-up Period), asserted back into the engine;
- ``remedy``: what a breach of some clauses gives the holders (4(r));
- ``review``: an act or obligation left to judgment, listed for a person,
  with whether it was valid where the rule says how to tell;
- ``test``: a financial covenant, a measure over reported figures against a
  limit (``expressions.py`` is its arithmetic);
- ``default`` and ``default_rate``: an Event of Default resting on other
  rules' breaches, and the interest each holder is owed while one continues.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictInt, field_validator, model_validator

from covenant.facts import MAX_AMOUNT
from covenant.language.basics import FACT_NAME, MAX_DAYS, RULE_ID, Scalar, Strict
from covenant.language.expressions import Expression

# agreement.yaml's grammar, re-exported: one import gives the whole language.
from covenant.language.terms import (  # noqa: F401
    LAST_SCHEDULED,
    MAX_RATE,
    PARTY_ID,
    Agreement,
    Buyer,
    CalendarSettings,
    DayCount,
    Effect,
    FloatingRate,
    IndexRate,
    Instrument,
    Interest,
    MailConvention,
    Majority,
    Party,
    RemedyDefinition,
    ScheduledPayment,
    Survival,
)

MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
"""A month, YYYY-MM: a test's first and last period."""

REFERENCE = re.compile(r"^(trigger(\.[a-z_]+)?|beneficiary|terms\.[a-z_]+|derived\.[a-z_]+)$")


class FieldTimes(Strict):
    """Another field of the same fact, times a number: ``{field: issuable, times: 2}``."""

    field: Annotated[str, Field(pattern=FACT_NAME)]
    times: StrictInt = 1


Bound = StrictInt | Decimal | FieldTimes


class Test(Strict):
    """A test on one field, when equality is not what the clause means.

    ``same_as`` ties the field to the obligation: ``trigger`` (the id of the
    fact that made it arise), ``trigger.<field>``, ``beneficiary`` or
    ``terms.<name>``. Comparisons against another field of the same fact use
    ``{field: ..., times: ...}``.
    """

    same_as: str | None = Field(default=None, description="trigger, trigger.<field>, beneficiary or terms.<name>")
    not_: Scalar | None = Field(default=None, alias="not")
    one_of: list[Scalar] | None = None
    not_one_of: list[Scalar] | None = None
    below: Bound | None = None
    at_most: Bound | None = None
    above: Bound | None = None
    at_least: Bound | None = None
    present: StrictBool | None = None
    on_or_before: str | None = Field(default=None, description="a date reference: trigger.date")
    on_or_after: str | None = Field(default=None, description="a date reference: trigger.date")

    @model_validator(mode="after")
    def _one_test(self) -> Test:
        given = [name for name, value in self if value is not None]
        if len(given) != 1:
            raise ValueError("give exactly one test, e.g. {same_as: trigger} or {one_of: [...]}")
        for reference in (self.same_as, self.on_or_before, self.on_or_after):
            if reference is not None and not REFERENCE.match(reference):
                raise ValueError(
                    f"{reference!r} is not a reference: use trigger, trigger.<field>, beneficiary or terms.<name>"
                )
        return self


Condition = Scalar | list[Scalar] | Test
"""A scalar means "equals", a list "one of", a mapping a ``Test``."""


class FactPattern(Strict):
    """A kind of fact, with the conditions its fields must meet."""

    fact: Annotated[str, Field(pattern=FACT_NAME, description="a fact type of facts.md, or a derived fact")]
    where: dict[str, Condition] = Field(default_factory=dict)
    any_of: list[dict[str, Condition]] = Field(
        default_factory=list, description="at least one of these groups of conditions holds as well"
    )


class Provided(FactPattern):
    """A fact that must already hold when the trigger happens (dated on or before it)."""

    covers_trigger: StrictBool = Field(
        default=False, description="a derived period whose start and end enclose the trigger's date"
    )


class Extension(FactPattern):
    """A fact that moves the deadline (an NT 10-Q moves a 10-QSB's by 5 days)."""

    no_later_than_business_days_after_due: StrictInt = Field(ge=0)
    days: StrictInt = Field(ge=1)


class Due(Strict):
    """When the obligation falls due; give exactly one of the first four keys."""

    days_after: StrictInt | None = Field(default=None, ge=0, description="calendar days after the trigger, rolled")
    days_before: StrictInt | None = Field(default=None, ge=1, description="calendar days before the trigger")
    business_days_after: StrictInt | None = Field(default=None, ge=1)
    business_days_before: StrictInt | None = Field(default=None, ge=1)
    date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="a fixed date, rolled")
    roll: StrictBool | None = Field(default=None, description="override the agreement's roll convention")
    extended_by: list[Extension] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> Due:
        kinds = [
            k
            for k in ("days_after", "days_before", "business_days_after", "business_days_before", "date")
            if getattr(self, k) is not None
        ]
        if len(kinds) != 1:
            raise ValueError(
                "give exactly one of days_after, days_before, business_days_after, business_days_before, date"
            )
        return self


class FactTrigger(Strict):
    """An obligation arises when a fact of this kind is recorded."""

    on: Annotated[str, Field(pattern=FACT_NAME)]
    where: dict[str, Condition] = Field(default_factory=dict)
    any_of: list[dict[str, Condition]] = Field(
        default_factory=list, description="at least one of these groups of conditions holds as well"
    )
    provided: list[Provided] = Field(
        default_factory=list, description="other facts that must already hold (a derived fact)"
    )
    provided_none: list[FactPattern] = Field(
        default_factory=list, description="facts that must NOT hold when the trigger happens"
    )
    one_per: Annotated[str, Field(pattern=FACT_NAME)] | None = Field(
        default=None, description="one obligation per value of this field (an offering's ref)"
    )
    terms: dict[str, Scalar] = Field(default_factory=dict)
    due: Due | None = None


class PeriodTrigger(Strict):
    """An obligation arises at the end of every period (trigger = the period's last day)."""

    every: Literal["month_end", "fiscal_quarter_end", "fiscal_year_end"]
    quarters: list[Annotated[int, Field(ge=1, le=4)]] | None = None
    starting: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}$", description="first month YYYY-MM")
    terms: dict[str, Scalar] = Field(default_factory=dict)
    due: Due | None = None


class ScheduleTrigger(Strict):
    """An obligation arises on each date the instrument's schedule gives for payments of one kind.

    ``trigger`` is the scheduled date (``2020-11-15``); the obligation is due
    on that date, rolled by the calendar, unless ``due`` says otherwise; its
    ``trigger.amount`` is computed from the instrument: the holder's share of
    an installment, or the interest on its scheduled principal for the period
    (law/schedules.py).
    """

    schedule: Literal["interest", "principal"] = Field(description="which of the instrument's schedule entries")
    terms: dict[str, Scalar] = Field(default_factory=dict)
    due: Due | None = Field(default=None, description="default: the scheduled date, rolled")


Trigger = FactTrigger | PeriodTrigger | ScheduleTrigger


class Window(Strict):
    """Which obligations count, by their due date relative to the Closing."""

    due_after_closing: StrictBool = False
    due_within_years_of_closing: StrictInt | None = Field(default=None, ge=1)


class Meeting(FactPattern):
    """A fact that meets (or, late, cures) the obligation."""

    adding_up: Annotated[str, Field(pattern=FACT_NAME)] | None = Field(
        default=None, description="sum this field over matching facts until it reaches trigger.amount"
    )
    to: str = Field(default="trigger.amount", description="the total to reach, with adding_up")


class Permission(FactPattern):
    """What permits a forbidden act: consents dated on or before it."""

    given_by: Literal["every_holder", "majority_in_interest", "beneficiary"] = "every_holder"
    ref: Literal["optional", "required"] = Field(
        default="optional", description="a consent with ref permits only the act it names"
    )


OwedTo = Literal["all", "each_holder"] | dict[Literal["buyer_in"], str] | dict[Literal["role"], str]
"""``{role: agent}``: owed to the party of agreement.yaml with that role (deliveries to the Agent)."""


class AgainAfter(Strict):
    """After each such event (an amendment), a new meeting fact dated after it is required too."""

    event: FactPattern
    met_by: FactPattern
    act_by: Due | None = Field(default=None, description="deadline for the new act, relative to the trigger")


class _RuleBase(Strict):
    id: Annotated[str, Field(pattern=RULE_ID, description="stable rule id, as the memo names it")]
    clause: Annotated[str, Field(min_length=1, description="the clause as the agreement numbers it, e.g. 4(g)(i)")]
    title: Annotated[str, Field(min_length=1)]
    text: Annotated[str, Field(min_length=1, description="the clause's words, quoted from the agreement")]
    note: str | None = Field(default=None, description="counsel's reading, for people")


class DutyRule(_RuleBase):
    kind: Literal["duty"]
    arises: Trigger | list[Trigger]
    owed_to: OwedTo
    due: Due | None = None
    breach_starts: Literal["day_after_due", "on_trigger"] = Field(
        default="day_after_due",
        description="on_trigger: in breach from the trigger's date (no due date) until met",
    )
    act_by: Due | None = Field(
        default=None, description="with breach_starts on_trigger: meeting facts must take effect by this date"
    )
    met_by: list[Meeting] = Field(min_length=1)
    again_after: list[AgainAfter] = Field(default_factory=list)
    window: Window | None = None
    curable: StrictBool = Field(default=True, description="false: a late act does not cure")
    one_open_at_a_time: StrictBool = Field(
        default=False, description="no new obligation of this rule while one is pending or breached"
    )
    remedies: list[str] = Field(default_factory=list)

    def triggers(self) -> list[Trigger]:
        return self.arises if isinstance(self.arises, list) else [self.arises]

    @model_validator(mode="after")
    def _each_trigger_has_a_due(self) -> DutyRule:
        if self.breach_starts == "on_trigger":
            if self.due is not None or any(t.due for t in self.triggers()):
                raise ValueError("a duty in breach from its trigger has no `due`; use `act_by` for a deadline")
            return self
        for trigger in self.triggers():
            if trigger.due is None and self.due is None and not isinstance(trigger, ScheduleTrigger):
                raise ValueError("give `due` for the rule or for each of its triggers")
        return self


class ProhibitionRule(_RuleBase):
    kind: Literal["prohibition"]
    forbids: FactTrigger | list[FactTrigger]
    owed_to: OwedTo = "all"
    unless: list[Permission] = Field(default_factory=list)
    remedies: list[str] = Field(default_factory=list)

    def triggers(self) -> list[FactTrigger]:
        return self.forbids if isinstance(self.forbids, list) else [self.forbids]


class DeriveRule(_RuleBase):
    kind: Literal["derive"]
    derives: Annotated[str, Field(pattern=FACT_NAME, description="the name of the derived fact")]
    when: list[FactPattern] = Field(min_length=1, max_length=8)
    once: StrictBool = Field(default=True, description="derive it at most once per agreement")
    copy_fields: list[Annotated[str, Field(pattern=FACT_NAME)]] = Field(
        default_factory=list, alias="copy", description="fields copied from the first `when` fact"
    )
    set_fields: dict[Annotated[str, Field(pattern=FACT_NAME)], Scalar] = Field(
        default_factory=dict, alias="set", description="fields the derived fact always has"
    )
    ends_when: FactPattern | None = Field(
        default=None, description="a fact that ends the derived fact (same_as: derived.<field>)"
    )


class DateTerm(Strict):
    """A date computed from a fact: its date (or a date field) plus days or years."""

    fact: Annotated[str, Field(pattern=FACT_NAME)]
    field: Literal["date", "start", "end"] = "date"
    days_after: StrictInt = Field(default=0, ge=0)
    years_after: StrictInt = Field(default=0, ge=0)
    plus_days_of: Annotated[str, Field(pattern=FACT_NAME)] | None = Field(
        default=None,
        description="add each day inside spans of this fact (date to `until`, both included) from the base date on",
    )


class PeriodEnd(Strict):
    later_of: list[DateTerm] = Field(min_length=1)


class PeriodRule(_RuleBase):
    """A period derived from facts (the Lock-up Period), recomputed when they arrive.

    Until every term of ``ends`` is known, the period has not ended.
    """

    kind: Literal["period"]
    derives: Annotated[str, Field(pattern=FACT_NAME)]
    starts_on: Annotated[str, Field(pattern=FACT_NAME, description="the fact whose date starts it")]
    ends: PeriodEnd


class RemedyRule(_RuleBase):
    kind: Literal["remedy"]
    applies_to_section: Annotated[str, Field(pattern=r"^\d+$", description='e.g. "4" for every covenant of Section 4')]
    grants: list[str] = Field(min_length=1)


class Validity(Strict):
    """When an act a review lists is valid: all the conditions given hold on the act's date."""

    where: dict[Annotated[str, Field(pattern=FACT_NAME)], Scalar | list[Scalar]] = Field(
        default_factory=dict, description="the act's own fields (scope: own)"
    )
    by_majority: Annotated[str, Field(pattern=FACT_NAME)] | None = Field(
        default=None, description="the act's field listing the parties, who must be a majority in interest"
    )
    defaults_continuing: Literal["any"] | list[Annotated[str, Field(pattern=RULE_ID)]] | None = Field(
        default=None, description="an Event of Default (any, or of these rules) continues on the act's date"
    )
    no_default_continuing: StrictBool = Field(default=False, description="no Event of Default continues then")


class ReviewRule(_RuleBase):
    kind: Literal["review"]
    arises: FactTrigger | list[FactTrigger]
    bearing: list[FactPattern] = Field(
        default_factory=list, description="facts that bear on the judgment, listed as evidence"
    )
    valid_when: list[Validity] = Field(
        default_factory=list, description="the act is valid when one of these holds; the report says which, and why"
    )
    listed: Literal["always", "when_invalid"] = Field(
        default="always", description="when_invalid: a valid act is not listed (it simply takes effect)"
    )

    def triggers(self) -> list[FactTrigger]:
        return self.arises if isinstance(self.arises, list) else [self.arises]


class Figures(Strict):
    """Where a financial test's figures come from: one fact per period, named by its period-end field."""

    fact: Annotated[str, Field(pattern=FACT_NAME, description="the fact type reporting a period's figures")]
    period_field: Annotated[str, Field(pattern=FACT_NAME)] = Field(
        default="period", description="the field holding the period's last day"
    )
    every: Literal["month_end", "fiscal_quarter_end", "fiscal_year_end"] | None = Field(
        default=None, description="the period each fact reports (months tested at quarter ends); default: the test's"
    )
    where: dict[str, Condition] = Field(default_factory=dict)


Comparison = Literal["at_least", "at_most", "below", "above"]
COMPARISONS: tuple[Comparison, ...] = ("at_least", "at_most", "below", "above")


class Limit(Strict):
    """A limit and how the measure must compare with it: exactly one of the four keys."""

    at_least: Decimal | None = Field(default=None, ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    at_most: Decimal | None = Field(default=None, ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    below: Decimal | None = Field(default=None, ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    above: Decimal | None = Field(default=None, ge=-MAX_AMOUNT, le=MAX_AMOUNT)

    @model_validator(mode="after")
    def _one_comparison(self) -> Limit:
        if sum(getattr(self, name) is not None for name in COMPARISONS) != 1:
            raise ValueError("give exactly one of at_least, at_most, below and above")
        return self

    def comparison(self) -> tuple[Comparison, Decimal]:
        name = next(name for name in COMPARISONS if getattr(self, name) is not None)
        value = getattr(self, name)
        assert value is not None
        return name, value


class LimitStep(Limit):
    """From a test date on, this limit (and, if given, this many periods in the window): a limit that steps down."""

    from_: str = Field(alias="from", pattern=r"^\d{4}-\d{2}-\d{2}$", description="the first test date it applies to")

    @field_validator("from_")
    @classmethod
    def _a_real_day(cls, value: str) -> str:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value} is not a calendar date") from None
        return value

    window: StrictInt | None = Field(default=None, ge=1, le=120)


class FinancialTest(_RuleBase):
    """A financial covenant: a measure over reported figures, compared with a limit at each period end."""

    kind: Literal["test"]
    every: Literal["month_end", "fiscal_quarter_end", "fiscal_year_end"] = Field(description="the test dates")
    starting: str = Field(pattern=MONTH, description="the first test period's month, YYYY-MM")
    ending: str | None = Field(default=None, pattern=MONTH, description="the last one's, YYYY-MM")
    figures: Figures
    window: StrictInt = Field(
        default=1, ge=1, le=120, description="figures' periods ending at the test date (4: four quarters)"
    )
    measure: Expression
    limit: Limit | None = Field(default=None, description="one limit for every test date")
    limits: list[LimitStep] = Field(default_factory=list, description="or limits by test date, in date order")
    owed_to: Literal["all"] = "all"
    remedies: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind_of_limit(self) -> FinancialTest:
        if (self.limit is None) == (not self.limits):
            raise ValueError("give `limit` (one for every test date) or `limits` (by test date), not both")
        starts = [step.from_ for step in self.limits]
        if starts != sorted(set(starts)):
            raise ValueError("`limits` must be in date order, each `from` once")
        return self

    def limit_on(self, test_date: str) -> tuple[Limit, int] | None:
        """The limit and window for a test date (ISO); None before the first step."""
        if self.limit is not None:
            return self.limit, self.window
        current = None
        for step in self.limits:
            if step.from_ <= test_date:
                current = step
        if current is None:
            return None
        return current, current.window or self.window


class Grace(Strict):
    """How long a breach may last before it is an Event of Default: counted from the due date or from notice."""

    days_after_due: StrictInt | None = Field(default=None, ge=0, le=MAX_DAYS)
    business_days_after_due: StrictInt | None = Field(default=None, ge=1, le=MAX_DAYS)
    days_after_notice: StrictInt | None = Field(default=None, ge=0, le=MAX_DAYS, description="rolled")
    notice: list[FactPattern] = Field(
        default_factory=list,
        description="facts that start the notice period; each names the obligation in `rule` and `trigger`",
    )
    only_for: list[Annotated[str, Field(pattern=RULE_ID)]] = Field(
        default_factory=list,
        description="the grace applies to breaches of these rules only; the others count from their first day",
    )

    @model_validator(mode="after")
    def _one_count(self) -> Grace:
        counts = [self.days_after_due, self.business_days_after_due, self.days_after_notice]
        if sum(count is not None for count in counts) != 1:
            raise ValueError("give exactly one of days_after_due, business_days_after_due and days_after_notice")
        if (self.days_after_notice is None) != (not self.notice):
            raise ValueError("days_after_notice needs `notice` (the facts that start it), and only it does")
        return self


class EventOfDefaultRule(_RuleBase):
    """An Event of Default resting on the breach of other rules: at once, after a grace period, or after notice."""

    kind: Literal["default"]
    on_breach_of: list[Annotated[str, Field(pattern=RULE_ID)]] = Field(min_length=1, max_length=50)
    grace: Grace | None = Field(default=None, description="none: from the breach's first day")
    remedies: list[str] = Field(default_factory=list)


class Election(Strict):
    """The fact by which holders elect, and its field listing them; several add up, counted on the last one's date."""

    fact: Annotated[str, Field(pattern=FACT_NAME)]
    field: Annotated[str, Field(pattern=FACT_NAME)] = "by"


class DefaultRateRule(_RuleBase):
    """Each holder's remedy while an Event of Default continues: from every one, or once a majority elects."""

    kind: Literal["default_rate"]
    elected_by: Election | None = Field(
        default=None, description="none: it runs during every Event of Default without an election"
    )
    owed_to: Literal["each_holder"] = "each_holder"
    remedies: list[str] = Field(min_length=1)


Rule = Annotated[
    DutyRule
    | ProhibitionRule
    | DeriveRule
    | PeriodRule
    | RemedyRule
    | ReviewRule
    | FinancialTest
    | EventOfDefaultRule
    | DefaultRateRule,
    Field(discriminator="kind"),
]


def describe_reference(reference: str) -> tuple[str, str | None]:
    """Split ``trigger.month`` into ("trigger", "month")."""
    head, _, tail = reference.partition(".")
    return head, tail or None


def scalar_json(value: Any) -> Any:
    """Rule-file scalars as the engine compares them."""
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    return value


def section_of(clause: str) -> str:
    """The section a clause belongs to, as ``applies_to_section`` names it: ``4(g)(i)`` -> ``4``."""
    digits = ""
    for character in clause:
        if not character.isdigit():
            break
        digits += character
    return digits
