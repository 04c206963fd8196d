"""Loading problems in plain words, for the lawyer who wrote the file.

pydantic and the YAML parser speak their own language: ``String should
match pattern '^\\d{4}-...'``, ``expected <block end>, but found '<block
mapping start>'``, five errors for one misplaced key because the key is
tried against every branch of a union. This module turns them into one
message per mistake, in words: the place named by keys with list items
counted from 1 (``met_by, item 2``), the form a date is written in
(``2004-04-29``), how to write an amount, "did you mean" for a misspelt
key, what a tab or a wrong indentation does. The messages and their hints
are documented in docs/errors.md (codes ``yaml`` and ``language``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

import covenant.language.model as language

LIST_ITEM = "item"
DATE_EXAMPLE = "2004-04-29"


def _vocabulary() -> frozenset[str]:
    """Every key a rule file or agreement.yaml may use, for "did you mean"."""
    names: set[str] = set()
    for value in vars(language).values():
        if isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel:
            for name, info in value.model_fields.items():
                names.add(info.alias or name)
    return frozenset(names)


KEYS = _vocabulary()


def place(path: Sequence[int | str]) -> str | None:
    """``met_by.1.where`` as a person reads it: ``met_by, item 2, where``."""
    parts = [f"{LIST_ITEM} {p + 1}" if isinstance(p, int) else str(p) for p in path]
    return ", ".join(parts) or None


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.7)
    return f"did you mean {close[0]!r}?" if close else None


def is_branch(part: Any, branches: frozenset[str]) -> bool:
    """A union branch pydantic adds to an error's location; it is not in the file."""
    return isinstance(part, str) and (part.endswith("]") or part in branches)


def best_branches(errors: list[dict[str, Any]], branches: frozenset[str], start: int = 0) -> list[dict[str, Any]]:
    """Of the errors of a value tried against every branch of a union, those of the branch it was meant for.

    The branch meant is the one whose errors are fewest at the value itself
    (a mapping where a list was expected is the wrong shape; a value the
    branch's own checks refused had the right shape), then with the
    fewest unknown or missing keys, then with the fewest errors: a trigger
    with ``on:`` is a fact trigger with one bad condition, not a period
    trigger lacking ``every:`` with two unknown keys. Nested unions are
    resolved the same way.
    """
    kept: list[dict[str, Any]] = []
    groups: dict[tuple[Any, ...], dict[Any, list[tuple[int, dict[str, Any]]]]] = {}
    for error in errors:
        loc = error["loc"]
        at = next((k for k in range(start, len(loc)) if is_branch(loc[k], branches)), None)
        if at is None:
            kept.append(error)
            continue
        groups.setdefault(tuple(loc[:at]), {}).setdefault(loc[at], []).append((at, error))
    for options in groups.values():
        chosen = min(options.values(), key=_branch_score)
        kept.extend(best_branches([e for _, e in chosen], branches, chosen[0][0] + 1))
    return kept


def _branch_score(items: list[tuple[int, dict[str, Any]]]) -> tuple[int, int, int]:
    shape = sum(1 for at, e in items if len(e["loc"]) == at + 1 and e["type"] != "value_error")
    keys = sum(1 for _, e in items if e["type"] in ("extra_forbidden", "missing"))
    return shape, keys, len(items)


def drop_misspelt_missing(
    errors: list[tuple[tuple[Any, ...], dict[str, Any]]],
) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """One message for a misspelt key: the unknown key says "did you mean", the missing one is not repeated."""
    unknown = {path for path, e in errors if e["type"] == "extra_forbidden"}
    out = []
    for path, error in errors:
        if error["type"] == "missing":
            siblings = [p[-1] for p in unknown if p[:-1] == path[:-1] and isinstance(p[-1], str)]
            if difflib.get_close_matches(str(path[-1]), siblings, n=1, cutoff=0.7):
                continue
        out.append((path, error))
    return out


def _amount_like(value: Any) -> bool:
    return (
        isinstance(value, str)
        and bool(re.fullmatch(r"\s*[$€£]?\s*[\d,]+(\.\d+)?\s*", value))
        and ("," in value or "$" in value or "€" in value or "£" in value)
    )


def message(error: dict[str, Any], path: Sequence[Any]) -> tuple[str, str]:
    """(message, hint) for one pydantic error, in words; every message has a hint."""
    text, hint = _message(error, path)
    return text, hint or "docs/rule-language.md shows each key with an example"


