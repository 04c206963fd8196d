"""Same input, same bytes: line order, files, repeated runs, hash seeds, and an atomic ``--output``.

Evaluation orders facts by date, and facts of the same date by their order
in the input (facts.md): the input order of a run is the files in the
order given (a directory's logs in name order), each file top to bottom.
So a log's lines may come in any order across dates, and a log may be split
into several files, without changing the report, as long as facts of the
same date keep their order. The report's per-file accounting names the
files, so a split log differs there and nowhere else (docs/limits.md).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from covenant.cli import exits
from covenant.cli import main as cli
from covenant.cli import output as outputs
from covenant.pipeline import check
from covenant.report.build import render_json

from .conftest import AMNIS_RULES, EXAMPLE_FACTS

LINES = [line for line in EXAMPLE_FACTS.read_text(encoding="utf-8").splitlines() if line.strip()]
DATES = sorted({json.loads(line)["date"] for line in LINES})


def reordered(date_order: list[str]) -> list[str]:
    """The example log with its dates in ``date_order``, facts of one date in their original order."""
    rank = {day: n for n, day in enumerate(date_order)}
    return [line for _, line in sorted(enumerate(LINES), key=lambda item: (rank[json.loads(item[1])["date"]], item[0]))]


def report_bytes(tmp_path: Path, name: str, *files: list[str]) -> bytes:
    """The JSON report of ``files`` written under ``tmp_path/name``, named relative to it."""
    folder = tmp_path / name
    folder.mkdir()
    paths = []
    for number, lines in enumerate(files):
        (folder / f"part{number}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(Path(f"part{number}.jsonl"))
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        return render_json(check(paths, AMNIS_RULES).report).encode()
    finally:
        os.chdir(cwd)


def without_per_file(report: bytes) -> tuple[bytes, dict[str, Any]]:
    data = json.loads(report)
    per_file = data["facts"].pop("per_file")
    return json.dumps(data).encode(), per_file


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return report_bytes(tmp_path_factory.mktemp("original"), "log", LINES)


def test_dates_in_reverse_order_give_the_same_bytes(tmp_path: Path, original: bytes) -> None:
    assert report_bytes(tmp_path, "reversed", reordered(DATES[::-1])) == original


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(DATES))
def test_any_order_of_dates_gives_the_same_bytes(
    tmp_path_factory: pytest.TempPathFactory, original: bytes, order: list[str]
) -> None:
    assert report_bytes(tmp_path_factory.mktemp("shuffled"), "log", reordered(order)) == original


def test_a_log_split_across_files_gives_the_same_report(tmp_path: Path, original: bytes) -> None:
    lines = reordered(random.Random(7).sample(DATES, len(DATES)))
    cuts = [0, 40, 41, 130, len(lines)]
    parts = [lines[a:b] for a, b in itertools.pairwise(cuts)]
    split = report_bytes(tmp_path, "split", *parts)
    rest, per_file = without_per_file(split)
    original_rest, original_per_file = without_per_file(original)
    assert rest == original_rest
    assert [counts["read"] for counts in per_file.values()] == [40, 1, 89, len(lines) - 130]
    for name in ("read", "used", "after_as_of", "not_relevant", "skipped"):
        assert sum(c[name] for c in per_file.values()) == original_per_file["part0.jsonl"][name]


def test_same_date_order_is_the_input_order(tmp_path: Path) -> None:
    # The one order that is kept: two facts of one date, swapped, are asserted in the other order.
    # Here both orders mean the same (a delivery and the filing it copies, same day), and the report says so.
    by_date: dict[str, list[str]] = defaultdict(list)
    for line in LINES:
        by_date[json.loads(line)["date"]].append(line)
    busy = max(by_date, key=lambda day: len(by_date[day]))
    assert len(by_date[busy]) > 1
    swapped = [line for day in DATES for line in (by_date[day][::-1] if day == busy else by_date[day])]
    first, second = report_bytes(tmp_path, "a", LINES), report_bytes(tmp_path, "b", swapped)
    assert json.loads(first)["summary"] == json.loads(second)["summary"]


def test_twice_and_under_other_hash_seeds_the_same_bytes(tmp_path: Path) -> None:
    outputs = []
    for seed in ("0", "1", "12345"):
        target = tmp_path / f"report-{seed}.json"
        command = [sys.executable, "-m", "covenant", "check", str(EXAMPLE_FACTS), "--rules", str(AMNIS_RULES)]
        result = subprocess.run(
            [*command, "--format", "json", "--output", str(target)],
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0].startswith(b"{") and outputs[0].endswith(b"}\n")


# --- --output is written atomically --------------------------------------------------


def run_check(output: Path) -> Any:
    return CliRunner().invoke(
        cli.main,
        ["check", str(EXAMPLE_FACTS), "--rules", str(AMNIS_RULES), "--format", "json", "--output", str(output)],
    )


@pytest.fixture()
def previous(tmp_path: Path) -> Path:
    output = tmp_path / "report.json"
    result = run_check(output)
    assert result.exit_code == 0, result.output
    return output


def leftovers(output: Path) -> list[str]:
    return sorted(p.name for p in output.parent.iterdir() if p != output)


class Interrupted(Exception):
    pass


def test_a_renderer_that_fails_leaves_the_previous_report(previous: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = previous.read_bytes()

    def failing(*args: Any, **kwargs: Any) -> str:
        raise Interrupted("the renderer failed half way")

    monkeypatch.setattr(cli, "render", failing)
    result = run_check(previous)
    assert result.exit_code == exits.EXIT_INTERNAL  # a defect, not bad input and not a breach
    assert "internal error (Interrupted" in result.stderr
    assert previous.read_bytes() == before
    assert leftovers(previous) == []


@pytest.mark.parametrize("where", ["write", "fsync", "replace", "interrupt"])
def test_a_write_interrupted_half_way_leaves_the_previous_report(
    previous: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    before = previous.read_bytes()
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, stream: Any):
            self.stream = stream

        def __enter__(self) -> HalfWriter:
            return self

        def __exit__(self, *exc: object) -> None:
            self.stream.close()

        def write(self, text: str) -> int:
            self.stream.write(text[: len(text) // 2])
            self.stream.flush()
            raise (KeyboardInterrupt() if where == "interrupt" else Interrupted("disk full"))

    def fail(*args: Any, **kwargs: Any) -> None:
        raise Interrupted(where)

    if where in ("write", "interrupt"):
        monkeypatch.setattr(outputs.os, "fdopen", lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))
    elif where == "fsync":
        monkeypatch.setattr(outputs.os, "fsync", fail)
    else:
        monkeypatch.setattr(outputs.os, "replace", fail)
    try:
        result = run_check(previous)
        assert result.exception is not None
    except KeyboardInterrupt:
        pass  # click's runner lets an interrupt through, as the real command would die of it
    assert previous.read_bytes() == before
    assert leftovers(previous) == []


def test_a_new_report_replaces_the_old_one_whole(previous: Path) -> None:
    previous.write_text("old\n", encoding="utf-8")
    result = run_check(previous)
    assert result.exit_code == 0, result.output
    assert json.loads(previous.read_text(encoding="utf-8"))["agreement"] == "amnis-spa-2003"
    assert leftovers(previous) == []
