"""Filings read from EDGAR -> facts of a form's vocabulary, chosen, checked against a hand-kept log, as JSONL bytes.

Which fact type and fields receive a filing is the form's to say
(``vocabulary.yaml``'s ``imports: {edgar: ...}``): this module only knows
EDGAR's words (``form``, ``period``). Each fact is validated by the form's
own model before it is written, so what ``import`` writes, ``check`` reads.

A filing already in a hand-kept log (``--existing``) is skipped: the same
accession number as a fact's id, or the same form, period and date as a
fact of the import's type (a person typed it in under another id). So
importing twice, or beside the log a counsel's office keeps, never records
one filing twice. The output is sorted by date, then accession number, and
the same input gives the same bytes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from covenant.calendar import Date
from covenant.diagnostics import InputError, Problem
from covenant.facts import Fact, FactReader, expand_paths
from covenant.importers.edgar import Filing, Reading
from covenant.importers.formcodes import has_period, is_known, respell
from covenant.language.fieldkinds import ImportDecl
from covenant.language.vocabulary import Vocabulary

IMPORTER = "edgar"
"""This importer's key under the vocabulary's ``imports:``."""

FORM_WORD = "form"
"""The importer's word for the form filed: the vocabulary must say which field receives it."""

PERIOD_WORD = "period"
"""The importer's word for the period of report: written only where the form declares a field for it."""


@dataclass(frozen=True)
class Selection:
    """Which filings to write: by company, filing date and form; ``None`` means every one."""

    ciks: frozenset[int] | None = None
    first: Date | None = None
    last: Date | None = None
    forms: frozenset[str] | None = None
    agreement: str | None = None


@dataclass
class Outcome:
    """The facts to write and the counts the summary gives."""

    facts: list[dict[str, Any]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    unknown_forms: Counter[str] = field(default_factory=Counter)


def import_declaration(vocabulary: Vocabulary) -> ImportDecl:
    """The form's ``imports: {edgar: ...}``, or ``InputError``: without it the importer cannot know what to write."""
    declared = vocabulary.declaration.imports.get(IMPORTER)
    if declared is None:
        wanted = f"{{{IMPORTER}: {{fact: ..., fields: {{{FORM_WORD}: ...}}}}}}"
        message = f"declares no {IMPORTER} import: add imports: {wanted}"
        raise InputError([Problem(vocabulary.file, None, "imports", f"{message} (docs/vocabulary.md)")])
    if FORM_WORD not in declared.fields:
        message = f"the {IMPORTER} import needs fields: {{{FORM_WORD}: ...}}: the field that receives the form filed"
        raise InputError([Problem(vocabulary.file, None, f"imports, {IMPORTER}, fields", message)])
    return declared


def recorded_facts(paths: Sequence[Path], vocabulary: Vocabulary) -> list[Fact]:
    """The facts of logs already kept (``--existing``), each line validated; their refs are not resolved.

    A kept log may name a filing this import is about to write (a delivery
    of the 10-QSB, by its accession number), so a ref to nothing is not a
    reason to refuse it here; ``check`` reads the logs together and decides.
    """
    reader = FactReader(vocabulary=vocabulary, lenient=False, check=None)
    for path in expand_paths(paths):
        reader.read_file(path)
    if reader.problems:
        raise InputError(reader.problems)
    return reader.facts


def filing_facts(
    reading: Reading, vocabulary: Vocabulary, selection: Selection, existing: Sequence[Fact] = ()
) -> Outcome:
    """The facts of the filings selected and not already recorded, sorted by date then accession number."""
    declared = import_declaration(vocabulary)
    form_field = declared.fields[FORM_WORD]
    period_field = declared.fields.get(PERIOD_WORD)
    known_ids = {fact.id for fact in existing}
    known_filings = {
        _same_filing(respell(str(fact.fields.get(form_field, ""))), _text(fact.fields.get(period_field)), fact.date)
        for fact in existing
        if fact.type == declared.fact
    }
    outcome = Outcome()
    if reading.repeated:
        outcome.skipped["listed more than once (same accession number)"] += reading.repeated
    problems: list[Problem] = []
    chosen: list[tuple[Date, str, dict[str, Any], Filing]] = []
    for filing in reading.filings:
        form = respell(filing.form)
        reason = _left_out(filing, form, selection)
        if reason is None:
            period = filing.report_date.isoformat() if filing.report_date and has_period(form) else None
            if filing.accession in known_ids:
                reason = "already recorded (a fact with the same accession number as its id)"
            elif _same_filing(form, period, filing.filed) in known_filings:
                reason = "already recorded (the same form, period and date)"
        if reason is not None:
            outcome.skipped[reason] += 1
            continue
        if not is_known(form):
            outcome.unknown_forms[form] += 1
        raw: dict[str, Any] = {"id": filing.accession, "type": declared.fact, "date": filing.filed.isoformat()}
        if selection.agreement is not None:
            raw["agreement"] = selection.agreement
        raw[form_field] = form
        if period_field is not None and period is not None:
            raw[period_field] = period
        raw["note"] = _note(filing, form)
        try:
            vocabulary.parse_fact(raw, filing.file, filing.line, 0)
        except InputError as error:
            problems.extend(error.problems)
            continue
        chosen.append((filing.filed, filing.accession, raw, filing))
    if problems:
        raise InputError(problems)
    chosen.sort(key=lambda item: (item[0], item[1]))
    outcome.facts = [raw for _, _, raw, _ in chosen]
    return outcome


def _left_out(filing: Filing, form: str, selection: Selection) -> str | None:
    """Why the selection leaves this filing out, or None."""
    if selection.ciks is not None and filing.cik not in selection.ciks:
        return "another company (--cik)"
    if selection.first is not None and filing.filed < selection.first:
        return "filed before --from"
    if selection.last is not None and filing.filed > selection.last:
        return "filed after --to"
    if selection.forms is not None and form not in selection.forms:
        return "a form not in --forms"
    return None


def _same_filing(form: str, period: str | None, filed: Date) -> tuple[str, str | None, str]:
    return form, period, filed.isoformat()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, Date) else str(value)


