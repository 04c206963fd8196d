"""The reports people read, on the example history: text, Markdown, HTML, CSV, ICS, --since, upcoming.

Every test runs the real engine on the real rule folder and the Amnis
2003-2004 log, and checks each format against the JSON report it renders:
the same obligations, the same amounts, nothing truncated or unescaped.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from covenant.calendar import as_date
from covenant.cli.main import main
from covenant.cli.reports import progress, upcoming_items
from covenant.language.loader import load_rule_folder
from covenant.pipeline import Evaluated, check
from covenant.report.changes import diff
from covenant.report.render.common import RemedyWords
from covenant.report.render.formats import Context, context_from, render
from covenant.report.render.html import render_html
from covenant.report.render.markdown import render_markdown
from covenant.report.render.meeting import met_by_words
from covenant.report.render.spreadsheet import render_csv
from covenant.report.render.text import render_text
from covenant.report.render.timeline import build_timeline

from .conftest import AMNIS_RULES, EXAMPLE_FACTS

ARGS = [str(EXAMPLE_FACTS), "--rules", str(AMNIS_RULES)]


@pytest.fixture(scope="module")
def checked() -> Evaluated:
    return check([EXAMPLE_FACTS], AMNIS_RULES)


@pytest.fixture(scope="module")
def report(checked: Evaluated) -> dict[str, Any]:
    return checked.report


# The Amnis form's words for its remedies (SLD first, its label and title), as `covenant check` renders with.
WORDS = RemedyWords.of(load_rule_folder(Path(AMNIS_RULES)).agreement)


def run(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def breached(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in report["obligations"] if o["breach_start"]]


def test_the_example_history_has_what_the_reports_must_show(report: dict[str, Any]) -> None:
    # The tests below are only meaningful if the history has breaches open, cured, waived and pending ones.
    statuses = {o["status"] for o in report["obligations"]}
    assert {"breached", "cured", "waived", "pending", "fulfilled"} <= statuses


# --- text -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [100, 120])
def test_text_report_fits_the_terminal_without_cutting_an_id(report: dict[str, Any], width: int) -> None:
    text = render_text(report, width=width, words=WORDS)
    assert "\x1b" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    words = set(re.findall(r"[A-Za-z0-9][\w()./,-]*", text))
    for obligation in breached(report):
        assert obligation["rule"] in words
        if obligation["trigger"]:
            assert obligation["trigger"] in words
        assert obligation["breach_start"] in words
        for remedy in obligation["remedies"]:
            if "amount" in remedy:
                assert f"{float(remedy['amount']):,.2f}" in text


def test_text_report_summary_counts_and_sld_totals(report: dict[str, Any]) -> None:
    text = render_text(report, width=120, words=WORDS)
    statuses = report["summary"]["statuses"]
    counts = dict(
        (word, int(n))
        for n, word in re.findall(r"(\d+) (met|pending|breached|cured|waived|discharged|review)", text.splitlines()[1])
    )
    assert counts == {
        "met": statuses["fulfilled"],
        "pending": statuses["pending"],
        "breached": statuses["breached"],
        "cured": statuses["cured"],
        "waived": statuses["waived"],
        "discharged": statuses["discharged"],
        "review": statuses["review"],
    }
    sld = report["summary"]["totals"]["standard_liquidated_damages"]
    sld_line = next(line for line in text.splitlines() if line.strip().startswith("SLD "))
    for buyer, amount in sld.items():
        assert f"{float(amount):,.2f}" in sld_line, buyer
    header = next(line for line in text.splitlines() if "accrued as of" in line)
    assert all(buyer in header for buyer in sld)


def test_text_report_lists_open_breaches_as_open_and_next_deadlines_soonest_first(report: dict[str, Any]) -> None:
    text = render_text(report, width=120, words=WORDS)
    open_rows = [line for line in text.splitlines() if " open " in f"{line} "]
    assert len([o for o in report["obligations"] if o["status"] == "breached"]) == len(open_rows)
    deadlines = text.split("Next deadlines", 1)[1]
    dues = re.findall(r"^(\d{4}-\d{2}-\d{2})", deadlines, flags=re.MULTILINE)
    pending = sorted(o["due"] for o in report["obligations"] if o["status"] == "pending")
    assert dues == pending[: len(dues)] and dues


def test_check_prints_plain_text_when_not_a_terminal_and_colour_on_request() -> None:
    plain = run("check", *ARGS)
    assert plain.exit_code == 0
    assert "\x1b[" not in plain.stdout
    assert plain.stderr == ""  # no progress bar when standard error is not a terminal
    coloured = run("check", *ARGS, "--color")
    assert "\x1b[" in coloured.stdout
    assert "\x1b[" not in run("check", *ARGS, "--no-color").stdout


def test_progress_is_silent_when_disabled(capsys: pytest.CaptureFixture[str]) -> None:
    with progress("Evaluating", enabled=False):
        pass
    assert capsys.readouterr() == ("", "")


# --- markdown -------------------------------------------------------------------------------------


def _table_rows(markdown: str, header_start: str) -> list[list[str]]:
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([cell.strip() for cell in cells])
    return rows


def test_markdown_has_the_breach_table(report: dict[str, Any]) -> None:
    result = run("check", *ARGS, "--format", "markdown")
    assert result.exit_code == 0
    markdown = result.stdout
    assert markdown.startswith(f"# {report['agreement']}")
    rows = _table_rows(markdown, "| # | clause | rule |")
    expected = sorted(breached(report), key=lambda o: (o["breach_start"], o["rule"], o["trigger"] or ""))
    assert len(rows) == len(expected)
    for row, obligation in zip(rows, expected, strict=True):
        assert len(row) == 10
        assert row[2] == obligation["rule"]
        assert row[6] == obligation["breach_start"]
        assert row[8] == str(obligation["days_in_breach"])
    basis = markdown.split("### Basis of each amount", 1)[1].strip().split("\n\n")[0].splitlines()
    assert len(basis) == len(expected)  # one numbered paragraph per breach, in the table's order
    for number, (line, obligation) in enumerate(zip(basis, expected, strict=True), 1):
        assert line.startswith(f"{number}. {obligation['clause']} (")


def test_markdown_escapes_what_would_break_a_table(report: dict[str, Any]) -> None:
    hostile = copy.deepcopy(report)
    target = breached(hostile)[0]
    target["trigger"] = "a|b *c* <img>"
    markdown = render_markdown(hostile)
    rows = _table_rows(markdown, "| # | clause | rule |")
    assert all(len(row) == 10 for row in rows)
    assert r"a\|b \*c\* \<img\>" in markdown
    assert "<img>" not in markdown


# --- html -----------------------------------------------------------------------------------------


class _Elements(HTMLParser):
    """Every start tag with its attributes, for counting what the page contains."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def with_class(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for _, attrs in self.tags if name in (attrs.get("class") or "").split()]


def parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def test_html_is_one_self_contained_file_with_a_breach_bar_per_breach(checked: Evaluated) -> None:
    result = run("check", *ARGS, "--format", "html")
    assert result.exit_code == 0
    html = result.stdout
    assert html.startswith("<!DOCTYPE html>")
    elements = parse(html)
    tags = [tag for tag, _ in elements.tags]
    assert "script" not in tags and "link" not in tags and "img" not in tags
    assert re.findall(r"https?://[^\s\"']+", html) == ["http://www.w3.org/2000/svg"]  # the SVG namespace only
    assert "@import" not in html and "url(" not in html
    report = checked.report
    assert len(elements.with_class("breach")) == len(breached(report))
    assert len(elements.with_class("window")) == len(report["obligations"])  # every obligation has its bar
    assert len(elements.with_class("asof")) == 1
    # every breach's table row carries its basis (the explanation)
    text = unescape(html)
    for obligation in breached(report):
        assert obligation["explanation"] in text


def test_html_bars_have_hover_titles_naming_clause_beneficiary_and_dates(report: dict[str, Any]) -> None:
    html = render_html(report)
    titles = re.findall(r'<rect class="breach[^"]*"[^>]*><title>([^<]*)</title>', html)
    assert len(titles) == len(breached(report))
    first = sorted(breached(report), key=lambda o: (o["clause"], o["breach_start"]))[0]
    assert any(
        first["clause"] in t and (first["beneficiary"] or "all Buyers") in t and first["breach_start"] in t
        for t in titles
    )


