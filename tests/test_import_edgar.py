"""``covenant import edgar``: EDGAR's own files -> facts of the form's vocabulary, on every sample we have.

The samples are real EDGAR files, kept unchanged in tests/data/edgar (their
sources in its README.md). A
page file, an index whose company name overflows, an empty index and a bad
row are made here from them; the round trip runs the facts written through
``covenant check`` with the real rules.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from covenant.cli.main import main
from covenant.importers.formcodes import has_period, respell

from .conftest import AMNIS_RULES, EXAMPLE_FACTS

SAMPLES = Path(__file__).parent / "data" / "edgar"
SUBMISSIONS = SAMPLES / "submissions"
INDEX = SAMPLES / "index"
LEARN_CW = SUBMISSIONS / "CIK0001847577.json"
SOLIDION = SUBMISSIONS / "CIK0001881551.json"
ONE_D = SUBMISSIONS / "CIK0001800903.json"
MASTER_1993 = INDEX / "secedgar__master.1993QTR4.idx"
MASTER_DAILY = INDEX / "secedgar__master.20181231.idx"
FORM_IDX = INDEX / "edgartools__form.2021QTR1-excerpt__badform.idx.txt"
EMPTY_IDX = INDEX / "edgartools__empty-form.2025QTR1.idx"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["import", "edgar", "--rules", str(AMNIS_RULES), *map(str, args)])


def facts_of(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def by_id(facts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {fact["id"]: fact for fact in facts}


# --- form codes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edgar", "fact"),
    [
        ("10QSB", "10-QSB"),
        ("10QSB/A", "10-QSB/A"),
        ("10KSB", "10-KSB"),
        ("10KSB/A", "10-KSB/A"),
        ("10KSB40", "10-KSB"),
        ("REGDEX", "D"),
        ("REGDEX/A", "D/A"),
        ("10-Q", "10-Q"),
        ("NT 10-Q", "NT 10-Q"),
        ("PRER14C", "PRER14C"),
        ("13FCONP", "13FCONP"),
    ],
)
def test_edgar_codes_are_written_as_agreements_spell_them(edgar: str, fact: str) -> None:
    assert respell(edgar) == fact


def test_only_periodic_reports_carry_their_report_date_as_period() -> None:
    assert has_period("10-QSB/A") and has_period("NT 10-K") and has_period("10-K")
    assert not has_period("8-K") and not has_period("4") and not has_period("PRE 14A")


# --- the submissions JSON ----------------------------------------------------------------------------


def test_a_submissions_file_gives_one_fact_per_filing_dated_by_filing_date() -> None:
    result = run(LEARN_CW)
    facts = facts_of(result)
    rows = json.loads(LEARN_CW.read_text(encoding="utf-8"))["filings"]["recent"]
    assert len(facts) == len(set(rows["accessionNumber"])) == 124
    assert [(f["date"], f["id"]) for f in facts] == sorted((f["date"], f["id"]) for f in facts)
    ten_k = by_id(facts)["0001140361-23-018724"]
    # Accepted 2023-04-17T18:24:56.000Z (New York time, after 5:30 pm): filed, and so dated, 2023-04-18.
    assert ten_k == {
        "id": "0001140361-23-018724",
        "type": "sec_filing",
        "date": "2023-04-18",
        "form": "10-K",
        "period": "2022-12-31",
        "note": "Imported from EDGAR (CIK 1847577).",
    }
    eight_k = by_id(facts)["0001140361-24-042587"]
    assert eight_k["form"] == "8-K" and "period" not in eight_k  # an 8-K's reportDate is its event's date
    late = [f for f in facts if f["form"] in ("NT 10-Q", "NT 10-K")]
    assert len(late) == 12 and all("period" in f for f in late)
    assert result.stderr.splitlines()[0] == (
        "covenant import edgar: 124 rows read from 1 file; 124 facts written to standard output"
    )


def test_amendments_and_notices_of_another_filer() -> None:
    facts = facts_of(run(SOLIDION, "--forms", "10-Q/A,10-K/A,NT 10-Q,NT 10-K,D"))
    forms = {f["form"] for f in facts}
    assert forms == {"10-Q/A", "10-K/A", "NT 10-Q", "NT 10-K", "D"}
    assert all("period" in f for f in facts if f["form"] != "D")
    single = facts_of(run(ONE_D))
    assert [(f["form"], f["date"]) for f in single] == [("D", "2020-01-27")]


def split_into_pages(tmp_path: Path, *, overlap: int = 0) -> tuple[Path, Path]:
    """Learn CW's file as EDGAR pages a long history: the newest 50 in the file, the older ones on page 001."""
    document = json.loads(LEARN_CW.read_text(encoding="utf-8"))
    recent = document["filings"]["recent"]
    newest = {name: values[:50] for name, values in recent.items()}
    older = {name: values[50 - overlap :] for name, values in recent.items()}
    page_name = "CIK0001847577-submissions-001.json"
    document["filings"] = {
        "recent": newest,
        "files": [{"name": page_name, "filingCount": len(older["form"]), "filingFrom": "", "filingTo": ""}],
    }
    main_file = tmp_path / "CIK0001847577.json"
    main_file.write_text(json.dumps(document), encoding="utf-8")
    page = tmp_path / page_name
    page.write_text(json.dumps(older), encoding="utf-8")
    return main_file, page


