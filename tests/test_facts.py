"""Fact logs at the edge: the vocabulary of facts.md accepted, everything else named by file, line and field.

The expected messages are the exact ``FILE:LINE: field: message`` lines a
person fixing the log reads (``covenant check`` prints them and exits 2).
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from covenant.calendar import as_date
from covenant.diagnostics import InputError
from covenant.facts import FactLog, decode_line, load_fact_logs
from covenant.pipeline import check

from .conftest import AMNIS_RULES, AMNIS_VOCABULARY

# One valid line for every fact type of facts.md, in the order of its table; refs point at earlier lines.
VALID_LINES: list[dict[str, object]] = [
    {"id": "c1", "type": "closing", "date": "2003-05-09"},
    {
        "id": "f1",
        "type": "sec_filing",
        "date": "2003-05-12",
        "form": "8-K",
        "period": "2003-05-09",
        "about": "transaction",
        "names_buyers": ["sds"],
        "required_by_law": False,
    },
    {"id": "pr1", "type": "press_release", "date": "2003-05-13", "about": "transaction", "names_buyers": ["alpha"]},
    {"id": "sn1", "type": "stockholder_notice", "date": "2003-05-14"},
    {"id": "d1", "type": "delivery", "date": "2003-05-15", "to": "alpha", "what": "sec_report", "ref": "f1"},
    {"id": "inv1", "type": "invoice", "date": "2003-05-16", "buyer": "sds", "amount": "12500.00"},
    {"id": "pay1", "type": "payment", "date": "2003-05-19", "buyer": "sds", "amount": 12500, "ref": "inv1"},
    {"id": "ip1", "type": "interest_payment", "date": "2003-06-30", "buyer": "alpha", "amount": "5983.56"},
    {"id": "cv1", "type": "conversion", "date": "2003-07-01", "buyer": "alpha", "principal": "50000"},
    {"id": "tr1", "type": "transfer", "date": "2003-07-02", "buyer": "sds", "all": False},
    {"id": "rs1", "type": "reserve", "date": "2003-07-03", "authorized_reserved": 300000000, "issuable": 147857143},
    {"id": "sa1", "type": "stockholder_approval", "date": "2003-07-07"},
    {"id": "ca1", "type": "certificate_of_amendment", "date": "2003-07-08"},
    {"id": "sc1", "type": "sec_comment", "date": "2003-07-09"},
    {"id": "sr1", "type": "sec_response", "date": "2003-07-10", "ref": "sc1"},
    {"id": "re1", "type": "registration_effective", "date": "2003-08-05"},
    {"id": "ss1", "type": "sales_suspended", "date": "2003-11-17", "until": "2003-11-26"},
    {
        "id": "fin1",
        "type": "financing",
        "date": "2003-10-17",
        "ref": "bridge",
        "stage": "negotiation",
        "discount_to_market": False,
        "variable_conversion": False,
        "warrants": True,
    },
    {"id": "con1", "type": "consent", "date": "2003-10-16", "by": ["sds", "alpha"], "clause": "4(e)", "ref": "bridge"},
    {
        "id": "w1",
        "type": "waiver",
        "date": "2004-01-12",
        "by": ["sds"],
        "rule": "reserve-list",
        "trigger": "2003-12-31",
    },
    {"id": "rv1", "type": "reverse_split", "date": "2004-01-13", "ratio": "1:20"},
    {"id": "up1", "type": "use_of_proceeds", "date": "2003-05-14", "purpose": "working_capital", "amount": "400000"},
    {"id": "ls1", "type": "listing", "date": "2004-06-21", "market": "OTCBB", "status": "delisted"},
    {
        "id": "ct1",
        "type": "corporate_transaction",
        "date": "2004-05-24",
        "kind": "merger",
        "successor_assumes": True,
        "successor_listed": True,
    },
    {"id": "op1", "type": "opinion_of_counsel", "date": "2003-10-01", "buyer": "sds"},
    {"id": "oa1", "type": "opinion_accepted", "date": "2003-10-03", "ref": "op1"},
    {"id": "rb1", "type": "representation_breach", "date": "2003-07-14", "clause": "3(i)"},
    {"id": "rc1", "type": "representation_cured", "date": "2003-09-30", "ref": "rb1", "agreement": "amnis-spa-2003"},
]

FACTS_MD_TYPES = {
    "closing",
    "sec_filing",
    "press_release",
    "stockholder_notice",
    "delivery",
    "invoice",
    "payment",
    "interest_payment",
    "conversion",
    "transfer",
    "reserve",
    "stockholder_approval",
    "certificate_of_amendment",
    "sec_comment",
    "sec_response",
    "registration_effective",
    "sales_suspended",
    "financing",
    "consent",
    "waiver",
    "reverse_split",
    "use_of_proceeds",
    "listing",
    "corporate_transaction",
    "opinion_of_counsel",
    "opinion_accepted",
    "representation_breach",
    "representation_cured",
}
"""The 28 types of the table in shared/spec/facts.md."""

CLOSING = '{"id": "c1", "type": "closing", "date": "2003-05-09"}'


def write(tmp_path: Path, lines: list[str], name: str = "log.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check_buyers(log: FactLog, buyers: list[str]) -> None:
    """Every party a fact names must be a Buyer of the agreement, as ``pipeline.agreement_checks`` checks."""
    problems = [p for fact in log.facts for p in AMNIS_VOCABULARY.party_problems(fact, set(buyers), "buyer")]
    if problems:
        raise InputError(problems)


def problems_of(*paths: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_fact_logs(list(paths), AMNIS_VOCABULARY)
    return [p.format() for p in caught.value.problems]


def test_every_type_of_facts_md_has_a_model() -> None:
    assert set(AMNIS_VOCABULARY.models) == FACTS_MD_TYPES
    assert {line["type"] for line in VALID_LINES} == FACTS_MD_TYPES


def test_one_valid_line_of_every_type_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, [json.dumps(line) for line in VALID_LINES])
    log = load_fact_logs([path], AMNIS_VOCABULARY)
    assert [f.id for f in log.facts] == [line["id"] for line in VALID_LINES]
    assert [f.line for f in log.facts] == list(range(1, len(VALID_LINES) + 1))
    assert log.skipped == ()
    assert log.lines_read == {str(path): 28}
    facts = log.by_id()
    # Dates become dates, amounts Decimals (a JSON number too), shares ints, optional fields kept as given.
    assert facts["c1"].date == as_date("2003-05-09")
    assert facts["inv1"].get("amount") == Decimal("12500.00")
    assert facts["pay1"].get("amount") == Decimal("12500")
    assert facts["cv1"].get("principal") == Decimal("50000")
    assert facts["rs1"].get("authorized_reserved") == 300000000
    assert facts["f1"].get("period") == as_date("2003-05-09")
    assert facts["f1"].get("names_buyers") == ["sds"]
    assert facts["ss1"].get("until") == as_date("2003-11-26")
    assert facts["rc1"].agreement == "amnis-spa-2003"
    # Every buyer named above is a party of the Amnis agreement.
    check_buyers(log, ["sds", "alpha", "bristol"])


def test_a_json_number_amount_is_exact(tmp_path: Path) -> None:
    # 0.1 as a binary float is 0.1000000000000000055...; read as Decimal it stays 0.1.
    path = write(
        tmp_path, [CLOSING, '{"id": "i1", "type": "invoice", "date": "2003-06-02", "buyer": "sds", "amount": 0.1}']
    )
    assert load_fact_logs([path], AMNIS_VOCABULARY).by_id()["i1"].get("amount") == Decimal("0.1")


def test_mail_delivery_of_a_reserve_list(tmp_path: Path) -> None:
    line = {"id": "rl1", "type": "delivery", "date": "2003-06-03", "to": "bristol", "what": "reserve_list"}
    path = write(tmp_path, [CLOSING, json.dumps({**line, "period": "2003-05", "method": "mail"})])
    fact = load_fact_logs([path], AMNIS_VOCABULARY).by_id()["rl1"]
    assert (fact.get("period"), fact.get("method")) == ("2003-05", "mail")


def test_offering_notice_refers_to_an_offering(tmp_path: Path) -> None:
    # An offering notice's ref names a financing's offering ref, not a fact id.
    fin = '{"id": "fin1", "type": "financing", "date": "2003-10-17", "ref": "bridge", "stage": "negotiation"}'
    notice = {"type": "delivery", "date": "2003-11-03", "to": "sds", "what": "offering_notice"}
    ok = json.dumps({"id": "n1", **notice, "ref": "bridge"})
    bad = json.dumps({"id": "n2", **notice, "ref": "fin1"})
    log = load_fact_logs([write(tmp_path, [CLOSING, fin, ok])], AMNIS_VOCABULARY)
    assert log.by_id()["n1"].get("ref") == "bridge"
    assert problems_of(write(tmp_path, [CLOSING, fin, bad], "bad.jsonl")) == [
        f"{tmp_path / 'bad.jsonl'}:3: ref: no financing fact has ref 'fin1' (an offering)"
    ]


# --- errors: one line each, exact text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            '{"id": "x1", "type": "closing", "date": "2003-05-09"',
            "2:53: invalid JSON: Expecting ',' delimiter",
            id="invalid-json",
        ),
        pytest.param("[1, 2]", "2: expected a JSON object ({...}) describing one fact", id="not-an-object"),
        pytest.param('"closing"', "2: expected a JSON object ({...}) describing one fact", id="a-string"),
        pytest.param(
            '{"id": "x1", "type": "merger", "date": "2003-05-09"}',
            "2: type: unknown fact type 'merger' "
            "(the types: the rule folder's vocabulary.yaml, or `covenant vocabulary RULES`)",
            id="unknown-type",
        ),
        pytest.param(
            '{"id": "x1", "type": "closing", "date": "2003-05-09", "colour": "red"}',
            "2: colour: unknown field",
            id="unknown-field",
        ),
        pytest.param('{"type": "closing", "date": "2003-05-09"}', "2: id: required field is missing", id="no-id"),
        pytest.param('{"id": "x1", "date": "2003-05-09"}', "2: type: required field is missing", id="no-type"),
        pytest.param('{"id": "x1", "type": "closing"}', "2: date: required field is missing", id="no-date"),
        pytest.param(
            '{"id": "x1", "type": "closing", "date": "2003-02-30"}',
            "2: date: '2003-02-30' is not a calendar date",
            id="february-30",
        ),
        pytest.param(
            '{"id": "x1", "type": "closing", "date": "05/09/2003"}',
            "2: date: expected a date written YYYY-MM-DD",
            id="us-date",
        ),
        pytest.param(
            '{"id": "x1", "type": "closing", "date": 20030509}',
            "2: date: expected a date written YYYY-MM-DD",
            id="date-as-number",
        ),
        pytest.param(
            '{"id": "x1", "type": "invoice", "date": "2003-06-02", "buyer": "sds", "amount": "-5.00"}',
            "2: amount: '-5.00' is negative; amounts are zero or more",
            id="negative-amount",
        ),
        pytest.param(
            '{"id": "x1", "type": "invoice", "date": "2003-06-02", "buyer": "sds", "amount": "lots"}',
            "2: amount: 'lots' is not a decimal amount",
            id="non-numeric-amount",
        ),
        pytest.param(
            '{"id": "x1", "type": "invoice", "date": "2003-06-02", "buyer": "sds", "amount": true}',
            '2: amount: expected an amount: a decimal string such as "1250.00" or a number',
            id="boolean-amount",
        ),
        pytest.param(
            '{"id": "x1", "type": "delivery", "date": "2003-05-15", "what": "sec_report", "ref": "c1"}',
            "2: to: required field is missing",
            id="delivery-without-to",
        ),
        pytest.param(
            '{"id": "x1", "type": "delivery", "date": "2003-05-15", "to": "sds", "what": "memo"}',
            "2: what: expected 'sec_report', 'press_release', 'stockholder_notice', 'reserve_list', "
            "'information_statement', 'offering_notice', 'contact_information', 'form_d_copy', "
            "'exchange_notice' or 'sec_correspondence'",
            id="delivery-unknown-what",
        ),
        pytest.param(
            '{"id": "x1", "type": "payment", "date": "2003-06-02", "buyer": "sds", "amount": "5.00", "ref": "nope"}',
            "2: ref: no fact has id 'nope'",
            id="payment-ref-missing",
        ),
        pytest.param(
            '{"id": "x1", "type": "delivery", "date": "2003-06-02", "to": "sds", "what": "sec_report", "ref": "f9"}',
            "2: ref: no fact has id 'f9'",
            id="delivery-ref-missing",
        ),
        pytest.param(
            '{"id": "x1", "type": "transfer", "date": "2003-06-02", "buyer": "sds", "all": "yes"}',
            "2: all: Input should be a valid boolean",
            id="bool-as-string",
        ),
        pytest.param(
            '{"id": "c1", "type": "closing", "date": "2003-05-10"}',
            "2: id: duplicate id 'c1'; first used at {log}:1",
            id="duplicate-id",
        ),
    ],
)
def test_one_bad_line(tmp_path: Path, line: str, expected: str) -> None:
    path = write(tmp_path, [CLOSING, line])
    assert problems_of(path) == [f"{path}:{expected.replace('{log}', str(path))}"]


def test_duplicate_id_across_files_names_the_first_file(tmp_path: Path) -> None:
    first = write(tmp_path, [CLOSING], "a.jsonl")
    second = write(tmp_path, ['{"id": "x", "type": "sec_comment", "date": "2003-07-09"}', CLOSING], "b.jsonl")
    assert problems_of(first, second) == [f"{second}:2: id: duplicate id 'c1'; first used at {first}:1"]


def test_every_error_of_a_file_is_listed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            CLOSING,
            '{"id": "x1", "type": "merger", "date": "2003-05-09"}',
            '{"id": "x2", "type": "closing", "date": "2003-02-30", "colour": "red"}',
            '{"id": "ok", "type": "sec_comment", "date": "2003-07-09"}',
            '{"id": "x3", "type": "invoice", "date": "2003-06-02", "buyer": "sds", "amount": "-1"}',
            "not json",
            '{"id": "c1", "type": "closing", "date": "2003-05-09"}',
            '{"id": "x4", "type": "sec_response", "date": "2003-07-10", "ref": "sc-missing"}',
        ],
    )
    # Line 3 has two problems; both are listed (sorted by line, then message).
    assert problems_of(path) == [
        f"{path}:2: type: unknown fact type 'merger' "
        "(the types: the rule folder's vocabulary.yaml, or `covenant vocabulary RULES`)",
        f"{path}:3: date: '2003-02-30' is not a calendar date",
        f"{path}:3: colour: unknown field",
        f"{path}:5: amount: '-1' is negative; amounts are zero or more",
        f"{path}:6:1: invalid JSON: Expecting value",
        f"{path}:7: id: duplicate id 'c1'; first used at {path}:1",
        f"{path}:8: ref: no fact has id 'sc-missing'",
    ]


def test_errors_of_several_files_are_all_listed(tmp_path: Path) -> None:
    a = write(tmp_path, [CLOSING, '{"id": "x1", "type": "nope", "date": "2003-05-09"}'], "a.jsonl")
    b = write(tmp_path, ['{"id": "x2", "type": "closing", "date": "2003-13-01"}'], "b.jsonl")
    assert problems_of(a, b) == [
        f"{a}:2: type: unknown fact type 'nope' "
        "(the types: the rule folder's vocabulary.yaml, or `covenant vocabulary RULES`)",
        f"{b}:1: date: '2003-13-01' is not a calendar date",
    ]


def test_a_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "absent.jsonl") == [f"{tmp_path / 'absent.jsonl'}: no such fact log"]


def test_unknown_buyers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            CLOSING,
            '{"id": "i1", "type": "invoice", "date": "2003-06-02", "buyer": "carol", "amount": "5"}',
            '{"id": "d1", "type": "delivery", "date": "2003-06-02", "to": "dave", "what": "sec_report", "ref": "c1"}',
            '{"id": "k1", "type": "consent", "date": "2003-06-02", "by": ["sds", "erin"], "clause": "4(e)"}',
        ],
    )
    log = load_fact_logs([path], AMNIS_VOCABULARY)  # the shape is fine; only the agreement knows its buyers
    with pytest.raises(InputError) as caught:
        check_buyers(log, ["sds", "alpha", "bristol"])
    known = "the agreement's buyers are alpha, bristol, sds"
    assert [p.format() for p in caught.value.problems] == [
        f"{path}:2: buyer: unknown buyer 'carol'; {known}",
        f"{path}:3: to: unknown buyer 'dave'; {known}",
        f"{path}:4: by: unknown buyer 'erin'; {known}",
    ]


def test_unknown_buyer_through_the_pipeline(tmp_path: Path) -> None:
    path = write(
        tmp_path, [CLOSING, '{"id": "i1", "type": "invoice", "date": "2003-06-02", "buyer": "carol", "amount": "5"}']
    )
    with pytest.raises(InputError) as caught:
        check([path], AMNIS_RULES)
    assert [p.format() for p in caught.value.problems] == [
        f"{path}:2: buyer: unknown buyer 'carol'; the agreement's buyers are alpha, bristol, sds"
    ]


# --- what a real export looks like ---------------------------------------------------------------------------------


def test_bom_crlf_and_blank_lines_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    lines = [
        CLOSING,
        "",
        '{"id": "sc1", "type": "sec_comment", "date": "2003-07-09"}',
        "   ",
        '{"id": "sr1", "type": "sec_response", "date": "2003-07-10", "ref": "sc1"}',
        "",
    ]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8"))
    log = load_fact_logs([path], AMNIS_VOCABULARY)
    assert [f.id for f in log.facts] == ["c1", "sc1", "sr1"]
    # Line numbers count the blank lines, so an error message still points at the right line.
    assert [f.line for f in log.facts] == [1, 3, 5]
    assert log.lines_read == {str(path): 3}


def test_line_numbers_survive_bom_and_crlf_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + CLOSING.encode() + b"\r\n\r\n" + b'{"id": "x", "type": "closing"}\r\n')
    assert problems_of(path) == [f"{path}:3: date: required field is missing"]


def test_an_empty_file_gives_a_report_without_obligations(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert load_fact_logs([path], AMNIS_VOCABULARY) == FactLog(facts=(), skipped=(), lines_read={str(path): 0})
    report = check([path], AMNIS_RULES).report
    assert report["agreement"] == "amnis-spa-2003"
    assert report["obligations"] == []
    assert report["as_of"] is None


def test_an_empty_file_with_an_as_of(tmp_path: Path) -> None:
    # Run in a subprocess: the same defect crashes the interpreter in other shapes, and must not kill the test run.
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    command = [sys.executable, "-m", "covenant", "check", str(path), "--rules", str(AMNIS_RULES)]
    done = subprocess.run([*command, "--as-of", "2003-12-31", "--format", "json"], capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")
    report = json.loads(done.stdout)
    assert (report["as_of"], report["obligations"]) == ("2003-12-31", [])


def test_lines_may_come_in_any_order(tmp_path: Path) -> None:
    # The response comes first in the file; evaluation orders by date, so the ref still resolves.
    path = write(
        tmp_path,
        [
            '{"id": "sr1", "type": "sec_response", "date": "2003-07-10", "ref": "sc1"}',
            '{"id": "sc1", "type": "sec_comment", "date": "2003-07-09"}',
            CLOSING,
        ],
    )
    assert [f.id for f in load_fact_logs([path], AMNIS_VOCABULARY).facts] == ["sr1", "sc1", "c1"]


def test_lenient_mode_skips_and_lists_every_bad_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            CLOSING,
            '{"id": "x1", "type": "merger", "date": "2003-05-09"}',
            '{"id": "sc1", "type": "sec_comment", "date": "2003-07-09"}',
            '{"id": "x2", "type": "sec_response", "date": "2003-07-10", "ref": "nothing"}',
        ],
    )
    log = load_fact_logs([path], AMNIS_VOCABULARY, lenient=True)
    assert [f.id for f in log.facts] == ["c1", "sc1"]
    assert [p.format() for p in log.skipped] == [
        f"{path}:2: type: unknown fact type 'merger' "
        "(the types: the rule folder's vocabulary.yaml, or `covenant vocabulary RULES`)",
        f"{path}:4: ref: no fact has id 'nothing'",
    ]


@pytest.mark.parametrize(
    ("lists", "refused"),
    [(7, False), (8, False), (9, True)],
    ids=["7-deep", "8-deep", "9-deep"],
)
def test_nesting_is_checked_at_the_limit_whatever_the_shortcut(lists: int, refused: bool) -> None:
    """The walk is skipped for lines with few brackets; at and past the limit it still decides."""
    line = ('{"id": "c", "type": "closing", "date": "2003-05-09", "note": ' + "[" * lists + "]" * lists + "}").encode()
    value, problem = decode_line(1, line, len(line), "log.jsonl")
    if refused:
        assert problem is not None and problem.message.startswith("nested more than 8 levels deep")
    else:
        assert problem is None and value["note"] is not None


@pytest.mark.parametrize("line", [b'{"\\ud800": 1}', b'{"id": "c", "note": ["\\udfff"]}'], ids=["key", "list-item"])
def test_a_lone_surrogate_escape_is_refused_in_keys_and_lists(line: bytes) -> None:
    _, problem = decode_line(1, line, len(line), "log.jsonl")
    assert problem is not None and "surrogate" in problem.message
