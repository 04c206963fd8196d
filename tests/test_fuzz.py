"""The C engine never crashes the process: generated fact logs and rule files, thousands of them.

The cases are generated with hypothesis by tests/fuzz_long.py and run in a
worker subprocess, because a segmentation fault in the C core would kill
pytest itself: the supervisor counts a dead worker as a crash, with the case
that killed it, and goes on. Each generated log must end in a report whose
accounting adds up, or in an ``InputError``; each generated rule folder in
an ``InputError`` or a report.

Profiles (docs/limits.md): ``ci`` (default) runs 2,000 logs and 300 rule
folders; COVENANT_FUZZ=long runs 10,000 and 1,000.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .fuzz_long import PROFILES, Summary, profile_name, run_fuzz

COUNTS = PROFILES[profile_name()]


def findings_text(path: Path) -> str:
    if not path.exists():
        return ""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:5]]
    return "\n\n".join(f"{f['finding']}: {f['detail'][-1500:]}\ncase: {json.dumps(f['case'])[:1500]}" for f in lines)


def assert_clean(summary: Summary, wanted: int, findings: Path) -> None:
    assert summary.examples >= wanted, summary.line()
    assert summary.findings == 0, f"{summary.line()}\n{findings_text(findings)}"


def test_generated_fact_logs_end_in_a_report_or_an_input_error(tmp_path: Path) -> None:
    findings = tmp_path / "findings.jsonl"
    summary = run_fuzz("logs", COUNTS["logs"], first_seed=20031, findings_file=findings)
    assert_clean(summary, COUNTS["logs"], findings)
    assert summary.outcomes.get("report", 0) > COUNTS["logs"] // 5, "most generated logs must reach the engine"
    assert summary.outcomes.get("input_error", 0) > COUNTS["logs"] // 10, "and many must be refused"


def test_generated_rule_folders_end_in_an_input_error_or_a_report(tmp_path: Path) -> None:
    findings = tmp_path / "findings.jsonl"
    summary = run_fuzz("rules", COUNTS["rules"], first_seed=20032, findings_file=findings)
    assert_clean(summary, COUNTS["rules"], findings)
    assert summary.outcomes.get("report", 0) > COUNTS["rules"] // 10, "some generated rule folders must compile and run"


def test_a_worker_that_dies_is_counted_as_a_crash_and_the_run_goes_on(tmp_path: Path) -> None:
    findings = tmp_path / "findings.jsonl"
    summary = run_fuzz("selftest", 10, findings_file=findings)
    assert summary.crashes == 1, summary.line()
    assert summary.examples == 10
    assert summary.workers == 2
    [record] = [json.loads(line) for line in findings.read_text(encoding="utf-8").splitlines()]
    assert record["finding"] == "crash"
    assert "SIGSEGV" in record["detail"]
    assert record["case"] is not None, "the case that killed the worker is kept"


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profiles_are_at_least_what_the_issue_asks(name: str) -> None:
    logs, rules = {"ci": (1_000, 200), "long": (10_000, 1_000)}[name]
    assert PROFILES[name]["logs"] >= logs
    assert PROFILES[name]["rules"] >= rules
