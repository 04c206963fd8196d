"""Portfolios: the portfolio file, routing facts by agreement, one report for all, no ceiling on size.

Everything runs on the real Amnis rule folder and the real example log,
copied into portfolios of several agreements with their own terms.
"""

from __future__ import annotations

import io
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from covenant.calendar import as_date
from covenant.cli.exits import Refused
from covenant.cli.main import main
from covenant.cli.portfolio import run_portfolio
from covenant.diagnostics import InputError
from covenant.engine.core import MAX_SESSIONS_PER_RULESET, EngineError, EnginePool, Ruleset, fnv1a_32
from covenant.law.driver import FormEvaluator
from covenant.pipeline import check
from covenant.portfolio.backends import LocalPool
from covenant.portfolio.file import load_portfolio, merge_terms
from covenant.portfolio.run import evaluate_portfolio, write_report
from covenant.portfolio.work import indent_json
from covenant.report.build import render_json

from .conftest import AMNIS_RULES, EXAMPLE_FACTS

EXAMPLE = [json.loads(line) for line in EXAMPLE_FACTS.read_text(encoding="utf-8").splitlines() if line.strip()]

PORTFOLIO_YAML = f"""\
portfolio: fund-iii
agreements:
  - id: amnis-b
    rules: {AMNIS_RULES}
    terms:
      title: Securities Purchase Agreement, Amnis Systems Inc. (second tranche)
      buyers:
        - {{id: sds, name: "SDS Merchant Fund, LP", principal: "250000.00"}}
        - {{id: alpha, name: Alpha Capital Aktiengesellschaft, principal: "700000.00"}}
        - {{id: bristol, name: "Bristol Investment Fund, Ltd.", principal: "150000.00"}}
      calendar:
        mail_delay_days: 3
  - id: amnis-a
    rules: {AMNIS_RULES}
  - id: amnis-idle
    rules: {AMNIS_RULES}
"""


def write_facts(path: Path, agreements: list[str], records: list[dict[str, Any]] = EXAMPLE) -> Path:
    """The example log once per agreement, interleaved by date the way a nightly feed would be."""
    lines = []
    for number, record in enumerate(records):
        for agreement in agreements:
            lines.append((record["date"], number, json.dumps({**record, "agreement": agreement})))
    path.write_text("".join(line + "\n" for _, _, line in sorted(lines)), encoding="utf-8")
    return path


@pytest.fixture
def fund(tmp_path: Path) -> tuple[Path, Path]:
    portfolio = tmp_path / "fund.yaml"
    portfolio.write_text(PORTFOLIO_YAML, encoding="utf-8")
    return portfolio, write_facts(tmp_path / "feed.jsonl", ["amnis-a", "amnis-b"])


