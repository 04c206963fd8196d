"""What falls due soon, and what the open breaches cost each day: ``covenant upcoming``.

A report knows the obligations that have arisen by its as-of date. A
counsel asking on 20 December what falls due by mid-January also needs the
ones that will arise meanwhile: the December reserve list, due five business
days after the month's end, does not exist until 31 December. So the window
is filled from several sources, each a small function from one ``Window`` to
entries:

- ``arisen``: pending obligations of the report due in the window;
- ``calendar_duties``: duties a period end will create (month ends, fiscal
  quarter and year ends), with the due date the engine would give them;
- ``fixed_dates``: duties due on a fixed date of the agreement that have not
  arisen yet (their trigger has not happened);
- ``scheduled_payments``: the instrument's schedule (coupons, amortisation)
  declared in ``agreement.yaml``.

A new source (another schedule, a notice period) is one more function in
``SOURCES``. The dates come from the code the evaluation uses
(``derivations.period_ends``, ``Deadlines``, ``in_window``): a deadline ahead is
computed exactly as it will be when it arises.

Open breaches are listed apart: how many days so far, what has accrued and
what one more day adds, per Buyer, by the remedies code (``remedy_lines``)
evaluated at the as-of date and the day after. Decimal throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from covenant.calendar import Date, add_months, as_date
from covenant.language.compiler import CompiledForm
from covenant.language.model import Due, DutyRule, PeriodTrigger, ScheduledPayment, ScheduleTrigger
from covenant.law.deadlines import Deadlines, calendar_of, in_window
from covenant.law.derivations import period_ends
from covenant.law.driver import AgreementState
from covenant.law.formulas import to_cents
from covenant.law.obligations import Status
from covenant.law.remedies import RemedyLine, ledgers_from_facts, remedy_lines
from covenant.law.schedules import Schedules
from covenant.report.build import Evaluated
from covenant.report.render.common import days_until
from covenant.report.render.meeting import met_by_words

Entry = dict[str, Any]


@dataclass(frozen=True)
class Window:
    """The days (as_of, until] and what every source reads to fill them."""

    form: CompiledForm
    state: AgreementState
    report: dict[str, Any]
    as_of: Date
    until: Date
    deadlines: Deadlines

    def inside(self, day: Date) -> bool:
        return self.as_of < day <= self.until


Source = Callable[[Window], Iterable[Entry]]


def arisen(window: Window) -> Iterator[Entry]:
    """Pending obligations of the report due in the window."""
    for o in window.report["obligations"]:
        if o["status"] == Status.PENDING and o["due"] and window.inside(as_date(o["due"])):
            yield _entry(
                window,
                "arisen",
                o["rule"],
                o["clause"],
                o["beneficiary"],
                o["trigger"],
                o.get("trigger_date"),
                o["due"],
                met_by_words(window.form.rules.get(o["rule"]), o),
                o["explanation"],
            )


def calendar_duties(window: Window) -> Iterator[Entry]:
    """Duties the period ends inside the window will create, due inside it (none before the holdings start)."""
    state = window.state
    if state.closing is None:
        return
    ends = period_ends(window.form.period_kinds, state.agreement.fiscal_year_end, window.as_of, window.until)
    for end, kind, quarter in ends:
        if end <= window.as_of:
            continue  # already arisen: in the report
        for rule in _duties(window.form):
            for trigger in rule.triggers():
                if not isinstance(trigger, PeriodTrigger) or trigger.every != kind:
                    continue
                if trigger.quarters and quarter not in trigger.quarters:
                    continue
                due_rule = trigger.due or rule.due
                if due_rule is None:
                    continue  # in breach from its trigger unless met by then: no deadline to list
                due, basis = window.deadlines.due(due_rule, end)
                if not window.inside(due) or not in_window(rule, due, trigger, end, state.closing):
                    continue
                for beneficiary in _owed(rule, state, end):
                    owed = beneficiary or state.agreement.everyone()
                    words = {"trigger": end.isoformat(), "beneficiary": beneficiary, "terms": trigger.terms}
                    yield _entry(
                        window,
                        "calendar",
                        rule.id,
                        rule.clause,
                        beneficiary,
                        end.isoformat(),
                        end.isoformat(),
                        due.isoformat(),
                        met_by_words(rule, words),
                        f"{rule.clause} ({rule.title}): will arise at the {kind.replace('_', ' ')} {end}, "
                        f"owed to {owed}. Due {due}: {basis}.",
                    )


def fixed_dates(window: Window) -> Iterator[Entry]:
    """Duties due on a fixed date inside the window whose trigger has not happened yet (so not in the report)."""
    arisen_rules = {o["rule"] for o in window.report["obligations"]}
    for rule in _duties(window.form):
        if rule.id in arisen_rules:
            continue
        for trigger in rule.triggers():
            due_rule = trigger.due or rule.due
            if isinstance(trigger, PeriodTrigger) or due_rule is None or due_rule.date is None:
                continue
            due, basis = window.deadlines.due(due_rule, window.as_of)
            if not window.inside(due) or not in_window(rule, due, trigger, window.as_of, window.state.closing):
                continue
            yield _entry(
                window,
                "fixed_date",
                rule.id,
                rule.clause,
                None,
                None,
                None,
                due.isoformat(),
                met_by_words(rule, {"trigger": None, "beneficiary": None, "terms": trigger.terms}),
                f"{rule.clause} ({rule.title}): due on {basis}, once it arises "
                f"(on {_article(trigger.on.replace('_', ' '))}); it has not arisen as of {window.as_of}.",
            )


def scheduled_payments(window: Window) -> Iterator[Entry]:
    """The instrument's scheduled payments due inside the window: each rule's, per holder, with its amount.

    A rule that arises on the schedule (``arises: {schedule: interest}``) gives
    each holder's amount exactly as the evaluation will (``law/schedules.py``);
    a scheduled kind no rule watches is listed once, as the instrument's.
    """
    state = window.state
    agreement = state.agreement
    instrument = agreement.instrument
    schedules = Schedules(agreement, state.facts)
    watched: set[str] = set()
    for rule in _duties(window.form):
        for trigger in rule.triggers():
            if not isinstance(trigger, ScheduleTrigger):
                continue
            watched.add(trigger.schedule)
            for day in instrument.scheduled_dates().get(trigger.schedule, ()):
                if state.closing is not None and day <= state.closing:
                    continue
                due, basis = window.deadlines.due(trigger.due or Due(date=day.isoformat()), day)
                if day <= window.as_of or not window.inside(due):
                    continue
                for beneficiary in _owed(rule, state, day):
                    amount, arithmetic = schedules.amount(trigger.schedule, day, beneficiary, state.closing)
                    ahead = {
                        "trigger": day.isoformat(),
                        "beneficiary": beneficiary,
                        "terms": trigger.terms,
                        "trigger_fields": {"amount": f"{amount:.2f}"},
                    }
                    yield _entry(
                        window,
                        "schedule",
                        rule.id,
                        rule.clause,
                        beneficiary,
                        day.isoformat(),
                        day.isoformat(),
                        due.isoformat(),
                        met_by_words(rule, ahead),
                        f"{rule.clause} ({rule.title}): {trigger.schedule} scheduled for {basis}, owed to "
                        f"{beneficiary or agreement.everyone()}: {arithmetic}.",
                    )
    yield from _unwatched(window, watched)


def _unwatched(window: Window, watched: set[str]) -> Iterator[Entry]:
    """A scheduled payment no rule arises on: listed as the instrument's, with the total where it has one."""
    agreement = window.state.agreement
    instrument = agreement.instrument
    name = instrument.name or "the instrument"
    effect = {"interest": "interest_paid", "principal": "principal_reduced"}
    for scheduled in instrument.schedule:
        pays = scheduled.pays
        if pays in watched:
            continue
        meets = " or ".join(_article(e.on.replace("_", " ")) for e in agreement.effects_doing(effect[pays]))
        total = scheduled.amount
        for day in _payment_days(scheduled, window.until.add(days=10)):
            due, basis = window.deadlines.due(Due(date=day.isoformat()), day)
            if not window.inside(due):
                continue
            amount = f" of {total:,.2f} in total, shared pro rata" if total is not None else ""
            yield _entry(
                window,
                "schedule",
                f"schedule-{pays}",
                name,
                None,
                day.isoformat(),
                day.isoformat(),
                due.isoformat(),
                meets,
                f"{name}: {pays}{amount} scheduled for {basis} (agreement.yaml, the instrument's schedule).",
            )


