"""Arithmetic over facts: the grammar of a financial test's ``measure``.

A financial covenant compares a figure computed from reported facts with a
limit: a coverage ratio over four quarters, debt over capitalisation at a
quarter end, current assets over current liabilities at a month end. The
figure is an expression written as nested one-key mappings, so that a lawyer
reads it as the definition it encodes and nothing in it can run code:

    measure:
      divide:
        - sum: [consolidated_net_income, interest_charges, lease_rentals, income_taxes]
        - sum: [interest_charges, lease_rentals]

``sum`` adds fields over every fact of the test's window (flows: income over
four quarters); ``last`` reads fields of the test period's own fact (stocks:
debt at the quarter end). ``add``, ``subtract``, ``multiply`` and ``divide``
combine; ``number`` is a constant; ``annualise`` scales a trailing sum to a
year (times periods per year over the periods in the window). Everything is
``Decimal``; ``law/measures.py`` evaluates it and writes each step down.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

FIELD_NAME = r"^[a-z][a-z0-9_]*$"
FieldName = Annotated[str, Field(pattern=FIELD_NAME)]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SumOf(_Node):
    """The fields added over every fact of the window (a flow: income, charges)."""

    sum: FieldName | list[FieldName] = Field(description="a field, or fields added, over every period of the window")

    def fields(self) -> list[str]:
        return [self.sum] if isinstance(self.sum, str) else list(self.sum)


class LastOf(_Node):
    """The fields of the test period's own fact, added (a stock: debt at the quarter end)."""

    last: FieldName | list[FieldName] = Field(description="a field, or fields added, of the test period's fact")

    def fields(self) -> list[str]:
        return [self.last] if isinstance(self.last, str) else list(self.last)


class Number(_Node):
    number: Decimal = Field(description="a constant, written as a decimal string")


class AddOf(_Node):
    add: list[Expression] = Field(min_length=2, max_length=16)


class SubtractOf(_Node):
    subtract: list[Expression] = Field(min_length=2, max_length=2, description="the first less the second")


class MultiplyOf(_Node):
    multiply: list[Expression] = Field(min_length=2, max_length=8)


class DivideOf(_Node):
    divide: list[Expression] = Field(min_length=2, max_length=2, description="the first over the second")


class Annualise(_Node):
    annualise: Expression = Field(description="times periods per year over the periods in the window")


Expression = SumOf | LastOf | Number | AddOf | SubtractOf | MultiplyOf | DivideOf | Annualise
"""One node of a measure: each is a mapping with exactly one key, which says what it does."""

for _model in (AddOf, SubtractOf, MultiplyOf, DivideOf, Annualise):
    _model.model_rebuild()


def fields_read(expression: Expression) -> list[str]:
    """Every fact field a measure reads, in order of first use (lint checks each against the vocabulary)."""
    seen: dict[str, None] = {}
    stack = [expression]
    while stack:
        node = stack.pop(0)
        if isinstance(node, SumOf | LastOf):
            seen.update(dict.fromkeys(node.fields()))
        else:
            stack[0:0] = operands(node)
    return list(seen)


def operands(node: Expression) -> list[Expression]:
    """The expressions a combining node combines; none for a leaf."""
    if isinstance(node, AddOf):
        return list(node.add)
    if isinstance(node, SubtractOf):
        return list(node.subtract)
    if isinstance(node, MultiplyOf):
        return list(node.multiply)
    if isinstance(node, DivideOf):
        return list(node.divide)
    if isinstance(node, Annualise):
        return [node.annualise]
    return []


__all__ = [
    "AddOf",
    "Annualise",
    "DivideOf",
    "Expression",
    "LastOf",
    "MultiplyOf",
    "Number",
    "SubtractOf",
    "SumOf",
    "fields_read",
    "operands",
]