def _note(filing: Filing, form: str) -> str:
    """What EDGAR said, for the person who reads the log: the company and the code as EDGAR spelled it."""
    company = f"CIK {filing.cik}" if filing.cik is not None else "EDGAR"
    spelled = f", listed by EDGAR as {filing.form}" if filing.form != form else ""
    return f"Imported from EDGAR ({company}{spelled})."


def forms_wanted(text: str | None) -> frozenset[str] | None:
    """``--forms 10-QSB,10KSB,NT 10-Q`` as the respelled forms to keep; None when not given."""
    if text is None:
        return None
    return frozenset(respell(part) for part in text.split(",") if part.strip())


def render_jsonl(facts: Iterable[dict[str, Any]]) -> str:
    """One JSON object a line, keys in the order written (id, type, date...), ASCII only: the same bytes each run."""
    return "".join(json.dumps(fact) + "\n" for fact in facts)


def summary_lines(reading: Reading, outcome: Outcome, written_to: str) -> list[str]:
    """What the import did, for standard error: rows read, facts written, skipped and why, forms kept as spelled."""
    pages = f" ({reading.pages} older page{'s' if reading.pages != 1 else ''})" if reading.pages else ""
    files = f"{reading.files} file{'s' if reading.files != 1 else ''}{pages}"
    written = len(outcome.facts)
    lines = [
        f"{reading.rows:,} row{'s' if reading.rows != 1 else ''} read from {files}; "
        f"{written:,} fact{'s' if written != 1 else ''} written to {written_to}"
    ]
    for reason, count in sorted(outcome.skipped.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"skipped {count:,}: {reason}")
    for page in reading.missing_pages:
        lines.append(f"not found: {page} (named by the submissions file): its older filings are not imported")
    if outcome.unknown_forms:
        forms = ", ".join(f"{form} ({count})" for form, count in sorted(outcome.unknown_forms.items()))
        lines.append(f"forms the importer does not know, written as EDGAR spells them: {forms}")
    return lines
