"""Obligations arising from the instrument's schedule, with computed amounts, and default interest on them.

The Oil-Dri notes (rules/oil-dri-nppsa-2020): coupons each 15 May and 15
November, installments each 15 May, both owed to each holder, due on the
scheduled date rolled to the next Business Day (11J); the figures are the
spec's (shared/spec/oil-dri-nppsa-2020.md, "Time and money"). Real engine,
real files.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from covenant.calendar import as_date
from covenant.cli.main import main
from covenant.language.scenariofiles import Scenario, load_scenarios, scenario_files
from covenant.language.vocabulary import VOCABULARY_FILE, load_vocabulary
from covenant.law.driver import FormEvaluator
from covenant.law.schedules import Schedules
from covenant.pipeline import evaluator_for
from covenant.scenarios import run_scenario

from .conftest import ROOT

OIL_DRI = ROOT / "rules" / "oil-dri-nppsa-2020"
CLOSING = as_date("2020-05-15")


@pytest.fixture(scope="module")
def oil_dri() -> FormEvaluator:
    return evaluator_for(OIL_DRI)


def _payments_scenarios() -> list[Scenario]:
    vocabulary = load_vocabulary(OIL_DRI / VOCABULARY_FILE)
    paths = [p for p in scenario_files(OIL_DRI) if p.name.startswith("payments-")]
    return [s for path in paths for s in load_scenarios(path, vocabulary)]


@pytest.mark.parametrize("scenario", _payments_scenarios(), ids=lambda s: s.name)
def test_scenario(scenario: Scenario, oil_dri: FormEvaluator) -> None:
    outcome = run_scenario(scenario, oil_dri)
    assert outcome.passed, outcome.differences


@pytest.mark.parametrize(
    ("day", "pica", "pruco", "prulegacy"),
    [
        ("2020-11-15", "88875.00", "69125.00", "39500.00"),
        ("2021-05-15", "88875.00", "69125.00", "39500.00"),  # the installment of that day is not yet deducted
        ("2021-11-15", "79987.50", "62212.50", "35550.00"),
        ("2030-05-15", "8887.50", "6912.50", "3950.00"),  # 450,000.00 x 1.975%: the last coupon
    ],
)
def test_coupons_run_on_the_scheduled_principal(
    oil_dri: FormEvaluator, day: str, pica: str, pruco: str, prulegacy: str
) -> None:
    schedules = Schedules(oil_dri.form.agreement)
    owed = {
        holder: schedules.amount("interest", as_date(day), holder, CLOSING)[0]
        for holder in ("pica", "pruco", "prulegacy")
    }
    assert owed == {"pica": Decimal(pica), "pruco": Decimal(pruco), "prulegacy": Decimal(prulegacy)}


def test_installments_are_shared_pro_rata_and_the_last_pays_the_rest(oil_dri: FormEvaluator) -> None:
    schedules = Schedules(oil_dri.form.agreement)
    first = {h: schedules.amount("principal", as_date("2021-05-15"), h, CLOSING)[0] for h in ("pica", "pruco")}
    assert first == {"pica": Decimal("450000.00"), "pruco": Decimal("350000.00")}
    total = sum(
        (
            schedules.amount("principal", day, None, CLOSING)[0]
            for day in sorted(oil_dri.form.agreement.instrument.scheduled_dates()["principal"])
        ),
        Decimal(0),
    )
    assert total == Decimal("10000000.00")
    assert schedules.amount("principal", as_date("2030-05-15"), "prulegacy", CLOSING)[0] == Decimal("200000.00")


def test_an_uneven_share_is_rounded_once_and_the_rest_makes_up_the_difference(oil_dri: FormEvaluator) -> None:
    agreement = oil_dri.form.agreement
    parties = [p.model_copy(update={"principal": Decimal("4000000.00")}) for p in agreement.parties]
    schedules = Schedules(agreement.model_copy(update={"parties": parties}))
    share, words = schedules.amount("principal", as_date("2021-05-15"), "pica", CLOSING)
    assert share == Decimal("333333.33")  # 1,000,000.00 x 4,000,000.00 / 12,000,000.00, half-up to the cent
    assert "333333.33" in words
    rest, _ = schedules.amount("principal", as_date("2030-05-15"), "pica", CLOSING)
    assert rest == Decimal("4000000.00") - 9 * Decimal("333333.33") == Decimal("1000000.03")


def _facts(tmp_path: Path, facts: list[dict[str, str]]) -> Path:
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(fact) + "\n" for fact in facts), encoding="utf-8")
    return path


def _check(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check", *args, "--rules", str(OIL_DRI), "--format", "json"])
    return result.exit_code, result.stdout, result.stderr


def test_every_date_of_the_term_paid_on_time_meets_every_obligation(tmp_path: Path, oil_dri: FormEvaluator) -> None:
    schedules = Schedules(oil_dri.form.agreement)
    dates = oil_dri.form.agreement.instrument.scheduled_dates()
    facts: list[dict[str, str]] = [{"id": "c1", "type": "closing", "date": "2020-05-15"}]
    for kind in ("interest", "principal"):
        for day in sorted(dates[kind]):
            for holder in ("pica", "pruco", "prulegacy"):
                amount = schedules.amount(kind, day, holder, CLOSING)[0]
                facts.append(
                    {
                        "id": f"{kind}-{day}-{holder}",
                        "type": "payment",
                        "date": day.isoformat(),  # a Sunday is early, never late
                        "to": holder,
                        "kind": kind,
                        "due": day.isoformat(),
                        "amount": f"{amount:.2f}",
                    }
                )
    code, out, err = _check(str(_facts(tmp_path, facts)), "--as-of", "2030-06-30")
    assert code == 0, err
    payments = ("interest-payment", "principal-payment")
    obligations = [o for o in json.loads(out)["obligations"] if o["rule"] in payments]
    assert len(obligations) == 3 * (20 + 10)
    assert {o["status"] for o in obligations} == {"fulfilled"}
    rolled = {(o["trigger"], o["due"]) for o in obligations if o["trigger"] != o["due"]}
    assert ("2020-11-15", "2020-11-16") in rolled  # a Sunday
    assert ("2021-05-15", "2021-05-17") in rolled  # a Saturday


def test_no_obligation_arises_after_the_as_of_date_or_before_the_closing(tmp_path: Path) -> None:
    facts = [{"id": "c1", "type": "closing", "date": "2021-06-01"}]
    code, out, err = _check(str(_facts(tmp_path, facts)), "--as-of", "2021-11-14")
    assert code == 0, err
    payments = ("interest-payment", "principal-payment")
    found = [o for o in json.loads(out)["obligations"] if o["rule"] in payments]
    assert found == []  # 2021-05-15 is before the Closing, 2021-11-15 after the as-of date
    code, out, err = _check(str(_facts(tmp_path, facts)), "--as-of", "2021-11-15")
    triggers = {(o["rule"], o["trigger"]) for o in json.loads(out)["obligations"] if o["rule"] in payments}
    assert triggers == {("interest-payment", "2021-11-15")}


def test_default_interest_on_an_overdue_coupon_is_the_specs_example(tmp_path: Path) -> None:
    facts = [
        {"id": "c1", "type": "closing", "date": "2020-05-15"},
        {"id": "r1", "type": "prime_rate", "date": "2020-03-16", "rate": "0.0325"},
        {"id": "p1", "type": "payment", "date": "2020-11-27", "to": "pica", "kind": "interest"}
        | {"due": "2020-11-15", "amount": "88875.00"},
    ]
    code, out, err = _check(str(_facts(tmp_path, facts)), "--as-of", "2020-11-30")
    assert code == 0, err
    report = json.loads(out)
    pica = next(o for o in report["obligations"] if o["beneficiary"] == "pica")
    assert pica["remedies"] == [{"kind": "default_interest", "buyer": "pica", "amount": "161.58"}]
    assert report["facts"]["not_relevant"] == 0  # the Prime Rate is used by the Default Rate


def test_a_payment_for_a_date_the_instrument_does_not_schedule_is_an_input_error(tmp_path: Path) -> None:
    facts = [
        {"id": "c1", "type": "closing", "date": "2020-05-15"},
        {"id": "p1", "type": "payment", "date": "2020-11-16", "to": "pica", "kind": "principal"}
        | {"due": "2020-11-15", "amount": "1.00"},
    ]
    path = _facts(tmp_path, facts)
    code, _, err = _check(str(path))
    assert code == 2
    assert f"{path}:2: due: 2020-11-15 is not a date the instrument schedules for principal (kind)" in err
    assert "the nearest is 2021-05-15" in err


def test_scheduled_by_must_name_a_one_of_field(tmp_path: Path) -> None:
    (tmp_path / VOCABULARY_FILE).write_text(
        "types:\n  payment:\n    meaning: a payment\n    fields:\n"
        "      kind: {type: text}\n      due: {type: date, scheduled: {by: kind}}\n",
        encoding="utf-8",
    )
    with pytest.raises(Exception, match="not a one_of field"):
        load_vocabulary(tmp_path / VOCABULARY_FILE)


def test_lint_says_a_schedule_the_instrument_lacks_never_arises(tmp_path: Path) -> None:
    folder = tmp_path / "oil-dri"
    folder.mkdir()
    for path in OIL_DRI.glob("*.*"):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    agreement = folder / "agreement.yaml"
    text = agreement.read_text(encoding="utf-8")
    agreement.write_text(text.replace("    - pays: interest\n", "    - pays: principal\n", 1), encoding="utf-8")
    rule = folder / "1a-interest-payment.yaml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("to: trigger.amount", "to: trigger.amont"), "utf-8")
    result = CliRunner().invoke(main, ["lint", str(folder)])
    assert result.exit_code == 1
    assert "instrument schedules no interest: this never arises" in result.stdout
    assert "has no field 'amont'" in result.stdout
