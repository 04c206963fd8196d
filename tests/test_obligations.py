"""The obligation book and its state machine, with no engine: the law's transitions on their own.

Each test builds a book over three Buyers who hold from the Closing, opens
obligations by hand and drives them as the driver would; the hooks record
what the engine would have heard.
"""

from __future__ import annotations

from typing import Any

from covenant.calendar import Date, as_date
from covenant.language.model import Agreement
from covenant.law.agenda import Agenda
from covenant.law.holdings import Holdings
from covenant.law.obligations import Obligation, ObligationBook, Status

CLOSING = as_date("2024-01-10")
BUYERS = ("alpha", "beta", "gamma")


def _agreement(principals: tuple[str, ...] = ("500000", "300000", "200000")) -> Agreement:
    return Agreement.model_validate(
        {
            "id": "test-agreement",
            "title": "A test agreement",
            "buyers": [
                {"id": buyer, "name": buyer.title(), "principal": principal}
                for buyer, principal in zip(BUYERS, principals, strict=True)
            ],
            "debentures": {"rate": "0.08"},
            "remedies": {},
        }
    )


class Recorder:
    """What the engine would hear: breaches (obligation key, start) and engine facts retired."""

    def __init__(self) -> None:
        self.breaches: list[tuple[str, Date | None]] = []
        self.closed: list[dict[str, Any]] = []

    def breach(self, obligation: Obligation) -> None:
        self.breaches.append((obligation.key, obligation.breach_start))


def _book(agreement: Agreement | None = None) -> tuple[ObligationBook, Recorder]:
    holdings = Holdings(agreement or _agreement())
    for buyer in BUYERS:
        holdings.start(buyer, CLOSING)
    recorder = Recorder()
    return ObligationBook(holdings, recorder.breach, recorder.closed.append), recorder


def _open(
    book: ObligationBook,
    rule_id: str = "deliver-report",
    trigger: str = "f1",
    beneficiary: str | None = None,
    due: str | None = "2024-03-01",
    kind: str = "duty",
    trigger_date: str = "2024-02-01",
) -> Obligation:
    obligation = book.open(
        rule_id, "4(a)", kind, trigger, trigger, as_date(trigger_date), beneficiary, as_date(due) if due else None
    )
    assert obligation is not None
    obligation.engine_fact = {"t": "obligation", "okey": obligation.key, "id": f"e-{obligation.key}"}
    return obligation


# --- statuses ---------------------------------------------------------------
def test_statuses_are_the_words_of_the_reports() -> None:
    assert [str(s) for s in Status] == [
        "pending",
        "fulfilled",
        "breached",
        "cured",
        "waived",
        "discharged",
        "review",
    ]
    assert Status.CURED == "cured"
    assert f"{Status.DISCHARGED}" == "discharged"


def test_the_report_schema_names_the_same_statuses() -> None:
    from typing import get_args

    from covenant.language import schema

    assert set(get_args(schema.Status)) == {status.value for status in Status}


def test_a_new_obligation_is_pending_and_unsettled() -> None:
    book, _ = _book()
    obligation = _open(book)
    assert obligation.status is Status.PENDING
    assert not obligation.settled
    assert obligation.key == "deliver-report|f1|*"
    assert len(book) == 1 and "deliver-report|f1|*" in book


# --- meeting a duty -----------------------------------------------------------
def test_met_on_the_due_date_is_fulfilled_and_closed() -> None:
    book, recorder = _book()
    obligation = _open(book)
    book.meet(obligation, as_date("2024-03-01"), curable=True)
    assert obligation.status is Status.FULFILLED
    assert obligation.met_on == as_date("2024-03-01")
    assert obligation.breach_start is None and obligation.cured_on is None
    assert recorder.breaches == []
    assert recorder.closed == [{"t": "obligation", "okey": "deliver-report|f1|*", "id": "e-deliver-report|f1|*"}]
    assert obligation.engine_fact is None


def test_a_breached_duty_met_later_is_cured_on_that_day() -> None:
    book, recorder = _book()
    obligation = _open(book)
    book.breach(obligation, as_date("2024-03-02"))  # the morning after the deadline
    assert obligation.status is Status.BREACHED
    assert not obligation.settled  # a breach can still be cured, waived or discharged
    book.meet(obligation, as_date("2024-03-20"), curable=True)
    assert obligation.status is Status.CURED
    assert obligation.cured_on == as_date("2024-03-20")
    assert obligation.breach_start == as_date("2024-03-02")
    assert recorder.breaches == [("deliver-report|f1|*", as_date("2024-03-02"))]
    assert len(recorder.closed) == 1


