"""``covenant explain``: the full account of one obligation, for a lawyer to check by hand.

For one (rule, trigger, beneficiary) of a report: the clause's words, every
fact the finding rests on (with the file and line it was recorded at), every
date the evaluation computed and the convention that produced it (business
day calendar, roll, mail delay), and each remedy's arithmetic month by
month. It renders what the evaluation recorded; it decides nothing, so an
explanation can never disagree with the report it explains.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from covenant.calendar import BusinessCalendar
from covenant.diagnostics import InputError, Problem
from covenant.engine.names import SCHEDULED
from covenant.facts import Fact
from covenant.language.compiler import CompiledForm
from covenant.law.deadlines import calendar_of
from covenant.law.driver import AgreementState, Obligation
from covenant.law.obligations import Status
from covenant.law.remedies import CENT, RemedyLine, days_in_breach, ledgers_from_facts, remedy_lines
from covenant.report.build import Evaluated
from covenant.report.coverage import display_path

WIDTH = 100


@dataclass(frozen=True)
class Account:
    """One obligation and everything needed to explain it."""

    obligation: Obligation
    entry: dict[str, Any]
    state: AgreementState
    form: CompiledForm
    lines: list[RemedyLine]


def account_for(
    evaluated: Evaluated, rules: Path, rule_id: str, trigger: str | None, beneficiary: str | None
) -> Account:
    """One obligation of an evaluation (``pipeline.check`` of the folder ``rules``).

    ``InputError`` says there is nothing to explain when there were no facts,
    names the folder's rules when ``rule_id`` is none of them, and lists the
    candidates when no single obligation matches.
    """
    form, state, report = evaluated.form, evaluated.state, evaluated.report
    if state is None:
        files = ", ".join(sorted(evaluated.log.lines_read)) or str(rules)
        raise InputError([Problem(files, None, None, "no facts: nothing to explain")])
    if rule_id not in form.rules:
        hint = ", ".join(sorted(form.rules))
        raise InputError([Problem(str(rules), None, "rule", f"no rule {rule_id!r} in this folder", hint=hint)])
    obligation = _find(state, rule_id, trigger, beneficiary)
    entry = next(
        e
        for e in report["obligations"]
        if (e["rule"], e["trigger"], e["beneficiary"])
        == (obligation.rule_id, obligation.trigger_id, obligation.beneficiary)
    )
    closing = state.closing or state.as_of
    ledgers = ledgers_from_facts(state.facts, state.agreement, closing)
    return Account(obligation, entry, state, form, remedy_lines(obligation, state, form, ledgers))


def _find(state: AgreementState, rule_id: str, trigger: str | None, beneficiary: str | None) -> Obligation:
    mine = sorted(
        (o for o in state.obligations.values() if o.rule_id == rule_id),
        key=lambda o: (o.trigger_date, o.trigger_id or "", o.beneficiary or ""),
    )
    chosen = [
        o
        for o in mine
        if (trigger is None or trigger in (o.trigger_id, o.trigger_key))
        and (beneficiary is None or o.beneficiary == beneficiary)
    ]
    if len(chosen) == 1:
        return chosen[0]
    listing = "; ".join(
        f"--trigger {o.trigger_id or o.trigger_key} --beneficiary {o.beneficiary or '(all)'} ({o.status})" for o in mine
    )
    if not chosen:
        message = f"no obligation of {rule_id} with trigger {trigger or 'any'} and beneficiary {beneficiary or 'any'}"
    else:
        message = f"{len(chosen)} obligations of {rule_id} match; name the trigger and the beneficiary"
    hint = f"the report has: {listing}" if mine else f"the report has no obligation of {rule_id} as of {state.as_of}"
    raise InputError([Problem(rule_id, None, None, message, hint=hint)])


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(CENT):,.2f}"


def _wrap(text: str, indent: str = "  ") -> list[str]:
    return textwrap.wrap(
        " ".join(text.split()), WIDTH, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )


def _calendar(account: Account) -> BusinessCalendar:
    return calendar_of(account.state.agreement.calendar)


def _facts(account: Account) -> dict[str, Fact]:
    facts = {f.id: f for f in account.state.facts}
    facts.update(account.state.derived)
    return facts


def _fact_line(fact: Fact, role: str, calendar: BusinessCalendar) -> list[str]:
    shown = {k: ",".join(map(str, v)) if isinstance(v, list) else v for k, v in fact.to_json().items()}
    fields = " ".join(f"{k}={v}" for k, v in shown.items() if k not in ("id", "type", "date"))
    where = f"{display_path(fact.file)}:{fact.line}" if fact.line else f"derived by {display_path(fact.file)}"
    lines = [f"  {fact.id}  {fact.type} of {fact.date}  ({where})" + (f": {role}" if role else "")]
    if fields:
        lines.append(f"      {fields}")
    effective = calendar.effective_date(fact.date, fact.fields)
    if effective != fact.date:
        lines.append(
            f"      sent by {calendar.mail_value}: effective {effective},"
            f" {calendar.mail_delay_days} days after it was sent"
            " (agreement.yaml calendar.mail_delay_days)"
        )
    return lines


def _roles_by_type(account: Account) -> dict[str, str]:
    """The fact types that end a holding, waive or permit (agreement.yaml's `effects`, the rule's `unless`)."""
    roles: dict[str, str] = {}
    for effect in account.state.agreement.effects_doing("waives"):
        roles.setdefault(effect.on, f"a {effect.on}")
    for effect in account.state.agreement.effects_doing("holding_ends"):
        roles.setdefault(effect.on, f"a {effect.on} of all the Buyer's Securities")
    for permission in getattr(account.form.rules[account.obligation.rule_id], "unless", []):
        roles.setdefault(permission.fact, f"a {permission.fact}")
    return roles


_EVIDENCE_ROLE = {
    "test": "figures of the window tested",
    "default": "the notice it counts from",
    "default_rate": "an election",
}
"""What a fact that is not the trigger did, for the obligations a breach or figures make."""


def _role(fact: Fact, obligation: Obligation, roles: dict[str, str]) -> str:
    """What a piece of evidence did to the obligation, in a few words."""
    if fact.id == obligation.trigger_key:
        return "the trigger: the obligation arose from it"
    if fact.type in roles:
        return roles[fact.type]
    if obligation.kind in _EVIDENCE_ROLE:
        return _EVIDENCE_ROLE[obligation.kind]
    if obligation.kind == "review":
        return "bears on it"
    if obligation.status == Status.FULFILLED:
        return "met it"
    if obligation.status == Status.CURED:
        return "cured it, late"
    return "matched"


def _dates(account: Account) -> list[str]:
    o = account.obligation
    e = account.entry
    rows: list[tuple[str, str, str]] = []
    arose_from = (
        f"the date of {o.trigger_key}"
        if o.trigger_key in _facts(account)
        else f"the date the instrument schedules, {o.trigger_id}"
        if o.trigger_fields.get("every") == SCHEDULED
        else f"the end of the period {o.trigger_id}"
        if o.trigger_id
        else f"the {account.state.agreement.start_word()}"
    )
    rows.append(("arose", str(o.trigger_date), arose_from))
    act_by = getattr(o, "act_by", None)
    if o.due is not None:
        rows.append(("due", str(o.due), o.due_basis))
    if act_by is not None:
        rows.append(("act by", str(act_by), "the deadline for the act that meets it"))
    if o.met_on is not None and o.kind == "prohibition":
        rows.append(("permitted", str(o.met_on), "by consents dated on or before the act"))
    elif o.met_on is not None:
        rows.append(("met on", str(o.met_on), "the date the meeting fact took effect"))
    if o.breach_start is not None:
        basis = (
            "the date of the act (a prohibition)"
            if o.kind == "prohibition"
            else "the end of the period tested"
            if o.kind == "test"
            else o.due_basis
            if o.kind in ("default", "default_rate")
            else "the day after the due date"
            if o.due is not None and o.breach_start == o.due.add(days=1)
            else "the date of the trigger"
        )
        rows.append(("breach from", str(o.breach_start), basis))
    if o.cured_on is not None:
        ended = "the last day it continued" if o.kind in ("default", "default_rate") else None
        rows.append(("cured on", str(o.cured_on), ended or "the date the late act took effect"))
    if o.ended_on is not None:
        rows.append(("ended on", str(o.ended_on), f"{o.status}"))
    for buyer, day in sorted(o.waived_by.items()):
        rows.append((Status.WAIVED.value, str(day), f"by {buyer}, for its part"))
    for buyer, day in sorted(o.discharged_by.items()):
        rows.append((Status.DISCHARGED.value, str(day), f"{buyer} transferred all its Securities"))
    if o.breach_start is not None:
        last = o.cured_on or o.ended_on or account.state.as_of
        rows.append(
            (
                "days in breach",
                str(days_in_breach(o, account.state.as_of)),
                f"{o.breach_start} to {last}, both included",
            )
        )
    rows.append(("as of", str(account.state.as_of), "facts dated later are not read"))
    out = []
    for label, value, basis in rows:
        out.append(f"  {label:<15}{value:<12}{basis}")
    if e.get("survival_note"):
        out.extend(_wrap(f"note: {e['survival_note']}", "  "))
    return out


def _conventions(account: Account) -> list[str]:
    settings = account.state.agreement.calendar
    convention = settings.by_mail
    calendar = _calendar(account)
    rule = account.form.rules[account.obligation.rule_id]
    lines = [
        f"  {calendar.describe()}",
        f"  (agreement.yaml calendar: business_days {settings.business_days}"
        + (f", country {settings.country}" if settings.country else "")
        + f", roll {settings.roll}, mail_delay_days {settings.mail_delay_days})",
        f"  {convention.value} is effective {settings.mail_delay_days} days after it is sent;"
        f" other {convention.field}s the same day"
        if convention
        else "  every fact takes effect on its date (no agreement.yaml calendar.by_mail)",
    ]
    dues = [getattr(t, "due", None) for t in getattr(rule, "triggers", lambda: [])()] + [getattr(rule, "due", None)]
    overrides = {d.roll for d in dues if d is not None and d.roll is not None}
    if overrides:
        lines.append(f"  this rule overrides the roll: roll {' / '.join(map(str, sorted(overrides)))}")
    return lines


def _remedies(account: Account) -> list[str]:
    out: list[str] = []
    for line in account.lines:
        definition = account.state.agreement.remedies[line.remedy_id]
        title = f"  {definition.clause} {line.kind.replace('_', ' ')}"
        if line.buyer:
            title += f" for {line.buyer}"
        computation = line.computation
        if line.amount is None or computation is None or line.start is None or line.end_exclusive is None:
            out.append(f"{title}: no amount (the agreement gives a right, not a sum)")
            continue
        last = line.end_exclusive.subtract(days=1)
        out.append(f"{title}, {line.start} to {last} (both included)")
        if definition.description:
            out.extend(_wrap(f"formula: {definition.description}", "    "))
        if computation.lines:
            out.append(
                f"    {'month':>5}  {'from':<10}  {'to (excl.)':<10}  {'rate':>5}  {'base':>14}"
                f"  {'days':>7}  {'amount':>12}"
            )
            for month in computation.lines:
                out.append(
                    f"    {month.number:>5}  {month.start!s:<10}  {month.end!s:<10}  {month.rate * 100:>4g}%"
                    f"  {_money(month.base):>14}  {month.days:>3}/{month.days_in_month:<3}  {_money(month.amount):>12}"
                )
            out.append("    each month: rate x base x days in breach / days in the month;")
            out.append("    base: principal outstanding plus accrued unpaid interest on the month's first day")
            exact = sum((m.amount for m in computation.lines), Decimal(0))
            out.append(f"    total {exact:.4f}, rounded half-up to cents once: {_money(line.amount)}")
        else:
            out.append(f"    {computation.summary} = {_money(line.amount)}")
    return out or ["  none"]


def render_account(account: Account) -> str:
    """Plain text, one section per question a lawyer asks; the same input gives the same bytes."""
    o = account.obligation
    rule = account.form.rules[o.rule_id]
    calendar = _calendar(account)
    owed = f"owed to {o.beneficiary}" if o.beneficiary else f"owed to {account.state.agreement.everyone()}"
    lines = [
        f"{o.rule_id}: {rule.title}",
        f"clause {o.clause} ({display_path(account.form.files[o.rule_id])}), trigger {o.trigger_id or o.trigger_key},"
        f" {owed}: {o.status} as of {account.state.as_of}",
        "",
        "The clause:",
        *_wrap(rule.text),
    ]
    if getattr(rule, "note", None):
        lines += ["", "Counsel's reading:", *_wrap(rule.note)]
    facts = _facts(account)
    roles = _roles_by_type(account)
    lines += ["", "Facts matched (evidence):"]
    for fact_id in o.evidence:
        fact = facts.get(fact_id)
        if fact is None:
            lines.append(f"  {fact_id}")
        else:
            lines += _fact_line(fact, _role(fact, o, roles), calendar)
    if not o.evidence:
        lines.append("  none: nothing has met it")
    lines += ["", "Dates:", *_dates(account)]
    lines += ["", "Conventions:", *_conventions(account)]
    lines += ["", "Remedies:", *_remedies(account)]
    lines += ["", "In words:", *_wrap(account.entry.get("explanation", ""))]
    return "\n".join(lines) + "\n"
