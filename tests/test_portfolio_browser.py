"""The portfolio's HTML page opened in headless Chromium, as the single report is (``test_html_browser``).

A fund's reader opens the page: it must render (not blank, the chart's
breach red visible), hold every agreement's timeline with one breach bar
per breached obligation, sort its table of agreements (the order a link
asks for with ``#sort=N``), and open an agreement's folded report when a
link names it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from covenant.cli.main import main
from covenant.portfolio.pieces import anchor

from .test_html_browser import BREACH_RED, _near, chromium
from .test_html_browser import pytestmark as needs_chromium
from .test_portfolio import PORTFOLIO_YAML, write_facts

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    import json

    folder = tmp_path_factory.mktemp("portfolio-html")
    fund = folder / "fund.yaml"
    fund.write_text(PORTFOLIO_YAML, encoding="utf-8")
    feed = write_facts(folder / "feed.jsonl", ["amnis-a", "amnis-b"])
    page = folder / "portfolio.html"
    args = ["portfolio", str(fund), str(feed), "--as-of", "2003-10-31"]
    assert CliRunner().invoke(main, [*args, "--format", "html", "--output", str(page)]).exit_code == 0
    report = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).stdout)
    return page, report


class _Page(HTMLParser):
    """The rows of the agreements' table in document order, breach bars, and which agreements' parts are open."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[str] = []
        self.breach_bars = 0
        self.timelines = 0
        self.open_parts: list[str] = []
        self._in_table = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "table" and attributes.get("id") == "agreements":
            self._in_table = True
        if self._in_table and tag == "a" and attributes.get("href", "").startswith("#"):
            self.rows.append(str(attributes["href"])[1:])
        if tag == "svg" and "timeline" in classes:
            self.timelines += 1
        if "breach" in classes:
            self.breach_bars += 1
        if tag == "details" and "agreement" in classes and "open" in attributes:
            self.open_parts.append(str(attributes.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False


def dom(page: Path, fragment: str = "") -> _Page:
    result = chromium(page.parent, "--dump-dom", page.as_uri() + fragment)
    assert result.returncode == 0, result.stderr
    assert "Uncaught" not in result.stderr
    parsed = _Page()
    parsed.feed(result.stdout)
    return parsed


def test_chromium_renders_the_portfolio_page(rendered: tuple[Path, dict[str, Any]]) -> None:
    from PIL import Image

    page, _ = rendered
    png = page.parent / "portfolio.png"
    result = chromium(page.parent, f"--screenshot={png}", "--window-size=1400,1400", page.as_uri())
    assert result.returncode == 0, result.stderr
    with Image.open(png) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50, "the page rendered as (nearly) one colour"
    red = sum(count for count, rgb in colours if any(_near(rgb, target) for target in BREACH_RED))
    assert red > 500, "the chart of open breaches is not visible"


def test_every_agreements_timeline_is_in_the_page(rendered: tuple[Path, dict[str, Any]]) -> None:
    page, report = rendered
    parsed = dom(page)
    with_obligations = [a for a in report["agreements"] if a["obligations"]]
    assert parsed.timelines == len(with_obligations) == 2
    assert parsed.breach_bars == sum(1 for a in with_obligations for o in a["obligations"] if o["breach_start"])
    assert parsed.rows == [anchor(a["agreement"]) for a in report["agreements"]]  # agreement order without a click
    assert parsed.open_parts == []  # every report folded


def test_the_table_sorts_by_a_column(rendered: tuple[Path, dict[str, Any]]) -> None:
    page, report = rendered
    open_breaches = {
        anchor(a["agreement"]): sum(1 for o in a["obligations"] if o["status"] == "breached")
        for a in report["agreements"]
    }
    assert len(set(open_breaches.values())) == 3  # three different counts: the order says which sort ran
    most_first = dom(page, "#sort=-1").rows
    assert most_first == sorted(open_breaches, key=lambda key: -open_breaches[key])
    fewest_first = dom(page, "#sort=1").rows
    assert fewest_first == list(reversed(most_first))


def test_a_link_to_an_agreement_opens_its_report(rendered: tuple[Path, dict[str, Any]]) -> None:
    page, _ = rendered
    target = anchor("amnis-b")
    assert dom(page, f"#{target}").open_parts == [target]
    html = page.read_text(encoding="utf-8")
    assert re.search(rf'<a href="#{target}-ob-\d+">', html), "the timeline's bars link within their own agreement"


@pytest.fixture(scope="module")
def packed_page(rendered: tuple[Path, dict[str, Any]]) -> Path:
    """The same portfolio written as a large one is: every agreement's report stored compressed."""
    from covenant.portfolio import pages

    page, _ = rendered
    fund, feed = page.parent / "fund.yaml", page.parent / "feed.jsonl"
    out = page.parent / "packed.html"
    keep = pages.INLINE_AGREEMENTS
    pages.INLINE_AGREEMENTS = 0
    try:
        args = ["portfolio", str(fund), str(feed), "--as-of", "2003-10-31", "--format", "html", "--output", str(out)]
        assert CliRunner().invoke(main, args).exit_code == 0
    finally:
        pages.INLINE_AGREEMENTS = keep
    return out


def test_a_large_portfolio_keeps_each_report_compressed_until_opened(
    rendered: tuple[Path, dict[str, Any]], packed_page: Path
) -> None:
    import base64
    import gzip

    page, report = rendered
    inline, packed = page.read_text(encoding="utf-8"), packed_page.read_text(encoding="utf-8")
    blobs = re.findall(r'<script type="application/octet-stream" class="packed">([^<]+)</script>', packed)
    assert len(blobs) == len(report["agreements"]) and 'class="timeline"' not in packed
    for blob in blobs:  # each is exactly the report the small page shows inline
        assert gzip.decompress(base64.b64decode(blob)).decode("utf-8") in inline
    folded = dom(packed_page)
    assert (folded.timelines, folded.open_parts) == (0, [])
    target = anchor("amnis-b")
    result = chromium(
        packed_page.parent, "--virtual-time-budget=10000", "--dump-dom", f"{packed_page.as_uri()}#{target}"
    )
    assert result.returncode == 0 and "Uncaught" not in result.stderr, result.stderr
    opened = _Page()
    opened.feed(result.stdout)
    b = next(a for a in report["agreements"] if a["agreement"] == "amnis-b")
    assert (opened.open_parts, opened.timelines) == ([target], 1)
    assert opened.breach_bars == sum(1 for o in b["obligations"] if o["breach_start"])
