"""The second round of hostile input (issue 11): nothing lost, nothing injected, no crash.

Each test is a class of input, run through the command line with the real
rule folder and the example's facts: impossible terms, outputs that are
inputs, terminal control codes, files that are not files, and the exit code
an internal error gets. docs/limits.md lists each class with its test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from covenant.cli import main

from .conftest import AMNIS_RULES, EXAMPLE_FACTS, ROOT

SRC = str(ROOT / "src")


def run(*args: str | Path, input: str | None = None) -> tuple[int, str, str]:
    """The command in this process (click's runner): exit code, standard output, standard error."""
    result = CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def run_process(*args: str | Path, timeout: float = 120, **options: object) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it: a real process, real signals, real file descriptors."""
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-m", "covenant", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        **options,  # type: ignore[arg-type]
    )


def rules_with(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the Amnis rule folder with one text of agreement.yaml replaced."""
    folder = tmp_path / "rules"
    shutil.copytree(AMNIS_RULES, folder)
    agreement = folder / "agreement.yaml"
    text = agreement.read_text(encoding="utf-8")
    assert old in text
    agreement.write_text(text.replace(old, new), encoding="utf-8")
    return folder


def portfolio_with(tmp_path: Path, terms: str, name: str = "fund.yaml") -> Path:
    path = tmp_path / name
    path.write_text(
        f"portfolio: fund\nagreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\n    terms:\n{terms}",
        encoding="utf-8",
    )
    return path


# --- 1. every term is validated before evaluating ---------------------------------------------------------------

BAD_TERMS = [
    ('fiscal_year_end: "12-31"', 'fiscal_year_end: "99-99"', "fiscal_year_end", "not a day of the year"),
    ('fiscal_year_end: "12-31"', 'fiscal_year_end: "02-30"', "fiscal_year_end", "not a day of the year"),
    ("business_days: USNY", "business_days: NOPE", "calendar", "unknown business-day calendar"),
    ("business_days: USNY", "country: ZZ", "calendar", "unknown business-day calendar"),
    ("mail_delay_days: 5", "mail_delay_days: 999999999999999", "calendar.mail_delay_days", "less than or equal"),
    ('principal: "500000.00"', 'principal: "9e999999"', "buyers.0.principal", "less than"),
    ('principal: "500000.00"', 'principal: "NaN"', "buyers.0.principal", "finite"),
    ('rate: "0.12"', 'rate: "1e999999"', "debentures.rate", "less than or equal"),
    ('rates: ["0.02", "0.03"]', 'rates: ["0.02", "1e999999"]', "rates.1", "less than or equal"),
    ("warrants: 2500000", "warrants: 99999999999999999999", "buyers.0.warrants", "out of range"),
    ("  years: 1\n", "  years: 1000000000\n", "survival.years", "less than or equal"),
]


@pytest.mark.parametrize(("old", "new", "field", "message"), BAD_TERMS)
def test_an_impossible_term_of_agreement_yaml_is_refused_by_check(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    rules = rules_with(tmp_path, old, new)
    code, out, err = run("check", EXAMPLE_FACTS, "--rules", rules, "--format", "json")
    assert code == 2, err
    assert out == ""
    assert re.search(rf"agreement\.yaml:\d+:\d+: \S*{re.escape(field)}: .*{message}", err), err


@pytest.mark.parametrize(
    ("terms", "field", "message"),
    [
        ('      fiscal_year_end: "06-31"\n', "terms.fiscal_year_end", "not a day of the year"),
        ("      calendar: {business_days: NOPE}\n", "terms.calendar", "unknown business-day calendar"),
        ("      calendar: {country: ZZ}\n", "terms.calendar", "unknown business-day calendar"),
        ("      calendar: {mail_delay_days: 999999999999999}\n", "terms.calendar.mail_delay_days", "less than"),
        ('      debentures: {rate: "1e999999"}\n', "terms.debentures.rate", "less than"),
        (
            '      buyers: [{id: sds, name: S, principal: "9e999999"}]\n',
            "terms.buyers.0.principal",
            "less than",
        ),
    ],
)
def test_an_impossible_term_of_a_portfolio_is_refused(tmp_path: Path, terms: str, field: str, message: str) -> None:
    fund = portfolio_with(tmp_path, terms)
    code, out, err = run("portfolio", fund, EXAMPLE_FACTS)
    assert code == 2, err
    assert out == ""
    assert re.search(rf"fund\.yaml:\d+:\d+: agreements\.0\.{re.escape(field)}: .*{message}", err), err


# --- 7. plain YAML scalars that cannot be built ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2003-11-31", "'2003-11-31' is not a calendar date"),
        ("2003-02-29", "'2003-02-29' is not a calendar date"),
        ("9" * 5000, "an integer of more than 30 digits"),
        ("-" + "1" * 4400, "an integer of more than 30 digits"),
    ],
)
@pytest.mark.parametrize("command", ["check", "lint"])
def test_an_unquoted_value_yaml_cannot_build_is_a_problem_with_its_line(
    tmp_path: Path, value: str, message: str, command: str
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(AMNIS_RULES, rules)
    rule = rules / "4b-form-d.yaml"
    lines = rule.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(len(lines), f"note_date: {value}\n")
    rule.write_text("".join(lines), encoding="utf-8")
    args = ["check", EXAMPLE_FACTS, "--rules", rules] if command == "check" else ["lint", rules]
    code, _out, err = run(*args)
    assert code == 2 if command == "check" else code in (1, 2), err
    assert f"4b-form-d.yaml:{len(lines)}:12: {message}" in err + _out, err + _out


# --- 10. a rule, portfolio or --since file that is not a regular file ------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
@pytest.mark.parametrize("role", ["rule", "portfolio", "since"])
def test_a_file_that_is_not_a_regular_file_is_refused_before_reading(tmp_path: Path, kind: str, role: str) -> None:
    if kind == "fifo":
        special = tmp_path / "pipe"
        os.mkfifo(special)  # nothing ever writes to it: reading would wait forever
    else:
        special = Path("/dev/zero")  # endless: reading would fill the memory
    if role == "rule":
        rules = tmp_path / "rules"
        shutil.copytree(AMNIS_RULES, rules)
        (rules / "zz-special.yaml").symlink_to(special)
        args: list[str | Path] = ["check", EXAMPLE_FACTS, "--rules", rules]
    elif role == "portfolio":
        args = ["portfolio", special, EXAMPLE_FACTS]
    else:
        args = ["check", EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--since", special]
    result = run_process(*args, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "not a regular file" in result.stderr


# --- 6. terminal control codes from input are escaped wherever they are printed ---------------------------------

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b31m"
"""An OSC (set the window title), a CSI (clear the screen) and a C1 CSI: none may reach a terminal raw."""
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clause_with(tmp_path: Path, clause: str, rule_file: str = "4b-form-d.yaml") -> Path:
    """The Amnis rules with the clause of one rule replaced (4(b) is breached in 2003, 4(c) due on 2003-05-13)."""
    folder = tmp_path / rule_file.removesuffix(".yaml")
    shutil.copytree(AMNIS_RULES, folder)
    rule = folder / rule_file
    text = re.sub(r"(?m)^clause: .*$", lambda _: "clause: " + json.dumps(clause), rule.read_text(encoding="utf-8"))
    rule.write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("lenient", [False, True])
def test_control_codes_in_an_unknown_field_name_reach_standard_error_escaped(tmp_path: Path, lenient: bool) -> None:
    log = tmp_path / "log.jsonl"
    fact = {"id": "c1", "type": "closing", "date": "2003-05-09", ESCAPES: 1}
    log.write_text(json.dumps(fact) + "\n", encoding="utf-8")
    code, out, err = run("check", log, "--rules", AMNIS_RULES, *(["--skip-invalid"] if lenient else []))
    assert code == (0 if lenient else 2)
    assert "\\x1b]0;owned\\x07" in err
    assert not RAW.search(err + out), repr(err)


def test_control_codes_in_a_clause_are_escaped_in_the_text_report_and_upcoming(tmp_path: Path) -> None:
    rules = clause_with(tmp_path, "4(b)" + ESCAPES + "[link=https://x]y[/link]")
    code, out, _ = run("check", EXAMPLE_FACTS, "--rules", rules, "--as-of", "2003-07-01")
    assert code == 0
    assert "4(b)\\x1b]0;owned" in out
    assert not RAW.search(out)
    rules = clause_with(tmp_path, "4(c)" + ESCAPES, "4c-closing-press-release.yaml")
    code, out, _ = run("upcoming", EXAMPLE_FACTS, "--rules", rules, "--as-of", "2003-05-10")
    assert code == 0 and "4(c)\\x1b" in out and not RAW.search(out)


def test_control_codes_in_an_earlier_report_are_escaped_in_the_text_report(tmp_path: Path) -> None:
    since = tmp_path / "before.json"
    since.write_text(json.dumps({"agreement": "amnis-spa-2003", "as_of": ESCAPES, "obligations": []}))
    code, out, _ = run("check", EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--since", since)
    assert code == 0
    assert "Changes since the report of \\x1b]0;owned" in out
    assert not RAW.search(out)


@pytest.mark.parametrize("line_break", ["\r", "\u2028", "\u2029", "\r\n", "\x85", "\x0b"])
def test_a_line_break_of_any_kind_in_a_clause_cannot_start_a_markdown_heading(tmp_path: Path, line_break: str) -> None:
    rules = clause_with(tmp_path, f"4(b){line_break}# Injected heading")
    code, out, _ = run("check", EXAMPLE_FACTS, "--rules", rules, "--format", "markdown")
    assert code == 0
    assert "Injected heading" in out
    assert not any(line.lstrip().startswith("# Injected") for line in re.split(r"[\r\n\u2028\u2029\x85\x0b]", out))
    assert not re.search("[\r\u2028\u2029\x85\x0b]", out)


def test_the_calendar_file_holds_no_raw_control_character(tmp_path: Path) -> None:
    rules = clause_with(tmp_path, "4(c)" + ESCAPES + "\r\u2028", "4c-closing-press-release.yaml")
    ics = tmp_path / "deadlines.ics"
    code, _, _ = run(
        "upcoming", EXAMPLE_FACTS, "--rules", rules, "--as-of", "2003-05-10", "--format", "ics", "--output", ics
    )
    assert code == 0
    out = ics.read_bytes().decode("utf-8")
    assert "\\\\x1b]0\\;owned" in out.replace("\r\n ", "")  # unfolded; icalendar escapes the backslash
    # RFC 5545: content lines end in CRLF; no other control character is allowed in a value.
    assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", out.replace("\r\n", "")), repr(out[:400])


# --- 8. --since with JSON that is not a report -----------------------------------------------------------------


def _report(tmp_path: Path) -> dict:
    code, out, _ = run("check", EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--format", "json")
    assert code == 0
    return json.loads(out)


NOT_REPORTS = {
    "a list for a rule name": lambda r: r["obligations"][0].update(rule=["4b-form-d"]),
    "an object for a beneficiary": lambda r: r["obligations"][0].update(beneficiary={"a": 1}),
    "an amount NaN": lambda r: r["obligations"][0]["remedies"].append({"kind": "sld", "buyer": "sds", "amount": "NaN"}),
    "an amount 1e999999999": lambda r: r["obligations"][0]["remedies"].append(
        {"kind": "sld", "buyer": "sds", "amount": "1e999999999"}
    ),
    "a number for a remedy kind": lambda r: r["obligations"][0]["remedies"].append({"kind": 3, "amount": "1"}),
    "a list for a Buyer": lambda r: r["obligations"][0]["remedies"].append({"kind": "x", "buyer": [], "amount": "1"}),
    "nested lists for waived_by": lambda r: r["obligations"][0].update(waived_by=[[1]]),
    "a number for as_of": lambda r: r.update(as_of=20031231),
}


@pytest.mark.parametrize("name", sorted(NOT_REPORTS))
def test_since_with_json_that_is_not_a_report_exits_2(tmp_path: Path, name: str) -> None:
    report = _report(tmp_path)
    NOT_REPORTS[name](report)
    since = tmp_path / "before.json"
    since.write_text(json.dumps(report), encoding="utf-8")
    code, out, err = run("check", EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--since", since)
    assert code == 2, err
    assert out == "" and err.startswith(f"{since}: ")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"obligations": [], "x": NaN}', "NaN is not a number"),
        (b'{"obligations": [], "x": ' + b"9" * 5000 + b"}", "not a JSON report"),
        (b"\x1f\x8b\x08\x00gzip", "not UTF-8"),
    ],
)
def test_since_with_a_file_json_cannot_read_exits_2(tmp_path: Path, content: bytes, message: str) -> None:
    since = tmp_path / "before.json"
    since.write_bytes(content)
    code, _out, err = run("check", EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--since", since)
    assert code == 2 and message in err, err
