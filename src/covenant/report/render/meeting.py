"""What meets an obligation, in words: a rule's ``met_by`` read out for one obligation.

``covenant upcoming`` tells the Company's counsel not only what falls due
but what will discharge it ("a delivery (what: reserve_list; period:
2004-12; to: alpha)"). The words come from the rule file's data, read
generically: no clause is special-cased here. References to the obligation
(its trigger, its beneficiary) are replaced by their values when the report
knows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from covenant.language.model import DutyRule, FactPattern, FieldTimes, Meeting, Test

_BOUNDS = {"below": "below", "at_most": "at most", "above": "above", "at_least": "at least"}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _reference(reference: str, obligation: Mapping[str, Any]) -> str:
    """``trigger``, ``trigger.month``, ``beneficiary``, ``terms.form``: the value when known, else words."""
    head, _, tail = reference.partition(".")
    trigger = obligation.get("trigger")
    if head == "beneficiary":
        return obligation.get("beneficiary") or "the Buyer owed"
    if head == "trigger" and not tail:
        return trigger or "the fact that made it arise"
    if head == "trigger" and trigger and _looks_like_date(trigger):
        if tail == "date":
            return trigger
        if tail == "month":
            return trigger[:7]
    known_field = (obligation.get("trigger_fields") or {}).get(tail) if head == "trigger" else None
    if known_field is not None:  # a scheduled payment ahead carries its computed amount (covenant upcoming)
        return _scalar(known_field)
    if head == "trigger":
        return f"the trigger's {tail.replace('_', ' ')}"
    known = (obligation.get("terms") or {}).get(tail) if head == "terms" else None
    if known is not None:  # an obligation ahead carries its trigger's terms (covenant upcoming)
        return _scalar(known)
    return f"its {tail.replace('_', ' ')}"


def _looks_like_date(text: str) -> bool:
    return len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit()


def _bound(value: Any) -> str:
    if isinstance(value, FieldTimes):
        return f"{value.times} x {value.field}" if value.times != 1 else value.field
    return _scalar(value)


def _test(name: str, test: Test, obligation: Mapping[str, Any]) -> str:
    if test.same_as is not None:
        return f"{name}: {_reference(test.same_as, obligation)}"
    if test.not_ is not None:
        return f"{name}: not {_scalar(test.not_)}"
    if test.one_of is not None:
        return f"{name}: one of {', '.join(_scalar(v) for v in test.one_of)}"
    if test.not_one_of is not None:
        return f"{name}: none of {', '.join(_scalar(v) for v in test.not_one_of)}"
    for key, words in _BOUNDS.items():
        value = getattr(test, key)
        if value is not None:
            return f"{name} {words} {_bound(value)}"
    if test.present is not None:
        return f"{name} given" if test.present else f"no {name}"
    if test.on_or_before is not None:
        return f"{name} on or before {_reference(test.on_or_before, obligation)}"
    if test.on_or_after is not None:
        return f"{name} on or after {_reference(test.on_or_after, obligation)}"
    return name  # pragma: no cover - Test validates that one test is given


def _condition(name: str, condition: Any, obligation: Mapping[str, Any]) -> str:
    if isinstance(condition, Test):
        return _test(name, condition, obligation)
    if isinstance(condition, list):
        return f"{name}: one of {', '.join(_scalar(v) for v in condition)}"
    return f"{name}: {_scalar(condition)}"


def pattern_words(pattern: FactPattern, obligation: Mapping[str, Any]) -> str:
    """One fact pattern: "a delivery (what: reserve_list; to: alpha)"."""
    kind = pattern.fact.replace("_", " ")
    article = "an" if kind[:1] in "aeiou" else "a"
    conditions = [_condition(name, condition, obligation) for name, condition in pattern.where.items()]
    if isinstance(pattern, Meeting) and pattern.adding_up:
        conditions.append(f"{pattern.adding_up} adding up to {_reference(pattern.to, obligation)}")
    return f"{article} {kind}" + (f" ({'; '.join(conditions)})" if conditions else "")


def met_by_words(rule: Any, obligation: Mapping[str, Any]) -> str:
    """What meets this obligation, alternatives joined by "or"; empty for rules that are not duties."""
    if not isinstance(rule, DutyRule):
        return ""
    return " or ".join(pattern_words(meeting, obligation) for meeting in rule.met_by)
