"""``covenant import``: facts from data others publish, so nobody types a company's SEC filings into a log.

``covenant import edgar FILE...`` reads EDGAR's files as a user downloads
them (docs/edgar.md) and writes the facts the form's ``vocabulary.yaml``
declares for them under ``imports: {edgar: ...}``. Bad files exit 2 with
``FILE:LINE: message`` (through ``exits.Monitor``, as every command); the
output is written atomically; the summary goes to standard error so the
facts can be piped.
"""

from __future__ import annotations

from pathlib import Path

import click

from covenant.calendar import Date
from covenant.cli.options import DateType
from covenant.cli.output import emit, refuse_input_as_output, write_atomically
from covenant.diagnostics import printable
from covenant.facts import Fact
from covenant.importers.edgar import read_edgar
from covenant.importers.filings import (
    Selection,
    filing_facts,
    forms_wanted,
    recorded_facts,
    render_jsonl,
    summary_lines,
)
from covenant.language.loader import VOCABULARY_FILE, load_folder_vocabulary

RULES_HOME = Path("rules")
"""Where ``--rules`` is looked for when not given: the only form under ``rules/`` of the current folder."""


@click.group("import")
def import_group() -> None:
    """Facts from data others publish (EDGAR), written as facts of a form's vocabulary."""


@import_group.command("edgar")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="The form's rule folder, whose vocabulary.yaml says what a filing becomes (default: the only one in rules/).",
)
@click.option("--agreement", default=None, help="Write this agreement id on every fact (a portfolio's member).")
@click.option("--from", "first", type=DateType(), default=None, help="Only filings filed on or after this day.")
@click.option("--to", "last", type=DateType(), default=None, help="Only filings filed on or before this day.")
@click.option("--forms", default=None, help='Only these forms, comma-separated: "10-QSB,10-KSB,NT 10-Q,8-K".')
@click.option(
    "--cik", "ciks", multiple=True, type=click.IntRange(min=1), help="Only this company's filings (repeatable)."
)
@click.option(
    "--existing",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A fact log already kept: filings it records are skipped (repeatable).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the facts here (JSONL), atomically; default: standard output.",
)
def edgar_command(
    files: tuple[Path, ...],
    rules_dir: Path | None,
    agreement: str | None,
    first: Date | None,
    last: Date | None,
    forms: str | None,
    ciks: tuple[int, ...],
    existing: tuple[Path, ...],
    output: Path | None,
) -> None:
    """Facts of the form's vocabulary, one per filing, from EDGAR's submissions JSON or full-index files.

    FILE is a submissions file (CIK##########.json, with its older pages
    CIK##########-submissions-NNN.json, given or lying beside it) or an index
    (master.idx, form.idx, quarterly or daily). A filing already in a log
    given with --existing is skipped; what was read, written and skipped is
    summarised on standard error.
    """
    if first is not None and last is not None and first > last:
        raise click.UsageError(f"--from {first} is after --to {last}")
    folder = rules_dir if rules_dir is not None else _only_form()
    refuse_input_as_output(output, [*files, *existing, folder])
    vocabulary = load_folder_vocabulary(folder)
    kept: list[Fact] = recorded_facts(existing, vocabulary)
    reading = read_edgar(files)
    selection = Selection(
        ciks=frozenset(ciks) or None, first=first, last=last, forms=forms_wanted(forms), agreement=agreement
    )
    outcome = filing_facts(reading, vocabulary, selection, kept)
    text = render_jsonl(outcome.facts)
    if output is not None:
        write_atomically(output, text)
    else:
        emit(text)
    for line in summary_lines(reading, outcome, str(output) if output is not None else "standard output"):
        click.echo(f"covenant import edgar: {printable(line)}", err=True)


def _only_form() -> Path:
    """The rule folder when ``--rules`` is not given: the only folder of ``rules/`` with a vocabulary."""
    forms = sorted(p for p in RULES_HOME.glob("*") if (p / VOCABULARY_FILE).is_file()) if RULES_HOME.is_dir() else []
    if len(forms) != 1:
        found = f"{len(forms)} forms in {RULES_HOME}/" if forms else f"no form in {RULES_HOME}/"
        raise click.UsageError(f"give --rules DIR, the form whose vocabulary.yaml declares imports ({found})")
    return forms[0]
