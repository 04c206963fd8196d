"""What the engine can take from a rule file: names, sizes and numbers, checked before compiling.

The rule language (model.py) says what a rule may mean; this pass says
what the C core of durable-rules and the evaluator can safely be given,
so that a rule file that passes never reaches them as a crash, a hang or a
silent non-match (docs/limits.md):

- field names the engine or the evaluator give meaning to (``sid``, ``id``,
  ``t``, ``key``, ``day``, ``okey``, ``$``-prefixed keys, ...) are refused;
  for the fact types of facts.md a condition must name one of the type's
  fields, so a typo is an error, not a rule that never fires;
- a pattern names a fact type of facts.md or one a rule of the folder
  derives, never the evaluator's own (``obligation``, ``period``, ...);
- lists of values, and the alternatives they multiply into, are bounded
  (the core loops forever on an ``$or`` of 512 terms, and refuses more than
  about 16,000 alternatives in one rule), and so are the patterns joined in
  one rule (the core fails mid-run beyond 16);
- numbers are bounded: day counts, years, factors; a fixed due date is a
  real date; every remedy a rule names is defined in agreement.yaml.

Every problem names the file, line and key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pendulum

from covenant.diagnostics import Problem
from covenant.engine.names import ENGINE_FIELDS, INTERNAL_TYPES
from covenant.language.basics import MAX_DAYS, MAX_YEARS
from covenant.language.walker import Node
from covenant.language.yamlfile import MAX_NUMBER, locate, tree_problem

MAX_LIST_VALUES = 100
"""Values in one list condition (``one_of``, ``not_one_of``, a plain list); the core hangs at 512."""

MAX_ALTERNATIVES = 1_000
"""Alternatives of one pattern: the product of its lists' lengths, times its ``any_of`` groups."""

MAX_CONDITIONS = 50
"""Conditions on one pattern (``where``, each ``any_of`` group): far beyond any clause, and small patterns."""

MAX_PATTERNS = 8
"""Fact patterns in one list (``met_by``, ``when``, ``unless``...), and ``provided`` plus ``provided_none``
of one trigger: the core joins at most 16 patterns in one rule and fails mid-run beyond (error 304)."""

MAX_CARRIED_FIELDS = 200
"""Distinct ``trigger.<field>`` / ``terms.<name>`` references of a folder: each is a field of every obligation
the engine holds, and the core refuses a fact of more than 254 properties (error 302)."""

MAX_DERIVED_FIELDS = 50
"""``copy`` and ``set`` fields of one derived fact (the same 254-property limit)."""

MAX_FACTOR = 1_000
"""``times`` in ``{field: ..., times: ...}``: share counts are below 10^15 and the core multiplies in 64 bits."""


_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DAY_KEYS = frozenset(
    {
        "days_after",
        "days_before",
        "business_days_after",
        "business_days_before",
        "no_later_than_business_days_after_due",
        "days",
    }
)
_YEAR_KEYS = frozenset({"years_after", "due_within_years_of_closing", "years"})
FACT_NAME_KEYS = ("fact", "on", "starts_on", "plus_days_of")
"""Keys whose value names a kind of fact, wherever they appear in a rule (lint checks them too)."""
_FIELD_VALUED_KEYS = ("one_per", "adding_up")
_PATTERN_LISTS = frozenset({"met_by", "when", "provided", "provided_none", "unless", "bearing", "extended_by"})

Path_ = list[int | str]

__all__ = ["MAX_NUMBER", "rule_problems"]


def rule_problems(
    rules: Sequence[tuple[str, Sequence[Node]]], remedies: set[str] | None, fact_types: Mapping[str, Any] | None
) -> list[Problem]:
    """Cross-checks of a whole folder's rules (file, walked nodes) against the engine's limits and the vocabulary.

    ``fact_types`` is the folder's vocabulary (fact type -> its model); None when it did not load, and then
    no rule is told that a type or field is unknown (lint reports the vocabulary's own problems instead).
    """
    types: Mapping[str, Any] = fact_types or {}
    derived: dict[str, str] = {}
    problems: list[Problem] = []
    for display, nodes in rules:
        tree = nodes[0].value
        name = tree.get("derives") if isinstance(tree, dict) else None
        if isinstance(name, str):
            if name in types or name in INTERNAL_TYPES:
                problems.append(
                    tree_problem(
                        display,
                        locate(tree, ["derives"]),
                        ["derives"],
                        f"{name!r} is already a fact type; a derived fact needs a name of its own",
                    )
                )
            derived.setdefault(name, display)
    for display, nodes in rules:
        rule = _Rule(display, nodes[0].value, frozenset(derived), remedies, fact_types)
        problems.extend(_breach_on_trigger(rule))
        for node in nodes[1:]:
            for check in NODE_CHECKS:
                problems.extend(check(rule, node))
    problems.extend(_carried_fields(rules))
    return problems


