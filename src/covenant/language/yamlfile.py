"""Safe YAML with positions: one reader and one tree walker for every YAML file of a rule folder.

YAML is parsed with ruamel's round-trip parser only to keep line and column
numbers; before any value is built, the event stream is checked so that
anchors, aliases (expansion bombs), merge keys and tags (``!!python/object``
and friends) are refused; the values built are checked too (no unpaired
surrogates, infinities or out-of-range integers, no keys that are not text).
Rule files, agreement.yaml, scenario files and portfolio files all come
through ``read_yaml``, so none of them can hold what the program should never
see. Nothing in a YAML file is ever executed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

from covenant.diagnostics import InputError, Problem, printable, read_input_file
from covenant.language.plainwords import yaml_message

MAX_RULE_FILE_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NUMBER = 10**15
"""Any integer in a rule file, agreement or scenario: the core holds 64-bit integers."""

TreePath = list[int | str]


def read_yaml(path: Path) -> Any:
    """Parse one YAML file safely; raise ``InputError`` with the line of any problem."""
    return read_yaml_text(path)[0]


def read_yaml_text(path: Path) -> tuple[Any, str]:
    """The parsed tree and the text it was parsed from (lint reads a rule's first line), read once."""
    display = str(path)
    data = read_input_file(path, MAX_RULE_FILE_BYTES, "YAML file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError([Problem(display, None, None, f"not UTF-8 text (byte {error.start + 1})")]) from None
    yaml = YAML(typ="rt", pure=True)
    try:
        _refuse_unsafe_events(yaml, text, display)
        tree = yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        message, hint = yaml_message(str(error.problem))
        raise InputError([Problem(display, line, None, message, column, hint=hint)]) from None
    except YAMLError as error:
        raise InputError([Problem(display, None, None, f"not valid YAML: {error}")]) from None
    except RecursionError:
        raise InputError([Problem(display, None, None, f"nested deeper than {MAX_DEPTH} levels")]) from None
    except (ValueError, OverflowError) as error:  # a plain scalar the checks above let through and ruamel cannot build
        raise InputError([Problem(display, None, None, f"a value cannot be read: {error}")]) from None
    problems = value_problems(tree, display)
    if problems:
        raise InputError(problems)
    return tree, text.replace("\r\n", "\n").replace("\r", "\n")  # as a text-mode read gives it


def _refuse_unsafe_events(yaml: YAML, text: str, display: str) -> None:
    depth = 0
    for event in yaml.parse(text):
        line = event.start_mark.line + 1
        column = event.start_mark.column + 1
        if isinstance(event, ScalarEvent) and event.value == "<<" and event.implicit[0]:
            raise InputError([Problem(display, line, None, "merge keys (<<) are not allowed in rule files", column)])
        if isinstance(event, AliasEvent):
            raise InputError([Problem(display, line, None, "aliases (*name) are not allowed in rule files", column)])
        anchor = getattr(event, "anchor", None)
        if anchor:
            raise InputError([Problem(display, line, None, "anchors (&name) are not allowed in rule files", column)])
        tag = getattr(event, "tag", None)
        if tag and not (isinstance(event, ScalarEvent) and tag == "!") and _explicit_tag(event):
            raise InputError(
                [Problem(display, line, None, f"tags such as {tag} are not allowed in rule files", column)]
            )
        if isinstance(event, ScalarEvent) and event.implicit[0] and event.style is None:
            problem = _plain_scalar_problem(event.value)
            if problem:
                raise InputError([Problem(display, line, None, problem, column)])
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError([Problem(display, line, None, f"nested deeper than {MAX_DEPTH} levels", column)])
        elif type(event).__name__ in ("MappingEndEvent", "SequenceEndEvent"):
            depth -= 1


_INTEGER = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_TIMESTAMP = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[Tt ])")
_MAX_INTEGER_DIGITS = 30


def _plain_scalar_problem(value: str) -> str | None:
    """What is wrong with an unquoted scalar YAML would build into a value that cannot exist.

    ruamel turns ``2003-11-31`` into a date and ``999...`` into an int while it
    builds the tree, and raises without a line when it cannot (Python refuses
    integers of more than 4,300 digits); checked here, with the line.
    """
    if _INTEGER.match(value) and sum(c.isdigit() for c in value) > _MAX_INTEGER_DIGITS:
        return f"an integer of more than {_MAX_INTEGER_DIGITS} digits"
    stamp = _TIMESTAMP.match(value)
    if stamp:
        try:
            date(*(int(part) for part in stamp.groups()))
        except ValueError:
            return f"{printable(value, limit=40)!r} is not a calendar date (write a real date, YYYY-MM-DD)"
    return None


def _explicit_tag(event: Any) -> bool:
    if isinstance(event, ScalarEvent):
        plain, _quoted = event.implicit
        return (not plain and not _quoted) or bool(event.tag)
    return not getattr(event, "implicit", True)


def walk_tree(node: Any, path: TreePath | None = None) -> Iterator[tuple[TreePath, Any, Any]]:
    """(path, key, value) of every mapping entry and list item (key None), depth first, without recursion.

    The one walker over parsed YAML: the value checks below and the engine's
    limits (limits.py) both read a tree through it.
    """
    stack: list[tuple[TreePath, Any]] = [(path or [], node)]
    while stack:
        here, value = stack.pop()
        if isinstance(value, dict):
            for key, inner in reversed(list(value.items())):
                stack.append(([*here, key], inner))
                yield [*here, key], key, inner
        elif isinstance(value, list):
            for number in reversed(range(len(value))):
                stack.append(([*here, number], value[number]))
                yield [*here, number], None, value[number]


def value_problems(tree: Any, display: str) -> list[Problem]:
    """Scalars no part of the program should see: unpaired surrogates, inf/nan, huge integers, non-text keys."""
    problems: list[Problem] = []
    for path, key, value in walk_tree(tree):
        where = locate(tree, path)
        if key is not None and not isinstance(key, str):
            problems.append(tree_problem(display, where, path[:-1], f"key {key!r} is not text"))
        if isinstance(value, str) and not _is_unicode(value):
            problems.append(tree_problem(display, where, path, "text with an unpaired surrogate (\\ud800-\\udfff)"))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int) and abs(value) > MAX_NUMBER:
            problems.append(tree_problem(display, where, path, f"{value} is out of range (at most {MAX_NUMBER:,})"))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(tree_problem(display, where, path, f"{value} is not a finite number"))
    return problems


def tree_problem(display: str, where: tuple[int | None, int | None], path: Sequence[Any], message: str) -> Problem:
    """A problem at a place of a tree, its path shown as ``met_by.0.where`` (cut to 80 characters)."""
    field = ".".join(str(p) for p in path) or None
    return Problem(display, where[0], field[:80] if field else None, message, where[1], code="rule")


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def locate(tree: Any, path: Sequence[int | str]) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the node at ``path`` in a parsed YAML tree."""
    node = tree
    line: int | None = None
    column: int | None = None
    if isinstance(node, CommentedMap | CommentedSeq):
        line, column = node.lc.line + 1, node.lc.col + 1
    for key in path:
        if isinstance(node, CommentedMap) and key in node:
            position = node.lc.key(key)
            line, column = position[0] + 1, position[1] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            position = node.lc.item(key)
            line, column = position[0] + 1, position[1] + 1
            node = node[key]
        else:
            continue  # pydantic adds union branch names to paths; they are not in the file
    return line, column


def plain_data(value: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists, for pydantic."""
    if isinstance(value, dict):
        return {str(k): plain_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_data(v) for v in value]
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()  # an unquoted date: the language wants text
    return value
