"""Nothing lost, nothing crashes: malformed logs through the real command, lenient mode, fact accounting.

Every malformed input must end in exit 2 with ``FILE:LINE: field: message``
on standard error and no traceback; what people produce by ordinary means
(a byte order mark, CRLF, blank lines, an empty file) is accepted. These
tests run ``python -m covenant check`` in a subprocess, as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from covenant.calendar import as_date
from covenant.facts import MAX_LINE_BYTES, load_fact_logs
from covenant.pipeline import check

from .conftest import AMNIS_RULES, AMNIS_VOCABULARY, EXAMPLE_FACTS

CLOSING = '{"id": "c1", "type": "closing", "date": "2003-05-09"}'


def covenant(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "covenant", "check", *map(str, args), "--rules", str(AMNIS_RULES)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def write(path: Path, *lines: str, end: str = "\n") -> Path:
    path.write_text(end.join(lines) + end, encoding="utf-8")
    return path


def assert_refused(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.stdout == ""
    for text in expected:
        assert text in result.stderr, f"{text!r} not in {result.stderr!r}"


BAD_LINES = [
    pytest.param("{bad json", ":2:2: invalid JSON: Expecting property name", id="invalid-json"),
    pytest.param("[1, 2]", ":2: expected a JSON object ({...}) describing one fact", id="not-an-object"),
    pytest.param('"closing"', ":2: expected a JSON object", id="a-string"),
    pytest.param('{"id": "x", "type": "closing", "date": NaN}', ":2: invalid JSON: NaN is not a JSON value", id="nan"),
    pytest.param(
        '{"id": "c2", "type": "closing", "date": "2003-02-30"}',
        ":2: date: '2003-02-30' is not a calendar date",
        id="february-30",
    ),
    pytest.param(
        '{"id": "c2", "type": "closing", "date": "9999-12-31"}',
        ":2: date: '9999-12-31' is out of range (1900-01-01 to 2199-12-31)",
        id="far-date",
    ),
    pytest.param(
        '{"id": "i1", "type": "invoice", "date": "2003-06-02", "buyer": "sds", "amount": "-5"}',
        ":2: amount: '-5' is negative; amounts are zero or more",
        id="negative-amount",
    ),
    pytest.param(
        '{"id": "i1", "type": "invoice", "date": "2003-06-02", "buyer": "sds", "amount": "lots"}',
        ":2: amount: 'lots' is not a decimal amount",
        id="non-numeric-amount",
    ),
    pytest.param(
        '{"id": "i1", "type": "invoice", "date": "2003-06-02", "buyer": "sds", "amount": "1e999"}',
        ":2: amount: '1e999' is not a decimal amount",
        id="exponent-amount",
    ),
    pytest.param(
        '{"id": "i1", "type": "invoice", "date": "2003-06-02", "buyer": "sds", "amount": 1e999}',
        ":2: amount: ",
        id="huge-number-amount",
    ),
    pytest.param(
        '{"id": "i1", "type": "invoice", "date": "2003-06-02", "buyer": "zed", "amount": "5"}',
        ":2: buyer: unknown buyer 'zed'; the agreement's buyers are alpha, bristol, sds",
        id="unknown-buyer",
    ),
    pytest.param(
        '{"id": "p1", "type": "payment", "date": "2003-06-02", "buyer": "sds", "amount": "5", "ref": "nope"}',
        ":2: ref: no fact has id 'nope'",
        id="dangling-ref",
    ),
    pytest.param(
        '{"id": "d1", "type": "delivery", "date": "2003-06-02", "what": "sec_report"}',
        ":2: to: required field is missing",
        id="delivery-without-to",
    ),
    pytest.param(
        '{"id": "i1", "type": "invoice", "date": "2003-06-02", "buyer": "sds", "amount": "5", "amount": "6"}',
        ":2: amount: field given twice in one fact",
        id="duplicate-key",
    ),
    pytest.param(
        '{"id": "c2", "type": "closing", "date": "2003-05-09", "note": ' + "[" * 20 + "]" * 20 + "}",
        ":2: note: nested more than 8 levels deep",
        id="nested",
    ),
    pytest.param(
        '{"id": "c2", "type": "closing", "date": "2003-05-09", "note": ' + "[" * 100_000 + "]" * 100_000 + "}",
        ":2: JSON nested too deeply",
        id="nested-100000",
    ),
    pytest.param(
        '{"id": "c2", "type": "closing", "date": "2003-05-09", "note": "\\ud800"}',
        ":2: note: text with an unpaired surrogate",
        id="lone-surrogate",
    ),
]


@pytest.mark.parametrize(("line", "expected"), BAD_LINES)
def test_a_malformed_line_exits_2_naming_file_line_and_field(tmp_path: Path, line: str, expected: str) -> None:
    log = write(tmp_path / "log.jsonl", CLOSING, line)
    assert_refused(covenant(log), f"{log}{expected}")


def test_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(CLOSING.encode() + b'\n{"id": "x\xff", "type": "closing", "date": "2003-05-09"}\n')
    assert_refused(covenant(log), f"{log}:2: not UTF-8 text (byte 10 of the line)")


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    first = write(tmp_path / "a.jsonl", CLOSING)
    second = write(tmp_path / "b.jsonl", '{"id": "s1", "type": "sec_comment", "date": "2003-06-02"}', CLOSING)
    assert_refused(covenant(first, second), f"{second}:2: id: duplicate id 'c1'; first used at {first}:1")


def test_a_100_mb_line_is_refused_without_reading_it_into_memory(tmp_path: Path) -> None:
    log = tmp_path / "huge.jsonl"
    with log.open("wb") as stream:
        stream.write(CLOSING.encode() + b"\n")
        stream.write(b'{"id": "big", "type": "closing", "date": "2003-05-09", "note": "')
        chunk = b"x" * (1 << 20)
        for _ in range(100):
            stream.write(chunk)
        stream.write(b'"}\n' + b'{"id": "after", "type": "sec_comment", "date": "2003-06-02", "what": 1}\n')
    # The child reports its own peak (VmHWM of its address space, fresh after exec): rusage's
    # ru_maxrss would also carry the peak of the pytest process it was forked from.
    report_peak = (
        "import atexit, runpy, sys\n"
        "def peak():\n"
        "    line = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
        "    sys.stderr.write('\\npeak-kB ' + line.split()[1] + '\\n')\n"
        "atexit.register(peak)\n"
        "sys.argv = ['covenant', *sys.argv[1:]]\n"
        "runpy.run_module('covenant', run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", report_peak, "check", str(log), "--rules", str(AMNIS_RULES)],
        capture_output=True,
        timeout=600,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert f"{log}:2: line is 104,857,667 bytes; a fact line may have at most {MAX_LINE_BYTES:,}" in stderr
    assert f"{log}:3: what: unknown field" in stderr, "the lines after it are still read"
    assert "Traceback" not in stderr
    peak_kb = int(stderr.rsplit("peak-kB ", 1)[1].split()[0])
    assert peak_kb < 100 * 1024, f"peak memory {peak_kb // 1024} MB: the line was read whole"


def test_every_problem_of_a_file_is_listed_at_once(tmp_path: Path) -> None:
    log = write(tmp_path / "log.jsonl", CLOSING, "{", "[]", '{"id": "x", "type": "merger", "date": "2003-05-09"}')
    result = covenant(log)
    assert_refused(result, f"{log}:2:", f"{log}:3:", f"{log}:4: type: unknown fact type 'merger'")
    assert len(result.stderr.splitlines()) == 3


def test_bom_crlf_and_blank_lines_are_accepted(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(
        b"\xef\xbb\xbf"
        + CLOSING.encode()
        + b"\r\n\r\n   \r\n"
        + b'{"id": "s1", "type": "sec_comment", "date": "2003-06-02"}'
    )
    result = covenant(log, "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["facts"]["read"] == 2
    assert report["facts"]["per_file"][str(log)]["read"] == 2
    assert report["obligations"], "the closing was read through the byte order mark"


def test_an_empty_file_gives_an_empty_report(tmp_path: Path) -> None:
    log = tmp_path / "empty.jsonl"
    log.write_bytes(b"")
    result = covenant(log, "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["obligations"] == []
    assert report["facts"] == {
        "read": 0,
        "used": 0,
        "after_as_of": 0,
        "not_relevant": 0,
        "skipped": 0,
        "per_file": {str(log): {"read": 0, "used": 0, "after_as_of": 0, "not_relevant": 0, "skipped": 0}},
    }
    assert set(report["summary"]["statuses"].values()) == {0}


def test_a_missing_file_and_an_as_of_out_of_range(tmp_path: Path) -> None:
    assert_refused(covenant(tmp_path / "nothing.jsonl"), f"{tmp_path / 'nothing.jsonl'}: no such fact log")
    log = write(tmp_path / "log.jsonl", CLOSING)
    assert_refused(covenant(log, "--as-of", "9999-01-01"), "--as-of: 9999-01-01 is out of range")


def test_every_fact_after_the_as_of_date_is_a_report_not_a_crash(tmp_path: Path) -> None:
    # Found by the fuzzer: nothing asserted into the engine's session, which then could not be deleted.
    log = write(tmp_path / "log.jsonl", CLOSING)
    result = covenant(log, "--as-of", "2003-01-01", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["facts"]["after_as_of"] == 1


def test_two_transfers_of_all_on_one_day_are_a_report_not_a_crash(tmp_path: Path) -> None:
    log = write(
        tmp_path / "log.jsonl",
        CLOSING,
        '{"id": "t1", "type": "transfer", "date": "2003-09-01", "buyer": "bristol", "all": true}',
        '{"id": "t2", "type": "transfer", "date": "2003-09-01", "buyer": "bristol", "all": true}',
    )
    report = check([log], AMNIS_RULES).report
    assert any(o["status"] == "discharged" for o in report["obligations"])


# --- lenient mode -----------------------------------------------------------------


LENIENT_LOG = [
    CLOSING,
    '{"id": "x1", "type": "merger", "date": "2003-05-09"}',
    '{"id": "sc1", "type": "sec_comment", "date": "2003-07-09", "agreement": "other"}',
    '{"id": "sr1", "type": "sec_response", "date": "2003-07-10", "ref": "sc1"}',
    '{"id": "oc1", "type": "opinion_of_counsel", "date": "2003-07-10", "buyer": "zed"}',
    '{"id": "oa1", "type": "opinion_accepted", "date": "2003-07-11", "ref": "oc1"}',
    '{"id": "rc1", "type": "representation_cured", "date": "2003-07-12", "ref": "oa1"}',
    "not json",
    '{"id": "f1", "type": "sec_filing", "date": "2003-05-12", "form": "8-K", "about": "transaction"}',
]


def test_lenient_mode_evaluates_the_valid_facts_and_lists_every_skipped_line(tmp_path: Path) -> None:
    log = write(tmp_path / "log.jsonl", *LENIENT_LOG)
    assert_refused(covenant(log), f"{log}:2:", f"{log}:3:", f"{log}:5:", f"{log}:8:")
    result = covenant(log, "--skip-invalid", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    expected = [
        f"{log}:2: type: unknown fact type 'merger' "
        "(the types: the rule folder's vocabulary.yaml, or `covenant vocabulary RULES`)",
        f"{log}:3: agreement: unknown agreement 'other'; the rules are for 'amnis-spa-2003'",
        f"{log}:4: ref: names fact 'sc1', which is invalid or was skipped ({log}:3)",
        f"{log}:5: buyer: unknown buyer 'zed'; the agreement's buyers are alpha, bristol, sds",
        f"{log}:6: ref: names fact 'oc1', which is invalid or was skipped ({log}:5)",
        f"{log}:7: ref: names fact 'oa1', which is invalid or was skipped ({log}:6)",
        f"{log}:8:1: invalid JSON: Expecting value",
    ]
    assert len(report["skipped"]) == len(expected)
    for line, wanted in zip(report["skipped"], expected, strict=True):
        assert line.startswith(wanted), (line, wanted)
    assert [line.removeprefix("skipped: ") for line in result.stderr.splitlines()] == report["skipped"]
    assert report["facts"]["skipped"] == 7
    assert report["facts"]["read"] == len(LENIENT_LOG)
    assert {o["trigger"] for o in report["obligations"]} >= {"c1", "f1"}, "the valid facts were evaluated"


def test_lenient_mode_with_every_line_invalid_is_an_empty_report(tmp_path: Path) -> None:
    log = write(tmp_path / "log.jsonl", "{", "[]")
    result = covenant(log, "--skip-invalid", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["obligations"] == []
    assert report["facts"]["skipped"] == report["facts"]["read"] == 2
    assert len(report["skipped"]) == 2


def test_a_ref_to_a_skipped_offering_is_skipped_with_its_reason(tmp_path: Path) -> None:
    log = write(
        tmp_path / "log.jsonl",
        CLOSING,
        '{"id": "fin", "type": "financing", "date": "2003-08-01", "ref": "bridge", "stage": "closing", "x": 1}',
        '{"id": "n1", "type": "delivery", "date": "2003-07-25", "to": "sds", "what": "offering_notice", '
        '"ref": "bridge"}',
    )
    skipped = [p.format() for p in load_fact_logs([log], AMNIS_VOCABULARY, lenient=True).skipped]
    assert skipped == [
        f"{log}:2: x: unknown field",
        f"{log}:3: ref: names offering 'bridge', whose financing fact is invalid or was skipped ({log}:2)",
    ]


# --- accounting ---------------------------------------------------------------------


def _adds_up(counts: dict[str, int]) -> bool:
    return counts["read"] == counts["used"] + counts["after_as_of"] + counts["not_relevant"] + counts["skipped"]


def test_every_fact_read_is_accounted_for_per_file(tmp_path: Path) -> None:
    lines = EXAMPLE_FACTS.read_text(encoding="utf-8").splitlines()
    first = write(tmp_path / "first.jsonl", *lines[:100])
    second = write(tmp_path / "second.jsonl", *lines[100:], "{broken")
    report = check([first, second], AMNIS_RULES, as_of=as_date("2004-06-30"), lenient=True).report
    facts = report["facts"]
    assert list(facts) == ["read", "used", "after_as_of", "not_relevant", "skipped", "per_file"]
    assert facts["read"] == len(lines) + 1
    assert facts["skipped"] == 1
    assert facts["after_as_of"] > 0 and facts["used"] > 0 and facts["not_relevant"] > 0
    assert _adds_up(facts)
    assert list(facts["per_file"]) == [str(first), str(second)]
    for counts in facts["per_file"].values():
        assert _adds_up(counts)
    for name in ("read", "used", "after_as_of", "not_relevant", "skipped"):
        assert facts[name] == sum(counts[name] for counts in facts["per_file"].values())
    assert facts["per_file"][str(first)]["after_as_of"] == 0, "the first hundred lines are all before mid-2004"


def test_the_example_log_is_accounted_for() -> None:
    report = check([EXAMPLE_FACTS], AMNIS_RULES).report
    facts = report["facts"]
    read = sum(1 for line in EXAMPLE_FACTS.read_text(encoding="utf-8").splitlines() if line.strip())
    assert facts["read"] == read
    assert facts["skipped"] == 0
    assert _adds_up(facts)
