"""Plain words a lawyer can check, for each finding.

Explanations are built from what the evaluation recorded (the clause, the
facts matched, the dates and the conventions that produced them) and from
the remedies' arithmetic. They are kept apart from the evaluator, as OPA
keeps ``--explain`` apart from its evaluator: evaluating never depends on
how a finding is worded.
"""

from __future__ import annotations

from collections.abc import Callable

from covenant.calendar import Date, shift
from covenant.engine.names import SCHEDULED
from covenant.language.compiler import CompiledForm
from covenant.law.driver import AgreementState, Obligation
from covenant.law.obligations import Status
from covenant.law.remedies import RemedyLine


def _owed(obligation: Obligation, state: AgreementState) -> str:
    if obligation.beneficiary:
        return f"owed to {obligation.beneficiary}"
    return f"owed to {state.agreement.everyone()}"


def _trigger_phrase(obligation: Obligation, state: AgreementState) -> str:
    facts = state.facts_by_id
    fact = facts.get(obligation.trigger_id or "") or facts.get(obligation.trigger_key)
    if fact is not None:
        detail = fact.fields.get("form") or fact.fields.get("what") or ""
        detail = f" {detail}" if detail else ""
        return f"arose from {fact.id} ({fact.type}{detail} of {fact.date})"
    if obligation.trigger_fields.get("every") == SCHEDULED:
        return f"arose on the date the instrument schedules, {obligation.trigger_id}"
    if obligation.trigger_id is not None:
        return f"arose at the end of the period {obligation.trigger_id}"
    return f"arose at the {state.agreement.start_word()} ({obligation.trigger_date})"


def _consents(obligation: Obligation) -> str:
    return ", ".join(f"{buyer} ({fact_id})" for buyer, fact_id in sorted(obligation.consents.items()))


def explanation(obligation: Obligation, state: AgreementState, form: CompiledForm, lines: list[RemedyLine]) -> str:
    """One paragraph: which text, which facts, which dates, which conventions."""
    rule = form.rules[obligation.rule_id]
    if obligation.kind in ("default", "default_rate"):
        return " ".join([*_default_sentences(obligation, rule.title, state), *map(_sentence(form), lines)])
    parts = [f"{obligation.clause} ({rule.title}): {_trigger_phrase(obligation, state)}, {_owed(obligation, state)}."]
    if obligation.kind == "review":
        if obligation.valid is not None:
            parts.append(f"Listed for review: {obligation.due_basis}.")
            return " ".join(parts)
        parts.append("Left to judgment by the text: listed for review, not as a breach.")
        if len(obligation.evidence) > 1:
            parts.append(f"Facts that bear on it: {', '.join(obligation.evidence[1:])}.")
        return " ".join(parts)
    if obligation.kind == "test":
        parts.extend(_test_sentences(obligation))
    elif obligation.due is not None:
        parts.append(f"Due {obligation.due}: {obligation.due_basis}.")
    elif obligation.act_by is not None:
        parts.append(f"To be done by {obligation.act_by}: {obligation.due_basis}.")
    matched = obligation.matched
    if obligation.status == Status.FULFILLED:
        met = f" on {obligation.met_on}" if obligation.met_on else ""
        if obligation.kind == "prohibition":
            parts.append(f"Permitted by the consent of {_consents(obligation)}, dated on or before the act.")
        elif obligation.kind == "test":
            pass  # said with the measure
        else:
            parts.append(f"Met by {', '.join(matched)}{met}.")
    elif obligation.status == Status.PENDING:
        parts.append(f"Not yet met as of {state.as_of}; still within time.")
    if obligation.breach_start is not None and obligation.kind != "test":
        if obligation.kind == "prohibition":
            parts.append(
                f"Breached on {obligation.breach_start}, the date of the act, with no consent that permits it."
            )
            if obligation.consents:
                parts.append(f"The consents given ({_consents(obligation)}) are not enough.")
        elif obligation.due is None:
            parts.append(f"Not met when it arose: in breach from {obligation.breach_start}.")
        else:
            parts.append(f"Not met by the due date: in breach from {obligation.breach_start}.")
        if obligation.cured_on is not None:
            parts.append(f"Cured on {obligation.cured_on} by {', '.join(matched[-1:]) or 'a later act'}.")
        elif obligation.ended_on is not None:
            parts.append(f"Ended on {obligation.ended_on} ({obligation.status}).")
        else:
            parts.append(f"Still open as of {state.as_of}.")
    for buyer, day in sorted(obligation.waived_by.items()):
        parts.append(f"{buyer} waived its part on {day}.")
    for buyer, day in sorted(obligation.discharged_by.items()):
        parts.append(f"{buyer} transferred all its Securities on {day}; its part ended then.")
    for key in obligation.derived_basis:
        parts.append(_derivation_sentence(key, state, form))
    for rule_id in obligation.notes:
        granting = form.rules[rule_id]
        parts.append(f"Remedies chained from the breach by {granting.clause} ({rule_id}).")
    for line in lines:
        parts.append(_remedy_sentence(line, form))
    return " ".join(parts)


