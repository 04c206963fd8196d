"""The portfolio's HTML page at scale: its size, the time to write it, and the time headless Chromium takes to open it.

Generates a portfolio on the Amnis form (``generate_portfolio.py``), writes
its page with ``covenant portfolio --format html`` (and, for comparison,
the Markdown and CSV reports), then opens the page in headless Chromium:

- ``load``: milliseconds from navigation to the page's load event, read by
  a line of script added to a copy of the page (``performance.now()``):
  parsing, style and layout of the head, the table of agreements and the
  folded reports;
- ``screenshot``: the wall-clock seconds of ``chromium --screenshot`` of
  the page, and of an empty page for the browser's own start-up;
- ``open one``: the wall-clock seconds of ``chromium --dump-dom`` when the
  address names the first agreement (its report unfolded and laid out),
  against the same without it.

    python bench/portfolio_page_bench.py                          # 1,000 agreements x 200 facts, --jobs 2
    python bench/portfolio_page_bench.py --agreements 100 --facts 500 --jobs 1

Wall-clock time is read only here; the monitor runs on simulated time.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate_portfolio import generate  # noqa: E402  (bench/ is not a package)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
TIMING = (
    "<script>addEventListener('load', function () {"
    "var ms = performance.now().toFixed(0);"
    "document.body.insertAdjacentHTML('beforeend', '<pre id=\"bench-load\">' + ms + '</pre>');"
    "});</script>\n"
)


def timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, result


def chromium(profile: Path, *args: str) -> tuple[float, str]:
    seconds, result = timed([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args])
    if result.returncode != 0:
        raise SystemExit(f"chromium failed: {result.stderr[-2000:]}")
    return seconds, result.stdout


def write_report(portfolio: Path, logs: list[Path], output_format: str, out: Path, jobs: int) -> float:
    command = [sys.executable, "-m", "covenant", "portfolio", str(portfolio), *map(str, logs)]
    seconds, result = timed([*command, "--format", output_format, "--output", str(out), "--jobs", str(jobs)])
    if result.returncode != 0:
        raise SystemExit(f"covenant portfolio failed: {result.stderr[-2000:]}")
    return seconds


def measure(agreements: int, facts: int, jobs: int, work: Path) -> dict[str, Any]:
    portfolio, logs, total = generate(work / "portfolio", agreements, facts)
    figures: dict[str, Any] = {"agreements": agreements, "facts": total, "jobs": jobs}
    page = work / "portfolio.html"
    for output_format, suffix in (("html", "html"), ("markdown", "md"), ("csv", "csv")):
        out = work / f"portfolio.{suffix}"
        figures[f"{output_format}_seconds"] = round(write_report(portfolio, logs, output_format, out, jobs), 1)
        figures[f"{output_format}_bytes"] = out.stat().st_size
    html = page.read_text(encoding="utf-8")
    figures["elements_in_html"] = html.count("<") - html.count("</")
    probe = work / "probe.html"
    probe.write_text(html.replace("</body>", TIMING + "</body>", 1), encoding="utf-8")
    profile = work / "profile"
    loads = []
    for _ in range(3):
        _, dom = chromium(profile, "--dump-dom", probe.as_uri())
        found = re.search(r'<pre id="bench-load">(\d+)</pre>', dom)
        loads.append(int(found.group(1)) if found else -1)
    figures["load_ms"] = sorted(loads)[1]
    empty = work / "empty.html"
    empty.write_text("<!DOCTYPE html><title>empty</title>", encoding="utf-8")
    figures["screenshot_empty_seconds"] = round(
        chromium(profile, f"--screenshot={work / 'e.png'}", empty.as_uri())[0], 2
    )
    shot = chromium(profile, f"--screenshot={work / 'p.png'}", "--window-size=1400,1400", page.as_uri())
    figures["screenshot_seconds"] = round(shot[0], 2)
    first = re.search(r'<details class="agreement" id="([^"]+)"', html)
    budget = "--virtual-time-budget=5000"
    figures["dump_folded_seconds"] = round(chromium(profile, budget, "--dump-dom", page.as_uri())[0], 2)
    if first:
        opened = chromium(profile, budget, "--dump-dom", f"{page.as_uri()}#{first.group(1)}")
        figures["dump_one_open_seconds"] = round(opened[0], 2)
        figures["one_open_has_timeline"] = 'class="timeline"' in opened[1]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--agreements", type=int, default=1000)
    parser.add_argument("--facts", type=int, default=200, help="facts per agreement (default 200)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep the files")
    parser.add_argument("--results", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="covenant-page-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        figures = measure(args.agreements, args.facts, args.jobs, work)
    figures["machine"] = f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}"
    for key, value in figures.items():
        print(f"{key:28} {value:,}" if isinstance(value, int) and not isinstance(value, bool) else f"{key:28} {value}")
    if args.results:
        args.results.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