def problems_of(error: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [p.format() for p in error.value.problems]


# --- the portfolio file ---------------------------------------------------------------------------------------------
def test_terms_override_the_form_and_members_are_sorted(fund: tuple[Path, Path]) -> None:
    spec = load_portfolio(fund[0])
    assert spec.name == "fund-iii"
    assert [m.id for m in spec.members] == ["amnis-a", "amnis-b", "amnis-idle"]
    a, b, _ = spec.members
    assert a.agreement.id == "amnis-a"
    assert a.agreement.buyers[0].principal == Decimal("500000.00")  # the form's agreement.yaml
    assert b.agreement.id == "amnis-b"
    assert {x.id: x.principal for x in b.agreement.buyers}["alpha"] == Decimal("700000.00")
    assert b.agreement.calendar.mail_delay_days == 3
    assert b.agreement.calendar.roll == a.agreement.calendar.roll  # a mapping merges key by key
    assert b.agreement.debentures == a.agreement.debentures


def test_merge_terms_replaces_lists_and_merges_mappings() -> None:
    base = {"a": {"x": 1, "y": 2}, "l": [1, 2], "s": "old"}
    assert merge_terms(base, {"a": {"y": 3}, "l": [9], "s": "new"}) == {"a": {"x": 1, "y": 3}, "l": [9], "s": "new"}
    assert base == {"a": {"x": 1, "y": 2}, "l": [1, 2], "s": "old"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "agreements:\n  - id: x\n    rules: {rules}\n    terms:\n      buyers:\n"
            "        - {{id: sds, name: S, principal: lots}}\n",
            ":6:30: agreements.0.terms.buyers.0.principal: Input should be a valid decimal",
        ),
        (
            "agreements:\n  - id: x\n    rules: {rules}\n    terms:\n      colour: red\n",
            ":5:7: agreements.0.terms.colour: unknown key",
        ),
        (
            "agreements:\n  - id: x\n    rules: {rules}\n  - id: x\n    rules: {rules}\n",
            ":4:5: id: agreement 'x' is listed twice",
        ),
        ("agreements:\n  - id: x\n    rules: nowhere\n", ":3:5: rules: no rule folder with agreement.yaml"),
        ("agreements:\n  - id: Bad Id\n    rules: {rules}\n", ":2:5: agreements.0.id: String should match pattern"),
        ("agreements: []\n", ":1:1: agreements: the portfolio lists no agreement"),
        ("include: [nowhere.yaml]\n", ":1:11: include.0: no such file"),
        ("agreements:\n  - id: x\n    rules: {rules}\n    terms: {{id: y}}\n", ":4:13: terms.id:"),
    ],
)
def test_portfolio_file_problems_name_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text.format(rules=AMNIS_RULES), encoding="utf-8")
    with pytest.raises(InputError) as error:
        load_portfolio(path)
    messages = problems_of(error)
    assert any(m.startswith(str(path)) and expected in m for m in messages), messages


def test_a_portfolio_of_several_files(tmp_path: Path) -> None:
    """A portfolio too big for one file (rule-file YAML stops at 1 MB) lists the others in ``include``."""
    parts = tmp_path / "parts"
    parts.mkdir()
    main_file, one, two = tmp_path / "main.yaml", parts / "one.yaml", parts / "two.yaml"
    main_file.write_text(
        f"include: [parts/one.yaml, parts/two.yaml]\nagreements:\n  - {{id: z, rules: {AMNIS_RULES}}}\n"
    )
    one.write_text(
        f"agreements:\n  - {{id: b, rules: {os.path.relpath(AMNIS_RULES, parts)}}}\n"
    )  # relative to one.yaml
    two.write_text(f"agreements:\n  - {{id: a, rules: {AMNIS_RULES}}}\n  - {{id: y, rules: x}}\n")
    with pytest.raises(InputError) as error:
        load_portfolio(main_file)
    assert problems_of(error) == [f"{two}:3:13: rules: no rule folder with agreement.yaml at {parts / 'x'}"]
    two.write_text(f"agreements:\n  - {{id: a, rules: {AMNIS_RULES}}}\n  - {{id: z, rules: {AMNIS_RULES}}}\n")
    with pytest.raises(InputError) as error:
        load_portfolio(main_file)
    assert problems_of(error) == [f"{two}:3:6: id: agreement 'z' is listed twice (first at {main_file}:3)"]
    two.write_text(f"agreements:\n  - {{id: a, rules: {AMNIS_RULES}}}\n")
    spec = load_portfolio(main_file)
    assert spec.name == "main"
    assert [m.id for m in spec.members] == ["a", "b", "z"]
    assert {m.rules for m in spec.members} == {AMNIS_RULES.resolve()}


