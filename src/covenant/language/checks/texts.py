"""Lint checks of the texts around the rules: the schema line, the quoted clause, agreement.yaml's files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from covenant.calendar import BusinessCalendar, as_date
from covenant.diagnostics import Problem
from covenant.language.checks.common import (
    LintFolder,
    collapse,
    problem,
)
from covenant.language.loader import declaration_problems, locate

SCHEMA_LINE = "# yaml-language-server: $schema="


def check_schema_line(folder: LintFolder) -> Iterator[Problem]:
    """``schema-line``: the first line that lets an editor check the file as it is typed is missing or leads nowhere.

    A relative path is resolved from the file, as the editor resolves it: a
    folder copied out of the repository loses ``../../schemas/`` (``covenant
    new`` puts the schemas inside the folder instead).
    """
    for rule in folder.rules:
        first = rule.text.lstrip("\ufeff").split("\n", 1)[0]
        if not first.startswith(SCHEMA_LINE):
            yield Problem(
                rule.file,
                1,
                None,
                "the first line should name the schema, for editors",
                1,
                code="schema-line",
                hint="add `# yaml-language-server: $schema=../../schemas/rule.schema.json` as line 1",
            )
            continue
        target = first[len(SCHEMA_LINE) :].strip()
        if "://" not in target and not (Path(rule.file).parent / target).is_file():
            yield Problem(
                rule.file,
                1,
                None,
                f"the schema {target} does not exist from this file's folder: editors cannot check it",
                len(SCHEMA_LINE) + 1,
                code="schema-line",
                hint="write the schema's path relative to this file; `covenant schema --write FOLDER` writes the "
                "schemas",
            )


def check_quotes(folder: LintFolder) -> Iterator[Problem]:
    """``quote-not-found``: a rule's ``text`` is not, word for word, in the agreement's text."""
    if folder.agreement_text is None:
        return
    for rule in folder.rules:
        quote = collapse(rule.rule.text)
        if quote in folder.agreement_text:
            continue
        yield problem(
            rule,
            ["text"],
            "quote-not-found",
            f"the quoted text does not occur in {' + '.join(folder.text_files)} (spaces and line breaks ignored)",
            _divergence(quote, folder.agreement_text),
        )


def _divergence(quote: str, text: str) -> str:
    """Where the quote stops matching: the longest opening of it that the agreement contains."""
    words = quote.split(" ")
    low, high = 0, len(words)
    while low < high:
        middle = (low + high + 1) // 2
        if " ".join(words[:middle]) in text:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        return "not even its first word is in the agreement: check the text file, or quote the clause exactly"
    matched = " ".join(words[max(0, low - 6) : low])
    different = " ".join(words[low : low + 6])
    return f"the first {low} words match, up to ...{matched!r}; the agreement does not continue with {different!r}"


def check_agreement(folder: LintFolder) -> Iterator[Problem]:
    """``text-file`` and ``unknown-calendar``: agreement.yaml names a text or a calendar that cannot be read."""
    agreement = folder.agreement
    if agreement is None:
        return
    listed = agreement.text_files()
    for name in folder.unreadable_texts:
        path = ["text_file"] if isinstance(agreement.text_file, str) else ["text_file", listed.index(name)]
        line, column = locate(folder.agreement_tree, path)
        yield Problem(
            folder.agreement_file,
            line,
            None,
            f"text_file {name!r} cannot be read (relative to the rule folder)",
            column,
            code="text-file",
            hint="fix the path; an amendment's text is listed under text_file too",
        )
    if folder.vocabulary is not None:
        for path, said, code in declaration_problems(agreement, folder.vocabulary):
            line, column = locate(folder.agreement_tree, path)
            yield Problem(folder.agreement_file, line, None, said, column, code=code)
    settings = agreement.calendar
    calendar = BusinessCalendar(
        market=settings.business_days, country=settings.country, subdivision=settings.subdivision
    )
    try:
        calendar.is_business_day(as_date("2000-01-03"))
    except (NotImplementedError, KeyError, ValueError) as error:
        line, column = locate(folder.agreement_tree, ["calendar"])
        yield Problem(
            folder.agreement_file,
            line,
            None,
            f"unknown business-day calendar: {error}",
            column,
            code="unknown-calendar",
            hint="business_days: a financial market of the holidays package (USNY), or country: US",
        )
    month, day = (int(part) for part in agreement.fiscal_year_end.split("-"))
    try:
        as_date(f"2001-{month:02d}-{day:02d}")
    except ValueError:
        line, column = locate(folder.agreement_tree, ["fiscal_year_end"])
        yield Problem(
            folder.agreement_file,
            line,
            None,
            f"fiscal_year_end {agreement.fiscal_year_end!r} is not a day of the year",
            column,
            code="bad-date",
            hint='write "MM-DD", e.g. "12-31"',
        )
