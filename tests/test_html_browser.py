"""The HTML report opened in a real headless browser (Debian's chromium, installed by .ci/run).

A board member opens the file, so the test does too: chromium renders it
to a PNG (it must not be blank and must show the breach colour), and its
DOM after rendering must hold exactly one breach bar per obligation that
has a first day in breach. Without /usr/bin/chromium the tests skip,
saying why; CI installs it.
"""

from __future__ import annotations

import json
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from covenant.cli.main import main

from .conftest import AMNIS_RULES, EXAMPLE_FACTS

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
BREACH_RED = ((0xE8, 0x45, 0x3C), (0xB7, 0x1C, 0x1C))
"""The timeline's breach colours (cured, open): style.css.j2."""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("html")
    page = folder / "report.html"
    args = [str(EXAMPLE_FACTS), "--rules", str(AMNIS_RULES)]
    assert CliRunner().invoke(main, ["check", *args, "--format", "html", "--output", str(page)]).exit_code == 0
    report = json.loads(CliRunner().invoke(main, ["check", *args, "--format", "json"]).stdout)
    return page, report


def chromium(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = folder / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_chromium_renders_the_report_to_a_png_that_is_not_blank(rendered: tuple[Path, dict[str, Any]]) -> None:
    from PIL import Image

    page, _ = rendered
    png = page.parent / "report.png"
    result = chromium(page.parent, f"--screenshot={png}", "--window-size=1400,2000", page.as_uri())
    assert result.returncode == 0, result.stderr
    assert "Uncaught" not in result.stderr
    assert png.exists() and png.stat().st_size > 10_000
    with Image.open(png) as image:
        assert image.size == (1400, 2000)
        pixels = image.convert("RGB")
        colours = pixels.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 50, "the page rendered as (nearly) one colour"
        background = max(colours)[0]
        assert background < 0.9 * 1400 * 2000, "the page is nearly all one colour"
        red = sum(count for count, rgb in colours if any(_near(rgb, target) for target in BREACH_RED))
        assert red > 50, "no breach bar is visible in the screenshot"


def _near(rgb: tuple[int, int, int], target: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, target, strict=True))


class _Classes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.breach_bars: list[str] = []
        self.svg = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "svg" and "timeline" in classes:
            self.svg += 1
        if "breach" in classes:
            self.breach_bars.append(tag)


def test_the_rendered_dom_has_one_breach_bar_per_breached_obligation(rendered: tuple[Path, dict[str, Any]]) -> None:
    page, report = rendered
    result = chromium(page.parent, "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr
    dom = _Classes()
    dom.feed(result.stdout)
    assert dom.svg == 1
    expected = [o for o in report["obligations"] if o["breach_start"]]
    assert expected
    assert len(dom.breach_bars) == len(expected)
    assert set(dom.breach_bars) == {"rect"}