# --- routing facts --------------------------------------------------------------------------------------------------
def test_fact_for_an_unknown_agreement_is_an_input_error(fund: tuple[Path, Path], tmp_path: Path) -> None:
    portfolio, feed = fund
    lines = feed.read_text().splitlines()
    lines[2] = (
        lines[2]
        .replace('"agreement": "amnis-a"', '"agreement": "amnis-z"')
        .replace('"agreement": "amnis-b"', '"agreement": "amnis-z"')
    )
    lines.insert(5, json.dumps({"id": "stray", "type": "closing", "date": "2003-05-09"}))
    feed.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["portfolio", str(portfolio), str(feed)])
    assert result.exit_code == 2
    assert f"{feed}:3: agreement: unknown agreement 'amnis-z'; the portfolio 'fund-iii' lists amnis-a" in result.stderr
    assert f"{feed}:6: agreement: required: the portfolio 'fund-iii' has 3 agreements" in result.stderr
    assert result.stdout == ""


def test_buyers_and_ids_are_checked_per_agreement(tmp_path: Path) -> None:
    portfolio = tmp_path / "p.yaml"
    portfolio.write_text(
        f"agreements:\n  - id: one\n    rules: {AMNIS_RULES}\n  - id: two\n    rules: {AMNIS_RULES}\n"
        "    terms:\n      buyers: [{id: zeta, name: Zeta Fund, principal: '100000'}]\n"
    )
    feed = tmp_path / "f.jsonl"
    records = [
        {"id": "closing", "type": "closing", "date": "2003-05-09", "agreement": "one"},
        {"id": "closing", "type": "closing", "date": "2003-05-09", "agreement": "two"},  # same id, other agreement
        {"id": "d1", "type": "delivery", "date": "2003-05-09", "to": "zeta", "what": "contact_information",
         "agreement": "two"},
        {"id": "d1", "type": "delivery", "date": "2003-05-09", "to": "zeta", "what": "contact_information",
         "agreement": "one"},
        {"id": "d1", "type": "delivery", "date": "2003-05-10", "to": "zeta", "what": "contact_information",
         "agreement": "two"},
        {"id": "p1", "type": "payment", "date": "2003-05-10", "buyer": "zeta", "amount": "1", "ref": "nothing",
         "agreement": "two"},
    ]  # fmt: skip
    feed.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(InputError) as error:
        evaluate_portfolio(portfolio, [feed])
    messages = problems_of(error)
    assert messages == [
        f"{feed}:4: to: unknown buyer 'zeta'; the agreement's buyers are alpha, bristol, sds",
        f"{feed}:5: id: duplicate id 'd1'; first used at {feed}:3",
        f"{feed}:6: ref: no fact has id 'nothing'",
    ]


def test_single_agreement_portfolio_takes_facts_without_agreement(tmp_path: Path) -> None:
    portfolio = tmp_path / "one.yaml"
    portfolio.write_text(f"agreements:\n  - id: amnis-spa-2003\n    rules: {AMNIS_RULES}\n")
    report = evaluate_portfolio(portfolio, [EXAMPLE_FACTS])
    single = check([EXAMPLE_FACTS], AMNIS_RULES).report
    assert report["portfolio"] == "one"
    assert report["agreements"] == [single]


def test_lenient_mode_skips_lines_it_cannot_route(fund: tuple[Path, Path]) -> None:
    portfolio, feed = fund
    with feed.open("a") as stream:
        stream.write('{"id": "x", "type": "closing", "date": "2003-05-09", "agreement": "nobody"}\n')
        stream.write("not json\n")
    buffer = io.StringIO()
    outcome = write_report(portfolio, [feed], buffer, lenient=True)
    lines = 2 * len(EXAMPLE)
    assert [p.line for p in outcome.skipped] == [lines + 1, lines + 2]
    report = json.loads(buffer.getvalue())
    assert report["skipped"][0].endswith("agreement: unknown agreement 'nobody'; the portfolio 'fund-iii' lists "
                                         "amnis-a, amnis-b, amnis-idle")  # fmt: skip