@dataclass(frozen=True)
class _Rule:
    """One rule file as its checks see it: where to report, and what the rest of the folder defines."""

    file: str
    tree: Any
    derived: frozenset[str]
    remedies: set[str] | None
    fact_types: Mapping[str, Any] | None
    """The folder's fact types (their models); None when its vocabulary did not load."""

    def problem(self, path: Sequence[Any], message: str) -> Problem:
        return tree_problem(self.file, locate(self.tree, path), path, message)


def _carried_fields(rules: Sequence[tuple[str, Sequence[Node]]]) -> Iterator[Problem]:
    """Obligations carry one field per distinct trigger/terms reference of the whole folder."""
    seen: set[str] = set()
    for display, nodes in rules:
        for node in nodes:
            key, value = node.key, node.value
            if key in ("same_as", "on_or_before", "on_or_after", "one_per") and isinstance(value, str):
                name = f"trigger.{value}" if key == "one_per" else value
                if name.startswith(("trigger.", "terms.")) and name not in seen:
                    seen.add(name)
                    if len(seen) == MAX_CARRIED_FIELDS + 1:
                        yield tree_problem(
                            display,
                            locate(nodes[0].value, node.path),
                            node.path,
                            f"more than {MAX_CARRIED_FIELDS} distinct trigger.<field> and terms.<name> references "
                            "in the folder; every obligation carries one field for each",
                        )


def _unknown_fact_type(rule: _Rule, node: Node) -> Iterator[Problem]:
    """``fact:``, ``on:`` ... name a type of facts.md or one a rule of the folder derives."""
    value = node.value
    if node.key not in FACT_NAME_KEYS or not isinstance(value, str) or not _is_pattern_key(node.path):
        return
    if rule.fact_types is not None and value not in rule.fact_types and value not in rule.derived:
        yield rule.problem(
            node.path, f"unknown fact type {value!r}: a type of vocabulary.yaml, or one a rule here derives"
        )


def _numbers(rule: _Rule, node: Node) -> Iterator[Problem]:
    """Day counts, years and factors the calendar and the core can take."""
    key, value = node.key, node.value
    if not isinstance(value, int):
        return
    if key in _DAY_KEYS and value > MAX_DAYS:
        yield rule.problem(node.path, f"{value} days is out of range (at most {MAX_DAYS:,})")
    elif key in _YEAR_KEYS and value > MAX_YEARS:
        yield rule.problem(node.path, f"{value} years is out of range (at most {MAX_YEARS})")
    elif key == "times" and abs(value) > MAX_FACTOR:
        yield rule.problem(node.path, f"factor {value} is out of range (at most {MAX_FACTOR:,})")


def _engine_field_named(rule: _Rule, node: Node) -> Iterator[Problem]:
    """``one_per``, ``adding_up``, ``buyer_in`` and ``field`` never name a field the engine keeps."""
    named = node.key in _FIELD_VALUED_KEYS or node.key in ("buyer_in", "field")
    if named and isinstance(node.value, str) and node.value in ENGINE_FIELDS:
        yield rule.problem(node.path, f"{node.value!r} is a name the engine keeps for itself")


def _pattern_lists(rule: _Rule, node: Node) -> Iterator[Problem]:
    """The core joins at most 16 patterns in one rule."""
    value = node.value
    if node.key in _PATTERN_LISTS and isinstance(value, list) and len(value) > MAX_PATTERNS:
        yield rule.problem(node.path, f"{len(value)} patterns; at most {MAX_PATTERNS}")
    if isinstance(value, dict) and "on" in value:
        joined = sum(len(value.get(k) or []) for k in ("provided", "provided_none") if isinstance(value.get(k), list))
        if joined > MAX_PATTERNS:
            yield rule.problem(node.path, f"{joined} provided/provided_none patterns; at most {MAX_PATTERNS} together")


def _derived_fields(rule: _Rule, node: Node) -> Iterator[Problem]:
    """``copy`` and ``set`` give a derived fact at most 50 fields, none the engine keeps."""
    if node.key not in ("copy", "set"):
        return
    value = node.value
    names = value if isinstance(value, list) else list(value) if isinstance(value, dict) else []
    if len(names) > MAX_DERIVED_FIELDS:
        yield rule.problem(node.path, f"{len(names)} fields; a derived fact has at most {MAX_DERIVED_FIELDS}")
    for name in names:
        if name in ENGINE_FIELDS:
            yield rule.problem(node.path, f"{name!r} is a name the engine keeps for itself")


def _remedies_defined(rule: _Rule, node: Node) -> Iterator[Problem]:
    """Every remedy a rule names or grants is defined in agreement.yaml."""
    remedies, value = rule.remedies, node.value
    if node.key in ("remedies", "grants") and remedies is not None and isinstance(value, list):
        for number, remedy in enumerate(value):
            if remedy not in remedies:
                yield tree_problem(
                    rule.file,
                    locate(rule.tree, [*node.path, number]),
                    node.path,
                    f"remedy {remedy!r} is not defined in agreement.yaml ({', '.join(sorted(remedies))})",
                )