def test_older_pages_are_joined_and_their_rows_kept_once(tmp_path: Path) -> None:
    whole = run(LEARN_CW).stdout
    main_file, page = split_into_pages(tmp_path, overlap=5)
    given = run(main_file, page)
    assert given.stdout == whole
    assert "124 facts written" in given.stderr and "(1 older page)" in given.stderr
    assert "skipped 5: listed more than once (same accession number)" in given.stderr
    beside = run(main_file)  # the page the file names is read from beside it
    assert beside.stdout == whole
    reversed_order = run(page, main_file)
    assert reversed_order.stdout == whole


def test_a_missing_page_is_said_not_silently_dropped(tmp_path: Path) -> None:
    main_file, page = split_into_pages(tmp_path)
    page.unlink()
    result = run(main_file)
    assert len(facts_of(result)) == 50
    assert f"not found: {page} (named by the submissions file)" in result.stderr


# --- the full-index files ----------------------------------------------------------------------------


def test_a_quarterly_master_index() -> None:
    result = run(MASTER_1993)
    facts = by_id(facts_of(result))
    assert len(facts) == 19  # 20 rows: a Schedule 13D/A listed under its filer and its subject
    assert facts["9999999997-02-056978"]["form"] == "D"  # REGDEX: a paper Form D
    assert facts["9999999997-02-056978"]["date"] == "1993-12-30"
    assert facts["0000060512-94-000007"] == {
        "id": "0000060512-94-000007",
        "type": "sec_filing",
        "date": "1993-11-10",
        "form": "10-Q",
        "note": "Imported from EDGAR (CIK 60512).",
    }
    assert "skipped 1: listed more than once (same accession number)" in result.stderr
    assert "written as EDGAR spells them: 11-KT (1), 13F-HR (1), 13FCONP (2), NT-NSAR (1)" in result.stderr


def test_a_daily_master_index_with_compact_dates() -> None:
    facts = facts_of(run(MASTER_DAILY))
    assert len(facts) == 10 and {f["date"] for f in facts} == {"2018-12-31"}
    assert by_id(facts)["0001144204-18-066755"]["form"] == "8-K"


def test_a_form_index_whose_company_name_runs_into_the_cik_column() -> None:
    facts = by_id(facts_of(run(FORM_IDX)))
    assert facts["9999999997-21-003146"] == {
        "id": "9999999997-21-003146",
        "type": "sec_filing",
        "date": "2021-02-24",
        "form": "X-17A-5",
        "note": "Imported from EDGAR (CIK 820694).",
    }
    assert len(facts) == 9  # 1-A and 1-A POS of one accession number are one filing


def test_an_empty_index_writes_nothing_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = run(EMPTY_IDX, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == b""
    assert result.stderr == f"covenant import edgar: 0 rows read from 1 file; 0 facts written to {out}\n"


def test_a_daily_form_index_with_a_shorter_header(tmp_path: Path) -> None:
    lines = FORM_IDX.read_text(encoding="utf-8").splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("Form Type"))
    daily = tmp_path / "form.20210224.idx"
    daily.write_text("Description: Daily Index\n\n" + "\n".join(lines[start:]) + "\n", encoding="utf-8")
    assert run(daily).stdout == run(FORM_IDX).stdout


