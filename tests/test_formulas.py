"""The remedy formula library (law/formulas.py), parties, majorities and effects, on hand-computed figures.

Every amount was computed by hand, with the arithmetic in the comment above it,
from the specs of the next forms (shared/spec/oil-dri-nppsa-2020.md, "Time and
money" and "Default interest"; shared/spec/elysium-term-loan-2020.md, "Terms"),
never with the monitor. The Amnis figures stay in tests/test_remedies.py.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from covenant.calendar import Date, as_date
from covenant.facts import Fact
from covenant.language.model import Agreement, Effect, RemedyDefinition
from covenant.law.formulas import (
    Rate,
    day_count_days,
    days_30_360,
    interest_over_period,
    monthly_rates_on_outstanding,
    simple_interest_on_amount,
)
from covenant.law.holdings import Holdings
from covenant.law.remedies import BuyerLedger, ledgers_from_facts
from covenant.pipeline import check

from .conftest import AMNIS_RULES
from .test_remedies import INVOICE_LOG, _amounts, _only, _write


def d(text: str) -> Date:
    return as_date(text)


def constant(amount: str) -> Any:
    value = Decimal(amount)
    return lambda _day: value


# --- day counts ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        ("2020-05-15", "2020-11-15", 180),  # 30 x 6: a semi-annual coupon period
        ("2020-11-15", "2021-05-15", 180),  # 360 x 1 + 30 x (5 - 11) + 0
        ("2020-11-16", "2020-11-27", 11),  # the Oil-Dri worked example
        ("2021-01-31", "2021-02-28", 28),  # d1 = 30: 30 x 1 + (28 - 30)
        ("2021-01-31", "2021-03-31", 60),  # d1 = 30 and D2 is a 31st: d2 = 30
        ("2021-01-30", "2021-07-31", 180),  # d1 = 30, d2 = 30
        ("2021-01-15", "2021-03-31", 76),  # d1 = 15: the 31st stays 31, 30 x 2 + 16
        ("2020-02-29", "2020-03-31", 32),  # bond basis has no February rule: 30 + (31 - 29)
    ],
)
def test_30_360_bond_basis(start: str, end: str, days: int) -> None:
    assert days_30_360(d(start), d(end)) == days
    assert day_count_days(d(start), d(end), "30/360") == days


def test_actual_day_counts_and_a_period_backwards_counts_nothing() -> None:
    assert day_count_days(d("2021-01-31"), d("2021-03-31"), "actual/360") == 59
    assert day_count_days(d("2021-01-31"), d("2021-03-31"), "actual/365") == 59
    assert day_count_days(d("2021-03-31"), d("2021-01-31"), "30/360") == 0


# --- simple interest on an amount -------------------------------------------------------------------------------------
def test_simple_interest_on_an_amount_under_each_day_count() -> None:
    start, end = d("2003-06-01"), d("2003-07-01")
    # 10,000 x 15% x 30/365 = 123.2876... -> 123.29 (Amnis 4(f)'s convention)
    computed = simple_interest_on_amount(Decimal("10000"), Decimal("0.15"), start, end)
    assert computed.amount == Decimal("123.29")
    assert computed.summary == "10000 x 15.00% x 30/365 days (2003-06-01 to 2003-07-01 excluded)"
    # 10,000 x 15% x 30/360 = 125.00
    assert simple_interest_on_amount(Decimal("10000"), Decimal("0.15"), start, end, "actual/360").amount == Decimal(
        "125.00"
    )
    # 2003-06-01 to 2003-07-31 on 30/360 is 60 days: 10,000 x 15% x 60/360 = 250.00 (actual: 60 days as well)
    assert simple_interest_on_amount(
        Decimal("10000"), Decimal("0.15"), start, d("2003-07-31"), "30/360"
    ).amount == Decimal("250.00")


# --- interest over a period -------------------------------------------------------------------------------------------
def test_oil_dri_overdue_coupon_at_the_default_rate() -> None:
    """pica's 88,875.00 due 2020-11-16, paid 2020-11-27, Prime 3.25%: 88,875.00 x 5.95% x 11/360 = 161.58."""
    # Default Rate = max(5.95%, Prime 3.25% + 2.00% = 5.25%) = 5.95%
    default_rate = Rate.floating([(d("2020-03-16"), Decimal("0.0325"))], Decimal("0.02"), Decimal("0.0595"))
    assert default_rate.on(d("2020-11-16")) == Decimal("0.0595")
    computed = interest_over_period(constant("88875.00"), (), default_rate, d("2020-11-16"), d("2020-11-27"), "30/360")
    # 88,875 x 0.0595 = 5,288.0625; x 11 = 58,168.6875; / 360 = 161.5796... -> 161.58
    assert computed.amount == Decimal("161.58")
    assert computed.summary == "88875.00 x 5.95% x 11/360 (2020-11-16 to 2020-11-27 excluded)"


