"""What every lint check reads: the folder as loaded, the places of its rules, and where a problem is.

lint.py loads the folder once (loader.py) and runs the checks; the checks
live by concern beside this module: facts and fields, references to the
obligation, dates and deadlines, scenarios, and the texts around the rules.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from covenant.diagnostics import Problem
from covenant.engine.names import INTERNAL_TYPES
from covenant.language.limits import FACT_NAME_KEYS
from covenant.language.loader import LoadedFolder, SourcedRule, locate
from covenant.language.model import PeriodTrigger, ScheduleTrigger
from covenant.language.scenariofiles import Scenario
from covenant.language.walker import Node

__all__ = ["FACT_NAME_KEYS", "PERIOD_FIELDS", "Check", "LintFolder", "LintedRule", "ScenarioFileTree"]

PERIOD_FIELDS = frozenset({"date", "month", "quarter"})
SCHEDULE_FIELDS = frozenset({"date", "month", "amount"})
"""What ``trigger.<field>`` may name for ``arises: {schedule: ...}``: the date, and each holder's computed amount."""
"""What a period trigger (``every: month_end``) offers to ``same_as: trigger.<field>``."""


LintedRule = SourcedRule
"""One rule file that passed the language: the model, its file, its YAML tree (for lines) and its text."""


@dataclass(frozen=True)
class ScenarioFileTree:
    """A scenario file whose facts loaded: its scenarios and its YAML tree (for lines)."""

    file: str
    tree: Any
    scenarios: list[Scenario]  # lint.py loads them; the checks only read them


@dataclass
class LintFolder(LoadedFolder):
    """What the checks look at: the loaded folder (loader.py), the agreement's text and the scenario files."""

    agreement_text: str | None = None
    text_files: list[str] = field(default_factory=list)
    scenario_files: list[ScenarioFileTree] = field(default_factory=list)
    unreadable_texts: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, loaded: LoadedFolder) -> LintFolder:
        return cls(**{f.name: getattr(loaded, f.name) for f in dataclasses.fields(LoadedFolder)})

    def derived(self) -> dict[str, list[LintedRule]]:
        """Fact name -> the rules that derive it (several rules may derive the same fact)."""
        out: dict[str, list[LintedRule]] = {}
        for rule in self.rules:
            name = getattr(rule.rule, "derives", None)
            if isinstance(name, str):
                out.setdefault(name, []).append(rule)
        return out

    def fact_fields(self, name: str) -> frozenset[str] | None:
        """The fields a ``where`` may test on a kind of fact; None when lint cannot know them.

        A ``derive`` rule's fact has the fields it copies or sets; other
        derived facts (periods) have fields lint does not model.
        """
        model = (self.fact_models() or {}).get(name)
        if model is not None:
            return frozenset(model.model_fields) - {"type", "agreement", "note"} | {"date"}
        deriving = self.derived().get(name)
        if not deriving or any(r.rule.kind != "derive" for r in deriving):
            return None
        fields = {"date"}
        for rule in deriving:
            fields |= set(getattr(rule.rule, "copy_fields", ()) or ())
            fields |= set(getattr(rule.rule, "set_fields", {}) or {})
        return frozenset(fields)

    def known_fact(self, name: str) -> bool:
        types = self.fact_models()
        if types is None:  # the vocabulary did not load: its problems are reported, not every name a rule uses
            return True
        return name in types or name in INTERNAL_TYPES or name in self.derived() or name in self.unloaded_derived


Check = Callable[[LintFolder], Iterable[Problem]]


def models(rule: LintedRule) -> Iterator[Node]:
    """The places of a rule file that hold a model (a pattern, a trigger, a test), from its one walk (walker.py)."""
    return (node for node in rule.nodes if node.model is not None)


def fact_names(rule: LintedRule) -> Iterator[tuple[list[int | str], str]]:
    """(path, name) of every kind of fact a rule names (``fact:``, ``on:``, ``starts_on:``, ``plus_days_of:``).

    One reading for the checks that a named fact exists and that a derived fact is used.
    """
    for node in models(rule):
        for key in FACT_NAME_KEYS:
            name = getattr(node.model, key, None)
            if isinstance(name, str) and key in type(node.model).model_fields:
                yield [*node.path, key], name


def problem(rule: LintedRule, path: Sequence[int | str], code: str, message: str, hint: str | None = None) -> Problem:
    line, column = locate(rule.tree, list(path))
    return Problem(rule.file, line, None, message, column, code=code, hint=hint)


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.7)
    return f"did you mean {close[0]!r}?" if close else None


def conditions(model: BaseModel) -> Iterator[tuple[tuple[int | str, ...], str, Any]]:
    """(path, field name, condition) of a pattern's ``where`` and of each ``any_of`` group."""
    for name, condition in (getattr(model, "where", None) or {}).items():
        yield ("where", name), name, condition
    for index, group in enumerate(getattr(model, "any_of", None) or []):
        for name, condition in group.items():
            yield ("any_of", index, name), name, condition


def triggers_with_paths(rule: Any) -> list[tuple[tuple[int | str, ...], Any]]:
    """Each trigger of a rule with its path (``arises`` or ``forbids``, one or a list)."""
    for key in ("arises", "forbids"):
        value = getattr(rule, key, None)
        if value is None:
            continue
        if isinstance(value, list):
            return [((key, i), t) for i, t in enumerate(value)]
        return [((key,), value)]
    return []


def trigger_fields(trigger: Any, folder: LintFolder) -> frozenset[str] | None:
    """What ``trigger.<field>`` may name for one trigger; None when unknown."""
    if isinstance(trigger, PeriodTrigger):
        return PERIOD_FIELDS
    if isinstance(trigger, ScheduleTrigger):
        return SCHEDULE_FIELDS
    name = getattr(trigger, "on", None)
    if name is None:
        return None
    fields = folder.fact_fields(name)
    return None if fields is None else fields | {"id"}


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
