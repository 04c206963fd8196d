"""Financial tests: a measure over reported figures, compared with a limit at each period end.

A ``kind: test`` rule (a coverage ratio, a debt limit) is tested at each
period end Q of its calendar on the day the last of its window's figures is
recorded: the engine matches each figures fact (``Binding("figures")``) and
calls here. The test is an obligation owed to all, triggered by Q:

- every figure there: ``fulfilled`` on that day, or ``breached`` from Q itself
  (the covenant speaks of the period, not of the day the figures came in);
  a breach is never cured by a later period, only waived;
- Q's own figures there but not the rest of the window: ``review``, naming
  the missing periods, until they come;
- a measure that divides by zero: ``review``, saying so.

Each test keeps its value, limit and comparison (``Obligation.measure``) and
the arithmetic step by step, for the report's explanation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from covenant.calendar import Date, add_months, as_date, month_end
from covenant.language.expressions import (
    AddOf,
    Annualise,
    DivideOf,
    Expression,
    LastOf,
    MultiplyOf,
    Number,
    SubtractOf,
    SumOf,
)
from covenant.language.model import FinancialTest
from covenant.law.obligations import Obligation, ObligationBook, Status, obligation_key

MONTHS_PER_PERIOD = {"month_end": 1, "fiscal_quarter_end": 3, "fiscal_year_end": 12}
SHOWN_PLACES = Decimal("0.0001")
"""A measure is compared exactly and shown to four decimals."""

_TESTS = {
    "at_least": (lambda value, limit: value >= limit, "at least"),
    "at_most": (lambda value, limit: value <= limit, "at most"),
    "below": (lambda value, limit: value < limit, "below"),
    "above": (lambda value, limit: value > limit, "above"),
}


class UndefinedMeasure(ArithmeticError):
    """The measure cannot be computed (a division by zero): a person must look."""


@dataclass(frozen=True, slots=True)
class Figures:
    """One period's reported figures: the fact that gave them and its fields, exact."""

    fact_id: str
    fields: dict[str, Any]


def shown(value: Decimal) -> str:
    return str(value.quantize(SHOWN_PLACES, rounding=ROUND_HALF_UP))


class Computation:
    """Evaluates a measure over one window and writes each step down in words."""

    def __init__(self, window: list[tuple[Date, Figures]], periods_per_year: int) -> None:
        self.window = window
        self.periods_per_year = periods_per_year
        self.steps: list[str] = []

    def value(self, node: Expression) -> Decimal:
        if isinstance(node, SumOf | LastOf):
            return self._figures(node)
        if isinstance(node, Number):
            return node.number
        if isinstance(node, AddOf):
            return sum((self.value(part) for part in node.add), Decimal(0))
        if isinstance(node, SubtractOf):
            return self.value(node.subtract[0]) - self.value(node.subtract[1])
        if isinstance(node, MultiplyOf):
            product = Decimal(1)
            for part in node.multiply:
                product *= self.value(part)
            return product
        if isinstance(node, DivideOf):
            numerator, denominator = self.value(node.divide[0]), self.value(node.divide[1])
            if denominator == 0:
                raise UndefinedMeasure(f"it divides {numerator} by zero")
            quotient = numerator / denominator
            self.steps.append(f"{numerator} / {denominator} = {shown(quotient)}")
            return quotient
        assert isinstance(node, Annualise)
        inner = self.value(node.annualise)
        factor = Decimal(self.periods_per_year) / Decimal(len(self.window))
        result = inner * factor
        self.steps.append(f"annualised: {inner} x {self.periods_per_year}/{len(self.window)} = {shown(result)}")
        return result

    def _figures(self, node: SumOf | LastOf) -> Decimal:
        rows = self.window if isinstance(node, SumOf) else self.window[-1:]
        names = node.fields()
        total = Decimal(0)
        per_period = []
        for day, figures in rows:
            amounts = [_figure(figures, name) for name in names]
            subtotal = sum(amounts, Decimal(0))
            total += subtotal
            shown_sum = " + ".join(map(str, amounts)) + (f" = {subtotal}" if len(amounts) > 1 else "")
            per_period.append(f"{day} {shown_sum}")
        label = " + ".join(names)
        if len(rows) == 1:
            self.steps.append(f"{label} at {per_period[0]}")
        else:
            self.steps.append(f"{label} over {len(rows)} periods: {'; '.join(per_period)}; sum {total}")
        return total