def test_oil_dri_election_on_outstanding_principal_split_where_prime_changes() -> None:
    """The excess of the Default Rate over 3.95%, 30/360; Prime 3.25%, 4.00% from 2022-05-05, 4.75% from 06-16."""
    prime = [
        (d("2020-03-16"), Decimal("0.0325")),
        (d("2022-05-05"), Decimal("0.04")),
        (d("2022-06-16"), Decimal("0.0475")),
    ]
    rate = Rate.floating(prime, Decimal("0.02"), Decimal("0.0595"), less=Decimal("0.0395"))
    computed = interest_over_period(constant("4050000"), (), rate, d("2022-05-01"), d("2022-07-01"), "30/360")
    # 05-01 to 05-05:  4 days at 5.95% - 3.95% = 2.00%   -> 0.0800
    # 05-05 to 06-16: 41 days at 6.00% - 3.95% = 2.05%   -> 0.8405
    # 06-16 to 07-01: 15 days at 6.75% - 3.95% = 2.80%   -> 0.4200
    # 4,050,000 x 1.3405 / 360 = 5,429,025 / 360 = 15,080.625 -> half-up 15,080.63
    assert computed.amount == Decimal("15080.63")
    assert computed.summary.count(" + ") == 2


def test_actual_360_floating_rate_split_by_index_and_by_principal() -> None:
    """Elysium-like: Prime + 9.75% (Contract Rate 7.75% + 2%), no floor, actual/360, March 2020."""
    prime = [
        (d("2019-10-31"), Decimal("0.0475")),
        (d("2020-03-04"), Decimal("0.0425")),
        (d("2020-03-16"), Decimal("0.0325")),
    ]
    rate = Rate.floating(prime, Decimal("0.0975"), None)
    start, end = d("2020-03-01"), d("2020-04-01")
    computed = interest_over_period(constant("1000000"), (), rate, start, end, "actual/360")
    # 3 days at 14.50% + 12 days at 14.00% + 16 days at 13.00% on 1,000,000:
    # (435,000 + 1,680,000 + 2,080,000) / 360 = 11,652.777... -> 11,652.78
    assert computed.amount == Decimal("11652.78")

    def principal(day: Date) -> Decimal:
        return Decimal("1000000") if day < d("2020-03-20") else Decimal("800000")

    computed = interest_over_period(principal, [d("2020-03-20")], rate, start, end, "actual/360")
    # the last segment splits on 03-20: 4 days at 13% on 1,000,000 (520,000) + 12 days on 800,000 (1,248,000)
    # (435,000 + 1,680,000 + 520,000 + 1,248,000) / 360 = 10,786.111... -> 10,786.11
    assert computed.amount == Decimal("10786.11")


def test_a_floating_rate_before_its_index_is_the_floor_and_never_negative() -> None:
    assert Rate.floating([], Decimal("0.02"), Decimal("0.0595")).on(d("2020-01-01")) == Decimal("0.0595")
    assert Rate.floating([], Decimal("0.02"), None).on(d("2020-01-01")) == Decimal("0.02")
    assert Rate(fixed=Decimal("0.03"), less=Decimal("0.0395")).on(d("2020-01-01")) == Decimal(0)


def test_a_fixed_rate_over_an_empty_period_is_nothing() -> None:
    computed = interest_over_period(
        constant("1000"), (), Rate(fixed=Decimal("0.1")), d("2020-01-02"), d("2020-01-02"), "actual/365"
    )
    assert computed.amount == Decimal("0.00")


# --- liquidated damages by month --------------------------------------------------------------------------------------
class Flat:
    """A ledger whose base never changes."""

    def base_on(self, _day: Date) -> Decimal:
        return Decimal("100000")


def test_monthly_rates_on_a_flat_base() -> None:
    computed = monthly_rates_on_outstanding(
        Flat(), [Decimal("0.02"), Decimal("0.03")], d("2003-01-31"), d("2003-03-15")
    )
    # month 1, 01-31 to 02-28 (anchored, clamped): 2% x 100,000 x 28/28 = 2,000
    # month 2, 02-28 to 03-31: 3% x 100,000 x 15/31 = 1,451.6129... -> total 3,451.61
    assert [(line.days, line.days_in_month) for line in computed.lines] == [(28, 28), (15, 31)]
    assert computed.amount == Decimal("3451.61")


# --- the instrument's ledger ------------------------------------------------------------------------------------------
def test_a_30_360_ledger_accrues_a_coupon_period_as_180_days() -> None:
    ledger = BuyerLedger(Decimal("1000000"), Decimal("0.0395"), d("2020-05-15"), "30/360")
    # 1,000,000 x 3.95% x 180/360 = 19,750
    assert ledger.accrued_interest_on(d("2020-11-15")) == Decimal("19750")