def _message(error: dict[str, Any], path: Sequence[Any]) -> tuple[str, str | None]:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else ""
        return f"unknown key {key!r}", did_you_mean(key, KEYS) or "see docs/rule-language.md for the keys it takes"
    if kind == "missing":
        return (
            f"required key {path[-1]!r} is missing" if path else "a required key is missing",
            "add it; docs/rule-language.md lists the keys each kind of rule needs",
        )
    if _amount_like(value) and kind.startswith(("decimal", "int", "float", "string_pattern")):
        digits = re.sub(r"[^\d.]", "", str(value))
        return (
            f"{value!r} is not a number as rule files write amounts",
            f'write {digits} (no currency sign, no commas), or quoted with cents: "{digits.split(".")[0]}.00"',
        )
    if kind == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        if pattern == r"^\d{4}-\d{2}-\d{2}$":
            return f"{value!r} is not a date written as the monitor reads dates", (
                f"write year-month-day with two-digit month and day, e.g. {DATE_EXAMPLE}"
            )
        if pattern == r"^\d{4}-\d{2}$":
            return f"{value!r} is not a month written as the monitor reads months", "write year-month, e.g. 2003-07"
        if pattern == r"^\d{2}-\d{2}$":
            return f"{value!r} is not a day of the year", 'write month-day in quotes, e.g. "12-31"'
        return f"{value!r} is not allowed here", "lower-case letters, digits, - or _ only"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number, not {value!r}", "write it in digits, e.g. 10"
    if kind.startswith("decimal") or kind.startswith("float"):
        return f"expected a number, not {value!r}", 'write it in digits, e.g. 0.12 or "250000.00"'
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, not {value!r}", None
    if kind == "literal_error":
        expected = str((error.get("ctx") or {}).get("expected", ""))
        choices = re.findall(r"'([^']*)'", expected)
        return f"{value!r} is not one of {expected}", did_you_mean(str(value), choices) or "write one of them exactly"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx") or {}
        tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = str(ctx.get("tag", value))
        return (
            f"{tag!r} is not a {ctx.get('discriminator', 'kind').strip(chr(39))} of rule: one of {', '.join(tags)}",
            did_you_mean(tag, tags) or "docs/rule-language.md describes each kind",
        )
    if kind in ("list_type",):
        return "expected a list (each item on its own line starting with `- `)", None
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "expected keys and values here (key: value on the lines below)", None
    if kind in ("string_type",):
        return f"expected text, not {value!r}", None
    if kind == "too_short":
        return "this list is empty; it needs at least one item", None
    return str(error["msg"]).removeprefix("Value error, "), None


_YAML_MESSAGES: tuple[tuple[str, str, str], ...] = (
    (
        "found character '\\t'",
        "a tab: rule files are indented with spaces only",
        "replace the tab with two spaces; an editor may show a tab as spaces, so search for the tab character",
    ),
    (
        "expected <block end>, but found",
        "this line is indented less than the key above it, but not as far left as the key they belong to",
        "keys that belong together start in the same column; a key inside another is indented two spaces more",
    ),
    (
        "mapping values are not allowed here",
        "a second ': ' on this line, or a line indented more than the key above it",
        'quote text that contains `: ` ("..."), or write it as a >- block; check the indentation',
    ),
    (
        "could not find expected ':'",
        "a line without 'key: value' where keys were expected",
        "every line of a mapping is `key: value`; a list item starts with `- `",
    ),
    (
        "found unexpected end of stream",
        "a quote or a bracket opened and never closed",
        'close the quote (") or the bracket (] or })',
    ),
    (
        "found duplicate key",
        "the same key is written twice in one place",
        "keep one of them",
    ),
)


def yaml_message(problem: str) -> tuple[str, str | None]:
    """(message, hint) for a YAML parser's problem."""
    for needle, text, hint in _YAML_MESSAGES:
        if needle in problem:
            return text, hint
    return f"not valid YAML: {problem}", None


def fact_problems(problems: list[Any], fact_types: Iterable[str]) -> list[Any]:
    """A scenario's fact problems, one per mistake: a misspelt field is one "did you mean", not two lines.

    The fact loader reports ``too: unknown field`` and ``to: required field
    is missing`` for the one misspelt key ``too``; a misspelt type gets the
    closest type as its hint.
    """
    from dataclasses import replace

    fact_types = list(fact_types)
    unknown = {(p.file, p.line, p.field) for p in problems if p.message == "unknown field"}
    out = []
    for problem in problems:
        if problem.message == "required field is missing":
            siblings = [f for file, line, f in unknown if (file, line) == (problem.file, problem.line) and f]
            if difflib.get_close_matches(str(problem.field), siblings, n=1, cutoff=0.6):
                continue
        if problem.message == "unknown field":
            missing = [
                p.field
                for p in problems
                if (p.file, p.line) == (problem.file, problem.line) and p.message == "required field is missing"
            ]
            hint = did_you_mean(str(problem.field), [m for m in missing if m]) if missing else None
            problem = replace(problem, hint=hint or problem.hint)
        match = re.match(r"unknown fact type '([^']*)'", problem.message)
        if match:
            hint = did_you_mean(match.group(1), fact_types)
            if hint:
                problem = replace(
                    problem,
                    message=match.group(0),
                    hint=f"{hint} The types: this folder's vocabulary.yaml (`covenant vocabulary RULES`)",
                )
        out.append(problem)
    return out
