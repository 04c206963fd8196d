"""The one loader of rule folders: every file read safely, validated by the language, checked once.

A rule folder holds ``agreement.yaml``, ``vocabulary.yaml`` (the fact types
its logs may record, language/vocabulary.py) and one ``*.yaml`` file per
clause (subfolders such as ``scenarios/`` are not rules). Each file is read by
yamlfile.py (safe YAML with positions) and validated by the language
(model.py, its mistakes in plain words); the folder's rules are then checked
against what the engine can take (limits.py). ``covenant check``, ``test``,
``explain`` and ``compile`` load strictly (``load_rule_folder``: any problem
refuses the folder); ``covenant lint`` loads the same way but collects
(``load_folder(..., collect=True)``) and adds its cross-file checks, so the
two can never disagree on what a file says. Nothing in a rule file is ever
executed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml.comments import CommentedMap

from covenant.calendar import BusinessCalendar, as_date
from covenant.diagnostics import EXCERPT_CHARS, InputError, Problem, printable
from covenant.facts import COMMON_FIELDS
from covenant.language.limits import rule_problems
from covenant.language.model import Agreement, Rule
from covenant.language.plainwords import best_branches, did_you_mean, drop_misspelt_missing, is_branch, message, place
from covenant.language.vocabulary import VOCABULARY_FILE, Vocabulary, load_vocabulary
from covenant.language.walker import Node, walk
from covenant.language.yamlfile import (
    MAX_DEPTH,
    MAX_RULE_FILE_BYTES,
    locate,
    plain_data,
    read_yaml,
    read_yaml_text,
)

__all__ = [
    "AGREEMENT_FILE",
    "MAX_DEPTH",
    "MAX_RULE_FILE_BYTES",
    "VOCABULARY_FILE",
    "LoadedFolder",
    "RuleFolder",
    "SourcedRule",
    "load_folder",
    "load_folder_vocabulary",
    "load_rule_folder",
    "locate",
    "plain_data",
    "read_yaml",
]

AGREEMENT_FILE = "agreement.yaml"

RULE_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)


@dataclass(frozen=True)
class SourcedRule:
    """A validated rule and where it was written."""

    rule: Any  # one of the language's rule models
    file: str
    tree: Any  # the parsed YAML, for locating problems found later (lint)
    text: str = field(default="", compare=False, repr=False)  # the file as written (lint reads its first line)

    @cached_property
    def nodes(self) -> list[Node]:
        """Every place of the file with its model (walker.py), walked once for all the checks that read it."""
        return list(walk(self.tree, self.rule))


@dataclass(frozen=True)
class RuleFolder:
    agreement: Agreement
    agreement_file: str
    rules: tuple[SourcedRule, ...]
    folder: Path
    vocabulary: Vocabulary
    """The form's fact types: fact logs, scenarios and the rules' fact names are checked against it."""

    def rule_ids(self) -> list[str]:
        return [r.rule.id for r in self.rules]


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
        "ScheduleTrigger",
        "list[union[FactTrigger,PeriodTrigger,ScheduleTrigger]]",
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
        "dict[literal['role'],str]",
    }
)


def _validate(adapter_or_model: Any, tree: Any, display: str) -> Any:
    if not isinstance(tree, CommentedMap):
        raise InputError([Problem(display, 1, None, "expected a mapping of keys (id:, clause:, ...)", code="rule")])
    try:
        if isinstance(adapter_or_model, TypeAdapter):
            return adapter_or_model.validate_python(plain_data(tree))
        return adapter_or_model.model_validate(plain_data(tree))
    except ValidationError as error:
        raise InputError(_validation_problems(error, tree, display)) from None


def rule_paths(folder: Path) -> list[Path]:
    """The rule files of a folder, in reading order (agreement.yaml and the vocabulary are not rules)."""
    paths = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    return [p for p in paths if p.name not in (AGREEMENT_FILE, VOCABULARY_FILE)]


def load_file(path: Path, model: Any) -> tuple[Any, Any, str, list[Problem]]:
    """(model, tree, text, problems) of one YAML file: a file that does not read is ``yaml``, one the language
    refuses is ``language`` (lint prints the codes; check prints the same lines without them)."""
    display = str(path)
    try:
        tree, text = read_yaml_text(path)
    except InputError as error:
        return None, None, "", _relabel(error.problems, "yaml")
    try:
        return _validate(model, tree, display), tree, text, []
    except InputError as error:
        return None, tree, text, _relabel(error.problems, "language")


def _relabel(problems: list[Problem], code: str) -> list[Problem]:
    return [dataclasses.replace(p, code=code) for p in problems]


@dataclass
class LoadedFolder:
    """What a rule folder's files gave, and the problems of single files: where check and lint both start."""

    folder: Path
    agreement: Agreement | None
    agreement_file: str
    agreement_tree: Any
    rules: list[SourcedRule]
    """Every rule file the language accepted, in file order; two with the same id are both here."""
    problems: list[Problem]
    unloaded_ids: set[str] = field(default_factory=set)
    """Ids of rule files that did not load: a scenario naming one is not told the rule does not exist."""
    unloaded_derived: set[str] = field(default_factory=set)
    """Facts that rule files which did not load derive: rules using them are not told they are unknown."""
    vocabulary: Vocabulary | None = None
    """The folder's ``vocabulary.yaml``; None when it is missing or refused (its problems are in ``problems``)."""
    vocabulary_file: str = ""

    def fact_models(self) -> dict[str, Any] | None:
        """Fact type -> its model, or None when the vocabulary did not load (then no rule is told a type is unknown)."""
        return None if self.vocabulary is None else self.vocabulary.models

    def duplicates(self) -> Iterator[tuple[SourcedRule, SourcedRule]]:
        """(rule, the first rule with its id) for every rule file whose id an earlier file already has."""
        seen: dict[str, SourcedRule] = {}
        for rule in self.rules:
            first = seen.setdefault(rule.rule.id, rule)
            if first is not rule:
                yield rule, first

    def limit_problems(self) -> list[Problem]:
        """What the engine cannot take (limits.py), over every rule that loaded."""
        remedies = set(self.agreement.remedies) if self.agreement else None
        return rule_problems([(r.file, r.nodes) for r in self.rules], remedies, self.fact_models())

    def rule_folder(self) -> RuleFolder:
        """The folder as the compiler takes it."""
        assert self.agreement is not None and self.vocabulary is not None
        return RuleFolder(
            agreement=self.agreement,
            agreement_file=self.agreement_file,
            rules=tuple(self.rules),
            folder=self.folder,
            vocabulary=self.vocabulary,
        )