# --- one report for all ---------------------------------------------------------------------------------------------
def test_each_agreement_reported_as_check_reports_it_alone(fund: tuple[Path, Path], tmp_path: Path) -> None:
    portfolio, feed = fund
    report = evaluate_portfolio(portfolio, [feed])
    assert list(report) == ["portfolio", "as_of", "agreements", "totals", "facts"]
    assert report["as_of"] == "2004-12-31"
    a, b, idle = report["agreements"]
    single = check([EXAMPLE_FACTS], AMNIS_RULES).report
    for name in ("as_of", "obligations", "summary"):
        assert a[name] == single[name]
    assert a["agreement"] == "amnis-a"
    assert a["facts"]["per_file"] == {str(feed): single["facts"]["per_file"][str(EXAMPLE_FACTS)]}
    # amnis-b's own terms: alpha holds 70% of the principal, mail takes three days
    assert b["agreement"] == "amnis-b"
    assert b["summary"]["totals"] != a["summary"]["totals"]
    assert idle["agreement"] == "amnis-idle" and idle["obligations"] == [] and idle["facts"]["read"] == 0


def test_totals_add_up_per_agreement_and_per_buyer(fund: tuple[Path, Path]) -> None:
    report = evaluate_portfolio(*fund[:1], [fund[1]])
    totals = report["totals"]
    per_buyer: dict[str, Decimal] = {}
    grand = Decimal(0)
    for agreement in report["agreements"]:
        own = Decimal(0)
        for kind, amounts in agreement["summary"]["totals"].items():
            assert totals["agreements"][agreement["agreement"]][kind] == amounts["total"]
            own += Decimal(amounts["total"])
            for buyer, amount in amounts.items():
                if buyer != "total":
                    per_buyer[buyer] = per_buyer.get(buyer, Decimal(0)) + Decimal(amount)
        assert Decimal(totals["agreements"][agreement["agreement"]]["total"]) == own
        grand += own
    assert {b: Decimal(v["total"]) for b, v in totals["buyers"].items()} == per_buyer
    assert Decimal(totals["portfolio"]["total"]) == grand > 0
    assert totals["agreements"]["amnis-idle"] == {"total": "0.00"}
    breached = sum(a["summary"]["statuses"]["breached"] for a in report["agreements"])
    assert totals["statuses"]["breached"] == breached > 0


def test_streamed_json_is_render_json_of_the_report(fund: tuple[Path, Path]) -> None:
    buffer = io.StringIO()
    write_report(fund[0], [fund[1]], buffer)
    assert render_json(json.loads(buffer.getvalue())) == buffer.getvalue()


def test_indent_json_writes_what_json_writes_at_any_depth() -> None:
    value = {"text": 'é\u2028\x7f\x00\x1f"\\/\t<>&', "none": None, "empty": [], "map": {}, "n": 10**12, "no": False}
    for depth in (0, 2):
        assert indent_json(value, depth) == json.dumps(value, indent=2, ensure_ascii=False).replace(
            "\n", "\n" + "  " * depth
        )
    assert indent_json({"big": 10**30}, 1) == '{\n    "big": ' + str(10**30) + "\n  }"  # past orjson's 64 bits


def test_command_writes_json_and_text_and_fails_on_breach(fund: tuple[Path, Path], tmp_path: Path) -> None:
    portfolio, feed = fund
    out = tmp_path / "report.json"
    runner = CliRunner()
    result = runner.invoke(main, ["portfolio", str(portfolio), str(feed), "--output", str(out), "--fail-on", "breach"])
    assert result.exit_code == 1, result.stderr
    assert json.loads(out.read_text())["totals"]["statuses"]["breached"] > 0
    stdout = runner.invoke(main, ["portfolio", str(portfolio), str(feed), "--as-of", "2003-06-30"])
    assert stdout.exit_code == 0
    assert json.loads(stdout.stdout)["as_of"] == "2003-06-30"
    text = runner.invoke(main, ["portfolio", str(portfolio), str(feed), "--format", "text", "--no-color"])
    assert text.exit_code == 0
    assert "Portfolio fund-iii as of 2004-12-31: 3 agreements" in text.stdout
    assert "Totals per Buyer" in text.stdout


