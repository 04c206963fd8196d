"""`covenant check` as people and programs call it: click's runner in process, and a real subprocess.

The subprocess runs ``sys.executable -m covenant``, so the tests work in any
virtual environment the package is installed in. The contract is
shared/spec/report.md: the JSON report's fields and their order, the exit
codes (0 ran, 1 ``--fail-on breach`` with a breach, 2 bad input with
``FILE:LINE: field: message`` on standard error and no traceback), atomic
``--output``, a directory of logs, and the same bytes for the same input.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from covenant.cli.main import main

from .conftest import AMNIS_RULES, EXAMPLE_FACTS

REPORT_FIELDS = [
    "rule",
    "clause",
    "beneficiary",
    "trigger",
    "due",
    "status",
    "breach_start",
    "cured_on",
    "days_in_breach",
    "remedies",
    "evidence",
    "explanation",
]
"""The obligation fields of report.md's table, in its order; more may follow them."""

STATUSES = {"pending", "fulfilled", "breached", "cured", "waived", "discharged", "review"}

# Form D is due 2003-05-09 + 15 = Saturday 05-24 -> Tuesday 05-27 (Memorial Day 05-26), filed 08-15:
# breach 05-28 to 08-15. The SLD amounts are computed by hand in tests/test_remedies.py.
SMALL_LOG = [
    {"id": "c1", "type": "closing", "date": "2003-05-09"},
    {"id": "ip-sds", "type": "interest_payment", "date": "2003-06-30", "buyer": "sds", "amount": "8547.94"},
    {"id": "cv-alpha", "type": "conversion", "date": "2003-07-01", "buyer": "alpha", "principal": "50000.00"},
    {"id": "form-d", "type": "sec_filing", "date": "2003-08-15", "form": "D"},
]


def _write(path: Path, facts: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    return path


@pytest.fixture
def small_log(tmp_path: Path) -> Path:
    return _write(tmp_path / "small.jsonl", SMALL_LOG)


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(main, ["check", *map(str, args), "--rules", str(AMNIS_RULES)])


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "covenant", "check", *map(str, args), "--rules", str(AMNIS_RULES)]
    return subprocess.run(command, capture_output=True, cwd=cwd, timeout=300)


def _form_d(report: dict[str, Any]) -> dict[str, Any]:
    (found,) = [o for o in report["obligations"] if o["rule"] == "form-d"]
    return found


# --- JSON ------------------------------------------------------------------------------------------------------


