"""Loading rule folders: safe YAML with line numbers, validated by the language.

A rule folder holds ``agreement.yaml`` and one ``*.yaml`` file per clause
(subfolders such as ``scenarios/`` are not rules). YAML is parsed with
ruamel's round-trip parser only to keep line and column numbers; before any
value is built, the event stream is checked so that anchors, aliases
(expansion bombs), merge keys and tags (``!!python/object`` and friends) are
refused; the values built are checked too (rulelimits: no unpaired
surrogates, infinities or out-of-range integers), and a folder's rules are
checked against what the engine can take before anything is compiled.
Nothing in a rule file is ever executed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

from covenant.calendar import BusinessCalendar, as_date
from covenant.diagnostics import EXCERPT_CHARS, InputError, Problem, printable, read_input_file
from covenant.language import Agreement, Rule
from covenant.rulelimits import rule_problems, value_problems

MAX_RULE_FILE_BYTES = 1_000_000
MAX_DEPTH = 40
AGREEMENT_FILE = "agreement.yaml"

_RULE_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)


@dataclass(frozen=True)
class SourcedRule:
    """A validated rule and where it was written."""

    rule: Any  # one of the language's rule models
    file: str
    tree: Any  # the parsed YAML, for locating problems found later (lint)


@dataclass(frozen=True)
class RuleFolder:
    agreement: Agreement
    agreement_file: str
    rules: tuple[SourcedRule, ...]
    folder: Path

    def rule_ids(self) -> list[str]:
        return [r.rule.id for r in self.rules]


def read_yaml(path: Path) -> Any:
    """Parse one YAML file safely; raise ``InputError`` with the line of any problem."""
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
        raise InputError([Problem(display, line, None, f"not valid YAML: {error.problem}", column)]) from None
    except YAMLError as error:
        raise InputError([Problem(display, None, None, f"not valid YAML: {error}")]) from None
    except RecursionError:
        raise InputError([Problem(display, None, None, f"nested deeper than {MAX_DEPTH} levels")]) from None
    except (ValueError, OverflowError) as error:  # a plain scalar the checks above let through and ruamel cannot build
        raise InputError([Problem(display, None, None, f"a value cannot be read: {error}")]) from None
    problems = value_problems(tree, display)
    if problems:
        raise InputError(problems)
    return tree


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


_plain = plain_data


def _validation_problems(error: ValidationError, tree: Any, display: str) -> list[Problem]:
    problems = []
    for item in error.errors():
        path = [p for p in item["loc"] if not ((isinstance(p, str) and p.endswith("]")) or p in _BRANCHES)]
        line, column = locate(tree, path)
        field = ".".join(str(p) for p in path) or None
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (see docs/rule-language.md for the keys this construct takes)"
        elif item["type"] == "missing":
            message = "required key is missing"
        problems.append(Problem(display, line, field, message, column, code="rule"))
    return problems


_BRANCHES = {
    "duty",
    "prohibition",
    "derive",
    "remedy",
    "review",
    "FactTrigger",
    "PeriodTrigger",
    "list[union[FactTrigger,PeriodTrigger]]",
    "list[FactTrigger]",
    "Test",
    "FieldTimes",
    "str",
    "int",
    "bool",
    "decimal",
    "list[union[str,int,bool,decimal]]",
    "union[str,int,bool,decimal]",
    "dict[literal['buyer_in'],str]",
}


def _validate(adapter_or_model: Any, tree: Any, display: str) -> Any:
    if not isinstance(tree, CommentedMap):
        raise InputError([Problem(display, 1, None, "expected a mapping of keys (id:, clause:, ...)", code="rule")])
    try:
        if isinstance(adapter_or_model, TypeAdapter):
            return adapter_or_model.validate_python(_plain(tree))
        return adapter_or_model.model_validate(_plain(tree))
    except ValidationError as error:
        raise InputError(_validation_problems(error, tree, display)) from None


def term_problems(agreement: Agreement) -> list[tuple[list[str | int], str]]:
    """What the models cannot see in an agreement's terms: a fiscal year end that is no day, a calendar that is none.

    Both change the damages or crash the evaluation, so ``check`` and
    ``portfolio`` refuse them before evaluating (agreement.yaml and each
    portfolio entry's merged ``terms``); lint reports the same with its own codes.
    Returns (path of the key, message) pairs.
    """
    problems: list[tuple[list[str | int], str]] = []
    month, _, day = agreement.fiscal_year_end.partition("-")
    try:
        date(2001, int(month), int(day))  # not a leap year: "02-29" ends no fiscal year every year
    except ValueError:
        problems.append((["fiscal_year_end"], f"{agreement.fiscal_year_end!r} is not a day of the year (write MM-DD)"))
    settings = agreement.calendar
    calendar = BusinessCalendar(
        market=settings.business_days, country=settings.country, subdivision=settings.subdivision
    )
    try:
        calendar.is_business_day(as_date("2000-01-03"))
    except (NotImplementedError, KeyError, ValueError, LookupError) as error:
        problems.append(
            (
                ["calendar"],
                f"unknown business-day calendar ({printable(str(error), limit=EXCERPT_CHARS)}): business_days names a "
                "financial market of the holidays package (USNY), or country a country (US) and subdivision one of it",
            )
        )
    return problems


def load_rule_folder(folder: Path) -> RuleFolder:
    """Load and validate ``agreement.yaml`` and every rule file of ``folder``."""
    problems: list[Problem] = []
    if not folder.is_dir():
        raise InputError([Problem(str(folder), None, None, "no such rule folder")])
    agreement_path = folder / AGREEMENT_FILE
    agreement: Agreement | None = None
    agreement_tree: Any = None
    if not agreement_path.is_file():
        problems.append(Problem(str(agreement_path), None, None, "missing: every rule folder has agreement.yaml"))
    else:
        try:
            agreement_tree = read_yaml(agreement_path)
            agreement = _validate(Agreement, agreement_tree, str(agreement_path))
        except InputError as error:
            problems.extend(error.problems)
    rules: list[SourcedRule] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
        if path.name == AGREEMENT_FILE:
            continue
        display = str(path)
        try:
            tree = read_yaml(path)
            rule = _validate(_RULE_ADAPTER, tree, display)
        except InputError as error:
            problems.extend(error.problems)
            continue
        if rule.id in seen:
            line, column = locate(tree, ["id"])
            problems.append(
                Problem(
                    display, line, "id", f"duplicate rule id {rule.id!r}; also in {seen[rule.id]}", column, code="rule"
                )
            )
            continue
        seen[rule.id] = display
        rules.append(SourcedRule(rule=rule, file=display, tree=tree))
    if problems:
        raise InputError(problems)
    assert agreement is not None
    problems = []
    for path, message in term_problems(agreement):
        line, column = locate(agreement_tree, path)
        problems.append(Problem(str(agreement_path), line, ".".join(map(str, path)), message, column, code="rule"))
    problems += rule_problems([(r.file, r.tree) for r in rules], set(agreement.remedies))
    if problems:
        raise InputError(problems)
    return RuleFolder(agreement=agreement, agreement_file=str(agreement_path), rules=tuple(rules), folder=folder)