def test_html_escapes_everything_it_shows(report: dict[str, Any]) -> None:
    hostile = copy.deepcopy(report)
    breached(hostile)[0]["explanation"] = "<script>alert(1)</script> & more"
    html = render_html(hostile)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html


def test_html_and_every_format_give_the_same_bytes_twice(checked: Evaluated) -> None:
    for output_format in ("text", "json", "markdown", "html", "csv"):
        first = render(checked.report, output_format, context_from(checked))
        second = render(checked.report, output_format, context_from(checked))
        assert first == second, output_format


def test_timeline_bars_start_at_the_trigger_and_stay_in_the_plot(checked: Evaluated) -> None:
    context = context_from(checked)
    report = checked.report
    ids = [f"ob-{i}" for i in range(len(report["obligations"]))]
    timeline = build_timeline(report, context.trigger_dates, ids)
    assert timeline is not None
    bars = [bar for lane in timeline.lanes for bar in lane.bars]
    breaches = [bar for lane in timeline.lanes for bar in lane.breach_bars]
    assert len(breaches) == len(breached(report))
    assert len({lane.rule for lane in timeline.lanes}) == len(timeline.lanes)
    for bar in bars + breaches:
        assert timeline.plot_left <= bar.x and bar.x + bar.width <= timeline.plot_right + 0.01
        assert bar.width >= 3
    assert timeline.as_of_x is not None and timeline.plot_left < timeline.as_of_x <= timeline.plot_right
    # open breaches run to the as-of line
    open_bars = [b for lane in timeline.lanes for b in lane.breach_bars if "breach-breached" in b.css]
    assert open_bars and all(abs(b.x + b.width - timeline.as_of_x) < 0.05 for b in open_bars)
    # a bar of a fact-made obligation runs from its trigger fact's date to its due date: ten days for 4(g)(i)
    by_anchor = {bar.anchor: bar for bar in bars}
    index = next(i for i, o in enumerate(report["obligations"]) if o["rule"] == "sec-report-copies")
    obligation = report["obligations"][index]
    arose = as_date(context.trigger_dates[obligation["trigger"]])
    days = (as_date(obligation["due"]) - arose).days + 1
    assert days >= 10
    scale = (timeline.plot_right - timeline.plot_left) / (as_date(timeline.end) - as_date(timeline.start)).days
    assert by_anchor[ids[index]].width == pytest.approx(days * scale, abs=0.05)


# --- csv ------------------------------------------------------------------------------------------


def test_csv_read_back_has_the_rows_of_the_json(report: dict[str, Any]) -> None:
    result = run("check", *ARGS, "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    obligations = report["obligations"]
    assert len(rows) == len(obligations)
    amount_columns = [c for c in rows[0] if c.startswith(("standard_liquidated_damages_", "interest_"))]
    for row, obligation in zip(rows, obligations, strict=True):
        for name in ("rule", "clause", "beneficiary", "trigger", "due", "status", "breach_start", "cured_on"):
            assert row[name] == (obligation[name] or ""), name
        assert int(row["days_in_breach"]) == obligation["days_in_breach"]
        assert row["evidence"].split() == obligation["evidence"]
        assert row["explanation"] == obligation["explanation"]
        assert row["ended_on"] == obligation.get("ended_on", "")
        amounts = {f"{r['kind']}_{r['buyer']}": r["amount"] for r in obligation["remedies"] if "amount" in r}
        assert {c: row[c] for c in amount_columns if row[c]} == amounts


def test_csv_columns_are_in_a_stable_order(report: dict[str, Any]) -> None:
    header = next(csv.reader(io.StringIO(render_csv(report, WORDS))))
    assert header[:9] == [
        "rule",
        "clause",
        "beneficiary",
        "trigger",
        "due",
        "status",
        "breach_start",
        "cured_on",
        "days_in_breach",
    ]
    sld = [c for c in header if c.startswith("standard_liquidated_damages_")]
    assert sld == sorted(sld) and header.index(sld[-1]) < header.index("interest_" + sld[0].rsplit("_", 1)[1])
    assert header[-3:] == ["evidence", "explanation", "survival_note"]
    earlier = check([EXAMPLE_FACTS], AMNIS_RULES, as_of=as_date("2003-06-01")).report  # no interest owed yet
    assert next(csv.reader(io.StringIO(render_csv(earlier, WORDS)))) == header


def test_csv_cells_that_a_spreadsheet_would_run_get_an_apostrophe(report: dict[str, Any]) -> None:
    hostile = copy.deepcopy(report)
    first = hostile["obligations"][0]
    first["explanation"] = '=HYPERLINK("http://evil.example","click")'
    first["clause"] = "@SUM(A1:A9)"
    first["trigger"] = "+1"
    rows = list(csv.DictReader(io.StringIO(render_csv(hostile), newline="")))
    assert rows[0]["explanation"] == "'" + first["explanation"]
    assert rows[0]["clause"] == "'@SUM(A1:A9)"
    assert rows[0]["trigger"] == "'+1"
    assert rows[1]["explanation"] == report["obligations"][1]["explanation"]  # ordinary cells stay as they are
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())


# --- upcoming and ICS -----------------------------------------------------------------------------


def _window(report: dict[str, Any], within: int) -> list[dict[str, Any]]:
    as_of = date.fromisoformat(report["as_of"])
    return [
        o
        for o in report["obligations"]
        if o["status"] == "pending" and o["due"] and 0 < (date.fromisoformat(o["due"]) - as_of).days <= within
    ]


@pytest.mark.parametrize(("as_of", "within"), [(None, 30), ("2004-03-31", 60)])
def test_ics_has_one_event_per_deadline_in_the_window_and_a_note_of_the_open_breaches(
    as_of: str | None, within: int
) -> None:
    extra = ["--as-of", as_of] if as_of else []
    result = run("upcoming", *ARGS, *extra, "--within", str(within), "--format", "ics")
    assert result.exit_code == 0
    calendar = Calendar.from_ical(result.stdout)
    notes = [e for e in calendar.walk("VEVENT") if "open breaches" in str(e["CATEGORIES"].to_ical())]
    events = [e for e in calendar.walk("VEVENT") if e not in notes]
    report = check([EXAMPLE_FACTS], AMNIS_RULES, as_of=as_date(as_of) if as_of else None).report
    listed = json.loads(run("upcoming", *ARGS, *extra, "--within", str(within), "--format", "json").stdout)
    arisen = _window(report, within)
    assert arisen, "the window must hold deadlines for the test to mean something"
    key = ("rule", "trigger", "beneficiary", "due")
    assert sorted(tuple(str(i[k]) for k in key) for i in listed["upcoming"] if i["source"] == "arisen") == sorted(
        tuple(str(o[k]) for k in key) for o in arisen
    )
    assert all(
        i["arises"] is None or i["arises"] > report["as_of"] for i in listed["upcoming"] if i["source"] != "arisen"
    )
    assert len(events) == len(listed["upcoming"]) >= len(arisen)
    assert len({str(e["UID"]) for e in calendar.walk("VEVENT")}) == len(events) + len(notes)
    assert sorted(e.decoded("DTSTART").isoformat() for e in events) == sorted(i["due"] for i in listed["upcoming"])
    for event in events:
        summary = str(event["SUMMARY"])
        match = [
            i for i in listed["upcoming"] if i["clause"] in summary and (i["beneficiary"] or "all Buyers") in summary
        ]
        assert match, summary
        stamp = event.decoded("DTSTAMP")
        assert isinstance(stamp, datetime) and stamp.date().isoformat() == report["as_of"]
    open_now = [o for o in report["obligations"] if o["status"] == "breached"]
    assert open_now, "the example has open breaches on these days"
    [note] = notes
    assert note.decoded("DTSTART").isoformat() == report["as_of"]
    assert str(note["SUMMARY"]).startswith(f"{len(open_now)} open breaches: ")
    assert str(note["SUMMARY"]).endswith(f"{Decimal(listed['per_day_total']):,.2f} a day")
    again = run("upcoming", *ARGS, *extra, "--within", str(within), "--format", "ics")
    assert again.stdout == result.stdout