def test_json_report_fields_and_order(small_log: Path) -> None:
    result = invoke(small_log, "--as-of", "2003-09-30", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert list(report)[:3] == ["agreement", "as_of", "obligations"]
    assert (report["agreement"], report["as_of"]) == ("amnis-spa-2003", "2003-09-30")
    assert report["obligations"], "a closing makes obligations arise"
    for obligation in report["obligations"]:
        assert list(obligation)[: len(REPORT_FIELDS)] == REPORT_FIELDS
        assert obligation["status"] in STATUSES
        for remedy in obligation["remedies"]:
            assert remedy["kind"] in {"standard_liquidated_damages", "interest", "event_of_default"}
            if "amount" in remedy:
                whole, cents = remedy["amount"].split(".")
                assert whole.isdigit() and len(cents) == 2 and cents.isdigit(), remedy
    form_d = _form_d(report)
    assert {k: form_d[k] for k in REPORT_FIELDS[:9]} == {
        "rule": "form-d",
        "clause": "4(b)",
        "beneficiary": None,
        "trigger": "c1",
        "due": "2003-05-27",
        "status": "cured",
        "breach_start": "2003-05-28",
        "cured_on": "2003-08-15",
        # (08-15 + 1) - 05-28 = 4 + 30 + 31 + 15 = 80
        "days_in_breach": 80,
    }
    assert form_d["remedies"] == [
        {"kind": "standard_liquidated_damages", "buyer": "alpha", "amount": "23393.56"},
        {"kind": "standard_liquidated_damages", "buyer": "bristol", "amount": "10423.32"},
        {"kind": "standard_liquidated_damages", "buyer": "sds", "amount": "34587.22"},
    ]
    assert "form-d" in form_d["evidence"] and isinstance(form_d["explanation"], str) and form_d["explanation"]


def test_json_order_is_stable(small_log: Path) -> None:
    # report.md: by due (or breach) date, then rule, then trigger, then beneficiary.
    report = json.loads(invoke(small_log, "--as-of", "2003-09-30", "--format", "json").stdout)

    def key(o: dict[str, Any]) -> tuple[str, str, str, str]:
        return (o["due"] or o["breach_start"] or "", o["rule"], o["trigger"] or "", o["beneficiary"] or "")

    keys = [key(o) for o in report["obligations"] if o["status"] != "review"]
    assert keys == sorted(keys)


# --- text ------------------------------------------------------------------------------------------------------


def test_text_report_has_the_breaches_and_totals(small_log: Path) -> None:
    as_json = json.loads(invoke(small_log, "--as-of", "2003-09-30", "--format", "json").stdout)
    result = invoke(small_log, "--as-of", "2003-09-30", "--format", "text")
    assert result.exit_code == 0, result.output
    text = result.stdout
    plain = text.replace(",", "")  # amounts may be printed with thousands separators
    assert "amnis-spa-2003" in text and "2003-09-30" in text
    # The Form D breach: rule, due, breach start, cure, days, and the hand-computed SLD of each Buyer.
    assert "form-d" in text
    for value in ("2003-05-27", "2003-05-28", "2003-08-15", "23393.56", "10423.32", "34587.22"):
        assert value in plain, value
    # Every breach of the JSON report is in the text, and every total per Buyer.
    for obligation in as_json["obligations"]:
        if obligation["breach_start"]:
            assert obligation["rule"] in text and obligation["breach_start"] in text
    totals = as_json["summary"]["totals"]["standard_liquidated_damages"]
    assert set(totals) == {"alpha", "bristol", "sds", "total"}
    for amount in totals.values():
        assert amount in plain, amount
    assert "Traceback" not in text and "\x1b[" not in text  # no colour codes when not a terminal


# --- exit codes ------------------------------------------------------------------------------------------------


def test_exit_0_with_breaches(small_log: Path) -> None:
    result = invoke(small_log, "--as-of", "2003-07-15", "--format", "json")
    assert result.exit_code == 0
    assert _form_d(json.loads(result.stdout))["status"] == "breached"


def test_exit_1_with_fail_on_breach(small_log: Path) -> None:
    result = invoke(small_log, "--as-of", "2003-07-15", "--format", "json", "--fail-on", "breach")
    assert result.exit_code == 1
    assert _form_d(json.loads(result.stdout))["status"] == "breached"  # the report is still written


def test_exit_0_with_fail_on_breach_when_nothing_is_breached(tmp_path: Path) -> None:
    # A Closing alone, evaluated on the Closing day: every obligation is pending or met on that day.
    # contact-information is due on the Closing date itself; delivered the same day it is fulfilled.
    facts = [{"id": "c1", "type": "closing", "date": "2003-05-09"}] + [
        {"id": f"d-{b}", "type": "delivery", "date": "2003-05-09", "to": b, "what": "contact_information"}
        for b in ("sds", "alpha", "bristol")
    ]
    log = _write(tmp_path / "log.jsonl", facts)
    result = invoke(log, "--format", "json", "--fail-on", "breach")
    assert result.exit_code == 0, result.output
    statuses = {o["status"] for o in json.loads(result.stdout)["obligations"]}
    assert "breached" not in statuses and statuses


def test_exit_2_with_a_bad_fact_in_process(tmp_path: Path) -> None:
    log = _write(tmp_path / "bad.jsonl", [*SMALL_LOG, {"id": "x", "type": "closing", "date": "2003-02-30"}])
    result = invoke(log, "--format", "json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"{log}:5: date: '2003-02-30' is not a calendar date\n"


def test_exit_2_with_a_bad_fact_in_a_subprocess(tmp_path: Path) -> None:
    _write(
        tmp_path / "bad.jsonl",
        [
            *SMALL_LOG,
            {"id": "x1", "type": "invoice", "date": "2003-06-02", "buyer": "sds", "amount": "lots"},
            {"id": "x2", "type": "delivery", "date": "2003-06-02", "what": "sec_report", "ref": "c1"},
        ],
    )
    done = run("bad.jsonl", "--format", "json", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == b""
    stderr = done.stderr.decode()
    assert stderr.splitlines() == [
        "bad.jsonl:5: amount: 'lots' is not a decimal amount",
        "bad.jsonl:6: to: required field is missing",
    ]
    assert "Traceback" not in stderr


def test_exit_2_with_unknown_rules_folder(tmp_path: Path, small_log: Path) -> None:
    command = [sys.executable, "-m", "covenant", "check", str(small_log), "--rules", str(tmp_path / "nowhere")]
    done = subprocess.run(command, capture_output=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert b"Traceback" not in done.stderr and done.stderr.strip()


def test_exit_2_with_a_bad_as_of(small_log: Path) -> None:
    result = invoke(small_log, "--as-of", "2003-02-30")
    assert result.exit_code == 2
    assert "'2003-02-30' is not a date written YYYY-MM-DD" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["portfolio", "fund.yaml", "feed.jsonl"],
        ["check", "feed.jsonl", "--portfolio", "fund.yaml"],
        ["explain", "feed.jsonl", "--rules", str(AMNIS_RULES), "--rule", "form-d"],
        ["upcoming", "feed.jsonl", "--rules", str(AMNIS_RULES)],
    ],
    ids=["portfolio", "check-portfolio", "explain", "upcoming"],
)
def test_every_command_refuses_a_bad_as_of_in_the_same_words(command: list[str]) -> None:
    """--as-of is declared once (clitypes) for every command that takes it."""
    result = CliRunner().invoke(main, [*command, "--as-of", "2003-02-30"])
    assert result.exit_code == 2
    assert "'2003-02-30' is not a date written YYYY-MM-DD" in result.stderr


# --- output, as-of, directories, determinism --------------------------------------------------------------------


def test_output_is_written_and_nothing_else(tmp_path: Path, small_log: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "report.json"
    done = run(small_log, "--as-of", "2003-09-30", "--format", "json", "--output", target)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    assert sorted(p.name for p in out_dir.iterdir()) == ["report.json"]  # no temporary file left beside it
    report = json.loads(target.read_text(encoding="utf-8"))
    assert _form_d(report)["cured_on"] == "2003-08-15"
    # Same bytes as standard output would have carried.
    assert target.read_bytes() == run(small_log, "--as-of", "2003-09-30", "--format", "json").stdout


def test_output_replaces_an_existing_file(tmp_path: Path, small_log: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("old report\n", encoding="utf-8")
    result = invoke(small_log, "--as-of", "2003-09-30", "--output", target)
    assert result.exit_code == 0, result.output
    assert "form-d" in target.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt", "small.jsonl"]


def test_as_of_before_the_closing_gives_no_obligations() -> None:
    # A subprocess: the same defect segfaults in other shapes and must not take the test run down.
    done = run(EXAMPLE_FACTS, "--as-of", "2003-05-01", "--format", "json")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    report = json.loads(done.stdout)
    assert report["as_of"] == "2003-05-01"
    assert report["obligations"] == []
    assert report["facts"]["after_as_of"] == 259  # every line of the example


@pytest.mark.parametrize(
    "fact",
    [
        {"id": "sn1", "type": "stockholder_notice", "date": "2003-05-01"},
        {"id": "u1", "type": "use_of_proceeds", "date": "2003-05-01", "purpose": "working_capital", "amount": "5"},
    ],
    ids=["stockholder-notice", "use-of-proceeds"],
)
def test_a_log_without_a_closing_runs(tmp_path: Path, fact: dict[str, Any]) -> None:
    # One fact and no Closing: nothing can arise (every rule counts from the Closing or needs a holder).
    # The C core never initialises a session's action context before its first action, and its
    # delete_state freed that garbage pointer (exit 134); every session now fires once when opened.
    # A subprocess, so a regression fails this test instead of killing the run.
    _write(tmp_path / "one.jsonl", [fact])
    done = run("one.jsonl", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert json.loads(done.stdout)["obligations"] == []


def test_as_of_on_the_closing_day(small_log: Path) -> None:
    # On 2003-05-09 only what the Closing itself makes arise exists; nothing after it.
    report = json.loads(invoke(small_log, "--as-of", "2003-05-09", "--format", "json").stdout)
    assert report["obligations"]
    assert all(o["status"] in {"pending", "breached", "review"} for o in report["obligations"])
    assert report["facts"]["after_as_of"] == 3


def test_a_directory_means_every_jsonl_in_it(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    # The log split in two files (read in name order), plus a file that is not a log.
    _write(logs / "a-closing.jsonl", SMALL_LOG[:2])
    _write(logs / "b-later.jsonl", SMALL_LOG[2:])
    (logs / "notes.txt").write_text("not a fact log {", encoding="utf-8")
    whole = _write(tmp_path / "whole.jsonl", SMALL_LOG)
    from_dir = json.loads(invoke(logs, "--as-of", "2003-09-30", "--format", "json").stdout)
    from_file = json.loads(invoke(whole, "--as-of", "2003-09-30", "--format", "json").stdout)
    assert from_dir["obligations"] == from_file["obligations"]
    assert sorted(from_dir["facts"]["per_file"]) == [str(logs / "a-closing.jsonl"), str(logs / "b-later.jsonl")]


def test_several_files_are_one_log(tmp_path: Path) -> None:
    first = _write(tmp_path / "one.jsonl", SMALL_LOG[:2])
    second = _write(tmp_path / "two.jsonl", SMALL_LOG[2:])
    report = json.loads(invoke(first, second, "--as-of", "2003-09-30", "--format", "json").stdout)
    assert _form_d(report)["remedies"][0] == {
        "kind": "standard_liquidated_damages",
        "buyer": "alpha",
        "amount": "23393.56",
    }


@pytest.mark.parametrize("output_format", ["json", "text"])
def test_same_input_same_bytes(output_format: str) -> None:
    first = run(EXAMPLE_FACTS, "--format", output_format)
    second = run(EXAMPLE_FACTS, "--format", output_format)
    assert first.returncode == 0, first.stderr.decode()[-2000:]
    assert first.stdout == second.stdout
    assert len(first.stdout) > 1000


def test_in_process_and_subprocess_agree(small_log: Path) -> None:
    inside = invoke(small_log, "--as-of", "2003-09-30", "--format", "json").stdout.encode()
    outside = run(small_log, "--as-of", "2003-09-30", "--format", "json").stdout
    assert json.loads(inside) == json.loads(outside)
