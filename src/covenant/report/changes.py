"""What changed since an earlier report: the nightly job's question.

``covenant check ... --since YESTERDAY.json`` compares this run's report with
an earlier JSON report, obligation by obligation. An obligation's identity
is (rule, trigger, beneficiary), the key report.md guarantees unique, so a
later run matches the same obligation whatever else moved. The result is a
plain dict added to the report under ``changes``; the report's other keys
are untouched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from covenant.diagnostics import InputError, Problem, read_input_file
from covenant.facts import MAX_AMOUNT
from covenant.law.obligations import Status

Identity = tuple[str, str | None, str | None]
REQUIRED = ("rule", "clause", "trigger", "beneficiary", "status", "breach_start", "cured_on", "remedies")
"""The fields of an obligation the comparison reads; an earlier report without them is not a report."""


def identity(obligation: Mapping[str, Any]) -> Identity:
    return (obligation["rule"], obligation["trigger"], obligation["beneficiary"])


def load_previous(path: Path) -> dict[str, Any]:
    """Read an earlier JSON report, or raise InputError naming the file and what is wrong."""
    data = read_json(path)
    problems = check_report(str(path), data)
    if problems:
        raise InputError(problems)
    result: dict[str, Any] = data
    return result


def read_json(path: Path) -> Any:
    """An earlier report's JSON, whatever its shape; InputError for a file that is not JSON (a portfolio's too)."""
    name = str(path)
    raw = read_input_file(path, MAX_REPORT_BYTES, "earlier report")
    try:
        data = json.loads(raw.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as error:
        raise InputError(
            [Problem(name, None, None, f"not UTF-8 text (byte {error.start + 1}): not a JSON report")]
        ) from None
    except json.JSONDecodeError as error:
        raise InputError([Problem(name, error.lineno, None, f"not JSON: {error.msg}", column=error.colno)]) from None
    except ValueError as error:  # NaN, Infinity; an integer of more than 4,300 digits
        raise InputError([Problem(name, None, None, f"not a JSON report: {error}")]) from None
    except RecursionError:
        raise InputError([Problem(name, None, None, "not a JSON report: nested too deeply")]) from None
    return data


MAX_REPORT_BYTES = 1 << 30
"""An earlier report is read whole; a million facts' report is far below a gibibyte."""
_TEXT_FIELDS = ("rule", "clause", "status")
_OPTIONAL_TEXT_FIELDS = ("trigger", "beneficiary", "breach_start", "cured_on")


def _refuse_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not a number a report holds")


def check_report(name: str, data: Any) -> list[Problem]:
    """What keeps ``data`` from being an agreement's report (alone, or one of a portfolio's); [] when it is one."""
    if not isinstance(data, dict):
        return [Problem(name, None, None, "an earlier report is a JSON object (covenant check --format json)")]
    if not isinstance(data.get("obligations"), list):
        return [Problem(name, None, "obligations", "missing or not a list: is this a covenant JSON report?")]
    problems = [
        Problem(name, None, key, "neither text nor null")
        for key in ("agreement", "as_of")
        if data.get(key) is not None and not isinstance(data[key], str)
    ]
    for index, obligation in enumerate(data["obligations"]):
        if not isinstance(obligation, dict):
            problems.append(Problem(name, None, f"obligations[{index}]", "not an object"))
            continue
        problems.extend(
            Problem(name, None, f"obligations[{index}].{key}", "missing") for key in REQUIRED if key not in obligation
        )
        problems.extend(
            Problem(name, None, f"obligations[{index}].{key}", "not text")
            for key in _TEXT_FIELDS
            if key in obligation and not isinstance(obligation[key], str)
        )
        problems.extend(
            Problem(name, None, f"obligations[{index}].{key}", "neither text nor null")
            for key in _OPTIONAL_TEXT_FIELDS
            if obligation.get(key) is not None and not isinstance(obligation[key], str)
        )
        waived_by = obligation.get("waived_by")
        if waived_by is not None and not (
            isinstance(waived_by, dict | list) and all(isinstance(buyer, str) for buyer in waived_by)
        ):
            problems.append(Problem(name, None, f"obligations[{index}].waived_by", "not a list of Buyers"))
        if not isinstance(obligation.get("remedies", []), list):
            problems.append(Problem(name, None, f"obligations[{index}].remedies", "not a list"))
            continue
        for position, remedy in enumerate(obligation.get("remedies") or []):
            if (
                not isinstance(remedy, dict)
                or not isinstance(remedy.get("kind"), str)
                or not isinstance(remedy.get("buyer", ""), str | None)
            ):
                problems.append(Problem(name, None, f"obligations[{index}].remedies[{position}]", "not a remedy"))
            elif "amount" in remedy and _amount(remedy["amount"]) is None:
                problems.append(
                    Problem(name, None, f"obligations[{index}].remedies[{position}].amount", "not a decimal amount")
                )
    return problems


