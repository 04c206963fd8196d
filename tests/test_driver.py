"""The driver's wiring: a handler for every kind of firing, and evaluations that do not outlive their run."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from covenant.language.compiler import BINDING_KINDS
from covenant.law import driver
from covenant.pipeline import check

from .conftest import AMNIS_RULES, EXAMPLE_FACTS


def test_every_binding_kind_has_a_handler_and_every_handler_a_kind() -> None:
    assert driver.HANDLERS.keys() == BINDING_KINDS
    assert "meet" in BINDING_KINDS and "holding_ends" in BINDING_KINDS
    assert len(BINDING_KINDS) == 20
    assert driver.HANDLERS["meet"] is driver.Evaluation._on_meet


def test_a_table_missing_a_kind_is_refused_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import sys

    import covenant.language.compiler as compiler

    monkeypatch.setattr(compiler, "BINDING_KINDS", BINDING_KINDS | {"escalate"})
    monkeypatch.delitem(sys.modules, "covenant.law.driver")
    with pytest.raises(ImportError, match=r"misses \['escalate'\]"):
        importlib.import_module("covenant.law.driver")
    monkeypatch.undo()
    assert importlib.import_module("covenant.law.driver") is driver


def test_an_evaluation_is_freed_when_it_ends_without_the_garbage_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    """The book's hooks must not hold the evaluation: a cycle kept each one alive until a collection."""
    made: list[weakref.ref[Any]] = []
    original = driver.Evaluation.__init__

    def remember(self: driver.Evaluation, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(driver.Evaluation, "__init__", remember)
    gc.collect()
    gc.disable()
    try:
        checked = check([EXAMPLE_FACTS], AMNIS_RULES)
        assert checked is not None
        assert len(made) == 1
        assert made[0]() is None
    finally:
        gc.enable()