SOURCES: tuple[Source, ...] = (arisen, calendar_duties, fixed_dates, scheduled_payments)
"""Every source of deadlines in a window; a schedule of another kind is one more function here."""


def upcoming_entries(checked: Evaluated, within: int, sources: Iterable[Source] = SOURCES) -> list[Entry]:
    """Everything due in (as_of, as_of + within], soonest first, each with what meets it."""
    report = checked.report
    if report["as_of"] is None or checked.state is None:
        return []
    window = _window(checked, within)
    entries = [entry for source in sources for entry in source(window)]
    entries.sort(key=lambda e: (e["due"], e["clause"], e["rule"], e["trigger"] or "", e["beneficiary"] or ""))
    return entries


def open_breaches(checked: Evaluated) -> list[Entry]:
    """Obligations in breach on the as-of date: since when, days so far, accrued and accruing per day, per Buyer."""
    state = checked.state
    if state is None:
        return []
    form = checked.form
    ledgers = ledgers_from_facts(state.facts, state.agreement, state.closing or state.as_of)
    tomorrow = replace(state, as_of=state.as_of.add(days=1))
    entries_by_key = {(o["rule"], o["trigger"], o["beneficiary"]): o for o in checked.report["obligations"]}
    found: list[Entry] = []
    for obligation in state.obligations.values():
        if obligation.status != Status.BREACHED:
            continue
        entry = entries_by_key[(obligation.rule_id, obligation.trigger_id, obligation.beneficiary)]
        today = {(line.kind, line.buyer): line for line in remedy_lines(obligation, state, form, ledgers)}
        then = {(line.kind, line.buyer): line for line in remedy_lines(obligation, tomorrow, form, ledgers)}
        amounts = {key: line for key, line in today.items() if line.amount is not None}
        accrued = [_money_line(kind, buyer, line.amount or Decimal(0)) for (kind, buyer), line in amounts.items()]
        per_day = [
            _money_line(kind, buyer, to_cents(_exact(then.get((kind, buyer))) - _exact(line)))
            for (kind, buyer), line in amounts.items()
        ]
        rule = form.rules.get(obligation.rule_id)
        found.append(
            {
                "rule": entry["rule"],
                "clause": entry["clause"],
                "beneficiary": entry["beneficiary"],
                "trigger": entry["trigger"],
                "due": entry["due"],
                "breach_start": entry["breach_start"],
                "days_in_breach": entry["days_in_breach"],
                "flags": sorted(kind for (kind, _), line in today.items() if line.amount is None),
                "accrued": accrued,
                "per_day": per_day,
                "per_day_total": f"{sum((Decimal(line['amount']) for line in per_day), Decimal(0)):.2f}",
                "cured_by": met_by_words(rule, entry) if getattr(rule, "curable", True) else "",
                "explanation": entry["explanation"],
            }
        )
    found.sort(key=lambda e: (e["breach_start"], e["rule"], e["trigger"] or "", e["beneficiary"] or ""))
    return found