def _amount(value: Any) -> Decimal | None:
    """A report's amount: decimal text or a number, finite and below 10^15 (what the monitor writes)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount.copy_abs() >= MAX_AMOUNT:  # copy_abs: no context, no Overflow
        return None
    return amount


def _amounts(obligation: Mapping[str, Any]) -> dict[tuple[str, str], Decimal]:
    found: dict[tuple[str, str], Decimal] = {}
    for remedy in obligation["remedies"]:
        if "amount" in remedy and remedy.get("buyer"):
            key = (remedy["kind"], remedy["buyer"])
            found[key] = found.get(key, Decimal(0)) + Decimal(str(remedy["amount"]))
    return found


def _who(obligation: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "rule": obligation["rule"],
        "clause": obligation["clause"],
        "trigger": obligation["trigger"],
        "beneficiary": obligation["beneficiary"],
    }


def _waived_buyers(obligation: Mapping[str, Any]) -> set[str]:
    buyers = set(obligation.get("waived_by") or {})
    if obligation["status"] == Status.WAIVED and not buyers:
        buyers.add(obligation["beneficiary"] or "all")
    return buyers


def diff(previous: Mapping[str, Any], current: Mapping[str, Any], *, source: str = "--since") -> dict[str, Any]:
    """New breaches, newly cured, newly waived, amounts that grew, and obligations no longer reported.

    Lists follow the current report's order (report.md's stable order), so the
    same two reports always give the same bytes.
    """
    if previous.get("agreement") not in (None, current.get("agreement")):
        raise InputError(
            [
                Problem(
                    source,
                    None,
                    "agreement",
                    f"the earlier report is for {previous.get('agreement')!r}, "
                    f"this one for {current.get('agreement')!r}",
                )
            ]
        )
    before = {identity(o): o for o in previous["obligations"]}
    new_breaches, newly_cured, newly_waived, grew = [], [], [], []
    for obligation in current["obligations"]:
        old = before.get(identity(obligation))
        was_breached = bool(old and old["breach_start"])
        if obligation["breach_start"] and not was_breached:
            new_breaches.append(
                {
                    **_who(obligation),
                    "status": obligation["status"],
                    "breach_start": obligation["breach_start"],
                    "days_in_breach": obligation.get("days_in_breach", 0),
                }
            )
        if obligation["cured_on"] and not (old and old["cured_on"]):
            newly_cured.append({**_who(obligation), "cured_on": obligation["cured_on"]})
        waived = _waived_buyers(obligation) - (_waived_buyers(old) if old else set())
        if waived:
            newly_waived.append({**_who(obligation), "buyers": sorted(waived), "ended_on": obligation.get("ended_on")})
        if was_breached and old is not None:
            earlier = _amounts(old)
            for (kind, buyer), amount in sorted(_amounts(obligation).items()):
                then = earlier.get((kind, buyer), Decimal(0))
                if amount > then:
                    grew.append(
                        {
                            **_who(obligation),
                            "kind": kind,
                            "buyer": buyer,
                            "previous": f"{then:.2f}",
                            "amount": f"{amount:.2f}",
                            "increase": f"{amount - then:.2f}",
                        }
                    )
    now = {identity(o) for o in current["obligations"]}
    dropped = [_who(o) for o in previous["obligations"] if identity(o) not in now]
    return {
        "since": previous.get("as_of"),
        "new_breaches": new_breaches,
        "newly_cured": newly_cured,
        "newly_waived": newly_waived,
        "amounts_grew": grew,
        "no_longer_reported": dropped,
    }