def _fixed_date(rule: _Rule, node: Node) -> Iterator[Problem]:
    """A fixed due date is a real date."""
    value = node.value
    if node.key in ("due", "act_by") and isinstance(value, dict) and isinstance(value.get("date"), str):
        try:
            pendulum.Date.fromisoformat(value["date"])
        except ValueError:
            yield rule.problem([*node.path, "date"], f"{value['date']!r} is not a date")


def _pattern(rule: _Rule, node: Node) -> Iterator[Problem]:
    if isinstance(node.value, dict) and ("fact" in node.value or "on" in node.value):
        yield from _pattern_problems(rule.file, rule.tree, list(node.path), node.value, rule.fact_types or {})


NODE_CHECKS = (
    _unknown_fact_type,
    _numbers,
    _engine_field_named,
    _pattern_lists,
    _derived_fields,
    _remedies_defined,
    _fixed_date,
    _pattern,
)
"""What is checked at every place of a rule file below its top (``_breach_on_trigger`` reads the top)."""


def _pattern_problems(
    display: str, tree: Any, path: Path_, pattern: dict[str, Any], fact_types: Mapping[str, Any]
) -> Iterator[Problem]:
    kind = pattern.get("fact", pattern.get("on"))
    if not isinstance(kind, str):
        return
    model = fact_types.get(kind)
    allowed = None if model is None else set(model.model_fields) - {"id", "type", "agreement", "note"} | {"date"}
    groups: list[tuple[Path_, Any]] = [([*path, "where"], pattern.get("where"))]
    any_of = pattern.get("any_of")
    if isinstance(any_of, list):
        groups.extend(([*path, "any_of", n], group) for n, group in enumerate(any_of))
    alternatives = 1
    for group_path, group in groups:
        if not isinstance(group, dict):
            continue
        if len(group) > MAX_CONDITIONS:
            yield tree_problem(
                display, locate(tree, group_path), group_path, f"{len(group)} conditions; at most {MAX_CONDITIONS}"
            )
        for name, condition in group.items():
            name_path = [*group_path, name]
            message = _field_name_problem(name, kind, allowed)
            if message:
                yield tree_problem(display, locate(tree, name_path), name_path, message)
            size = _list_size(condition)
            if size > MAX_LIST_VALUES:
                yield tree_problem(
                    display, locate(tree, name_path), name_path, f"{size} values; a list has at most {MAX_LIST_VALUES}"
                )
            if group_path[-1] == "where":
                alternatives *= max(size, 1) if _is_alternative(condition) else 1
    if isinstance(any_of, list) and any_of:
        alternatives *= len(any_of)
    if alternatives > MAX_ALTERNATIVES:
        yield tree_problem(
            display,
            locate(tree, path),
            path,
            f"{alternatives:,} alternatives (the lengths of its lists multiplied); at most {MAX_ALTERNATIVES:,}",
        )


def _field_name_problem(name: Any, kind: str, allowed: set[str] | None) -> str | None:
    if not isinstance(name, str) or not _FIELD_NAME.match(name):
        return f"{str(name)[:60]!r} is not a field name (lower-case letters, digits and _)"
    if name in ENGINE_FIELDS:
        return f"{name!r} is a name the engine keeps for itself"
    if allowed is not None and name not in allowed:
        return f"{kind} facts have no field {name!r} (they have {', '.join(sorted(allowed))})"
    return None


def _list_size(condition: Any) -> int:
    if isinstance(condition, list):
        return len(condition)
    if isinstance(condition, dict):
        for key in ("one_of", "not_one_of"):
            if isinstance(condition.get(key), list):
                return len(condition[key])
    return 0


def _is_alternative(condition: Any) -> bool:
    return isinstance(condition, list) or (isinstance(condition, dict) and isinstance(condition.get("one_of"), list))


def _breach_on_trigger(rule: _Rule) -> Iterator[Problem]:
    """A duty in breach from its trigger needs a fact that triggers it, not a period end."""
    tree = rule.tree
    if not isinstance(tree, dict) or tree.get("breach_starts") != "on_trigger":
        return
    arises = tree.get("arises")
    triggers = arises if isinstance(arises, list) else [arises]
    for number, trigger in enumerate(triggers):
        if isinstance(trigger, dict) and "every" in trigger:
            path: Path_ = ["arises", number] if isinstance(arises, list) else ["arises"]
            yield rule.problem(
                path,
                "breach_starts: on_trigger needs fact triggers (on: ...), not period ends (every: ...)",
            )


def _is_pattern_key(path: Sequence[int | str]) -> bool:
    """``fact:`` and ``on:`` name fact types, except where a key of that name means something else."""
    return not (len(path) >= 2 and path[-2] in ("where", "set", "terms"))
