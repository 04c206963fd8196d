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

from covenant.facts import FactLog
from covenant.language.compiler import CompiledForm
from covenant.law.driver import AgreementState, Obligation
from covenant.law.obligations import Status
from covenant.law.remedies import days_in_breach, ledgers_from_facts, remedy_lines
from covenant.report.explain import explanation


@dataclass(frozen=True)
class Evaluated:
    """One agreement's report and everything it was built from (``pipeline.evaluate``'s result).

    Renderers and ``explain`` take what the report does not carry from here:
    the facts' dates and places (``log``), rule titles (``form``), the
    obligations behind each entry (``state``).
    """

    report: dict[str, Any]
    log: FactLog
    form: CompiledForm
    state: AgreementState | None = None  # None when there was nothing to evaluate (no facts)


STATUS_ORDER = (
    Status.BREACHED,
    Status.CURED,
    Status.WAIVED,
    Status.DISCHARGED,
    Status.PENDING,
    Status.FULFILLED,
    Status.REVIEW,
)
"""The order of the report's counts: what needs attention first."""


def _sort_key(obligation: Obligation) -> tuple[str, str, str, str]:
    when = obligation.due or obligation.breach_start or obligation.trigger_date
    return (when.isoformat(), obligation.rule_id, obligation.trigger_id or "", obligation.beneficiary or "")


def build_report(state: AgreementState, form: CompiledForm) -> dict[str, Any]:
    """The report object of report.md, plus a summary and the facts' accounting."""
    closing = state.closing or state.as_of
    ledgers = ledgers_from_facts(state.facts, state.agreement, closing)
    obligations = []
    totals: dict[str, Decimal] = {}
    counts = dict.fromkeys(map(str, STATUS_ORDER), 0)  # plain text keys: JSON writers refuse an enum key

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
        if obligation.measure is not None:
            entry["measure"] = dict(obligation.measure)
        if obligation.valid is not None:
            entry["valid"] = obligation.valid
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
            "statuses": {str(status): counts.get(status, 0) for status in STATUS_ORDER},
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