# --- no ceiling -----------------------------------------------------------------------------------------------------
SMALL_AGREEMENTS = 3_000


def test_three_thousand_agreements_past_the_engines_1024_sessions(tmp_path: Path) -> None:
    """Each agreement: a Closing, its contact list to one Buyer on time, to another late, to the third never.

    Two worker processes take about 1,500 agreements each, one after the
    other on one compiled ruleset: each well past the core's 1,024 sessions.
    """
    buyers = ("sds", "alpha", "bristol")
    entries = []
    lines = []
    for number in range(SMALL_AGREEMENTS):
        agreement = f"ag-{number:04d}"
        entries.append(f"  - id: {agreement}\n    rules: {AMNIS_RULES}\n")
        on_time, late = buyers[number % 3], buyers[(number + 1) % 3]
        for record in (
            {"id": "closing", "type": "closing", "date": "2003-05-09"},
            {"id": "c1", "type": "delivery", "date": "2003-05-09", "to": on_time, "what": "contact_information"},
            {"id": "c2", "type": "delivery", "date": "2003-05-12", "to": late, "what": "contact_information"},
        ):
            lines.append(json.dumps({**record, "agreement": agreement}))
    portfolio = tmp_path / "many.yaml"
    portfolio.write_text("agreements:\n" + "".join(entries))
    feed = tmp_path / "many.jsonl"
    feed.write_text("\n".join(lines) + "\n")
    with LocalPool(2) as pool:
        report = evaluate_portfolio(portfolio, [feed], as_of=as_date("2003-05-12"), backend=pool)
    assert len(report["agreements"]) == SMALL_AGREEMENTS > 2 * MAX_SESSIONS_PER_RULESET
    for number in (0, 1, 1023, 1024, 1025, 2048, 2999):
        agreement = report["agreements"][number]
        assert agreement["agreement"] == f"ag-{number:04d}"
        contact = {o["beneficiary"]: o for o in agreement["obligations"] if o["rule"] == "contact-information"}
        on_time, late, never = buyers[number % 3], buyers[(number + 1) % 3], buyers[(number + 2) % 3]
        assert contact[on_time]["status"] == "fulfilled"
        assert (contact[late]["status"], contact[late]["cured_on"], contact[late]["days_in_breach"]) == (
            "cured",
            "2003-05-12",
            3,
        )
        assert (contact[never]["status"], contact[never]["breach_start"]) == ("breached", "2003-05-10")
    assert report["totals"]["statuses"]["cured"] >= SMALL_AGREEMENTS


def test_one_process_reuses_its_sessions(tmp_path: Path, amnis: FormEvaluator) -> None:
    """In this process too, every agreement's session is closed when its evaluation ends."""
    portfolio = tmp_path / "p.yaml"
    portfolio.write_text("agreements:\n" + "".join(f"  - id: ag-{n}\n    rules: {AMNIS_RULES}\n" for n in range(5)))
    feed = tmp_path / "f.jsonl"
    feed.write_text(
        "".join(
            json.dumps({"id": "c", "type": "closing", "date": "2003-05-09", "agreement": f"ag-{n}"}) + "\n"
            for n in range(5)
        )
    )
    evaluate_portfolio(portfolio, [feed])
    assert all(ruleset.session_count == 0 for ruleset in amnis.pool._rulesets)


def _count_rule(name: str) -> tuple[Ruleset, list[str]]:
    fired: list[str] = []
    definition = {"seen": {"all": [{"m": {"t": "x"}}]}}
    return Ruleset(name, definition, {"seen": lambda sid, patterns: fired.append(sid)}), fired


def test_closing_a_session_frees_its_slot_in_the_c_core() -> None:
    """close_session calls the core's delete_state: 3 x 1,024 sessions, one after another, on one ruleset."""
    ruleset, fired = _count_rule("portfolio-test-reuse")
    for number in range(3 * MAX_SESSIONS_PER_RULESET):
        sid = f"s{number}"
        ruleset.open_session(sid)
        assert ruleset.assert_fact(sid, {"t": "x"})
        ruleset.close_session(sid)
    assert len(fired) == 3 * MAX_SESSIONS_PER_RULESET
    assert ruleset.session_count == 0


