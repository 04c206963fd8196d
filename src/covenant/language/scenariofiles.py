"""Scenario files: the examples a lawyer keeps beside the rules, read and checked as a file.

The format is part of the language a lawyer writes (``rules/<form>/scenarios/
<rule-id>.yaml``: fact logs, an as-of date, the obligations expected), so it
is read here, beside the rule files, where ``lint`` reads it too; running a
scenario through the engine and comparing is ``covenant.scenarios``'s job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from covenant.calendar import Date, as_date
from covenant.diagnostics import InputError, Problem
from covenant.facts import Fact, FactVocabulary
from covenant.language.loader import locate, read_yaml
from covenant.language.plainwords import fact_problems

SCENARIO_FOLDER = "scenarios"


@dataclass(frozen=True)
class Scenario:
    file: str
    line: int
    name: str
    title: str
    as_of: Date
    facts: tuple[Fact, ...]
    expect: tuple[dict[str, Any], ...]
    rule: str | None = None  # the file's ``rule:``, the rule these scenarios are about
    rules: tuple[str, ...] | None = None  # the scenario's own ``rules:``, replacing the file's rule

    def rules_about(self) -> set[str]:
        """The rule of the file and every rule named in ``expect``."""
        named = {str(e["rule"]) for e in self.expect if e.get("rule")}
        return named | ({self.rule} if self.rule else set()) | set(self.rules or ())

    def compared(self, known: Iterable[str]) -> set[str]:
        """The rules whose every obligation is compared: ``rules:`` or the file's rule, and those in ``expect``.

        A file's ``rule:`` that is not a rule id (a file about a topic, such
        as waivers) names no rule; its scenarios give ``rules:`` instead.
        """
        known = set(known)
        named = {str(e["rule"]) for e in self.expect if e.get("rule")}
        if self.rules is not None:
            return named | set(self.rules)
        return named | ({self.rule} if self.rule in known else set())


def _text(value: Any) -> Any:
    """Scenario values as the report writes them (dates as text, None as null)."""
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value


def load_scenarios(path: Path, vocabulary: FactVocabulary, tree: Any = None) -> list[Scenario]:
    """Read one scenario file (or its tree, already read); facts are validated like any fact log of the form.

    ``vocabulary`` is the form's (its folder's vocabulary.yaml): a scenario
    records the same facts as the form's logs, so it is read with the same
    models, and a misspelt type is told the closest of the form's types.
    """
    display = str(path)
    tree = read_yaml(path) if tree is None else tree
    if not isinstance(tree, CommentedMap) or not isinstance(tree.get("scenarios"), list):
        raise InputError([Problem(display, 1, "scenarios", "expected a list of scenarios under `scenarios:`")])
    problems: list[Problem] = []
    scenarios: list[Scenario] = []
    for index, item in enumerate(tree["scenarios"]):
        line, _ = locate(tree, ["scenarios", index])
        if not isinstance(item, dict):
            problems.append(Problem(display, line, f"scenarios.{index}", "expected a mapping"))
            continue
        facts: list[Fact] = []
        for number, raw in enumerate(item.get("facts") or []):
            fact_line, _ = locate(tree, ["scenarios", index, "facts", number])
            try:
                facts.append(vocabulary.parse_fact(_text(raw), display, fact_line or 0, number))
            except InputError as error:
                problems.extend(error.problems)
        try:
            as_of = as_date(_text(item.get("as_of")))
        except (TypeError, ValueError):
            problems.append(Problem(display, line, "as_of", "expected a date written YYYY-MM-DD"))
            continue
        expect = item.get("expect") or []
        own_rules = item.get("rules")
        shape = _shape_problems(tree, index, expect, own_rules, display)
        if shape:
            problems.extend(shape)
            continue
        scenarios.append(
            Scenario(
                file=display,
                line=line or 0,
                name=str(item.get("name", f"scenario-{index + 1}")),
                title=str(item.get("title", "")),
                as_of=as_of,
                facts=tuple(facts),
                expect=tuple(_text(e) for e in expect),
                rule=str(tree["rule"]) if tree.get("rule") else None,
                rules=tuple(str(r) for r in own_rules) if isinstance(own_rules, list) else None,
            )
        )
    if problems:
        raise InputError(fact_problems(problems, vocabulary.models))
    return scenarios


def _shape_problems(tree: Any, index: int, expect: Any, own_rules: Any, display: str) -> list[Problem]:
    """``expect`` is a list of obligations written as keys, ``rules`` a list of rule ids; anything else is refused."""
    problems: list[Problem] = []
    if not isinstance(expect, list):
        line, _ = locate(tree, ["scenarios", index, "expect"])
        problems.append(Problem(display, line, "expect", "expected a list of obligations (or [] for none)"))
    else:
        for number, entry in enumerate(expect):
            if not isinstance(entry, dict):
                line, _ = locate(tree, ["scenarios", index, "expect", number])
                problems.append(
                    Problem(
                        display,
                        line,
                        f"expect, item {number + 1}",
                        f"expected an obligation written as keys, not {entry!r}",
                        hint="e.g. {rule: ..., trigger: ..., beneficiary: ..., status: ...}",
                    )
                )
    if own_rules is not None and not (isinstance(own_rules, list) and all(isinstance(r, str) for r in own_rules)):
        line, _ = locate(tree, ["scenarios", index, "rules"])
        problems.append(Problem(display, line, "rules", "expected a list of rule ids", hint="e.g. rules: [form-d]"))
    return problems


def scenario_files(rules: Path) -> list[Path]:
    folder = rules / SCENARIO_FOLDER
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []
