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
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from covenant.cli.main import main

from .conftest import AMNIS_RULES, EXAMPLE_FACTS, ROOT

SRC = str(ROOT / "src")


def run(*args: str | Path, input: str | None = None) -> tuple[int, str, str]:
    """The command in this process (click's runner): exit code, standard output, standard error."""
    result = CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def run_process(*args: str | Path, timeout: float = 120, **options: object) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it: a real process, real signals, real file descriptors."""
    env = {**os.environ, "PYTHONPATH": SRC}
    if "stdout" not in options:
        options["capture_output"] = True
    return subprocess.run(
        [sys.executable, "-m", "covenant", *map(str, args)],
        text=True,
        env=env,
        timeout=timeout,
        **options,  # type: ignore[call-overload]
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
    ("mail_delay_days: 5", "mail_delay_days: 999999999999999", "calendar, mail_delay_days", "less than or equal"),
    ('principal: "500000.00"', 'principal: "9e999999"', "buyers, item 1, principal", "less than"),
    ('principal: "500000.00"', 'principal: "NaN"', "buyers, item 1, principal", "finite"),
    ('rate: "0.12"', 'rate: "1e999999"', "debentures, rate", "less than or equal"),
    ('rates: ["0.02", "0.03"]', 'rates: ["0.02", "1e999999"]', "rates, item 2", "less than or equal"),
    ("warrants: 2500000", "warrants: 99999999999999999999", "buyers.0.warrants", "out of range"),
    ("  years: 1\n", "  years: 1000000000\n", "survival, years", "less than or equal"),
]


@pytest.mark.parametrize(("old", "new", "field", "message"), BAD_TERMS)
def test_an_impossible_term_of_agreement_yaml_is_refused_by_check(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    rules = rules_with(tmp_path, old, new)
    code, out, err = run("check", EXAMPLE_FACTS, "--rules", rules, "--format", "json")
    assert code == 2, err
    assert out == ""
    # The place is in plain words ("buyers, item 1, principal"), as every language message's.
    assert re.search(rf"agreement\.yaml:\d+:\d+: (\S+ )*{re.escape(field)}: .*{message}", err), err


@pytest.mark.parametrize(
    ("old", "new", "expected", "code"),
    [
        (
            "  - on: closing\n",
            "  - on: closng\n",
            "no fact type 'closng' in vocabulary.yaml (did you mean 'closing'?)",
            "unknown-fact",
        ),
        ("    party: by\n", "    party: from\n", "a waiver fact has no field 'from'", "unknown-field"),
        (
            "    where: {all: true}\n",
            "    where: {everything: true}\n",
            "a transfer fact has no field 'everything'",
            "unknown-field",
        ),
        (
            "by_mail: {field: method,",
            "by_mail: {field: means,",
            "no fact type of vocabulary.yaml has a field 'means'",
            "unknown-field",
        ),
    ],
)
def test_a_declaration_naming_no_fact_or_field_is_refused_by_check_and_listed_by_lint(
    tmp_path: Path, old: str, new: str, expected: str, code: str
) -> None:
    """An effect or mail convention matching no fact would change nothing, silently: refused, with its line."""
    rules = rules_with(tmp_path, old, new)
    line = next(
        n for n, text in enumerate((rules / "agreement.yaml").read_text().splitlines(), 1) if new.strip() in text
    )
    code_check, out, err = run("check", EXAMPLE_FACTS, "--rules", rules, "--format", "json")
    assert (code_check, out) == (2, ""), err
    assert re.search(rf"agreement\.yaml:{line}:\d+: .*{re.escape(expected)}", err), err
    code_lint, out, _ = run("lint", rules)
    assert code_lint == 1
    assert re.search(rf"agreement\.yaml:{line}:\d+: {re.escape(expected)}.*\[{code}\]", out), out


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


# --- 2, 12. --output: never an input; umask, links, read-only targets ---------------------------------------------


def _log(tmp_path: Path) -> Path:
    log = tmp_path / "log.jsonl"
    shutil.copyfile(EXAMPLE_FACTS, log)
    return log


@pytest.mark.parametrize("how", ["same name", "symbolic link", "hard link", "another spelling"])
@pytest.mark.parametrize("command", ["check", "upcoming", "portfolio"])
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path: Path, how: str, command: str) -> None:
    log = _log(tmp_path)
    if how == "same name":
        output = log
    elif how == "symbolic link":
        output = tmp_path / "report.json"
        output.symlink_to(log)
    elif how == "hard link":
        output = tmp_path / "report.json"
        os.link(log, output)
    else:
        (tmp_path / "sub").mkdir()
        output = tmp_path / "sub" / ".." / "log.jsonl"
    if command == "portfolio":
        fund = tmp_path / "fund.yaml"
        fund.write_text(f"agreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\n", encoding="utf-8")
        args: list[str | Path] = ["portfolio", fund, log]
    else:
        args = [command, log, "--rules", AMNIS_RULES]
    code, out, err = run(*args, "--output", output)
    assert code == 2, err
    assert "is the input" in err and out == ""
    assert log.read_bytes() == EXAMPLE_FACTS.read_bytes()


def test_an_output_that_is_a_rule_file_or_the_earlier_report_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(AMNIS_RULES, rules)
    code, _, err = run("check", EXAMPLE_FACTS, "--rules", rules, "--output", rules / "agreement.yaml")
    assert code == 2 and "is the input" in err
    since = tmp_path / "before.json"
    assert run("check", EXAMPLE_FACTS, "--rules", rules, "--format", "json", "--output", since)[0] == 0
    before = since.read_bytes()
    code, _, err = run("check", EXAMPLE_FACTS, "--rules", rules, "--since", since, "--output", since)
    assert code == 2 and "is the input" in err and since.read_bytes() == before


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_output_gets_the_permissions_of_the_umask(tmp_path: Path, umask: int) -> None:
    output = tmp_path / "report.json"
    result = run_process(
        "check", EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--output", output, preexec_fn=lambda: os.umask(umask)
    )
    assert result.returncode == 0, result.stderr
    assert output.stat().st_mode & 0o777 == 0o666 & ~umask


def test_an_existing_output_keeps_its_permissions(tmp_path: Path) -> None:
    output = tmp_path / "report.json"
    output.write_text("old\n")
    output.chmod(0o640)
    assert run("check", EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--output", output)[0] == 0
    assert output.stat().st_mode & 0o777 == 0o640 and output.read_text() != "old\n"


def test_an_output_that_is_a_symbolic_link_is_written_through_to_its_target(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "latest.txt"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "latest.txt"
    link.symlink_to(target)
    assert run("check", EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--output", link)[0] == 0
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text().startswith("amnis-spa-2003 as of 2004-12-31")
    assert sorted(p.name for p in target.parent.iterdir()) == ["latest.txt"]  # no temporary file left


def test_a_read_only_output_is_refused(tmp_path: Path) -> None:
    output = tmp_path / "report.json"
    output.write_text("kept\n")
    output.chmod(0o444)
    code, _, err = run("check", EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--output", output)
    assert code == 2 and "is read-only" in err
    assert output.read_text() == "kept\n"


@pytest.mark.parametrize(
    ("output", "message"),
    [("missing/folder/report.json", "no such folder"), ("/proc/report.json", "cannot write in /proc")],
)
@pytest.mark.parametrize("command", ["check", "portfolio"])
def test_an_output_into_a_missing_or_read_only_folder_exits_2(
    tmp_path: Path, output: str, message: str, command: str
) -> None:
    target = output if output.startswith("/") else str(tmp_path / output)
    if command == "portfolio":
        fund = tmp_path / "fund.yaml"
        fund.write_text(f"agreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\n", encoding="utf-8")
        args: list[str | Path] = ["portfolio", fund, EXAMPLE_FACTS]
    else:
        args = ["check", EXAMPLE_FACTS, "--rules", AMNIS_RULES]
    code, _, err = run(*args, "--output", target)
    assert code == 2, err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["check", "upcoming", "portfolio"])
def test_a_full_standard_output_exits_2_in_one_line(tmp_path: Path, command: str) -> None:
    if command == "portfolio":
        fund = tmp_path / "fund.yaml"
        fund.write_text(f"agreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\n", encoding="utf-8")
        args: list[str | Path] = ["portfolio", fund, EXAMPLE_FACTS]
    else:
        args = [command, EXAMPLE_FACTS, "--rules", AMNIS_RULES]
    with open("/dev/full", "w") as full:
        result = run_process(*args, stdout=full, stderr=subprocess.PIPE)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == "covenant: cannot write to standard output: No space left on device"


# --- 3. an internal error has its own exit code ----------------------------------------------------------------


def test_an_internal_error_exits_70_in_one_line_and_the_traceback_only_with_debug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from covenant.cli import exits
    from covenant.cli import main as cli

    def defect(*args: object, **kwargs: object) -> str:
        raise ZeroDivisionError("a defect of the renderer")

    monkeypatch.setattr(cli, "render", defect)  # a defect injected after a real evaluation
    code, out, err = run("check", EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--fail-on", "breach")
    assert code == exits.EXIT_INTERNAL == 70  # not 1: --fail-on breach's "a breach was found"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("covenant: internal error (ZeroDivisionError in test_hostile_input")
    assert "issue tracker" in lines[0] and "Traceback" not in err and out == ""
    code, _, err = run("--debug", "check", EXAMPLE_FACTS, "--rules", AMNIS_RULES)
    assert code == 70
    assert "Traceback (most recent call last)" in err and "a defect of the renderer" in err


# --- 4. SIGTERM and SIGHUP clean up as SIGINT; workers die with their parent -------------------------------------


@pytest.fixture(scope="module")
def big_fund(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A portfolio that takes several seconds with --jobs 2: time to send a signal mid-run."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import generate_portfolio  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "bench"))
    folder = tmp_path_factory.mktemp("fund")
    assert generate_portfolio.main(["--agreements", "40", "--facts", "1500", "--output", str(folder)]) == 0
    return folder / "portfolio.yaml", folder / "facts.jsonl"


def _children(pid: int) -> set[int]:
    found = set()
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat_file.parent.name))
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _start_mid_run(big_fund: tuple[Path, Path], output: Path) -> tuple[subprocess.Popen[str], set[int]]:
    fund, feed = big_fund
    process = subprocess.Popen(
        [sys.executable, "-m", "covenant", "portfolio", str(fund), str(feed), "--jobs", "2", "--output", str(output)],
        env={**os.environ, "PYTHONPATH": SRC},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        workers = _children(process.pid)
        busy = [p for p in output.parent.iterdir() if p.name.endswith(".tmp")]
        if len(workers) >= 2 and busy:
            time.sleep(1.0)  # the workers are evaluating batches
            return process, _children(process.pid)
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    process.kill()
    raise AssertionError("the run never got going")


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_mid_run_leaves_no_temporary_file_and_no_worker(
    big_fund: tuple[Path, Path], tmp_path: Path, name: str
) -> None:
    number = getattr(signal, name)
    output = tmp_path / "out" / "report.json"
    output.parent.mkdir()
    process, workers = _start_mid_run(big_fund, output)
    process.send_signal(number)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + number, err
    assert err.strip().splitlines()[-1] in (f"covenant: ended by {name}", "covenant: interrupted")
    assert list(output.parent.iterdir()) == []  # no report, no temporary file
    deadline = time.monotonic() + 10
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(workers), "worker processes outlived the run"


def test_workers_die_with_a_parent_killed_outright(big_fund: tuple[Path, Path], tmp_path: Path) -> None:
    process, workers = _start_mid_run(big_fund, tmp_path / "report.json")
    process.kill()  # SIGKILL: no clean-up runs in the parent
    process.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(workers), "worker processes were orphaned"


# --- 5. a portfolio's include stays in its folder; messages quote short, escaped excerpts --------------------------


@pytest.mark.parametrize("name", ["../outside.yaml", "/etc/passwd", "{tmp}/elsewhere/part.yaml", "inside-link.yaml"])
def test_an_include_outside_the_portfolio_folder_is_refused(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "fund"
    folder.mkdir()
    (tmp_path / "elsewhere").mkdir()
    part = f"agreements:\n  - id: other\n    rules: {AMNIS_RULES}\n"
    (tmp_path / "outside.yaml").write_text(part)
    (tmp_path / "elsewhere" / "part.yaml").write_text(part)
    (folder / "inside-link.yaml").symlink_to(tmp_path / "outside.yaml")  # a link out of the folder counts as out
    fund = folder / "fund.yaml"
    fund.write_text(
        f"agreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\ninclude: [{name.format(tmp=tmp_path)}]\n"
    )
    code, out, err = run("portfolio", fund, EXAMPLE_FACTS)
    assert code == 2 and out == ""
    assert re.fullmatch(r"\S*fund\.yaml:4:\d+: include\.0: outside the portfolio's folder.*\n", err), err
    assert "root:" not in err


def test_an_include_under_an_allowed_root_is_read(tmp_path: Path) -> None:
    (tmp_path / "fund").mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "part.yaml").write_text(f"agreements:\n  - id: other\n    rules: {AMNIS_RULES}\n")
    fund = tmp_path / "fund" / "fund.yaml"
    fund.write_text(f"agreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\ninclude: [../shared/part.yaml]\n")
    code, _out, err = run("portfolio", fund, EXAMPLE_FACTS, "--include-root", tmp_path / "shared")
    assert code == 2 and "agreement: required" in err  # read: now two agreements, and facts must say which
    code, _out, err = run("check", EXAMPLE_FACTS, "--portfolio", fund, "--include-root", tmp_path / "shared")
    assert code == 2 and "agreement: required" in err


def test_an_included_file_that_is_no_portfolio_is_one_problem_not_its_lines(tmp_path: Path) -> None:
    secrets = "".join(f"key_{n}: secret-value-{n}\n" for n in range(50))
    (tmp_path / "settings.yaml").write_text(secrets)
    fund = tmp_path / "fund.yaml"
    fund.write_text(f"agreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\ninclude: [settings.yaml]\n")
    code, _, err = run("portfolio", fund, EXAMPLE_FACTS)
    assert code == 2
    assert err.count("\n") == 1 and "not a portfolio file" in err and "key_" not in err and "secret" not in err


def test_a_long_field_name_is_quoted_as_a_short_excerpt(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({"id": "c1", "type": "closing", "date": "2003-05-09", "x" * 5000: 1}) + "\n")
    code, _, err = run("check", log, "--rules", AMNIS_RULES)
    assert code == 2 and "xxx…: unknown field" in err and len(err) < 400, err


# --- 9, 11. crashes that are input errors ------------------------------------------------------------------------


def test_a_symbolic_link_loop_as_rules_or_a_portfolio_form_exits_2(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    code, _, err = run("check", EXAMPLE_FACTS, "--rules", tmp_path / "a")
    assert code == 2 and "a: " in err and "Traceback" not in err
    fund = tmp_path / "fund.yaml"
    fund.write_text("agreements:\n  - id: amnis-spa-2003\n    rules: a\n")
    code, _, err = run("portfolio", fund, EXAMPLE_FACTS)
    assert code == 2 and re.search(r"fund\.yaml:3:\d+: rules: cannot resolve the path", err), err


@pytest.mark.parametrize("command", ["check", "portfolio"])
def test_an_unreadable_log_in_a_facts_folder_exits_2_naming_it(tmp_path: Path, command: str) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copyfile(EXAMPLE_FACTS, logs / "a.jsonl")
    (logs / "b.jsonl").symlink_to("/proc/self/clear_refs")  # a regular file that no one can read (EINVAL)
    if command == "portfolio":
        fund = tmp_path / "fund.yaml"
        fund.write_text(f"agreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\n")
        args: list[str | Path] = ["portfolio", fund, logs]
    else:
        args = ["check", logs, "--rules", AMNIS_RULES]
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert f"{logs / 'b.jsonl'}: cannot read" in err


@pytest.mark.parametrize("command", ["check", "portfolio", "upcoming"])
def test_an_empty_facts_folder_is_no_facts_not_an_empty_report(tmp_path: Path, command: str) -> None:
    empty = tmp_path / "logs"
    empty.mkdir()
    if command == "portfolio":
        fund = tmp_path / "fund.yaml"
        fund.write_text(f"agreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\n")
        args: list[str | Path] = ["portfolio", fund, empty]
    else:
        args = [command, empty, "--rules", AMNIS_RULES]
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert f"{empty}: no facts" in err


@pytest.mark.parametrize("value", ["20031231", "2003-W01-1", "2003-12-31T00:00", "2003-365", " 2003-12-31"])
@pytest.mark.parametrize("command", ["check", "upcoming", "portfolio"])
def test_as_of_takes_yyyy_mm_dd_only(tmp_path: Path, value: str, command: str) -> None:
    fund = tmp_path / "fund.yaml"
    fund.write_text(f"agreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\n")
    args = (
        ["portfolio", fund, EXAMPLE_FACTS]
        if command == "portfolio"
        else [command, EXAMPLE_FACTS, "--rules", AMNIS_RULES]
    )
    code, _, err = run(*args, "--as-of", value)
    assert code == 2 and "is not a date written YYYY-MM-DD" in err


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01"])
@pytest.mark.parametrize("command", ["check", "portfolio"])
def test_an_as_of_out_of_range_is_refused_by_check_and_portfolio_alike(
    tmp_path: Path, value: str, command: str
) -> None:
    fund = tmp_path / "fund.yaml"
    fund.write_text(f"agreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\n")
    args = (
        ["portfolio", fund, EXAMPLE_FACTS]
        if command == "portfolio"
        else [command, EXAMPLE_FACTS, "--rules", AMNIS_RULES]
    )
    code, out, err = run(*args, "--as-of", value)
    assert code == 2 and out == ""
    assert err.strip() == f"--as-of: {value} is out of range (1900-01-01 to 2199-12-31)"


def test_upcoming_with_a_window_past_any_calendar_is_a_usage_error() -> None:
    code, _, err = run("upcoming", EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--within", "1000000000")
    assert code == 2 and "--within" in err and "Traceback" not in err
    code, out, _ = run("upcoming", EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--within", "36525", "--format", "json")
    assert code == 0 and json.loads(out)["until"] == "2105-01-01"


@pytest.fixture()
def not_dask() -> tuple[str, object]:
    """A port that accepts connections and never speaks Dask (what a web server does with its bytes)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            accepted.append(connection)

    threading.Thread(target=accept, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}", accepted
    server.close()
    for connection in accepted:
        connection.close()


@pytest.mark.parametrize("address", ["foo://bar", "nonsense", "NOT-DASK"])
def test_a_scheduler_that_is_not_dask_exits_2_without_hanging(
    tmp_path: Path, address: str, not_dask: tuple[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from covenant.portfolio import backends as parallel

    monkeypatch.setattr(parallel, "PROBE_SECONDS", 2.0)
    fund = tmp_path / "fund.yaml"
    fund.write_text(f"agreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\n")
    started = time.monotonic()
    code, _, err = run(
        "portfolio", fund, EXAMPLE_FACTS, "--scheduler", not_dask[0] if address == "NOT-DASK" else address
    )
    assert code == 2 and err.startswith("covenant: ") and err.count("\n") == 1, err
    assert "Dask" in err
    assert time.monotonic() - started < 20


def test_control_codes_in_a_rule_file_are_escaped_by_lint_and_explain(tmp_path: Path) -> None:
    rules = clause_with(tmp_path, "4(b)" + ESCAPES)
    rule = rules / "4b-form-d.yaml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("id: form-d\n", 'id: form-d\n"bad\\e]0;x\\a": 1\n'))
    code, out, err = run("lint", rules)
    assert code == 1 and "bad\\x1b]0;x\\x07" in out and not RAW.search(out + err)
    rules = clause_with(tmp_path / "again", "4(b)" + ESCAPES)
    code, out, _ = run("explain", EXAMPLE_FACTS, "--rules", rules, "--rule", "form-d", "--trigger", "closing")
    assert code == 0, out
    assert "4(b)\\x1b]0;owned" in out and not RAW.search(out.replace("\n", ""))