def per_day_total(breaches: Iterable[Entry]) -> Decimal:
    return sum((Decimal(b["per_day_total"]) for b in breaches), Decimal(0))


# Helpers.


def _window(checked: Evaluated, within: int) -> Window:
    state = checked.state
    assert state is not None
    calendar = calendar_of(state.agreement.calendar)
    as_of = as_date(checked.report["as_of"])
    # A memo of its own: Deadlines remembers by the Due's id, and a schedule's Due lives only for this call.
    return Window(checked.form, state, checked.report, as_of, as_of.add(days=within), Deadlines(calendar, {}))


def _entry(
    window: Window,
    source: str,
    rule: str,
    clause: str,
    beneficiary: str | None,
    trigger: str | None,
    arises: str | None,
    due: str,
    met_by: str,
    explanation: str,
) -> Entry:
    return {
        "rule": rule,
        "clause": clause,
        "beneficiary": beneficiary,
        "trigger": trigger,
        "due": due,
        "days_left": days_until(due, window.as_of.isoformat()),
        "met_by": met_by,
        "explanation": explanation,
        "source": source,
        "arises": arises,
    }


def _duties(form: CompiledForm) -> list[DutyRule]:
    return [form.rules[rule_id] for rule_id in sorted(form.rules) if isinstance(form.rules[rule_id], DutyRule)]


def _owed(rule: DutyRule, state: AgreementState, day: Date) -> list[str | None]:
    """Who a duty arising on ``day`` is owed to: all together (None), or each holder on that day."""
    if rule.owed_to == "all":
        return [None]
    if rule.owed_to == "each_holder":
        return sorted(
            party for party, (start, end) in state.holding.items() if start <= day and (end is None or day < end)
        )
    if "role" in rule.owed_to:
        return [next((p.id for p in state.agreement.parties if p.role == rule.owed_to["role"]), None)]
    return []  # owed to a party a fact names: no fact yet, so nobody can be named ahead


def _payment_days(payment: ScheduledPayment, last: Date) -> Iterator[Date]:
    first = as_date(payment.first)
    final = as_date(payment.last) if payment.last else None
    number = 0
    while True:
        day = add_months(first, payment.every_months * number) if number else first
        if day > last or (final is not None and day > final):
            return
        yield day
        if not payment.every_months:
            return
        number += 1


def _article(words: str) -> str:
    return f"{'an' if words[:1] in 'aeiou' else 'a'} {words}"


def _exact(line: RemedyLine | None) -> Decimal:
    """A remedy's amount before rounding (none: nothing accrues, as when a waiver stops it)."""
    if line is None:
        return Decimal(0)
    if line.computation is not None and line.computation.exact is not None:
        return line.computation.exact
    return line.amount or Decimal(0)


def _money_line(kind: str, buyer: str | None, amount: Decimal) -> Entry:
    return {"kind": kind, "buyer": buyer, "amount": f"{amount:.2f}"}
