"""Commands for the people who write rule files: lint, test, explain, schema, compile.

Each command only parses its arguments, calls the library (lint.py,
scenarios.py, coverage.py, account.py, schema.py, compiler.py) and prints
what it returns. Exit codes, as for ``covenant check``: 0 all is well; 1
the command found problems (lint) or failures (test); 2 the input could not
be read at all, with every problem on standard error as ``FILE:LINE: ...``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from covenant.calendar import Date
from covenant.cli.exits import EXIT_FOUND
from covenant.cli.options import as_of_option
from covenant.diagnostics import InputError, Problem, printable
from covenant.engine.core import EngineError
from covenant.language.compiler import compile_form
from covenant.language.lint import format_problem, lint
from covenant.language.loader import AGREEMENT_FILE, load_folder_vocabulary, load_rule_folder
from covenant.language.scaffold import create_folder
from covenant.language.scenariofiles import load_scenarios, scenario_files
from covenant.language.schema import FORM_KINDS, SCHEMAS, facts_markdown, render_schema
from covenant.pipeline import check, evaluator_for
from covenant.report.account import account_for, render_account
from covenant.report.coverage import breach_and_compliance, compute_coverage, display_path, render_coverage
from covenant.scenarios import Outcome, describe, run_scenario


@click.command("lint")
@click.argument("rules_dir", type=click.Path(path_type=Path))
@click.option(
    "--text",
    "texts",
    multiple=True,
    type=click.Path(path_type=Path),
    help="More of the agreement's text to find quoted clauses in (an amendment); may be repeated.",
)
def lint_command(rules_dir: Path, texts: tuple[Path, ...]) -> None:
    """Check every rule file of RULES_DIR and the references between them, before any evaluation.

    Prints FILE:LINE:COLUMN: message (hint: ...) [code] for each problem;
    docs/errors.md explains each code. Exit 1 when there is any problem.
    """
    result = lint(rules_dir, texts)
    for problem in result.problems:
        click.echo(printable(format_problem(problem)))  # a rule file's text, never terminal commands
    count = len(result.problems)
    files = f"{result.rule_files} rule files, {AGREEMENT_FILE} and {result.scenario_files} scenario files"
    summary = f"{rules_dir}: {files}"
    click.echo(f"{summary}: {count} problem{'s' if count != 1 else ''}" if count else f"{summary}: clean", err=True)
    if count:
        sys.exit(EXIT_FOUND)


def _print_outcome(outcome: Outcome, label: str) -> None:
    scenario = outcome.scenario
    if outcome.passed:
        click.echo(f"PASS  {label}")
        return
    click.echo(printable(f"FAIL  {label}  ({display_path(scenario.file)}:{scenario.line})"))
    if scenario.title:
        click.echo(f"      {printable(scenario.title)}")
    for line in describe(outcome.mismatches):
        click.echo(f"      {printable(line)}")


def _may_match(path: Path, selection: str | None) -> bool:
    """Can a scenario of this file match ``-k``? A name is written in its file, so skip files without it."""
    if not selection or "::" in selection or selection in path.stem:
        return True
    return selection in path.read_text(encoding="utf-8", errors="replace")


@click.command("test")
@click.argument("rules_dir", type=click.Path(path_type=Path))
@click.option("--coverage", "show_coverage", is_flag=True, help="List rules, triggers and met_by never exercised.")
@click.option("-k", "selection", default=None, help="Run only scenarios whose FILE::NAME contains this text.")
def test_command(rules_dir: Path, show_coverage: bool, selection: str | None) -> None:
    """Run the scenarios in RULES_DIR/scenarios: PASS or FAIL each, with what differs."""
    portfolio = evaluator_for(rules_dir)
    paths = [p for p in scenario_files(rules_dir) if _may_match(p, selection)]
    scenarios = [s for path in paths for s in load_scenarios(path, portfolio.form.vocabulary)]
    passed = failed = 0
    runs = []
    for scenario in scenarios:
        label = f"{Path(scenario.file).stem}::{scenario.name}"
        if selection and selection not in label:
            continue
        try:
            outcome = run_scenario(scenario, portfolio)
        except EngineError as error:
            raise EngineError(f"{label}: {error}") from error  # which scenario, in the one line exits prints
        _print_outcome(outcome, label)
        passed += outcome.passed
        failed += not outcome.passed
        runs.append((scenario, outcome))
    click.echo(f"{passed} passed, {failed} failed")
    if show_coverage:
        form = portfolio.form
        coverage = compute_coverage([o.fired for _, o in runs], form)
        extra = breach_and_compliance([(s.rules_about(), o.report or {}) for s, o in runs], form, coverage)
        click.echo("")
        for line in render_coverage(coverage, form, extra):
            click.echo(line)
    if failed:
        sys.exit(EXIT_FOUND)


@click.command("explain")
@click.argument("facts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--rules", "rules_dir", required=True, type=click.Path(path_type=Path), help="The rule folder.")
@click.option("--rule", "rule_id", required=True, help="The rule id, e.g. sec-report-copies.")
@click.option("--trigger", default=None, help="The trigger as the report shows it: a fact id or a period end.")
@click.option("--beneficiary", default=None, help="The buyer id, when the obligation is owed to each Buyer.")
@as_of_option()
def explain_command(
    facts: tuple[Path, ...],
    rules_dir: Path,
    rule_id: str,
    trigger: str | None,
    beneficiary: str | None,
    as_of: Date | None,
) -> None:
    """Explain one obligation: the clause, the facts, every date and convention, the arithmetic month by month."""
    account = account_for(check(list(facts), rules_dir, as_of), rules_dir, rule_id, trigger, beneficiary)
    click.echo("\n".join(printable(line) for line in render_account(account).split("\n")), nl=False)


@click.command("schema")
@click.argument("kind", required=False, type=click.Choice(sorted(SCHEMAS)))
@click.option(
    "--write",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write every schema into this folder (schemas/) instead of printing one.",
)
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="The rule folder whose vocabulary.yaml declares the facts (for facts, scenarios and --write).",
)
def schema_command(kind: str | None, folder: Path | None, rules_dir: Path | None) -> None:
    """Print the JSON Schema of rule files, agreement.yaml, facts or scenario files (KIND).

    Facts and scenario files are a form's: their schema is built from the
    fact types of the rule folder given with --rules (its vocabulary.yaml).
    """
    if kind is None and folder is None:
        raise click.UsageError("give KIND (rules, agreement, facts, scenarios) or --write FOLDER")
    needs_form = folder is not None or kind in FORM_KINDS
    if needs_form and rules_dir is None:
        what = "every schema" if folder is not None else f"the schema of {kind}"
        raise click.UsageError(
            f"{what} needs --rules DIR: a form declares its facts in DIR/vocabulary.yaml "
            "(e.g. covenant schema facts --rules rules/amnis-spa-2003)"
        )
    vocabulary = None
    if needs_form and rules_dir is not None:
        vocabulary = load_folder_vocabulary(rules_dir)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, (file_name, _, _) in sorted(SCHEMAS.items()):
            (folder / file_name).write_text(render_schema(name, vocabulary), encoding="utf-8", newline="\n")
            click.echo(f"wrote {folder / file_name}", err=True)
        return
    assert kind is not None
    click.echo(render_schema(kind, vocabulary), nl=False)


@click.command("vocabulary")
@click.argument("rules_dir", type=click.Path(path_type=Path))
def vocabulary_command(rules_dir: Path) -> None:
    """Print the fact types of RULES_DIR's vocabulary.yaml as a Markdown page, for the people who record facts.

    Each type with what it records and each field in words (required or
    not, what to write); docs/facts.md is this page for the Amnis form.
    """
    vocabulary = load_folder_vocabulary(rules_dir)
    click.echo(facts_markdown(vocabulary, rules_dir.resolve().name), nl=False)


@click.command("compile")
@click.argument("rules_dir", type=click.Path(path_type=Path))
@click.option("--show", is_flag=True, help="Print the durable-rules ruleset and what each engine rule means.")
@click.option("--rule", "rule_id", default=None, help="Only the engine rules made from this rule id.")
def compile_command(rules_dir: Path, show: bool, rule_id: str | None) -> None:
    """Compile RULES_DIR into one engine ruleset, as covenant check does; --show prints it as JSON."""
    form = compile_form(load_rule_folder(rules_dir))
    names = [n for n, b in form.bindings.items() if rule_id is None or b.rule_id == rule_id]
    if rule_id is not None and not names:
        raise InputError([Problem(str(rules_dir), None, None, f"no engine rule comes from a rule {rule_id!r}")])
    if not show:
        click.echo(f"{rules_dir}: {len(form.rules)} rule files -> {len(names)} engine rules")
        return
    compiled = {
        "ruleset": {name: form.definition[name] for name in names},
        "bindings": {
            name: {
                "kind": form.bindings[name].kind,
                "rule": form.bindings[name].rule_id,
                "index": form.bindings[name].index,
                "detail": form.bindings[name].detail,
            }
            for name in names
        },
    }
    click.echo(json.dumps(compiled, indent=2, ensure_ascii=False))


@click.command("new")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--title", default=None, help="The agreement's title, written into agreement.yaml.")
def new_command(folder: Path, title: str | None) -> None:
    """Create a rule folder FOLDER: agreement.yaml, its text, one example rule, its scenarios, the schemas.

    The folder passes `covenant lint` and `covenant test` as created, and its
    files name their schemas inside the folder, so an editor checks them
    wherever the folder lives. Exit 2 when FOLDER exists and is not empty.
    """
    written = create_folder(folder, title)
    for path in written:
        click.echo(f"wrote {path}", err=True)
    click.echo(f"next: edit {folder / AGREEMENT_FILE}, then `covenant lint {folder}` and `covenant test {folder}`")