# --- parties, majorities, effects ------------------------------------------------------------------------------------
def _notes(majority: dict[str, Any], effects: list[dict[str, Any]] | None = None) -> Agreement:
    return Agreement.model_validate(
        {
            "id": "notes",
            "title": "Note purchase agreement",
            "parties": [
                {"id": "pica", "name": "Pica", "role": "holder", "principal": "4500000"},
                {"id": "pruco", "name": "Pruco", "role": "holder", "principal": "3500000"},
                {"id": "prulegacy", "name": "Prulegacy", "role": "holder", "principal": "2000000"},
                {"id": "agent", "name": "The Agent", "role": "agent", "holder": False},
            ],
            "instrument": {"name": "Series B Notes", "rate": "0.0395", "day_count": "30/360"},
            "majority": majority,
            "effects": effects or [],
            "remedies": {},
        }
    )


def _fact(number: int, kind: str, day: str, **fields: Any) -> Fact:
    return Fact(f"f{number}", kind, d(day), fields, "log.jsonl", number, number)


PAYMENT = {"on": "principal_payment", "does": "principal_reduced", "party": "holder", "by": "amount"}


def test_more_than_half_of_the_original_principal() -> None:
    holdings = Holdings(_notes({"more_than": "0.5"}))
    day = d("2021-01-04")
    assert not holdings.permitted("majority_in_interest", ["pica"], None, day)  # 45%
    assert not holdings.permitted("majority_in_interest", ["pruco", "agent"], None, day)  # 35%: the agent holds nothing
    assert holdings.permitted("majority_in_interest", ["pica", "prulegacy"], None, day)  # 65%


def test_at_least_a_share_counts_the_share_itself() -> None:
    # pica + prulegacy = 6,500,000 of 10,000,000: at least 65% yes, more than 65% no
    day = d("2021-01-04")
    assert Holdings(_notes({"at_least": "0.65"})).permitted("majority_in_interest", ["pica", "prulegacy"], None, day)
    assert not Holdings(_notes({"more_than": "0.65"})).permitted(
        "majority_in_interest", ["pica", "prulegacy"], None, day
    )


def test_a_majority_of_outstanding_principal_follows_the_declared_effects() -> None:
    agreement = _notes({"more_than": "0.5", "of": "outstanding_principal"}, [PAYMENT])
    facts = [_fact(1, "principal_payment", "2021-05-17", holder="pruco", amount=Decimal("3000000"))]
    holdings = Holdings(agreement, facts)
    # before the payment: pica 4.5m of 10m, no; after: pica 4.5m of 7m, yes
    assert not holdings.permitted("majority_in_interest", ["pica"], None, d("2021-05-16"))
    assert holdings.permitted("majority_in_interest", ["pica"], None, d("2021-05-17"))
    assert holdings.principal_on("pruco", d("2021-05-17")) == Decimal("500000")


def test_ledgers_read_the_declared_effects_not_fact_type_names() -> None:
    paid = {"on": "coupon", "does": "interest_paid", "party": "holder", "by": "amount"}
    agreement = _notes({"more_than": "0.5"}, [PAYMENT, {**paid, "where": {"late": False}}])
    facts = [
        _fact(1, "principal_payment", "2021-05-17", holder="pica", amount=Decimal("450000")),
        _fact(2, "coupon", "2020-11-16", holder="pica", amount=Decimal("88875"), late=False),
        _fact(3, "coupon", "2020-11-16", holder="pica", amount=Decimal("1"), late=True),  # not the declared effect
    ]
    ledgers = ledgers_from_facts(facts, agreement, d("2020-05-15"))
    assert ledgers["pica"].principal_on(d("2021-05-17")) == Decimal("4050000")
    assert ledgers["pica"].interest_paid == [(d("2020-11-16"), Decimal("88875"))]
    assert ledgers["agent"].principal_on(d("2021-05-17")) == Decimal(0)


def test_the_day_holdings_start_is_named_by_the_declared_effect() -> None:
    starts = {"on": "note_purchase", "does": "holding_starts", "where": {"series": "B"}}
    agreement = _notes({"more_than": "0.5"}, [starts])
    assert agreement.start_word() == "Note purchase"  # "arose at the Note purchase (2020-05-15)"
    assert agreement.starts_holdings("note_purchase", {"series": "B"})
    assert not agreement.starts_holdings("note_purchase", {"series": "A"})
    assert not agreement.starts_holdings("principal_payment", {"series": "B"})


