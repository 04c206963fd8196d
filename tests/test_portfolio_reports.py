"""A portfolio report a fund reads: every format, changes and deadlines across agreements (issue 18).

Real runs of the shipped form over the example history copied into
agreements with their own terms (``test_portfolio``'s fund). Each format
must be the single-agreement renderer's output for each agreement, put
together with the portfolio's totals, so the tests compare the pieces
with what the single renderers write for the same report.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from covenant.cli.main import main
from covenant.portfolio.agenda import portfolio_agenda
from covenant.portfolio.overview import overview
from covenant.portfolio.pieces import demoted, render_piece
from covenant.portfolio.run import evaluate_portfolio, write_report
from covenant.report.changes import diff
from covenant.report.render.common import RemedyWords
from covenant.report.render.markdown import render_markdown
from covenant.report.render.spreadsheet import render_csv

from .conftest import AMNIS_RULES, EXAMPLE_FACTS, ROOT
from .test_portfolio import PORTFOLIO_YAML, write_facts

AS_OF = "2003-10-31"


@pytest.fixture(scope="module")
def fund(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("fund")
    portfolio = folder / "fund.yaml"
    portfolio.write_text(PORTFOLIO_YAML, encoding="utf-8")
    return portfolio, write_facts(folder / "feed.jsonl", ["amnis-a", "amnis-b"])


@pytest.fixture(scope="module")
def report(fund: tuple[Path, Path]) -> dict[str, Any]:
    return evaluate_portfolio(fund[0], [fund[1]])


@pytest.fixture(scope="module")
def words() -> RemedyWords:
    return RemedyWords.of(_agreement())


def run(*args: str) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def page(fund: tuple[Path, Path], output_format: str, *more: str) -> str:
    return run("portfolio", fund[0], fund[1], "--format", output_format, *more)


# --- markdown ---------------------------------------------------------------------------------------------------------
def test_markdown_is_the_totals_then_each_agreements_own_report(
    fund: tuple[Path, Path], report: dict[str, Any], words: RemedyWords
) -> None:
    text = page(fund, "markdown")
    assert text.startswith("# Portfolio fund-iii: covenant compliance as of 2004-12-31\n")
    for agreement in report["agreements"]:
        assert demoted(render_markdown(agreement, words)) in text  # the single renderer's, one level down
        line = overview(agreement)
        assert f"| {agreement['agreement']} | {line.open_breaches} | {line.events_of_default} |" in text
    portfolio_total = Decimal(report["totals"]["portfolio"]["total"])
    assert f"**{portfolio_total:,.2f}**" in text
    for buyer, amounts in report["totals"]["buyers"].items():
        assert re.search(rf"^\| {buyer} \|.* {Decimal(amounts['total']):,.2f} \|$", text, re.MULTILINE)
    assert [line for line in text.splitlines() if line.startswith("# ")] == [text.splitlines()[0]]


# --- csv --------------------------------------------------------------------------------------------------------------
def test_csv_is_one_row_per_obligation_with_its_agreement(
    fund: tuple[Path, Path], report: dict[str, Any], words: RemedyWords, tmp_path: Path
) -> None:
    text = page(fund, "csv", "--output", str(tmp_path / "p.csv"))
    text = (tmp_path / "p.csv").read_bytes().decode("utf-8")
    assert text.count("\r\n") == text.count("\n") > 1  # RFC 4180 line ends, as the single report's
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    header = next(csv.reader(io.StringIO(text, newline="")))
    assert header[0] == "agreement"
    assert len(rows) == sum(len(a["obligations"]) for a in report["agreements"])
    for agreement in report["agreements"]:
        single = list(csv.DictReader(io.StringIO(render_csv(agreement, words), newline="")))
        mine = [
            {k: v for k, v in row.items() if k != "agreement"}
            for row in rows
            if row["agreement"] == agreement["agreement"]
        ]
        assert len(mine) == len(single)
        for theirs, ours in zip(single, mine, strict=True):
            assert {k: ours[k] for k in theirs} == theirs  # the same cells as the single report's CSV
            assert all(not ours[k] for k in ours.keys() - theirs.keys())


def test_csv_cells_of_a_portfolio_are_neutralised(report: dict[str, Any], words: RemedyWords) -> None:
    hostile = json.loads(json.dumps(report["agreements"][0]))
    hostile["agreement"] = "=cmd|' /C calc'!A0"
    hostile["obligations"][0]["explanation"] = '=HYPERLINK("http://evil.example","click")'
    piece = render_piece(hostile, "csv", agreement=_agreement(), facts=(), rule_titles={})
    assert piece.cells[0]["agreement"] == "'" + hostile["agreement"]
    assert piece.cells[0]["explanation"] == "'" + hostile["obligations"][0]["explanation"]


def _agreement() -> Any:
    from covenant.pipeline import evaluator_for

    return evaluator_for(AMNIS_RULES).form.agreement


# --- html -------------------------------------------------------------------------------------------------------------
def test_html_is_one_self_contained_page_with_every_agreements_report(
    fund: tuple[Path, Path], report: dict[str, Any]
) -> None:
    html = page(fund, "html")
    assert html.startswith("<!DOCTYPE html>") and html.endswith("</html>\n")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the page fetches nothing"
    assert "<link" not in html and "@import" not in html
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert html.count('<details class="agreement"') == len(report["agreements"])
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="timeline"') == sum(
        1 for a in report["agreements"] if a["obligations"]
    )
    for agreement in report["agreements"]:
        line = overview(agreement)
        assert f'data-value="{line.open_breaches}">{line.open_breaches}</td>' in html
        anchor = re.search(rf'<a href="#([^"]+)">{agreement["agreement"]}</a>', html)
        assert anchor and f'<details class="agreement" id="{anchor.group(1)}">' in html
    assert 'class="exposure"' in html  # the chart of open breaches over time


# --- --since ----------------------------------------------------------------------------------------------------------
def test_since_compares_each_agreement_and_counts_agreements_added_and_gone(
    fund: tuple[Path, Path], tmp_path: Path, report: dict[str, Any]
) -> None:
    earlier_fund = tmp_path / "earlier.yaml"  # amnis-b not there yet; a agreement since sold
    earlier_fund.write_text(
        f"portfolio: fund-iii\nagreements:\n  - id: amnis-a\n    rules: {AMNIS_RULES}\n"
        f"  - id: amnis-sold\n    rules: {AMNIS_RULES}\n",
        encoding="utf-8",
    )
    earlier_feed = write_facts(tmp_path / "earlier.jsonl", ["amnis-a", "amnis-sold"])
    earlier = tmp_path / "earlier.json"
    run("portfolio", earlier_fund, earlier_feed, "--as-of", AS_OF, "--output", earlier)
    now = json.loads(page(fund, "json", "--since", earlier))
    before = {a["agreement"]: a for a in json.loads(earlier.read_text())["agreements"]}
    changes = now["changes"]
    assert changes["since"] == AS_OF
    assert (changes["agreements_added"], changes["agreements_gone"]) == (["amnis-b", "amnis-idle"], ["amnis-sold"])
    a = next(x for x in now["agreements"] if x["agreement"] == "amnis-a")
    expected = diff(before["amnis-a"], {k: v for k, v in a.items() if k != "changes"})
    assert a["changes"] == expected and expected["new_breaches"] and expected["newly_cured"]
    b = next(x for x in now["agreements"] if x["agreement"] == "amnis-b")
    assert len(b["changes"]["new_breaches"]) == sum(1 for o in b["obligations"] if o["breach_start"])
    totals = changes["totals"]
    for key in totals:
        assert totals[key] == sum(len(x.get("changes", {}).get(key, [])) for x in now["agreements"])
    assert {k: v for k, v in now.items() if k != "changes"}["totals"] == report["totals"]
    for output_format, marker in (("text", "agreements gone: amnis-sold"), ("markdown", "Agreements gone: amnis-sold")):
        assert marker in page(fund, output_format, "--since", earlier)
    html = page(fund, "html", "--since", earlier)
    assert "Changes since the report of 2003-10-31" in html and "amnis-sold" in html


def test_since_refuses_what_is_not_a_portfolio_report(fund: tuple[Path, Path], tmp_path: Path) -> None:
    single = tmp_path / "single.json"
    single.write_text(run("check", EXAMPLE_FACTS, "--rules", AMNIS_RULES, "--format", "json"), encoding="utf-8")
    result = CliRunner().invoke(main, ["portfolio", str(fund[0]), str(fund[1]), "--since", str(single)])
    assert result.exit_code == 2
    assert "agreements: missing or not a list: is this a covenant portfolio JSON report?" in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"agreements": [{"agreement": "amnis-a", "obligations": [{"rule": 3}]}]}', encoding="utf-8")
    result = CliRunner().invoke(main, ["portfolio", str(fund[0]), str(fund[1]), "--since", str(broken)])
    assert result.exit_code == 2 and "agreements[0].obligations[0].rule: not text" in result.stderr


# --- upcoming ---------------------------------------------------------------------------------------------------------
def test_upcoming_across_the_portfolio_is_each_agreements_upcoming(fund: tuple[Path, Path]) -> None:
    window = ("--as-of", "2004-03-25", "--within", "30")
    across = json.loads(run("upcoming", fund[1], "--portfolio", fund[0], *window, "--format", "json"))
    single = json.loads(run("upcoming", EXAMPLE_FACTS, "--rules", AMNIS_RULES, *window, "--format", "json"))
    assert single["upcoming"]
    mine = [{k: v for k, v in i.items() if k != "agreement"} for i in across["upcoming"] if i["agreement"] == "amnis-a"]
    assert sorted(mine, key=json.dumps) == sorted(single["upcoming"], key=json.dumps)
    assert {i["agreement"] for i in across["upcoming"]} == {"amnis-a", "amnis-b"}
    assert [i["due"] for i in across["upcoming"]] == sorted(i["due"] for i in across["upcoming"])
    assert (across["portfolio"], across["until"]) == ("fund-iii", "2004-04-24")
    ics = run("upcoming", fund[1], "--portfolio", fund[0], *window, "--format", "ics")
    uids = re.findall(r"^UID:(\S+)", ics, re.MULTILINE)
    assert len(uids) == len(across["upcoming"]) == len(set(uids))
    assert re.search(r"^SUMMARY:amnis-b: ", ics, re.MULTILINE)
    text = run("upcoming", fund[1], "--portfolio", fund[0], *window)
    assert text.startswith(f"Portfolio fund-iii: {len(across['upcoming'])} deadlines of 2 agreements")


def test_upcoming_wants_rules_or_a_portfolio(fund: tuple[Path, Path]) -> None:
    neither = CliRunner().invoke(main, ["upcoming", str(fund[1])])
    both = CliRunner().invoke(
        main, ["upcoming", str(fund[1]), "--rules", str(AMNIS_RULES), "--portfolio", str(fund[0])]
    )
    assert neither.exit_code == both.exit_code == 2
    agenda = portfolio_agenda(fund[0], [fund[1]], 30, as_of=None)
    assert agenda.as_of == "2004-12-31"


# --- the same bytes, progress -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("output_format", ["markdown", "html", "csv"])
def test_jobs_2_writes_the_same_bytes_in_every_format(
    fund: tuple[Path, Path], tmp_path: Path, output_format: str
) -> None:
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        run("portfolio", fund[0], fund[1], "--format", output_format, "--jobs", jobs, "--output", out)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_progress_counts_agreements_and_facts(fund: tuple[Path, Path]) -> None:
    calls: list[tuple[int, int, int]] = []
    write_report(fund[0], [fund[1]], io.StringIO(), progress=lambda *call: calls.append(call))
    facts = sum(1 for line in fund[1].read_text(encoding="utf-8").splitlines() if line.strip())
    assert calls == [(1, 3, facts // 2), (2, 3, facts), (3, 3, facts)]


def test_the_progress_bar_shows_on_a_terminal_only(fund: tuple[Path, Path], tmp_path: Path) -> None:
    """Piped: nothing on standard error. On a terminal (a pseudo-terminal here): agreements done and facts/s."""
    command = [sys.executable, "-m", "covenant", "portfolio", str(fund[0]), str(fund[1]), "--output"]
    env = {"PYTHONPATH": str(ROOT / "src"), "COLUMNS": "120", "TERM": "xterm", "PATH": "/usr/bin:/bin"}
    piped = subprocess.run([*command, str(tmp_path / "a.json")], capture_output=True, text=True, check=False, env=env)
    assert (piped.returncode, piped.stderr) == (0, "")
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [*command, str(tmp_path / "b.json")], stderr=follower, stdout=subprocess.PIPE, env=env
    ) as child:
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        assert child.wait() == 0
    os.close(leader)
    screen = seen.decode("utf-8", "replace")
    assert "Evaluating agreements" in screen and "facts/s" in screen and "/3" in screen
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_an_event_of_default_is_counted_for_its_agreement(tmp_path: Path) -> None:
    """A reverse split without consent makes 4(m)'s breach an Event of Default: counted in amnis-b's row only."""
    fund = tmp_path / "fund.yaml"
    fund.write_text(PORTFOLIO_YAML, encoding="utf-8")
    feed = write_facts(tmp_path / "feed.jsonl", ["amnis-a", "amnis-b"])
    with feed.open("a", encoding="utf-8") as stream:
        split = {"id": "rs1", "type": "reverse_split", "date": "2004-02-02", "ratio": "1:20", "agreement": "amnis-b"}
        stream.write(json.dumps(split) + "\n")
    report = evaluate_portfolio(fund, [feed])
    lines = {a["agreement"]: overview(a) for a in report["agreements"]}
    assert (lines["amnis-a"].events_of_default, lines["amnis-b"].events_of_default) == (0, 1)
    markdown = run("portfolio", fund, feed, "--format", "markdown")
    assert re.search(r"^\| amnis-b \| \d+ \| 1 \|", markdown, re.MULTILINE)
    assert re.search(r"^\| amnis-a \| \d+ \| 0 \|", markdown, re.MULTILINE)
    assert "1 Event of Default." in markdown
    html = run("portfolio", fund, feed, "--format", "html")
    assert "1 Event of Default</span>" in html


def test_a_large_portfolios_compressed_page_is_the_same_bytes_with_jobs_2(
    fund: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reports are compressed by the process that writes the page: the workers' number changes nothing."""
    from covenant.portfolio import pages

    monkeypatch.setattr(pages, "INLINE_AGREEMENTS", 0)
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}.html"
        run("portfolio", fund[0], fund[1], "--format", "html", "--jobs", jobs, "--output", out)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b'class="packed"') == 3 and b'class="timeline"' not in outputs[0]