def test_engine_pool_opens_another_copy_when_1024_sessions_are_open() -> None:
    fired: list[str] = []
    pool = EnginePool(
        "portfolio-test-pool", {"seen": {"all": [{"m": {"t": "x"}}]}}, {"seen": lambda s, p: fired.append(s)}
    )
    homes = {}
    for number in range(MAX_SESSIONS_PER_RULESET + 5):
        sid = f"open-{number}"
        homes[sid] = pool.session(sid)
        assert homes[sid].assert_fact(sid, {"t": "x"})
    assert len({id(r) for r in homes.values()}) == 2
    assert homes["open-0"] is not homes[f"open-{MAX_SESSIONS_PER_RULESET}"]
    assert len(fired) == MAX_SESSIONS_PER_RULESET + 5
    for sid, ruleset in homes.items():
        ruleset.close_session(sid)
        pool.forget(sid)


def test_run_portfolio_is_the_command_as_a_function(fund: tuple[Path, Path], tmp_path: Path) -> None:
    """What ``covenant check --portfolio`` calls: the exit status, and a format it cannot write refused.

    A refusal is raised for the command group to print and turn into exit 2
    (``cli.exits``), as every command's is; the CLI's exit 2 is tested below.
    """
    out = tmp_path / "r.json"
    assert run_portfolio(fund[0], [fund[1]], output=out, fail_on="breach") == 1
    assert json.loads(out.read_text())["portfolio"] == "fund-iii"
    with pytest.raises(Refused, match="not available for a portfolio"):
        run_portfolio(fund[0], [fund[1]], output=tmp_path / "r.ics", output_format="ics")
    assert not (tmp_path / "r.ics").exists()
    page = CliRunner().invoke(main, ["check", str(fund[1]), "--portfolio", str(fund[0]), "--format", "html"])
    assert page.exit_code == 0, page.output
    assert page.stdout.startswith("<!DOCTYPE html>") and "fund-iii" in page.stdout


COLLIDING_SIDS = ("agreement-50609", "agreement-108016")
"""Two agreement ids with the same 32-bit FNV-1a hash: the core would give them one working memory."""


def test_a_ruleset_refuses_a_second_open_session_with_the_same_hash() -> None:
    first, second = COLLIDING_SIDS
    assert fnv1a_32(first) == fnv1a_32(second)
    ruleset, fired = _count_rule("portfolio-test-collision")
    ruleset.open_session(first)
    assert not ruleset.can_open(second)
    with pytest.raises(EngineError, match="same engine hash"):
        ruleset.open_session(second)
    ruleset.close_session(first)
    ruleset.open_session(second)  # once the first is closed, the hash is free again
    assert ruleset.assert_fact(second, {"t": "x"})
    ruleset.close_session(second)
    assert fired == [second]


def test_engine_pool_keeps_sessions_with_the_same_hash_apart() -> None:
    """Open side by side, the two colliding agreements get separate copies and see only their own facts."""
    fired: list[tuple[str, str]] = []
    pool = EnginePool(
        "portfolio-test-pool-collision",
        {"seen": {"all": [{"m": {"t": "x"}}]}},
        {"seen": lambda sid, patterns: fired.append((sid, patterns["m"]["n"]))},
    )
    first, second = COLLIDING_SIDS
    homes = {sid: pool.session(sid) for sid in COLLIDING_SIDS}
    assert homes[first] is not homes[second]
    homes[first].assert_fact(first, {"t": "x", "n": "one"})
    homes[second].assert_fact(second, {"t": "x", "n": "two"})
    assert fired == [(first, "one"), (second, "two")]
    for sid, ruleset in homes.items():
        ruleset.close_session(sid)
        pool.forget(sid)
