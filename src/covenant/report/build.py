"""The report: one object built from an evaluation, several renderers.

``build_report`` turns the evaluator's obligations into the JSON structure
of shared/spec/report.md (field names, order, null conventions), computing
each remedy's amount with ``remedies``. Renderers (JSON here, text in
``textreport``) only format that object, so every format says the same thing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from covenant.calendar import Date, days_between, shift
from covenant.language.compiler import CompiledForm
from covenant.language.model import RemedyDefinition
from covenant.law.driver import AgreementState, Obligation
from covenant.law.remedies import (
    BuyerLedger,
    Computation,
    ledgers_from_facts,
    monthly_rates_on_outstanding,
    simple_interest_on_amount,
)

STATUS_ORDER = ("breached", "cured", "waived", "discharged", "pending", "fulfilled", "review")


@dataclass(frozen=True)
class RemedyLine:
    kind: str
    buyer: str | None
    amount: Decimal | None
    remedy_id: str
    start: Date | None = None
    end_exclusive: Date | None = None
    computation: Computation | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "buyer": self.buyer}
        if self.amount is not None:
            out["amount"] = f"{self.amount:.2f}"
        return out


def breach_end(obligation: Obligation, as_of: Date) -> Date | None:
    """The last day in breach (included), or None when never breached."""
    if obligation.breach_start is None:
        return None
    return obligation.cured_on or obligation.ended_on or as_of


def days_in_breach(obligation: Obligation, as_of: Date) -> int:
    end = breach_end(obligation, as_of)
    if end is None or obligation.breach_start is None:
        return 0
    return max(days_between(obligation.breach_start, end) + 1, 0)


def _buyers_owed(obligation: Obligation, state: AgreementState) -> list[str]:
    if obligation.beneficiary is not None:
        return [obligation.beneficiary]
    start = obligation.breach_start or obligation.trigger_date
    return sorted(
        buyer
        for buyer, (held_from, held_to) in state.holding.items()
        if held_from <= start and (held_to is None or start < held_to)
    )


def remedy_lines(
    obligation: Obligation, state: AgreementState, form: CompiledForm, ledgers: dict[str, BuyerLedger]
) -> list[RemedyLine]:
    """Every remedy the breach gives, per Buyer, with its arithmetic."""
    if obligation.breach_start is None:
        return []
    end = breach_end(obligation, state.as_of)
    assert end is not None
    lines: list[RemedyLine] = []
    for remedy_id in obligation.remedies:
        definition: RemedyDefinition = state.agreement.remedies[remedy_id]
        if definition.formula == "none":
            lines.append(RemedyLine(definition.report_as, None, None, remedy_id))
            continue
        for buyer in _buyers_owed(obligation, state):
            stop = min(
                [
                    end,
                    *(d for b, d in obligation.waived_by.items() if b == buyer),
                    *(d for b, d in obligation.discharged_by.items() if b == buyer),
                ]
            )
            end_exclusive = shift(stop, 1)
            if definition.formula == "monthly_rates_on_outstanding":
                start = obligation.breach_start
                computation = monthly_rates_on_outstanding(ledgers[buyer], definition.rates, start, end_exclusive)
            else:
                assert definition.rate is not None
                start = (
                    obligation.trigger_date if definition.accrues_from == "trigger_date" else obligation.breach_start
                )
                amount = Decimal(obligation.trigger_fields.get("amount", Decimal(0)))
                if obligation.cured_on is not None and stop == obligation.cured_on:
                    end_exclusive = obligation.cured_on  # to the day it is paid in full, excluded
                computation = simple_interest_on_amount(amount, definition.rate, start, end_exclusive)
            lines.append(
                RemedyLine(
                    definition.report_as, buyer, computation.amount, remedy_id, start, end_exclusive, computation
                )
            )
    return sorted(lines, key=lambda line: (line.kind, line.buyer or ""))


def _sort_key(obligation: Obligation) -> tuple[str, str, str, str]:
    when = obligation.due or obligation.breach_start or obligation.trigger_date
    return (when.isoformat(), obligation.rule_id, obligation.trigger_id or "", obligation.beneficiary or "")


def build_report(state: AgreementState, form: CompiledForm) -> dict[str, Any]:
    """The report object of report.md, plus a summary and the facts' accounting."""
    principals = {b.id: b.principal for b in state.agreement.buyers}
    closing = state.closing or state.as_of
    ledgers = ledgers_from_facts(state.facts, principals, state.agreement.debentures.rate, closing)
    obligations = []
    totals: dict[str, Decimal] = {}
    counts = dict.fromkeys(STATUS_ORDER, 0)
    from covenant.report.explain import explanation  # a renderer of the same facts; imported late to stay acyclic

    survival = state.agreement.survival
    survival_ends = state.closing.add(years=survival.years) if survival and state.closing else None

    for obligation in sorted(state.obligations.values(), key=_sort_key):
        lines = remedy_lines(obligation, state, form, ledgers)
        for line in lines:
            if line.amount is not None and line.buyer is not None:
                key = f"{line.kind}:{line.buyer}"
                totals[key] = totals.get(key, Decimal(0)) + line.amount
        status = obligation.status.value  # a plain string: reports are serialised by orjson too
        counts[status] = counts.get(status, 0) + 1
        entry: dict[str, Any] = {
            "rule": obligation.rule_id,
            "clause": obligation.clause,
            "beneficiary": obligation.beneficiary,
            "trigger": obligation.trigger_id,
            "due": obligation.due.isoformat() if obligation.due else None,
            "status": status,
            "breach_start": obligation.breach_start.isoformat() if obligation.breach_start else None,
            "cured_on": obligation.cured_on.isoformat() if obligation.cured_on else None,
            "days_in_breach": days_in_breach(obligation, state.as_of),
            "remedies": [line.to_json() for line in lines],
            "evidence": list(obligation.evidence),
            "explanation": explanation(obligation, state, form, lines),
            "trigger_date": obligation.trigger_date.isoformat(),
        }
        if obligation.ended_on is not None:
            entry["ended_on"] = obligation.ended_on.isoformat()
        if obligation.waived_by:
            entry["waived_by"] = {b: d.isoformat() for b, d in sorted(obligation.waived_by.items())}
        if obligation.discharged_by:
            entry["discharged_by"] = {b: d.isoformat() for b, d in sorted(obligation.discharged_by.items())}
        if (
            survival
            and survival_ends
            and obligation.breach_start
            and _survival_applies(obligation, survival.sections)
            and obligation.breach_start > survival_ends
        ):
            entry["survival_note"] = survival.note
        obligations.append(entry)
    by_kind: dict[str, dict[str, str]] = {}
    for key, amount in sorted(totals.items()):
        kind, buyer = key.split(":")
        by_kind.setdefault(kind, {})[buyer] = f"{amount:.2f}"
    return {
        "agreement": state.agreement_id,
        "as_of": state.as_of.isoformat(),
        "obligations": obligations,
        "summary": {
            "statuses": {status: counts.get(status, 0) for status in STATUS_ORDER},
            "totals": {
                kind: {**amounts, "total": f"{sum(Decimal(a) for a in amounts.values()):.2f}"}
                for kind, amounts in by_kind.items()
            },
        },
        "facts": {
            "read": len(state.facts) + state.facts_ignored_after_as_of,
            "used": len(state.facts_used & state.facts_by_id.keys()),
            "after_as_of": state.facts_ignored_after_as_of,
            "not_relevant": len(state.facts_by_id.keys() - state.facts_used),
        },
    }


def _survival_applies(obligation: Obligation, sections: list[str]) -> bool:
    return any(obligation.clause.startswith(section) for section in sections)


def render_json(report: dict[str, Any]) -> str:
    """Deterministic JSON: fixed key order as built, two-space indent, newline at the end."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