# --- choosing and skipping ---------------------------------------------------------------------------


def test_from_to_forms_cik_and_agreement(tmp_path: Path) -> None:
    result = run(
        MASTER_1993, "--from", "1993-11-01", "--to", "1993-11-30", "--forms", "10-Q,10QSB", "--cik", "60512",
        "--agreement", "amnis-spa-2003",
    )  # fmt: skip
    facts = facts_of(result)
    assert [(f["id"], f["agreement"]) for f in facts] == [("0000060512-94-000007", "amnis-spa-2003")]
    assert "another company (--cik)" in result.stderr


def test_importing_twice_or_beside_a_hand_kept_log_records_each_filing_once(tmp_path: Path) -> None:
    first = tmp_path / "edgar.jsonl"
    assert run(LEARN_CW, "-o", first).exit_code == 0
    again = run(LEARN_CW, "--existing", first)
    assert facts_of(again) == []
    assert "skipped 124: already recorded (a fact with the same accession number as its id)" in again.stderr
    # A hand-kept log records the 10-Q for 2023-09-30 filed 2023-12-01 under its own id.
    kept = tmp_path / "kept.jsonl"
    kept.write_text(
        '{"id": "10q-2023q3", "type": "sec_filing", "date": "2023-12-01", "form": "10-Q", "period": "2023-09-30"}\n',
        encoding="utf-8",
    )
    beside = run(LEARN_CW, "--existing", kept)
    ids = {f["id"] for f in facts_of(beside)}
    assert len(ids) == 123 and "0001140361-23-055764" not in ids
    assert "skipped 1: already recorded (the same form, period and date)" in beside.stderr


def test_the_same_input_gives_the_same_bytes(tmp_path: Path) -> None:
    outputs = []
    for number in range(2):
        out = tmp_path / f"{number}.jsonl"
        assert run(SOLIDION, MASTER_1993, FORM_IDX, "-o", out).exit_code == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0].endswith(b"\n")


# --- bad input ---------------------------------------------------------------------------------------


def test_a_malformed_index_row_is_named_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "master.idx"
    text = MASTER_1993.read_text(encoding="utf-8").replace("11860|BETHLEHEM", "11860|BETHLEHEM|EXTRA", 1)
    text = text.replace("|1993-12-22|edgar/data/17206", "|1993-13-22|edgar/data/17206", 1)
    bad.write_text(text, encoding="utf-8")
    result = run(bad)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{bad}:13: expected CIK|Company Name|Form Type|Date Filed|Filename, found 6 fields",
        f"{bad}:14: the date filed is not YYYY-MM-DD or YYYYMMDD: '1993-13-22'",
    ]
    assert result.stdout == ""


def test_files_that_are_not_edgar_files_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "CIK0000000001.json"
    broken.write_text('{"cik": "1", "filings": {"recent": {"accessionNumber": ["x"]', encoding="utf-8")
    result = run(broken)
    assert result.exit_code == 2 and result.stderr.startswith(f"{broken}:1:")
    uneven = tmp_path / "CIK0000000002.json"
    uneven.write_text(
        json.dumps({"cik": "2", "filings": {"recent": {"accessionNumber": ["0000000002-03-000001"], "filingDate": [],
                                                       "form": ["8-K"]}}}),
        encoding="utf-8",
    )  # fmt: skip
    result = run(uneven)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{uneven}:1: filings.recent: the arrays differ in length: accessionNumber 1, filingDate 0, form 1\n"
    )
    text = tmp_path / "notes.txt"
    text.write_text("a list of filings\n", encoding="utf-8")
    result = run(text)
    assert result.exit_code == 2 and "no line of dashes" in result.stderr