@pytest.mark.parametrize(
    ("effect", "message"),
    [
        ({"on": "transfer", "does": "holding_ends"}, "needs `party`"),
        ({"on": "closing", "does": "holding_starts", "party": "buyer"}, "give no party or by"),
        ({"on": "conversion", "does": "principal_reduced", "party": "buyer"}, "need `by`"),
        ({"on": "waiver", "does": "waives", "party": "by", "by": "amount"}, "waives take none"),
        ({"on": "waiver", "does": "waives"}, "needs `party`"),
    ],
)
def test_an_effect_says_what_it_needs(effect: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Effect.model_validate(effect)


@pytest.mark.parametrize(
    ("remedy", "message"),
    [
        ({"formula": "interest_over_period"}, "exactly one of `rate` and `floating`"),
        ({"formula": "monthly_rates_on_outstanding"}, "needs `rates`"),
        ({"formula": "flag", "report_as": "Event of Default"}, "should match pattern"),
    ],
)
def test_a_remedy_says_what_its_formula_needs(remedy: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RemedyDefinition.model_validate({"clause": "1A", "report_as": "default_interest", **remedy})


def test_the_report_words_come_from_the_form_in_declaration_order() -> None:
    agreement = _notes({"more_than": "0.5"})
    remedies = {
        "overdue": {
            "clause": "Note",
            "report_as": "default_interest",
            "formula": "interest_over_period",
            "rate": "0.02",
        },
        "eod": {"clause": "7A", "report_as": "event_of_default", "formula": "flag"},
        "election": {
            "clause": "1A",
            "report_as": "default_interest",
            "formula": "interest_over_period",
            "rate": "0.02",
        },
    }
    agreement = Agreement.model_validate({**agreement.model_dump(exclude_none=True), "remedies": remedies})
    assert agreement.remedy_kinds() == (("default_interest",), ("event_of_default",))


# --- what the engine sees: the date a fact bears, only where a rule needs it ---------------------------------------
def test_only_the_types_a_rule_reads_the_date_of_carry_it() -> None:
    from covenant.language.compiler import _types_comparing
    from covenant.law.memory import engine_facts

    rules = [
        {"all": [{"m": {"$and": [{"t": "notice"}, {"$lte": {"date": {"o": "tdate"}}}]}}, {"c": {"t": "closing"}}]},
        {"all": [{"m": {"$and": [{"t": "delivery"}, {"ref": {"o": "tkey"}}]}}]},
    ]
    assert _types_comparing("date", rules) == {"notice"}
    fact = _fact(1, "notice", "2020-01-02", to="pica")
    assert "date" not in engine_facts(fact, d("2020-01-07"))[0]
    assert engine_facts(fact, d("2020-01-07"), with_date=True)[0]["date"] == "2020-01-02"


# --- end to end: a remedy declared with interest_over_period, in the form's own word ----------------------------------
@pytest.mark.parametrize(
    ("parameters", "amount"),
    [
        # the invoice's 4,200.00 x 15% x 24/360 (02-17 to the payment in full, 03-12, excluded) = 15,120 / 360 = 42.00
        ({"rate": "0.15", "on": "amount", "day_count": "actual/360"}, "42.00"),
        # on what is still unpaid each day: 4,200.00 x 15% x 3/365 (02-17 to the part paid 02-20)
        # + 2,200.00 x 15% x 21/365 (02-20 to 03-12, 2004 a leap year) = (1,890 + 6,930) / 365 = 24.1643... -> 24.16
        ({"rate": "0.15", "on": "unpaid_amount"}, "24.16"),
        # bristol's 150,000 of principal x 15% x 25/365 (02-17 through 03-12, the last day in breach, included)
        # = 562,500 / 365 = 1,541.0958... -> 1,541.10
        ({"rate": "0.15", "on": "outstanding_principal"}, "1541.10"),
    ],
)
def test_a_declared_interest_over_period_reaches_the_report(
    tmp_path: Path, parameters: dict[str, Any], amount: str
) -> None:
    folder = tmp_path / "form"
    shutil.copytree(AMNIS_RULES, folder, ignore=shutil.ignore_patterns("scenarios"))
    agreement = folder / "agreement.yaml"
    text = agreement.read_text(encoding="utf-8")
    start, end = text.index("  expense_interest:"), text.index("  event_of_default:")
    declared = {"report_as": "default_interest", "formula": "interest_over_period", "accrues_from": "trigger_date"}
    lines = "".join(f"    {key}: {value}\n" for key, value in {**declared, **parameters}.items())
    agreement.write_text(f"{text[:start]}  expense_interest:\n    clause: 4(f)\n{lines}{text[end:]}", encoding="utf-8")
    report = check([_write(tmp_path, INVOICE_LOG)], folder, d("2004-03-31")).report
    expense = _only(report, "expense-reimbursement")
    assert _amounts(expense)[("default_interest", "bristol")] == amount
    assert report["summary"]["totals"]["default_interest"]["bristol"] == amount