def load_folder(folder: Path, *, collect: bool) -> LoadedFolder:
    """Load ``agreement.yaml`` and every rule file of ``folder``, each once.

    With ``collect`` the problems of single files are returned in
    ``.problems`` for lint to add to; without it any problem, or any rule
    the engine cannot take, raises ``InputError`` with every problem found.
    A folder that does not exist raises in both modes: there is nothing to
    load.
    """
    if not folder.is_dir():
        raise InputError([Problem(str(folder), None, None, "no such rule folder", code="folder")])
    agreement_path = folder / AGREEMENT_FILE
    agreement, agreement_tree, problems = None, None, []
    if agreement_path.is_file():
        agreement, agreement_tree, _text, problems = load_file(agreement_path, Agreement)
    else:
        problems.append(
            Problem(str(agreement_path), None, None, "missing: every rule folder has agreement.yaml", code="folder")
        )
    loaded = LoadedFolder(folder, agreement, str(agreement_path), agreement_tree, [], problems)
    loaded.vocabulary_file = str(folder / VOCABULARY_FILE)
    loaded.vocabulary = _load_vocabulary(folder / VOCABULARY_FILE, problems)
    for path in rule_paths(folder):
        rule, tree, text, file_problems = load_file(path, RULE_ADAPTER)
        problems.extend(file_problems)
        if rule is not None:
            loaded.rules.append(SourcedRule(rule, str(path), tree, text))
        elif isinstance(tree, dict):
            if isinstance(tree.get("id"), str):
                loaded.unloaded_ids.add(tree["id"])
            if isinstance(tree.get("derives"), str):
                loaded.unloaded_derived.add(tree["derives"])
    if collect:
        return loaded
    for rule, first in loaded.duplicates():
        line, column = locate(rule.tree, ["id"])
        said = f"duplicate rule id {rule.rule.id!r}; also in {first.file}"
        problems.append(Problem(rule.file, line, "id", said, column, code="rule"))
    if problems:
        raise InputError(problems)
    assert agreement is not None
    found = term_problems(agreement)
    if loaded.vocabulary is not None:
        found += [(path, said) for path, said, _code in declaration_problems(agreement, loaded.vocabulary)]
    for path, said in found:
        line, column = locate(agreement_tree, path)
        problems.append(Problem(str(agreement_path), line, ".".join(map(str, path)), said, column, code="rule"))
    limits = problems + loaded.limit_problems()
    if limits:
        raise InputError(limits)
    return loaded