def _figure(figures: Figures, name: str) -> Decimal:
    """One figure of one period's fact; a figure left out (an optional field) or not a number cannot be tested."""
    value = figures.fields.get(name)
    if value is None:
        raise UndefinedMeasure(f"{figures.fact_id} gives no {name}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise UndefinedMeasure(f"{figures.fact_id}'s {name} is not a number: {str(value)[:40]!r}") from None


class Measures:
    """The financial tests of one agreement: figures by rule and period, and the obligations they decide."""

    __slots__ = ("_book", "_encode", "_figures", "_fiscal_month", "_note", "_rules")

    def __init__(
        self,
        rules: dict[str, Any],
        book: ObligationBook,
        fiscal_year_end: str,
        note: Callable[[Obligation, str], None],
        encode: Callable[[Obligation], None],
    ) -> None:
        self._rules = rules
        self._book = book
        self._fiscal_month = int(fiscal_year_end.split("-")[0])
        self._figures: dict[str, dict[Date, Figures]] = defaultdict(dict)
        self._note = note
        self._encode = encode

    def figures(self, rule_id: str, key: str, fields: dict[str, Any], today: Date) -> None:
        """A figures fact arrived: keep it, and test every period whose window it completes."""
        rule: FinancialTest = self._rules[rule_id]
        try:
            period = as_date(str(fields[rule.figures.period_field]))
        except (KeyError, ValueError):
            return  # the vocabulary requires the field; a fact without it is not this test's
        reported = rule.figures.every or rule.every
        if not self._is_period_end(reported, period):
            return
        known = self._figures[rule_id]
        if period in known:
            return  # the first report of a period stands (the vocabulary refuses a second)
        known[period] = Figures(key, fields)
        widest = max([rule.window, *(step.window or rule.window for step in rule.limits)])
        day = period
        for _ in range(widest):
            if self._is_period_end(rule.every, day):
                self._test(rule, day, today)
            day = _step(reported, day, 1)

    def _is_period_end(self, every: str, day: Date) -> bool:
        if day != month_end(day):
            return False
        months_after = (day.month - self._fiscal_month) % 12
        return months_after % MONTHS_PER_PERIOD[every] == 0

    def _in_range(self, rule: FinancialTest, test_date: Date) -> bool:
        month = f"{test_date.year:04d}-{test_date.month:02d}"
        return month >= rule.starting and (rule.ending is None or month <= rule.ending)

    def _test(self, rule: FinancialTest, test_date: Date, today: Date) -> None:
        known = self._figures[rule.id]
        if test_date not in known or not self._in_range(rule, test_date):
            return
        limit_and_window = rule.limit_on(test_date.isoformat())
        if limit_and_window is None:
            return
        limit, size = limit_and_window
        reported = rule.figures.every or rule.every
        periods = [_step(reported, test_date, -back) for back in range(size - 1, -1, -1)]
        obligation = self._obligation(rule, test_date)
        if obligation is None or obligation.status not in (Status.PENDING, Status.REVIEW):
            return
        for period in periods:
            if period in known:
                self._note(obligation, known[period].fact_id)
        comparison, bound = limit.comparison()
        obligation.measure = {"value": None, "limit": str(bound), "test": comparison}
        missing = [period for period in periods if period not in known]
        if missing:
            obligation.status = Status.REVIEW
            obligation.due_basis = "figures missing for " + ", ".join(day.isoformat() for day in missing)
            return
        window = [(period, known[period]) for period in periods]
        computation = Computation(window, 12 // MONTHS_PER_PERIOD[reported])
        try:
            value = computation.value(rule.measure)
        except UndefinedMeasure as problem:
            obligation.status = Status.REVIEW
            obligation.due_basis = f"the measure cannot be computed: {problem}"
            return
        holds, words = _TESTS[comparison]
        obligation.measure = {"value": shown(value), "limit": str(bound), "test": comparison}
        obligation.due_basis = (
            f"on {today}, when the last figures ({', '.join(f.fact_id for _, f in window)}) were recorded: "
            + "; ".join(computation.steps)
            + f"; {shown(value)} against a limit of {words} {bound}"
        )
        obligation.status = Status.PENDING
        if holds(value, bound):
            self._book.fulfil(obligation, today)
        else:
            self._book.breach(obligation, test_date)

    def _obligation(self, rule: FinancialTest, test_date: Date) -> Obligation | None:
        key = test_date.isoformat()
        existing = self._book.get(obligation_key(rule.id, key, None))
        if existing is not None:
            return existing
        obligation = self._book.open(rule.id, rule.clause, "test", key, key, test_date, None, None)
        if obligation is not None:
            self._encode(obligation)
        return obligation


def _step(every: str, day: Date, periods: int) -> Date:
    """The end of the period ``periods`` after (or before, when negative) the one ending on ``day``."""
    return month_end(add_months(day.start_of("month"), periods * MONTHS_PER_PERIOD[every]))


__all__ = ["Computation", "Figures", "Measures", "UndefinedMeasure", "shown"]