def test_upcoming_lists_the_window_soonest_first_with_what_meets_each(checked: Evaluated) -> None:
    result = run("upcoming", *ARGS, "--within", "100", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    items = data["upcoming"]
    expected = _window(checked.report, 100)
    assert len([i for i in items if i["source"] == "arisen"]) == len(expected) > 0
    assert [i["due"] for i in items] == sorted(i["due"] for i in items)
    assert all(0 < i["days_left"] <= 100 for i in items)
    for item in items:
        assert item["met_by"], item
        if item["beneficiary"]:
            assert item["beneficiary"] in item["met_by"]
    text = run("upcoming", *ARGS, "--within", "100").stdout
    for item in items:
        assert item["rule"] in text and item["due"] in text


def test_upcoming_with_an_empty_window_says_so(checked: Evaluated) -> None:
    assert upcoming_items(checked, 0) == []
    result = run("upcoming", *ARGS, "--within", "0")
    assert result.exit_code == 0 and "Nothing falls due" in result.stdout


def test_met_by_in_words_fills_in_the_obligation(checked: Evaluated) -> None:
    obligation = next(o for o in checked.report["obligations"] if o["rule"] == "reserve-list" and o["beneficiary"])
    words = met_by_words(checked.form.rules["reserve-list"], obligation)
    assert words.startswith("a delivery (")
    assert obligation["beneficiary"] in words and obligation["trigger"][:7] in words


# --- --since --------------------------------------------------------------------------------------


def test_since_reports_new_breaches_cures_and_growing_amounts(tmp_path: Path, report: dict[str, Any]) -> None:
    earlier = tmp_path / "2004-10-01.json"
    assert run("check", *ARGS, "--as-of", "2004-10-01", "--format", "json", "--output", str(earlier)).exit_code == 0
    result = run("check", *ARGS, "--since", str(earlier), "--format", "json")
    assert result.exit_code == 0
    now = json.loads(result.stdout)
    changes = now.pop("changes")
    assert now == json.loads(run("check", *ARGS, "--format", "json").stdout)  # the other keys are untouched
    before = json.loads(earlier.read_text())

    def key(o: dict[str, Any]) -> tuple[Any, ...]:
        return (o["rule"], o["trigger"], o["beneficiary"])

    was = {key(o) for o in before["obligations"] if o["breach_start"]}
    assert {key(c) for c in changes["new_breaches"]} == {key(o) for o in breached(now)} - was
    assert changes["since"] == "2004-10-01"
    grew = {(c["rule"], c["trigger"], c["buyer"]) for c in changes["amounts_grew"]}
    assert ("reserve-list", "2004-03-31", "alpha") in grew
    for c in changes["amounts_grew"]:
        assert float(c["amount"]) - float(c["previous"]) == pytest.approx(float(c["increase"]))
    text = run("check", *ARGS, "--since", str(earlier)).stdout
    assert "Changes since the report of 2004-10-01" in text
    assert "New breaches" in text and "Amounts that grew" in text
    html = run("check", *ARGS, "--since", str(earlier), "--format", "html").stdout
    assert "Changes since the report of 2004-10-01" in html


def test_since_names_a_waiver_granted_after_the_earlier_report(checked: Evaluated) -> None:
    earlier = check([EXAMPLE_FACTS], AMNIS_RULES, as_of=as_date("2004-01-10")).report
    changes = diff(earlier, checked.report)
    waived = [c for c in changes["newly_waived"]]
    assert waived and all(c["buyers"] for c in waived)
    statuses = {(o["rule"], o["trigger"], o["beneficiary"]): o["status"] for o in checked.report["obligations"]}
    assert all(statuses[(c["rule"], c["trigger"], c["beneficiary"])] == "waived" for c in waived)


def test_since_against_itself_changes_nothing(report: dict[str, Any]) -> None:
    changes = diff(report, report)
    assert all(changes[k] == [] for k in changes if k != "since")
    assert "Nothing changed." in render_text({**report, "changes": changes})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read the earlier report"),
        ("{\n  not json", ":2:3: not JSON"),
        ('{"obligations": [{"rule": "x"}]}', "obligations[0].clause: missing"),
        ('{"agreement": "another", "obligations": []}', "agreement: the earlier report is for 'another'"),
    ],
)
def test_since_with_a_bad_earlier_report_exits_2_naming_it(tmp_path: Path, content: str | None, expected: str) -> None:
    earlier = tmp_path / "earlier.json"
    if content is not None:
        earlier.write_text(content)
    result = run("check", *ARGS, "--since", str(earlier))
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_render_refuses_an_unknown_format(report: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render(report, "pdf", Context())