def declaration_problems(agreement: Agreement, vocabulary: Vocabulary) -> list[tuple[list[str | int], str, str]]:
    """agreement.yaml's effects and mail convention naming a fact type or field the vocabulary does not have.

    Either would otherwise match no fact and change nothing, silently: a
    holding that never starts, a notice never delayed. Returns (path of the
    key, message, lint code) triples; ``check`` refuses them, lint lists them.
    """
    types = vocabulary.types
    problems: list[tuple[list[str | int], str, str]] = []
    for number, effect in enumerate(agreement.effects):
        declared = types.get(effect.on)
        if declared is None:
            hint = did_you_mean(effect.on, types)
            said = f"no fact type {effect.on!r} in vocabulary.yaml" + (f" ({hint})" if hint else "")
            problems.append((["effects", number, "on"], said, "unknown-fact"))
            continue
        fields = set(declared.fields) | set(COMMON_FIELDS)
        named = [("party", effect.party), ("by", effect.by)] + [("where", key) for key in effect.where]
        for key, name in named:
            if name is not None and name not in fields:
                path: list[str | int] = ["effects", number, key] + ([name] if key == "where" else [])
                problems.append((path, f"a {effect.on} fact has no field {name!r}", "unknown-field"))
    convention = agreement.calendar.by_mail
    if convention is not None and not any(convention.field in declared.fields for declared in types.values()):
        said = f"no fact type of vocabulary.yaml has a field {convention.field!r}"
        problems.append((["calendar", "by_mail", "field"], said, "unknown-field"))
    return problems


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


def _load_vocabulary(path: Path, problems: list[Problem]) -> Vocabulary | None:
    """The folder's fact vocabulary, or None with its problems added: a form without one has no facts to read."""
    if not path.is_file():
        problems.append(
            Problem(
                str(path),
                None,
                None,
                "missing: every rule folder declares the facts its logs record in vocabulary.yaml",
                code="folder",
                hint="copy one from another form's folder and keep the types its rules name (docs/vocabulary.md)",
            )
        )
        return None
    try:
        return load_vocabulary(path)
    except InputError as error:  # a file that does not read is ``yaml``, as a rule file's would be
        problems.extend(p if p.code == "vocabulary" else dataclasses.replace(p, code="yaml") for p in error.problems)
        return None


def load_folder_vocabulary(folder: Path) -> Vocabulary:
    """Only the folder's fact vocabulary (``covenant schema``, ``covenant vocabulary``): a broken rule is no matter."""
    if not folder.is_dir():
        raise InputError([Problem(str(folder), None, None, "no such rule folder", code="folder")])
    problems: list[Problem] = []
    vocabulary = _load_vocabulary(folder / VOCABULARY_FILE, problems)
    if vocabulary is None:
        raise InputError(problems)
    return vocabulary


def load_rule_folder(folder: Path) -> RuleFolder:
    """Load and validate ``agreement.yaml`` and every rule file of ``folder``; raise ``InputError`` on any problem."""
    return load_folder(folder, collect=False).rule_folder()
