"""Facts the agreement makes itself: derived facts, derived periods, and the calendar's period ends.

A derive rule turns matched facts into a new one (an Event of Default from a
breach of a listed section); a period rule keeps one period whose start and
end are recomputed as their inputs arrive (the Lock-up Period, suspended by
a blackout); the calendar contributes month, fiscal-quarter and fiscal-year
ends. All three are asserted back into working memory for rules to chain
on, and the derived ones are kept as ``Fact``s so that every finding
resting on them can show where they came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any

from covenant.calendar import Date, day_of, month_text, shift
from covenant.engine.core import Patterns
from covenant.engine.names import PERIOD
from covenant.facts import Fact
from covenant.language.compiler import CompiledForm
from covenant.language.model import DateTerm, DeriveRule, PeriodRule, scalar_json
from covenant.law.memory import EngineFact, WorkingMemory
from covenant.law.obligations import Obligation

UNKNOWN_END = 10**8
"""A period end not known yet (no registration effective): compares after every real day."""


class Derivations:
    """The derived facts and periods of one agreement, by id, and the inputs periods are computed from."""

    __slots__ = ("_counts", "_form", "_memory", "_period_inputs", "_periods", "_used", "derived")

    def __init__(self, form: CompiledForm, memory: WorkingMemory, used: set[str]) -> None:
        self.derived: dict[str, Fact] = {}
        self._form = form
        self._memory = memory
        self._used = used
        self._counts: dict[str, int] = defaultdict(int)
        self._period_inputs: dict[str, dict[str, EngineFact]] = defaultdict(dict)
        self._periods: dict[str, EngineFact] = {}

    def note(self, obligation: Obligation, key: str) -> None:
        """Record what a finding rests on; a derived fact brings the facts it came from."""
        derived = self.derived
        if key not in derived:
            obligation.note_evidence(key)
            self._used.add(key)
            return
        if key not in obligation.derived_basis:
            obligation.derived_basis.append(key)
        for source in derived[key].fields.get("from", ()):
            self.note(obligation, source)

    def derive(self, rule_id: str, patterns: Patterns, today: Date) -> None:
        """A derive rule fired: record the new fact (once only, if the rule says so) and assert it."""
        rule: DeriveRule = self._form.rules[rule_id]
        if rule.once and self._counts[rule_id]:
            return
        self._counts[rule_id] += 1
        inputs = [patterns[name]["key"] for name in sorted(patterns)]
        fact_id = rule_id if rule.once else f"{rule_id}#{self._counts[rule_id]}"
        derived = Fact(
            id=fact_id,
            type=rule.derives,
            date=today,
            fields={"from": inputs},
            file=self._form.files[rule_id],
            line=0,
            order=-1,
        )
        first = patterns["p0"]
        copied = {name: first[name] for name in rule.copy_fields if name in first}
        fields = {**copied, **{k: scalar_json(v) for k, v in rule.set_fields.items()}}
        derived.fields.update(fields)
        self.derived[fact_id] = derived
        self._used.update(inputs)
        self._memory.assert_fact(
            {
                "t": rule.derives,
                "key": fact_id,
                "by_rule": rule_id,
                "day": today.toordinal(),
                "tday": today.toordinal(),
                "_c": 1,
                **fields,
            }
        )

    def period_input(self, rule_id: str, fact: EngineFact, today: Date) -> None:
        """Recompute a derived period (the Lock-up Period) when one of its inputs arrives."""
        self._period_inputs[fact["t"]][fact.get("key", fact["id"])] = fact  # a re-derived period replaces
        if "key" in fact and not fact.get("by_rule"):
            self._used.add(fact["key"])
        rule: PeriodRule = self._form.rules[rule_id]
        starts = sorted(f["day"] for f in self._period_inputs[rule.starts_on].values())
        if not starts:
            return
        ends = [self._date_term(term) for term in rule.ends.later_of]
        known = all(end is not None for end in ends)
        end = max(e for e in ends if e is not None) if known else UNKNOWN_END
        current = self._periods.get(rule_id)
        if current is not None and (current["start"], current["end"]) == (starts[0], end):
            return
        if current is not None:
            self._memory.retract(current)
        period = {
            "t": rule.derives,
            "key": rule_id,
            "by_rule": rule_id,
            "day": today.toordinal(),
            "tday": today.toordinal(),
            "start": starts[0],
            "end": end,
            "end_known": known,
            "_c": 1,
        }
        self._periods[rule_id] = period
        own_types = {rule.starts_on} | {t.fact for t in rule.ends.later_of}
        own_types |= {t.plus_days_of for t in rule.ends.later_of if t.plus_days_of}
        sources = sorted(
            {f["key"] for kind in own_types for f in self._period_inputs.get(kind, {}).values() if "key" in f},
            key=lambda k: (k in self.derived, k),
        )
        fields: dict[str, Any] = {"start": day_of(starts[0]), "from": sources}
        if known:
            fields["end"] = day_of(end)
        self.derived[rule_id] = Fact(
            id=rule_id,
            type=rule.derives,
            date=today,
            fields=fields,
            file=self._form.files[rule_id],
            line=0,
            order=-1,
        )
        self._memory.assert_fact(period)

    def _date_term(self, term: DateTerm) -> int | None:
        """The ordinal of a computed date, or None while a fact it needs has not happened."""
        facts = sorted(self._period_inputs.get(term.fact, {}).values(), key=lambda f: f["day"])
        if not facts:
            return None
        base_fact = facts[0]
        if term.field == "date":
            base = base_fact["day"]
        elif base_fact.get(term.field) is None or (term.field == "end" and not base_fact.get("end_known", True)):
            return None
        else:
            base = base_fact[term.field]
        day = day_of(base).add(years=term.years_after, days=term.days_after)
        if term.plus_days_of:
            suspended: set[int] = set()
            for span in self._period_inputs.get(term.plus_days_of, {}).values():
                if "until" not in span:
                    return None  # open-ended: the period has not ended
                first = max(span["day"], base)
                last = Date.fromisoformat(span["until"]).toordinal()
                suspended.update(range(first, last + 1))
            day = shift(day, len(suspended))
        return day.toordinal()


PeriodEnd = tuple[Date, str, int]
"""(the period's last day, its kind: month_end, fiscal_quarter_end or fiscal_year_end, the fiscal quarter: 1-4, 0)."""


def period_ends(kinds: Collection[str], fiscal_year_end: str, first: Date, last: Date) -> list[PeriodEnd]:
    """The ends of periods of these kinds from the month of ``first`` to ``last`` (included), in date order.

    The one place the calendar's periods are computed: the evaluation asserts
    them as they pass, ``covenant upcoming`` reads the ones ahead of it.
    """
    fy_month, fy_day = (int(p) for p in fiscal_year_end.split("-"))
    ends: list[PeriodEnd] = []
    cursor = first.start_of("month")
    while cursor <= last:
        end = cursor.end_of("month")
        months_after_fy = (end.month - fy_month) % 12
        if "month_end" in kinds:
            ends.append((end, "month_end", 0))
        if months_after_fy % 3 == 0 and "fiscal_quarter_end" in kinds:
            ends.append((end, "fiscal_quarter_end", 4 if months_after_fy == 0 else months_after_fy // 3))
        if months_after_fy == 0 and end.day >= fy_day and "fiscal_year_end" in kinds:
            ends.append((end, "fiscal_year_end", 4))
        cursor = cursor.add(months=1)
    return sorted(e for e in ends if e[0] <= last)


class PeriodEnds:
    """The calendar's period ends a form's rules name (month, fiscal quarter, fiscal year), in date order."""

    __slots__ = ("_fiscal_year_end", "_kinds", "_memory", "_queue")

    def __init__(self, form: CompiledForm, fiscal_year_end: str, memory: WorkingMemory) -> None:
        self._kinds = form.period_kinds
        self._fiscal_year_end = fiscal_year_end
        self._memory = memory
        self._queue: list[tuple[Date, str, int]] = []

    def plan(self, closing: Date, as_of: Date) -> list[Date]:
        """Every period end from a year before the Closing to the as-of date; returns those after the Closing."""
        self._queue = period_ends(self._kinds, self._fiscal_year_end, closing.subtract(years=1), as_of)
        return [end for end, _, _ in self._queue if end > closing]

    def assert_until(self, day: Date) -> None:
        """Assert the period ends up to ``day`` (on the Closing, those before it too); each matters on its day only."""
        queue = self._queue
        while queue and queue[0][0] <= day:
            end, kind, quarter = queue.pop(0)
            self._memory.assert_for_today(
                {
                    "t": PERIOD,
                    "every": kind,
                    "quarter": quarter,
                    "key": end.isoformat(),
                    "date": end.isoformat(),
                    "month": month_text(end),
                    "day": end.toordinal(),
                    "_c": 1,
                }
            )