def test_met_late_before_the_breach_was_decided_breaches_from_the_day_after_due_then_cures() -> None:
    book, recorder = _book()
    obligation = _open(book)
    book.meet(obligation, as_date("2024-03-05"), curable=True)
    assert recorder.breaches == [("deliver-report|f1|*", as_date("2024-03-02"))]
    assert obligation.status is Status.CURED
    assert obligation.cured_on == as_date("2024-03-05")


def test_met_late_a_duty_that_is_not_curable_stays_breached_and_open_in_working_memory() -> None:
    book, recorder = _book()
    obligation = _open(book)
    book.meet(obligation, as_date("2024-03-05"), curable=False)
    assert obligation.status is Status.BREACHED
    assert obligation.cured_on is None
    assert recorder.closed == []
    assert obligation.engine_fact is not None


def test_a_duty_in_breach_from_its_trigger_is_fulfilled_only_if_met_before_the_breach() -> None:
    book, _ = _book()
    same_day = _open(book, trigger="f1", due=None)
    book.meet(same_day, as_date("2024-02-01"), curable=True)
    assert same_day.status is Status.FULFILLED

    late = _open(book, trigger="f2", due=None)
    book.breach(late, as_date("2024-02-01"))
    book.meet(late, as_date("2024-02-03"), curable=True)
    assert late.status is Status.CURED
    assert late.cured_on == as_date("2024-02-03")


# --- waivers ----------------------------------------------------------------
def test_a_waiver_by_one_of_three_buyers_of_an_obligation_owed_to_all_leaves_it_open() -> None:
    book, recorder = _book()
    obligation = _open(book)
    book.breach(obligation, as_date("2024-03-02"))
    book.waive(obligation, "alpha", as_date("2024-03-10"))
    assert obligation.status is Status.BREACHED
    assert obligation.waived_by == {"alpha": as_date("2024-03-10")}
    assert obligation.ended_on is None
    assert recorder.closed == []


def test_waivers_by_all_three_waive_it_on_the_last_waivers_date() -> None:
    book, recorder = _book()
    obligation = _open(book)
    book.breach(obligation, as_date("2024-03-02"))
    book.waive(obligation, "gamma", as_date("2024-03-12"))
    book.waive(obligation, "alpha", as_date("2024-03-20"))
    book.waive(obligation, "beta", as_date("2024-03-15"))  # read last, dated earlier
    assert obligation.status is Status.WAIVED
    assert obligation.ended_on == as_date("2024-03-20")
    assert len(recorder.closed) == 1


def test_a_second_waiver_by_the_same_buyer_keeps_the_first_date() -> None:
    book, _ = _book()
    obligation = _open(book)
    book.waive(obligation, "alpha", as_date("2024-02-10"))
    book.waive(obligation, "alpha", as_date("2024-02-20"))
    assert obligation.waived_by == {"alpha": as_date("2024-02-10")}


def test_a_waiver_before_any_breach_ends_it_without_an_end_date() -> None:
    book, _ = _book()
    obligation = _open(book, beneficiary="beta")
    book.waive(obligation, "beta", as_date("2024-02-10"))
    assert obligation.status is Status.WAIVED
    assert obligation.ended_on is None  # nothing was running to end


# --- transfers ----------------------------------------------------------------
def test_transfer_discharges_what_is_owed_to_that_buyer_alone() -> None:
    book, recorder = _book()
    to_beta = _open(book, beneficiary="beta")
    to_gamma = _open(book, beneficiary="gamma")
    book.holdings.end("beta", as_date("2024-02-15"))
    book.discharge("beta", as_date("2024-02-15"), "transfer-1")
    assert to_beta.status is Status.DISCHARGED
    assert to_beta.ended_on == as_date("2024-02-15")
    assert to_beta.evidence == ["transfer-1"]
    assert to_gamma.status is Status.PENDING
    assert to_gamma.evidence == []
    assert [fact["okey"] for fact in recorder.closed] == ["deliver-report|f1|beta"]


def test_transfer_leaves_an_obligation_owed_to_all_open_and_the_rest_may_waive_it() -> None:
    book, _ = _book()
    obligation = _open(book)
    book.breach(obligation, as_date("2024-03-02"))
    book.holdings.end("gamma", as_date("2024-03-05"))
    book.discharge("gamma", as_date("2024-03-05"), "transfer-1")
    assert obligation.status is Status.BREACHED
    assert obligation.discharged_by == {"gamma": as_date("2024-03-05")}
    book.waive(obligation, "alpha", as_date("2024-03-08"))
    book.waive(obligation, "beta", as_date("2024-03-09"))
    assert obligation.status is Status.WAIVED
    assert obligation.ended_on == as_date("2024-03-09")


