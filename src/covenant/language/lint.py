"""``covenant lint``: every mistake in a rule folder, with its line, before any evaluation.

Loading a rule folder (loader.py, the loader ``check`` uses, collecting)
already refuses bad YAML and anything the rule language does not allow.
Lint goes further and checks what one file cannot know alone: that the
facts a rule names exist (in facts.md, or derived by another rule), that
the fields it tests are fields of those facts, that a join to the obligation (``same_as: trigger.period``) can ever
succeed, that remedies are defined in ``agreement.yaml``, that derived
facts are used, that rule ids are unique, and that the clause quoted in
each rule is the agreement's own words.

As in yamllint, each check is a small function that yields ``Problem``
values with a stable code (docs/errors.md has a section per code); one
formatter prints them all; the checks live by concern in checks/. Lint
never evaluates anything and never changes a file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from covenant.diagnostics import InputError, Problem
from covenant.language.checks.common import Check, LintFolder, ScenarioFileTree, collapse, triggers_with_paths
from covenant.language.checks.deadlines import check_dates, check_deadlines
from covenant.language.checks.facts import (
    check_derived,
    check_duplicate_ids,
    check_fact_types,
    check_fields,
    check_measure_fields,
    check_remedies,
    check_rules_named,
)
from covenant.language.checks.references import check_references
from covenant.language.checks.scenarios import check_scenarios
from covenant.language.checks.texts import SCHEMA_LINE, check_agreement, check_quotes, check_schema_line
from covenant.language.compiler import compile_form
from covenant.language.loader import load_folder, read_yaml, rule_paths
from covenant.language.scenariofiles import load_scenarios, scenario_files

__all__ = ["CHECKS", "SCHEMA_LINE", "LintFolder", "LintResult", "format_problem", "lint", "triggers_with_paths"]


@dataclass(frozen=True)
class LintResult:
    problems: list[Problem]
    rule_files: int
    scenario_files: int = 0


CHECKS: tuple[Check, ...] = (
    check_duplicate_ids,
    check_fact_types,
    check_fields,
    check_measure_fields,
    check_references,
    check_remedies,
    check_rules_named,
    check_derived,
    check_dates,
    check_deadlines,
    check_scenarios,
    check_schema_line,
    check_quotes,
    check_agreement,
)
"""Every cross-reference check, in the order their problems are most useful."""


# --- loading and running ------------------------------------------------------


def _relabel(problems: Iterable[Problem], code: str) -> list[Problem]:
    return [dataclasses.replace(p, code=code) for p in problems]


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


def _load(folder: Path, texts: Sequence[Path]) -> tuple[LintFolder, list[Problem]]:
    """The folder as the one loader collects it, with the agreement's text and the scenario files.

    Raises ``InputError`` only when there is no folder to lint: no such
    directory, or no ``agreement.yaml`` or ``vocabulary.yaml`` in it.
    """
    loaded = load_folder(folder, collect=True)
    missing = [p for p in loaded.problems if p.code == "folder"]
    if missing:
        raise InputError(missing)
    linted = LintFolder.of(loaded)
    problems = list(loaded.problems)
    _attach_text(linted, texts, problems)
    vocabulary = loaded.vocabulary
    for path in scenario_files(folder) if vocabulary is not None else []:  # without one, no fact can be read
        try:
            tree = read_yaml(path)
        except InputError as error:
            problems.extend(_relabel(error.problems, "yaml"))
            continue
        try:
            linted.scenario_files.append(ScenarioFileTree(str(path), tree, load_scenarios(path, vocabulary, tree)))
        except InputError as error:
            problems.extend(_relabel(error.problems, "scenario"))
    return linted, problems


def _attach_text(linted: LintFolder, texts: Sequence[Path], problems: list[Problem]) -> None:
    """The agreement's words: ``text_file`` of agreement.yaml, plus any ``--text`` (an amendment)."""
    parts: list[str] = []
    for text_file in linted.agreement.text_files() if linted.agreement else []:
        content = _read_text(linted.folder / text_file)
        if content is not None:
            parts.append(content)
            linted.text_files.append(text_file)
        else:
            linted.unreadable_texts.append(text_file)
    for path in texts:
        content = _read_text(path)
        if content is None:
            problems.append(Problem(str(path), None, None, "cannot read this text file", code="text-file"))
            continue
        parts.append(content)
        linted.text_files.append(str(path))
    if parts:
        linted.agreement_text = collapse("\n".join(parts))


def _compile_problems(linted: LintFolder) -> list[Problem]:
    """Compile what was loaded, as ``covenant check`` would: a failure here is the monitor's, reported all the same."""
    try:
        compile_form(linted.rule_folder())
    except Exception as error:  # a compiler failure is reported as a problem, never a traceback
        return [Problem(str(linted.folder), None, None, f"the rules do not compile: {error!r}", code="compile")]
    return []


def _limit_problems(linted: LintFolder, found: list[Problem]) -> list[Problem]:
    """What ``covenant check`` refuses before compiling (limits.py), where lint said nothing yet.

    The engine's limits overlap some checks above (an unknown field is both);
    a place lint already reported keeps lint's message and code only.
    """
    limits = linted.limit_problems()
    reported = {(p.file, p.line) for p in found}
    unloaded = tuple(f"unknown fact type {name!r}" for name in sorted(linted.unloaded_derived))
    return [
        p
        for p in _relabel(limits, "engine-limits")
        if (p.file, p.line) not in reported and not p.message.startswith(unloaded)
    ]


def lint(folder: Path, texts: Sequence[Path] = (), checks: Sequence[Check] = CHECKS) -> LintResult:
    """Every problem of a rule folder, sorted by file and line."""
    linted, problems = _load(folder, texts)
    for check in checks:
        problems.extend(check(linted))
    problems.extend(_limit_problems(linted, problems))
    if not problems:
        problems.extend(_compile_problems(linted))
    unique = sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.column or 0, p.code, p.message))
    return LintResult(unique, len(rule_paths(folder)), len(scenario_files(folder)))


def format_problem(problem: Problem) -> str:
    """``FILE:LINE:COLUMN: message (hint: ...) [code]``: one line per problem, editors jump to it."""
    return f"{problem.format()} [{problem.code}]"
