"""The one walker over a rule file: every place of its YAML tree, with the model the language made of it.

The engine's limits (limits.py) read what was written (a ``days: 5000``
anywhere); lint's checks (lint.py) read what it means (a ``Test``, a
``PeriodTrigger``). Both walk the same ``Node`` list, made once per rule
file: the YAML value at each path, the model at that path when there is
one, and the models around it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

NodePath = tuple[int | str, ...]


@dataclass(frozen=True, slots=True)
class Node:
    """One place of a rule file: its path in the YAML, what is written there and what the language made of it."""

    path: NodePath
    key: Any
    """The mapping key of this place; None for a list item and for the file itself."""
    value: Any
    """What the YAML says here (ruamel's commented containers, scalars as parsed)."""
    parsed: Any
    """The language's value here: a model, a list, a mapping, a scalar; None when the file did not load."""
    ancestors: tuple[Node, ...]
    """The places around this one that hold models, outermost first."""

    @property
    def model(self) -> BaseModel | None:
        return self.parsed if isinstance(self.parsed, BaseModel) else None

    def pattern(self) -> Node | None:
        """The nearest enclosing pattern (a model naming a fact with ``fact`` or ``on``)."""
        for node in (self, *reversed(self.ancestors)):
            if node.model is not None and named_fact(node.model) is not None:
                return node
        return None


def named_fact(model: BaseModel | None) -> str | None:
    """The kind of fact a pattern (``fact:`` or ``on:`` with ``where:``) names; None for other models."""
    for key in ("fact", "on"):
        value = getattr(model, key, None)
        if isinstance(value, str) and hasattr(model, "where"):
            return value
    return None


def walk(tree: Any, parsed: Any = None) -> Iterator[Node]:
    """The file itself, then every mapping entry and list item below it, without recursion.

    Depth first from the stack, children yielded as they are pushed; the
    order is the one the limits have always counted in (the 201st carried
    field is the one reported).
    """
    root = Node((), None, tree, parsed, ())
    yield root
    stack = [root]
    while stack:
        parent = stack.pop()
        around = (*parent.ancestors, parent) if isinstance(parent.parsed, BaseModel) else parent.ancestors
        value = parent.value
        if isinstance(value, dict):
            children: list[tuple[Any, Any, Any]] = [(k, k, v) for k, v in value.items()]
        elif isinstance(value, list):
            children = [(n, None, v) for n, v in enumerate(value)]
        else:
            continue
        for step, key, inner in reversed(children):
            child = Node((*parent.path, step), key, inner, _inside(parent.parsed, step), around)
            stack.append(child)
            yield child


def _inside(parsed: Any, step: Any) -> Any:
    """The language's value one step further in: a field by its YAML name, a list item, a mapping entry."""
    if isinstance(parsed, BaseModel):
        name = _field_names(type(parsed)).get(step)
        return getattr(parsed, name) if name is not None else None
    if isinstance(parsed, list):
        return parsed[step] if isinstance(step, int) and 0 <= step < len(parsed) else None
    if isinstance(parsed, dict):
        return parsed.get(step) if isinstance(step, str) else None
    return None


@cache
def _field_names(model: type[BaseModel]) -> dict[str, str]:
    """YAML key -> field name of a model (``copy`` -> ``copy_fields``)."""
    return {info.alias or name: name for name, info in model.model_fields.items()}