def test_transfer_does_not_touch_settled_obligations_or_reviews() -> None:
    book, _ = _book()
    done = _open(book, trigger="f1", beneficiary="beta")
    book.fulfil(done, as_date("2024-02-05"))
    review = _open(book, trigger="f2", beneficiary="beta", kind="review")
    assert review.status is Status.REVIEW and review.settled
    book.discharge("beta", as_date("2024-02-15"), "transfer-1")
    assert done.status is Status.FULFILLED
    assert review.status is Status.REVIEW
    assert done.evidence == [] and review.evidence == []


# --- opening --------------------------------------------------------------------
def test_the_same_key_opens_once() -> None:
    book, _ = _book()
    first = _open(book)
    again = book.open("deliver-report", "4(a)", "duty", "f1", "f1", as_date("2024-02-01"), None, None)
    assert again is None
    assert book["deliver-report|f1|*"] is first
    assert book.may_open("deliver-report|f2|*", "deliver-report", None, one_open_at_a_time=False)


def test_one_open_at_a_time_refuses_a_second_until_the_first_is_settled() -> None:
    book, _ = _book()
    first = _open(book, trigger="f1", beneficiary="alpha")

    def second(beneficiary: str = "alpha", rule_id: str = "deliver-report") -> Obligation | None:
        day = as_date("2024-02-05")
        return book.open(rule_id, "4(a)", "duty", "f2", "f2", day, beneficiary, day, one_open_at_a_time=True)

    assert second() is None
    assert second("beta") is not None  # another Buyer's is not the same duty
    assert second(rule_id="other-rule") is not None  # nor another rule's
    book.breach(first, as_date("2024-03-02"))
    assert second() is None  # breached is still open
    book.meet(first, as_date("2024-03-04"), curable=True)
    opened = second()
    assert opened is not None and opened.key == "deliver-report|f2|alpha"
    assert len(book) == 4


def test_an_each_holder_obligation_arises_only_for_a_buyer_holding_then_and_since() -> None:
    book, _ = _book()
    book.holdings.end("gamma", as_date("2024-02-15"))
    before_closing = book.open("notice", "4(b)", "duty", "f1", "f1", as_date("2024-01-05"), "alpha", None)
    transferred = book.open("notice", "4(b)", "duty", "f2", "f2", as_date("2024-02-01"), "gamma", None)
    holding = book.open("notice", "4(b)", "duty", "f2", "f2", as_date("2024-02-01"), "beta", None)
    assert before_closing is None
    assert transferred is None
    assert holding is not None and holding.key == "notice|f2|beta"
    assert len(book) == 1


# --- decisions --------------------------------------------------------------------
def test_a_prohibited_act_nothing_permitted_is_breached_tonight_from_its_date() -> None:
    book, recorder = _book()
    act = _open(book, rule_id="no-sale", kind="prohibition", due=None, trigger_date="2024-02-01")
    book.decide_tonight(act, as_date("2024-02-01"))
    assert act.status is Status.BREACHED
    assert act.breach_start == as_date("2024-02-01")
    assert recorder.breaches == [("no-sale|f1|*", as_date("2024-02-01"))]


def test_a_permitted_act_is_left_alone_tonight() -> None:
    book, recorder = _book()
    act = _open(book, rule_id="no-sale", kind="prohibition", due=None)
    book.fulfil(act, as_date("2024-02-01"))
    book.decide_tonight(act, as_date("2024-02-01"))
    assert act.status is Status.FULFILLED
    assert recorder.breaches == []


def test_a_duty_met_with_every_event_answered_is_fulfilled_tonight_else_breached_from_its_trigger() -> None:
    book, _ = _book()
    answered = _open(book, trigger="f1", due=None)
    answered.requirement_met = True
    answered.events = {"e1": 0}
    answered.answered = {"e1"}
    book.decide_tonight(answered, as_date("2024-02-03"))
    assert answered.status is Status.FULFILLED
    assert answered.met_on == as_date("2024-02-03")

    unanswered = _open(book, trigger="f2", due=None)
    unanswered.requirement_met = True
    unanswered.events = {"e1": 0, "e2": 0}
    unanswered.answered = {"e1"}
    book.decide_tonight(unanswered, as_date("2024-02-03"))
    assert unanswered.status is Status.BREACHED
    assert unanswered.breach_start == as_date("2024-02-01")


