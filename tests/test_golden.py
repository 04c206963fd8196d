"""Golden files: what every command prints on the shipped example, byte for byte.

The outputs under ``tests/golden/`` were written by the commands themselves and
reviewed by hand. A change to the code that alters any of them shows up here
and, when intended, in the diff of the golden file in review (as Catala keeps
expected outputs beside its examples). Refresh them deliberately with

    COVENANT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py

and read the diff before committing it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from covenant.cli.main import main

from .conftest import AMNIS_RULES, EXAMPLE_FACTS, ROOT

GOLDEN = Path(__file__).parent / "golden"
INPUTS = GOLDEN / "inputs"
UPDATE = os.environ.get("COVENANT_UPDATE_GOLDEN") == "1"

FACTS = str(EXAMPLE_FACTS.relative_to(ROOT))
RULES = str(AMNIS_RULES.relative_to(ROOT))
FUND = str((INPUTS / "fund.yaml").relative_to(ROOT))
FEED = str((INPUTS / "feed.jsonl").relative_to(ROOT))
EXPENSE_OBLIGATION = ("--trigger", "inv-alpha-2003-09", "--beneficiary", "alpha")
BAD = str((INPUTS / "bad.jsonl").relative_to(ROOT))


@dataclass(frozen=True)
class Golden:
    name: str
    args: tuple[str, ...]
    exit_code: int = 0
    stream: str = "stdout"


CASES = [
    *(Golden(f"check.{fmt}", ("check", FACTS, "--rules", RULES, "--format", fmt)) for fmt in ("json", "text")),
    *(
        Golden(f"check.{ext}", ("check", FACTS, "--rules", RULES, "--format", fmt))
        for fmt, ext in (("markdown", "md"), ("html", "html"), ("csv", "csv"))
    ),
    *(
        Golden(
            f"upcoming.{fmt}",
            ("upcoming", FACTS, "--rules", RULES, "--as-of", "2004-03-25", "--within", "30", "--format", fmt),
        )
        for fmt in ("text", "json", "ics")
    ),
    Golden(
        "explain-expense-reimbursement.txt",
        ("explain", FACTS, "--rules", RULES, "--rule", "expense-reimbursement", *EXPENSE_OBLIGATION),
    ),
    Golden(
        "explain-timely-sec-reports.txt",
        ("explain", FACTS, "--rules", RULES, "--rule", "timely-sec-reports", "--trigger", "2003-09-30"),
    ),
    Golden(
        "explain-lock-up.txt",
        ("explain", FACTS, "--rules", RULES, "--rule", "lock-up", "--trigger", "fin-conv-negotiation"),
    ),
    Golden("compile.txt", ("compile", RULES, "--show")),
    Golden("lint.txt", ("lint", RULES)),
    Golden("test.txt", ("test", RULES)),
    Golden("portfolio.json", ("portfolio", FUND, FEED, "--format", "json", "--jobs", "1")),
    Golden("portfolio.json", ("portfolio", FUND, FEED, "--format", "json", "--jobs", "2")),
    *(
        Golden(f"portfolio.{ext}", ("portfolio", FUND, FEED, "--format", fmt, "--jobs", jobs))
        for fmt, ext in (("markdown", "md"), ("html", "html"), ("csv", "csv"), ("text", "text"))
        for jobs in ("1", "2")
    ),
    *(
        Golden(
            f"upcoming-portfolio.{fmt}",
            ("upcoming", FEED, "--portfolio", FUND, "--within", "30", "--format", fmt, "--jobs", jobs),
        )
        for fmt in ("text", "json", "ics")
        for jobs in ("1", "2")
    ),
    Golden("bad-log.txt", ("check", BAD, "--rules", RULES), exit_code=2, stream="stderr"),
    *(Golden(f"schema-{kind}.json", ("schema", kind)) for kind in ("rules", "agreement")),
    *(Golden(f"schema-{kind}.json", ("schema", kind, "--rules", RULES)) for kind in ("facts", "scenarios")),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.name}:{' '.join(c.args[:1] + c.args[-2:])}")
def test_the_output_is_the_golden_file(case: Golden, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1"}).invoke(main, list(case.args))
    text = result.stderr if case.stream == "stderr" else result.stdout
    assert result.exit_code == case.exit_code, (result.output, result.exception)
    path = GOLDEN / case.name
    if UPDATE:
        path.write_bytes(text.encode("utf-8"))
    assert path.exists(), f"no golden file {path.name}: run with COVENANT_UPDATE_GOLDEN=1"
    assert text == path.read_bytes().decode("utf-8"), f"{path.name} differs: diff it, then decide"


def test_the_committed_schemas_are_the_golden_ones() -> None:
    """``schemas/*.json`` (what editors read) are exactly what ``covenant schema`` prints."""
    kinds = {"rules": "rule", "agreement": "agreement", "facts": "fact", "scenarios": "scenario"}
    for kind, file_name in kinds.items():
        committed = (ROOT / "schemas" / f"{file_name}.schema.json").read_text(encoding="utf-8")
        assert committed == (GOLDEN / f"schema-{kind}.json").read_text(encoding="utf-8"), file_name
