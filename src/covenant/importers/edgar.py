"""EDGAR's own files, as a user downloads them, read into filings: the submissions JSON and the full-index.

Two sources list a company's filings, and a user may have either:

- the submissions API's JSON (``CIK##########.json`` from data.sec.gov): one
  company, ``filings.recent`` as parallel arrays, and for a long history its
  older pages (``CIK##########-submissions-NNN.json``, the same arrays at the
  top level), which ``filings.files`` names. A page named there and lying
  beside the file is read too; one that is missing is reported, never
  silently left out;
- the full-index and daily-index files (``master.idx``, pipe-separated, and
  ``form.idx``, fixed width): every company's filings of a quarter or a day.
  Their headers differ from file to file, so the table starts after the line
  of dashes, wherever it is. A long company name in ``form.idx`` runs into the
  CIK column, so a row is read from the right: file, date and CIK hold no
  spaces.

Only the standard library parses them. Every row is checked (accession
number, dates, CIK), and a row that is not what EDGAR writes is an
``InputError`` naming ``FILE:LINE``: a half-read index would silently lose
filings. A filing listed twice (two pages, an index and the JSON, the filer
and the subject of a Schedule 13D) is kept once, by accession number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from covenant.calendar import Date, as_date
from covenant.diagnostics import InputError, Problem, read_input_file

MAX_FILE_BYTES = 1 << 30
"""A quarterly ``master.idx`` of recent years is about 60 MB; a gigabyte is no EDGAR file."""

ACCESSION = re.compile(r"^\d{10}-\d{2}-\d{6}$")
"""EDGAR's accession number: filer agent, year, sequence."""

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAILY_DATE = re.compile(r"^\d{8}$")
_PAGE_NAME = re.compile(r"^CIK(\d{10})-submissions-\d+\.json$")
_DASHES = re.compile(r"^-{10,}$")
_ROWS = ("accessionNumber", "filingDate", "form")
"""The arrays a submissions table must have; ``reportDate`` may be absent, every other array is ignored."""

FORM_COLUMN = 12
"""``form.idx``: the form type fills columns 0 to 12, the company name starts after it."""


@dataclass(frozen=True)
class Filing:
    """One filing as EDGAR lists it: its form as EDGAR spells it, and where it was read."""

    accession: str
    cik: int | None
    form: str
    filed: Date
    report_date: Date | None
    file: str
    line: int


@dataclass
class Reading:
    """Every filing read from the files given, once each, and what a summary says about the reading."""

    filings: list[Filing] = field(default_factory=list)
    rows: int = 0
    files: int = 0
    pages: int = 0
    repeated: int = 0
    missing_pages: list[str] = field(default_factory=list)


def read_edgar(paths: Sequence[Path]) -> Reading:
    """Read every file (and the pages a submissions file names beside it); ``InputError`` with every problem."""
    reading = Reading()
    problems: list[Problem] = []
    given = {_key(path) for path in paths}
    seen: set[str] = set()
    rows: list[Filing] = []
    queue = list(paths)
    while queue:
        path = queue.pop(0)
        if _key(path) in seen:
            continue
        seen.add(_key(path))
        try:
            found, pages = _read_file(path)
        except InputError as error:
            problems.extend(error.problems)
            continue
        reading.files += 1
        reading.pages += bool(_PAGE_NAME.match(path.name))
        rows.extend(found)
        for page in pages:
            beside = path.parent / page
            if _key(beside) in given or _key(beside) in seen:
                continue
            if beside.is_file():
                queue.append(beside)
            else:
                reading.missing_pages.append(str(beside))
    if problems:
        raise InputError(problems)
    reading.rows = len(rows)
    reading.filings = _once_each(rows)
    reading.repeated = reading.rows - len(reading.filings)
    return reading


def _key(path: Path) -> str:
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):
        return str(path)


