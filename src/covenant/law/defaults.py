"""Events of Default, the default rate they allow, and the validity of acts that depend on them.

An Event of Default rests on other rules' breaches (the engine matches each
``breach`` fact to the ``kind: default`` rules naming its rule, and each
notice fact to those counting from notice). Whether one exists, and from
when to when, depends on how the breach ends, which only the rest of the
walk tells; so the spans are settled once the walk reaches the as-of date,
from the obligations' records, and entered in the book then:

- one Event of Default per underlying obligation (rule and trigger, all
  holders together), from the breach's first day, or the day after a grace
  period counted from the due date (calendar or Business Days) or from the
  earliest notice naming it (rolled); none if every holder's part was cured
  within the grace; it ends when the last part is cured or waived, and
  continues through that day;
- ``kind: default_rate``: each holder's remedy during the Events of Default,
  from every one, or from the one continuing when a majority in interest
  elects (elections add up, counted on the date of the last), from the first
  day of the earliest Event of Default then continuing to the first day none
  continues;
- a review rule's ``valid_when``: whether an act (an acceleration, a
  rescission, a waiver) was valid on its date, and why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from covenant.calendar import BusinessCalendar, Date, shift
from covenant.language.model import DefaultRateRule, EventOfDefaultRule, ReviewRule, Validity
from covenant.law.holdings import Holdings
from covenant.law.obligations import Obligation, ObligationBook, Status

MAJORITY = "majority_in_interest"


@dataclass(frozen=True, slots=True)
class Span:
    """One Event of Default: its rule, what it rests on, its first day and last day (None: continuing)."""

    rule_id: str
    rests_on: str
    start: Date
    end: Date | None

    def continues_on(self, day: Date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class Defaults:
    """What the walk tells the Events of Default of one agreement, and what they become at its end."""

    __slots__ = ("_book", "_calendar", "_elections", "_holdings", "_notices", "_rules", "_underlying")

    def __init__(
        self, rules: dict[str, Any], book: ObligationBook, calendar: BusinessCalendar, holdings: Holdings
    ) -> None:
        self._rules = rules
        self._book = book
        self._calendar = calendar
        self._holdings = holdings
        self._underlying: dict[str, dict[tuple[str, str], list[str]]] = defaultdict(dict)
        self._notices: dict[str, dict[tuple[str, str], list[tuple[Date, str]]]] = defaultdict(dict)
        self._elections: dict[str, list[tuple[Date, str, tuple[str, ...]]]] = defaultdict(list)

    # --- what the engine matched during the walk ---------------------------
    def breach(self, rule_id: str, obligation_key: str) -> None:
        obligation = self._book[obligation_key]
        group = (obligation.rule_id, obligation.trigger_id or obligation.trigger_key)
        keys = self._underlying[rule_id].setdefault(group, [])
        if obligation_key not in keys:
            keys.append(obligation_key)

    def notice(self, rule_id: str, fields: dict[str, Any], day: Date, fact_id: str) -> None:
        named = (str(fields.get("rule", "")), str(fields.get("trigger", "")))
        self._notices[rule_id].setdefault(named, []).append((day, fact_id))

    def election(self, rule_id: str, fields: dict[str, Any], day: Date, fact_id: str, field: str) -> None:
        parties = fields.get(field, ())
        parties = (parties,) if isinstance(parties, str) else tuple(parties)
        if all(fact_id != known for _, known, _ in self._elections[rule_id]):
            self._elections[rule_id].append((day, fact_id, parties))

    # --- at the as-of date ---------------------------------------------------
    def finish(self, as_of: Date) -> None:
        spans: list[Span] = []
        for rule in self._rules.values():
            if isinstance(rule, EventOfDefaultRule):
                spans.extend(self._events_of_default(rule, as_of))
        for rule in self._rules.values():
            if isinstance(rule, DefaultRateRule):
                self._default_rate(rule, spans, as_of)
        for obligation in list(self._book.obligations.values()):
            rule = self._rules[obligation.rule_id]
            if isinstance(rule, ReviewRule) and rule.valid_when:
                self._judge(obligation, rule, spans)

    def _events_of_default(self, rule: EventOfDefaultRule, as_of: Date) -> list[Span]:
        spans = []
        for (rests_rule, rests_trigger), keys in sorted(self._underlying[rule.id].items()):
            parts = [self._book[key] for key in keys]
            first = min(part.breach_start for part in parts if part.breach_start is not None)
            ends = [part.cured_on or part.ended_on for part in parts]
            end = None if any(day is None for day in ends) else max(day for day in ends if day is not None)
            start, because = self._start(rule, parts, first, (rests_rule, rests_trigger))
            if start is None or start > as_of or (end is not None and end < start):
                continue
            rests_on = f"{rests_rule}/{rests_trigger}"
            obligation = self._book.open(rule.id, rule.clause, "default", rests_on, rests_on, start, None, None)
            if obligation is None:
                continue
            for part in parts:
                obligation.note_evidence(part.trigger_id or part.trigger_key)
            for fact_id in because[1]:
                obligation.note_evidence(fact_id)
            obligation.due_basis = because[0]
            obligation.remedies.extend(rule.remedies)
            self._book.breach(obligation, start)
            if end is not None:
                waived = any(part.status == Status.WAIVED for part in parts)
                obligation.status = Status.WAIVED if waived else Status.CURED
                obligation.cured_on = end
            spans.append(Span(rule.id, rests_on, start, end))
        return spans

    def _start(
        self, rule: EventOfDefaultRule, parts: list[Obligation], first: Date, named: tuple[str, str]
    ) -> tuple[Date | None, tuple[str, list[str]]]:
        """The Event of Default's first day, and why, with the notice facts it counts from."""
        grace = rule.grace
        if grace is None or (grace.only_for and named[0] not in grace.only_for):
            return first, ("from the breach's first day", [])
        if grace.days_after_notice is not None:
            notices = sorted(self._notices[rule.id].get(named, []))
            if not notices:
                return None, ("", [])
            noticed, fact_id = notices[0]
            last = self._calendar.days_after(noticed, grace.days_after_notice)
            why = f"not remedied within {grace.days_after_notice} days after {fact_id} of {noticed} (to {last}, rolled)"
            return max(shift(last, 1), first), (why, [fact_id])
        due = min(part.due for part in parts if part.due is not None) if any(p.due for p in parts) else first
        if grace.business_days_after_due is not None:
            last = self._calendar.business_days_after(due, grace.business_days_after_due)
            why = f"not paid in full by the {_nth(grace.business_days_after_due)} Business Day after {due} ({last})"
        else:
            assert grace.days_after_due is not None
            last = shift(due, grace.days_after_due)
            why = f"not made in full within {grace.days_after_due} days after {due} ({last})"
        return max(shift(last, 1), first), (why, [])

    def _default_rate(self, rule: DefaultRateRule, spans: list[Span], as_of: Date) -> None:
        if rule.elected_by is None:
            for start, end in _clusters(spans):
                self._rate_for_holders(rule, start.isoformat(), start, start, end)
            return
        electing: set[str] = set()
        elections: list[str] = []
        covered: list[tuple[Date, Date | None]] = []
        for day, fact_id, parties in sorted(self._elections[rule.id]):
            continuing = [span for span in spans if span.continues_on(day)]
            if not continuing or any(start <= day and (end is None or day <= end) for start, end in covered):
                continue  # no Event of Default to elect on, or the Default Rate already runs
            electing.update(parties)
            elections.append(fact_id)
            if not self._holdings.permitted(MAJORITY, electing, None, day):
                continue
            start, end = _cluster_of(continuing, spans)
            covered.append((start, end))
            self._rate_for_holders(rule, fact_id, day, start, end, elections)
            electing, elections = set(), []

    def _rate_for_holders(
        self,
        rule: DefaultRateRule,
        trigger: str,
        on: Date,
        start: Date,
        end: Date | None,
        elections: Iterable[str] = (),
    ) -> None:
        for holder in sorted(self._holdings.holders_on(on)):
            obligation = self._book.open(rule.id, rule.clause, "default_rate", trigger, trigger, on, holder, None)
            if obligation is None:
                continue
            for fact_id in elections:
                obligation.note_evidence(fact_id)
            obligation.due_basis = f"Events of Default continuing from {start}" + (
                f" to {end}" if end is not None else ""
            )
            obligation.remedies.extend(rule.remedies)
            self._book.breach(obligation, start)
            if end is not None:
                obligation.status = Status.CURED
                obligation.cured_on = end

    def _judge(self, obligation: Obligation, rule: ReviewRule, spans: list[Span]) -> None:
        """Whether the act listed for review was valid on its date, and why; a valid act may go unlisted."""
        day = obligation.trigger_date
        reasons = []
        for alternative in rule.valid_when:
            holds, why = self._holds(alternative, obligation.trigger_fields, day, spans)
            if holds:
                obligation.valid = True
                obligation.due_basis = f"valid: {why}"
                if rule.listed == "when_invalid":
                    del self._book.obligations[obligation.key]
                return
            reasons.append(why)
        obligation.valid = False
        obligation.due_basis = "not valid: " + "; or ".join(reasons)

    def _holds(self, alternative: Validity, fields: dict[str, Any], day: Date, spans: list[Span]) -> tuple[bool, str]:
        said: list[str] = []
        for name, wanted in alternative.where.items():
            options = wanted if isinstance(wanted, list) else [wanted]
            if fields.get(name) not in options:
                return False, f"{name} is not {' or '.join(map(str, options))}"
            said.append(f"{name} {fields.get(name)}")
        if alternative.by_majority is not None:
            parties = fields.get(alternative.by_majority, ())
            parties = [parties] if isinstance(parties, str) else list(parties)
            if not self._holdings.permitted(MAJORITY, parties, None, day):
                return False, f"not a majority in interest on {day}: {', '.join(parties)}"
            said.append(f"a majority in interest on {day}: {', '.join(parties)}")
        continuing = [span for span in spans if span.continues_on(day)]
        wanted_rules = alternative.defaults_continuing
        if wanted_rules is not None:
            counted = [s for s in continuing if wanted_rules == "any" or s.rule_id in wanted_rules]
            if not counted:
                which = "" if wanted_rules == "any" else f" under {', '.join(wanted_rules)}"
                return False, f"no Event of Default{which} continues on {day}"
            said.append("Events of Default continuing: " + ", ".join(f"{s.rule_id} ({s.rests_on})" for s in counted))
        if alternative.no_default_continuing and continuing:
            names = ", ".join(f"{s.rule_id} ({s.rests_on}, from {s.start})" for s in continuing)
            return False, f"Events of Default still continue on {day}: {names}"
        if alternative.no_default_continuing:
            said.append(f"no Event of Default continues on {day}")
        return True, "; ".join(said) or "its conditions hold"


def _clusters(spans: list[Span]) -> list[tuple[Date, Date | None]]:
    """Spans merged where they overlap or touch: the days on which some Event of Default continues."""
    merged: list[tuple[Date, Date | None]] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged:
            start, end = merged[-1]
            if end is None or span.start <= shift(end, 1):
                later = None if end is None or span.end is None else max(end, span.end)
                merged[-1] = (start, later)
                continue
        merged.append((span.start, span.end))
    return merged


def _cluster_of(continuing: list[Span], spans: list[Span]) -> tuple[Date, Date | None]:
    """From the first day of the earliest Event of Default continuing, to the first day none continues."""
    start = min(span.start for span in continuing)
    for first, last in _clusters(spans):
        if first <= start and (last is None or start <= last):
            return start, last
    return start, None


def _nth(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


__all__ = ["Defaults", "Span"]