def test_the_morning_decision_breaches_only_on_the_day_last_planned() -> None:
    book, recorder = _book()
    duty = _open(book, due="2024-03-01")
    duty.decide_on = as_date("2024-03-18")  # an extension moved it
    book.decide_morning(duty, as_date("2024-03-02"))
    assert duty.status is Status.PENDING
    duty.due = as_date("2024-03-17")
    book.decide_morning(duty, as_date("2024-03-18"))
    assert duty.status is Status.BREACHED
    assert duty.breach_start == as_date("2024-03-18")
    assert len(recorder.breaches) == 1


def test_a_settled_obligation_ignores_later_meets_and_waivers() -> None:
    book, recorder = _book()
    obligation = _open(book, beneficiary="alpha")
    book.meet(obligation, as_date("2024-02-20"), curable=True)
    assert obligation.settled
    book.meet(obligation, as_date("2024-03-25"), curable=True)  # late: would breach and cure if it counted
    book.waive(obligation, "alpha", as_date("2024-03-26"))
    assert obligation.status is Status.FULFILLED
    assert obligation.met_on == as_date("2024-02-20")
    assert obligation.breach_start is None and obligation.cured_on is None and obligation.waived_by == {}
    assert recorder.breaches == []
    assert len(recorder.closed) == 1  # the engine fact went once


def test_a_cured_obligation_cannot_be_waived_afterwards() -> None:
    book, _ = _book()
    obligation = _open(book)
    book.meet(obligation, as_date("2024-03-05"), curable=True)
    book.waive(obligation, "alpha", as_date("2024-03-06"))
    assert obligation.status is Status.CURED
    assert obligation.ended_on is None


# --- holdings -------------------------------------------------------------------
def test_holders_on_a_day_count_a_transfer_from_its_date() -> None:
    holdings = Holdings(_agreement())
    for buyer in BUYERS:
        holdings.start(buyer, CLOSING)
    holdings.end("beta", as_date("2024-02-15"))
    assert holdings.holders_on(as_date("2024-01-09")) == set()
    assert holdings.holders_on(as_date("2024-02-14")) == {"alpha", "beta", "gamma"}
    assert holdings.holders_on(as_date("2024-02-15")) == {"alpha", "gamma"}
    assert not holdings.owed_on("beta", as_date("2024-02-01"))  # transferred since
    assert not holdings.owed_on("alpha", as_date("2024-01-09"))  # not yet holding
    assert holdings.owed_on("alpha", as_date("2024-02-01"))
    assert holdings.owed_on("nobody", as_date("2024-02-01"))  # not judged here


def test_consents_permit_by_beneficiary_every_holder_or_majority_in_interest() -> None:
    book, _ = _book()  # principals 500,000 / 300,000 / 200,000
    obligation = _open(book, beneficiary="beta", kind="prohibition", due=None)

    def permitted(given_by: str) -> bool:
        return book.holdings.permitted(given_by, obligation.consents, obligation.beneficiary, obligation.trigger_date)

    obligation.consents = {"alpha": "c1"}
    assert not permitted("beneficiary")
    assert not permitted("majority_in_interest")  # exactly half is not more than half
    obligation.consents = {"alpha": "c1", "gamma": "c2"}
    assert permitted("majority_in_interest")
    assert not permitted("every_holder")
    obligation.consents = {"alpha": "c1", "beta": "c3", "gamma": "c2"}
    assert permitted("beneficiary")
    assert permitted("every_holder")


# --- the agenda -------------------------------------------------------------------
def test_the_agenda_gives_each_day_once_in_order_with_its_decisions() -> None:
    agenda = Agenda()
    for day in ("2024-03-05", "2024-01-02", "2024-03-05", "2024-02-01"):
        agenda.schedule(as_date(day))
    agenda.decide_in_the_morning(as_date("2024-02-10"), "k1")
    agenda.decide_tonight(as_date("2024-01-02"), "k2")
    days = []
    while agenda:
        days.append(str(agenda.next_day()))
    assert days == ["2024-01-02", "2024-02-01", "2024-02-10", "2024-03-05"]
    assert agenda.morning(as_date("2024-02-10")) == ["k1"]
    assert agenda.morning(as_date("2024-02-10")) == []  # decided once
    assert agenda.night(as_date("2024-01-02")) == ["k2"]
