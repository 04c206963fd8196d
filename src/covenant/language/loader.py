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

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

from covenant.diagnostics import InputError, Problem
from covenant.language.limits import rule_problems, value_problems
from covenant.language.model import Agreement, Rule
from covenant.language.plainwords import best_branches, drop_misspelt_missing, is_branch, message, place, yaml_message

MAX_RULE_FILE_BYTES = 1_000_000
MAX_DEPTH = 40
AGREEMENT_FILE = "agreement.yaml"
VOCABULARY_FILE = "vocabulary.yaml"
"""The form's fact vocabulary (language/vocabulary.py): in the folder, not a rule file."""

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
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError([Problem(display, None, None, f"cannot read: {error.strerror}")]) from None
    if len(data) > MAX_RULE_FILE_BYTES:
        raise InputError([Problem(display, None, None, f"file is over {MAX_RULE_FILE_BYTES:,} bytes")])
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
        text, hint = yaml_message(str(error.problem))
        raise InputError([Problem(display, line, None, text, column, hint=hint)]) from None
    except YAMLError as error:
        raise InputError([Problem(display, None, None, f"not valid YAML: {error}")]) from None
    except RecursionError:
        raise InputError([Problem(display, None, None, f"nested deeper than {MAX_DEPTH} levels")]) from None
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
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError([Problem(display, line, None, f"nested deeper than {MAX_DEPTH} levels", column)])
        elif type(event).__name__ in ("MappingEndEvent", "SequenceEndEvent"):
            depth -= 1


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
    """One problem per mistake, in words (plainwords.py): the union branch meant, no repeated missing key."""
    chosen = best_branches(list(error.errors()), _BRANCHES)
    paths = [(tuple(p for p in item["loc"] if not is_branch(p, _BRANCHES)), item) for item in chosen]
    problems = []
    for path, item in drop_misspelt_missing(paths):
        if item["type"] == "union_tag_invalid":  # the key that chose the branch: kind
            path = (*path, str((item.get("ctx") or {}).get("discriminator", "")).strip("'"))
        line, column = locate(tree, list(path))
        text, hint = message(item, path)
        shown = path[:-1] if item["type"] in ("extra_forbidden", "missing", "union_tag_invalid") else path
        problems.append(Problem(display, line, place(shown), text, column, code="rule", hint=hint))
    return problems


_BRANCHES = frozenset(
    {
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
)


def _validate(adapter_or_model: Any, tree: Any, display: str) -> Any:
    if not isinstance(tree, CommentedMap):
        raise InputError([Problem(display, 1, None, "expected a mapping of keys (id:, clause:, ...)", code="rule")])
    try:
        if isinstance(adapter_or_model, TypeAdapter):
            return adapter_or_model.validate_python(_plain(tree))
        return adapter_or_model.model_validate(_plain(tree))
    except ValidationError as error:
        raise InputError(_validation_problems(error, tree, display)) from None


def load_rule_folder(folder: Path) -> RuleFolder:
    """Load and validate ``agreement.yaml`` and every rule file of ``folder``."""
    problems: list[Problem] = []
    if not folder.is_dir():
        raise InputError([Problem(str(folder), None, None, "no such rule folder")])
    agreement_path = folder / AGREEMENT_FILE
    agreement: Agreement | None = None
    if not agreement_path.is_file():
        problems.append(Problem(str(agreement_path), None, None, "missing: every rule folder has agreement.yaml"))
    else:
        try:
            agreement = _validate(Agreement, read_yaml(agreement_path), str(agreement_path))
        except InputError as error:
            problems.extend(error.problems)
    rules: list[SourcedRule] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
        if path.name in (AGREEMENT_FILE, VOCABULARY_FILE):
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
    problems = rule_problems([(r.file, r.tree) for r in rules], set(agreement.remedies))
    if problems:
        raise InputError(problems)
    return RuleFolder(agreement=agreement, agreement_file=str(agreement_path), rules=tuple(rules), folder=folder)