def test_a_form_without_an_edgar_import_is_told_how_to_declare_one(tmp_path: Path) -> None:
    folder = tmp_path / "form"
    folder.mkdir()
    vocabulary = (AMNIS_RULES / "vocabulary.yaml").read_text(encoding="utf-8").split("\nimports:")[0]
    (folder / "vocabulary.yaml").write_text(vocabulary, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "edgar", "--rules", str(folder), str(ONE_D)])
    assert result.exit_code == 2
    assert "declares no edgar import" in result.stderr


def test_the_output_is_never_an_input(tmp_path: Path) -> None:
    kept = tmp_path / "kept.jsonl"
    kept.write_text("", encoding="utf-8")
    result = run(ONE_D, "--existing", kept, "-o", kept)
    assert result.exit_code == 2


# --- round trip: import -> check ---------------------------------------------------------------------

PERIODIC = {"10-QSB", "10-QSB/A", "10-KSB", "NT 10-K"}


def test_imported_filings_are_read_by_check_as_the_hand_kept_ones(tmp_path: Path) -> None:
    """The example log's periodic reports, as EDGAR would list them (10QSB, 10KSB): 4(c) finds the same."""
    kept, periodic = [], []
    for line in EXAMPLE_FACTS.read_text(encoding="utf-8").splitlines():
        fact = json.loads(line)
        is_periodic = fact["type"] == "sec_filing" and fact["form"] in PERIODIC
        (periodic if is_periodic else kept).append(fact)
    assert len(periodic) == 10
    edgar_spelling = {"10-QSB": "10QSB", "10-QSB/A": "10QSB/A", "10-KSB": "10KSB", "NT 10-K": "NT 10-K"}
    recent = {
        "accessionNumber": [f"0001069389-0{f['date'][3]}-{n:06d}" for n, f in enumerate(periodic, 1)],
        "filingDate": [f["date"] for f in periodic],
        "reportDate": [f["period"] for f in periodic],
        "acceptanceDateTime": [f"{f['date']}T16:00:00.000Z" for f in periodic],
        "form": [edgar_spelling[f["form"]] for f in periodic],
    }
    submissions = tmp_path / "CIK0001069389.json"
    submissions.write_text(json.dumps({"cik": "0001069389", "filings": {"recent": recent, "files": []}}), "utf-8")
    accession = dict(zip((f["id"] for f in periodic), recent["accessionNumber"], strict=True))
    for fact in kept:  # the deliveries of each report name it, now by its accession number
        if fact.get("ref") in accession:
            fact["ref"] = accession[fact["ref"]]
    kept_log = tmp_path / "kept.jsonl"
    kept_log.write_text("".join(json.dumps(f) + "\n" for f in kept), encoding="utf-8")
    imported = tmp_path / "edgar.jsonl"
    result = run(submissions, "--existing", kept_log, "-o", imported)
    assert result.exit_code == 0, result.stderr
    assert "10 facts written" in result.stderr

    def sec_reports(*logs: Path) -> list[tuple[Any, ...]]:
        done = CliRunner().invoke(
            main, ["check", *map(str, logs), "--rules", str(AMNIS_RULES), "--format", "json", "--as-of", "2004-12-31"]
        )
        assert done.exit_code == 0, done.stderr
        return [
            (o["trigger"], o["status"], o["due"], o["breach_start"], o["cured_on"], o["days_in_breach"])
            for o in json.loads(done.stdout)["obligations"]
            if o["rule"] == "timely-sec-reports"
        ]

    expected = sec_reports(EXAMPLE_FACTS)
    assert sec_reports(kept_log, imported) == expected
    without = [f for f in kept if f.get("ref") not in accession.values()]
    kept_log.write_text("".join(json.dumps(f) + "\n" for f in without), encoding="utf-8")
    assert sec_reports(kept_log) != expected  # without the imported filings every report is missing


def test_without_rules_the_only_form_under_rules_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(AMNIS_RULES, tmp_path / "rules" / "amnis-spa-2003")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["import", "edgar", str(ONE_D)])
    assert [f["form"] for f in facts_of(result)] == ["D"]
    shutil.copytree(AMNIS_RULES, tmp_path / "rules" / "another-form")
    result = CliRunner().invoke(main, ["import", "edgar", str(ONE_D)])
    assert result.exit_code == 2
    assert "give --rules DIR, the form whose vocabulary.yaml declares imports (2 forms in rules/)" in result.stderr