def _default_sentences(obligation: Obligation, title: str, state: AgreementState) -> list[str]:
    """An Event of Default (what it rests on, from when, until when) or the default rate it allows."""
    if obligation.kind == "default":
        parts = [
            f"{obligation.clause} ({title}): an Event of Default resting on {obligation.trigger_id}, "
            f"{obligation.due_basis}: from {obligation.breach_start}."
        ]
    else:
        evidence = ", ".join(obligation.evidence) or obligation.trigger_id
        parts = [
            f"{obligation.clause} ({title}): elected by {evidence} on {obligation.trigger_date} while "
            f"{obligation.due_basis}; owed to {obligation.beneficiary}, from {obligation.breach_start}."
        ]
    if obligation.cured_on is not None:
        how = "waived" if obligation.status == Status.WAIVED else "ended"
        parts.append(f"It continued through {obligation.cured_on} ({how} then).")
    else:
        parts.append(f"Still continuing as of {state.as_of}.")
    return parts


def _sentence(form: CompiledForm) -> Callable[[RemedyLine], str]:
    return lambda line: _remedy_sentence(line, form)


def _test_sentences(obligation: Obligation) -> list[str]:
    """A financial test: the figures, the arithmetic and the comparison, or what is missing."""
    if obligation.status == Status.REVIEW:
        return [f"Not tested: {obligation.due_basis}; listed for review until they are recorded."]
    parts = [f"Tested {obligation.due_basis}."]
    if obligation.status == Status.FULFILLED:
        parts.append("Met.")
    elif obligation.breach_start is not None:
        parts.append(
            f"Breached from {obligation.breach_start}, the end of the period tested; "
            "a later period does not cure it, only being waived ends it."
        )
        if obligation.ended_on is not None:
            parts.append(f"Ended on {obligation.ended_on} ({obligation.status}).")
        else:
            parts.append("Still open.")
    return parts


def _derivation_sentence(key: str, state: AgreementState, form: CompiledForm) -> str:
    derived = state.derived[key]
    rule = form.rules.get(key.split("#")[0])
    clause = f"{rule.clause} " if rule is not None else ""
    span = ""
    if "start" in derived.fields:
        end = derived.fields.get("end")
        span = f" from {derived.fields['start']} to {end}" if end else f" from {derived.fields['start']}, not ended"
    sources = ", ".join(derived.fields.get("from", ()))
    return f"Rests on {derived.type}{span}, derived by {clause}({key.split('#')[0]}) from {sources} on {derived.date}."


def _remedy_sentence(line: RemedyLine, form: CompiledForm) -> str:
    definition = form.agreement.remedies.get(line.remedy_id) or form.agreement.remedies[line.remedy_id]
    if line.amount is None:
        return f"{definition.clause}: {line.kind.replace('_', ' ')}."
    assert line.computation is not None and line.start is not None and line.end_exclusive is not None
    last = shift(line.end_exclusive, -1)
    if line.computation.lines:
        months = "; ".join(
            f"month {m.number} {m.rate * 100:g}% x {m.base:.2f} x {m.days}/{m.days_in_month}"
            for m in line.computation.lines
        )
        label = definition.label or line.kind
        return f"{definition.clause} {label} for {line.buyer}, {line.start} to {last}: {months} = {line.amount:.2f}."
    return f"{definition.clause} {line.kind} for {line.buyer}: {line.computation.summary} = {line.amount:.2f}."


def day_text(day: Date | None) -> str:
    return day.isoformat() if day else "-"