def _once_each(rows: Iterable[Filing]) -> list[Filing]:
    """One filing per accession number: the row with a report date if one has it, else the first read."""
    kept: dict[str, Filing] = {}
    for row in rows:
        known = kept.get(row.accession)
        if known is None or (known.report_date is None and row.report_date is not None):
            kept[row.accession] = row
    return list(kept.values())


def _read_file(path: Path) -> tuple[list[Filing], list[str]]:
    """The filings of one file, and the older pages it names (a submissions file's ``filings.files``)."""
    data = read_input_file(path, MAX_FILE_BYTES, "EDGAR file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # the old indexes are Latin-1 where a company's name is not ASCII
    if text.lstrip()[:1] == "{":
        return _read_submissions(path, text)
    return _read_index(str(path), text), []


# The submissions API's JSON.


def _read_submissions(path: Path, text: str) -> tuple[list[Filing], list[str]]:
    display = str(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError([Problem(display, error.lineno, None, f"not JSON: {error.msg}", error.colno)]) from None
    if not isinstance(document, dict):
        raise InputError([Problem(display, 1, None, "expected a submissions object (CIK##########.json)")])
    if "filings" in document:
        filings = document["filings"]
        if not isinstance(filings, dict) or not isinstance(filings.get("recent"), dict):
            raise InputError([Problem(display, 1, "filings", "expected an object with recent: {...}")])
        cik = _cik_of(document.get("cik"), display)
        pages = _page_names(filings.get("files", []), display)
        return _table(filings["recent"], cik, display, "filings.recent"), pages
    match = _PAGE_NAME.match(path.name)
    if not any(name in document for name in _ROWS):
        raise InputError(
            [Problem(display, 1, None, "neither a submissions file (filings:) nor one of its pages (accessionNumber:)")]
        )
    return _table(document, int(match.group(1)) if match else None, display, None), []


def _cik_of(value: Any, display: str) -> int | None:
    if value is None:
        return None
    text = str(value)
    if not text.isdigit() or isinstance(value, bool):
        raise InputError([Problem(display, 1, "cik", f"expected the company's CIK, digits; found {text[:40]!r}")])
    return int(text)


def _page_names(files: Any, display: str) -> list[str]:
    """The older pages' file names, each a plain name (never a path: a file does not send us elsewhere)."""
    if not isinstance(files, list):
        raise InputError([Problem(display, 1, "filings.files", "expected a list of pages")])
    names: list[str] = []
    for number, page in enumerate(files, 1):
        name = page.get("name") if isinstance(page, dict) else None
        if not isinstance(name, str) or not _PAGE_NAME.match(name):
            problem = f"page {number}: expected name: CIK##########-submissions-NNN.json"
            raise InputError([Problem(display, 1, "filings.files", problem)])
        names.append(name)
    return names


def _table(table: dict[str, Any], cik: int | None, display: str, where: str | None) -> list[Filing]:
    """The parallel arrays of a submissions table, one filing per index; they must be lists of one length."""
    prefix = f"{where}." if where else ""
    problems: list[Problem] = []
    columns: dict[str, list[Any]] = {}
    for name in (*_ROWS, "reportDate"):
        column = table.get(name)
        if column is None and name == "reportDate":
            continue
        if not isinstance(column, list):
            problems.append(Problem(display, 1, prefix + name, "expected a list, one entry per filing"))
            continue
        columns[name] = column
    if problems:
        raise InputError(problems)
    lengths = {name: len(column) for name, column in columns.items()}
    if len(set(lengths.values())) > 1:
        counts = ", ".join(f"{name} {count}" for name, count in lengths.items())
        raise InputError([Problem(display, 1, where, f"the arrays differ in length: {counts}")])
    filings: list[Filing] = []
    for index in range(lengths["accessionNumber"]):
        at = f"{prefix}accessionNumber[{index}]"
        accession = columns["accessionNumber"][index]
        if not isinstance(accession, str) or not ACCESSION.match(accession):
            problems.append(Problem(display, 1, at, f"not an accession number: {str(accession)[:40]!r}"))
            continue
        form = columns["form"][index]
        filed = _date(columns["filingDate"][index], allow_empty=False)
        report = columns["reportDate"][index] if "reportDate" in columns else ""
        reported = _date(report, allow_empty=True)
        if not isinstance(form, str) or not form.strip():
            problems.append(Problem(display, 1, f"{prefix}form[{index}]", f"{accession}: expected a form type"))
        elif filed is None:
            problems.append(Problem(display, 1, f"{prefix}filingDate[{index}]", f"{accession}: expected YYYY-MM-DD"))
        elif reported is False:
            problems.append(Problem(display, 1, f"{prefix}reportDate[{index}]", f"{accession}: expected YYYY-MM-DD"))
        else:
            filings.append(Filing(accession, cik, form.strip(), filed, reported or None, display, 1))
    if problems:
        raise InputError(problems)
    return filings


def _date(value: Any, *, allow_empty: bool) -> Date | bool | None:
    """A date written YYYY-MM-DD (or YYYYMMDD, as the daily indexes write it); None if empty and allowed, else False."""
    if value in ("", None) and allow_empty:
        return None
    if not isinstance(value, str):
        return False if allow_empty else None
    if _DAILY_DATE.match(value):
        value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    if not _ISO_DATE.match(value):
        return False if allow_empty else None
    try:
        return as_date(value)
    except ValueError:
        return False if allow_empty else None


# The full-index and daily-index files.


def _read_index(display: str, text: str) -> list[Filing]:
    lines = text.splitlines()
    start = next((number for number, line in enumerate(lines) if _DASHES.match(line.strip())), None)
    if start is None:
        raise InputError(
            [Problem(display, 1, None, "not an EDGAR index: no line of dashes under a header (master.idx, form.idx)")]
        )
    header = next((line for line in reversed(lines[:start]) if line.strip()), "")
    if "|" in header:
        parse = _master_row
    elif header.startswith("Form Type"):
        parse = _form_row
    else:
        shown = header.strip()[:40]
        raise InputError(
            [Problem(display, start, None, f"an index headed {shown!r} is not read: use master.idx or form.idx")]
        )
    filings: list[Filing] = []
    problems: list[Problem] = []
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if not line.strip():
            continue
        try:
            filings.append(parse(line, display, number))
        except ValueError as error:
            problems.append(Problem(display, number, None, str(error)))
    if problems:
        raise InputError(problems)
    return filings


def _master_row(line: str, display: str, number: int) -> Filing:
    """``CIK|Company Name|Form Type|Date Filed|Filename``."""
    parts = line.split("|")
    if len(parts) != 5:
        raise ValueError(f"expected CIK|Company Name|Form Type|Date Filed|Filename, found {len(parts)} fields")
    cik, _company, form, filed, file_name = (part.strip() for part in parts)
    return _row(cik, form, filed, file_name, display, number)


def _form_row(line: str, display: str, number: int) -> Filing:
    """Form type, company, CIK, date, file name: read from the right, since a long name spills into the CIK column."""
    parts = line.rsplit(None, 3)
    if len(parts) != 4:
        raise ValueError("expected form type, company name, CIK, date filed and file name")
    head, cik, filed, file_name = parts
    return _row(cik, head[:FORM_COLUMN].strip(), filed, file_name, display, number)


def _row(cik: str, form: str, filed: str, file_name: str, display: str, number: int) -> Filing:
    if not cik.isdigit():
        raise ValueError(f"the CIK is not a number: {cik[:40]!r}")
    if not form:
        raise ValueError("the form type is empty")
    day = _date(filed, allow_empty=False)
    if not isinstance(day, Date):
        raise ValueError(f"the date filed is not YYYY-MM-DD or YYYYMMDD: {filed[:40]!r}")
    accession = file_name.rsplit("/", 1)[-1].removesuffix(".txt")
    if not ACCESSION.match(accession):
        raise ValueError(f"the file name does not end in an accession number: {file_name[:80]!r}")
    return Filing(accession, int(cik), form, day, None, display, number)
