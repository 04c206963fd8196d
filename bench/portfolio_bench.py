"""Portfolios at scale: facts per second end to end, peak memory, and the bare engine's rate on the same facts.

For each size (agreements x facts per agreement) the benchmark generates a
portfolio on the Amnis form (``generate_portfolio.py``), then measures, each
in a fresh process so that peak memory is that run's own:

- ``end to end``: ``covenant portfolio`` as the command runs it (fact logs
  read and validated, every agreement evaluated, every report rendered and
  written to a file), with ``--jobs`` 1 and, if asked, 2;
- ``bare engine``: the same facts, as the engine facts the monitor would
  assert, pushed into the same compiled ruleset (``engine.Ruleset``) with
  actions that do nothing: no obligations, no calendar, no retraction, no
  report. Decoding and building the engine facts happen before the clock
  starts. This is the engine's own limit on these facts. Reading and
  validating the same facts (``load_agreement_facts``: JSON, pydantic, the
  agreement's checks) is timed apart: any monitor that validates at the edge
  and then asserts runs at most at ``bare / (bare + validation)`` of the
  bare rate (the "bound");
- ``the monitor's engine calls``: end to end again, with the C core's calls
  metered (CPU time of each). The monitor asserts more than the user's
  facts (obligations, breaches, derived facts, period ends) and retracts
  what can no longer matter; were its Python free, it would still need
  that time, so ``bare rate / (facts / metered seconds)`` is the highest
  ratio its design can reach (the "ceiling").

It prints one table: facts per second end to end and for the bare engine,
by the wall clock and by CPU time (on a shared machine the wall clock also
counts other people's work; CPU time counts the run's own, workers
included), their ratios, the peak resident memory (``ru_maxrss`` of the run
and of its worker processes, the larger of the two), and the machine it ran
on. ``--results FILE`` keeps every measurement as JSON.
Wall-clock time is read only here (``time.perf_counter``): the monitor runs
on simulated time.

    python bench/portfolio_bench.py                         # 1, 10, 100, 1,000 agreements x 1,000 facts
    python bench/portfolio_bench.py --sizes 10x1000 100x1000 --jobs 1 2
    python bench/portfolio_bench.py --sizes 1x10000 --no-bare --no-share
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate_portfolio import generate  # noqa: E402  (bench/ is not a package)

DEFAULT_SIZES = ("1x1000", "10x1000", "100x1000", "1000x1000")


def peak_mib() -> float:
    """The larger of this process's peak RSS and its largest waited-for child's (Linux: KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return max(own, children) / scale


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# --- what runs in a measuring child process ---------------------------------------------------------------------------
def child_end_to_end(portfolio: Path, logs: list[Path], jobs: int, output: Path) -> dict[str, Any]:
    from covenant.cli.portfolio import run_portfolio

    started = time.perf_counter()
    status = run_portfolio(portfolio, logs, output=output, jobs=jobs)
    seconds = time.perf_counter() - started
    if status not in (0, 1):
        raise SystemExit(f"covenant portfolio exited {status}")
    return {"seconds": seconds, "cpu": cpu_seconds(), "peak_mib": peak_mib()}


def child_bare_engine(portfolio: Path, logs: list[Path]) -> dict[str, Any]:
    """The same facts through the compiled ruleset with no-op actions: the engine's own rate."""
    from covenant.engine.core import Ruleset
    from covenant.law.memory import engine_facts as to_engine_facts
    from covenant.portfolio.feed import index_facts
    from covenant.portfolio.file import load_portfolio
    from covenant.portfolio.work import chunks, evaluate_agreement, load_agreement_facts

    del evaluate_agreement  # imported to show which path the monitor takes; not timed here
    spec = load_portfolio(portfolio)
    index = index_facts(logs, spec)
    work: list[tuple[str, list[dict[str, Any]]]] = []
    definitions: dict[str, Any] = {}
    user_facts = 0
    from covenant.pipeline import evaluator_for

    validation_cpu = 0.0
    for chunk in chunks(spec, index, None):
        for agreement in chunk.work:
            form = evaluator_for(agreement.member.rules).form
            definitions.setdefault(form.name, form.definition)
            validating = cpu_seconds()
            log = load_agreement_facts(agreement, chunk.files, form, lenient=False)
            validation_cpu += cpu_seconds() - validating
            user_facts += len(log.facts)
            ordered = sorted(log.facts, key=lambda f: (f.date, f.order))
            work.append((agreement.member.id, [e for f in ordered for e in to_engine_facts(f, f.date)]))
    rulesets = {
        name: Ruleset(f"bare-{name}", definition, dict.fromkeys(definition, _nothing))
        for name, definition in definitions.items()
    }
    [ruleset] = rulesets.values()  # the Amnis form: one compiled ruleset
    engine_facts = sum(len(facts) for _, facts in work)
    started = time.perf_counter()
    cpu_before = cpu_seconds()
    for sid, facts in work:
        ruleset.open_session(sid)
        for fact in facts:
            ruleset.assert_fact(sid, fact)
        ruleset.close_session(sid)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu": cpu_seconds() - cpu_before,
        "peak_mib": peak_mib(),
        "facts": user_facts,
        "engine_facts": engine_facts,
        "validation_cpu": validation_cpu,
    }


def _nothing(_sid: str, _patterns: dict[str, Any]) -> None:
    return None


class _MeteredCore:
    """``durable_rules_engine`` with the CPU time of every call counted (the C core's own work)."""

    def __init__(self, core: Any) -> None:
        self._core = core
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        function = getattr(self._core, name)
        clock = time.process_time

        def metered(*args: Any) -> Any:
            started = clock()
            try:
                return function(*args)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + clock() - started
                self.calls[name] = self.calls.get(name, 0) + 1

        return metered


def child_engine_share(portfolio: Path, logs: list[Path], output: Path) -> dict[str, Any]:
    """End to end (``--jobs 1``) with the C core's calls metered: the engine work the monitor itself needs.

    The monitor asserts more than the user's facts: every obligation is an
    engine fact (rules match what meets it against it), breaches and derived
    facts are asserted back so remedy rules chain from them, and facts are
    retracted when they can no longer matter. If the monitor's Python cost
    nothing, it would still run at ``facts / core seconds``: that over the
    bare engine's rate is the highest ratio this design can reach.
    """
    import covenant.engine.core as engine_module
    from covenant.cli.portfolio import run_portfolio

    meter = _MeteredCore(engine_module._core)
    engine_module._core = meter  # type: ignore[assignment]
    status = run_portfolio(portfolio, logs, output=output, jobs=1)
    if status not in (0, 1):
        raise SystemExit(f"covenant portfolio exited {status}")
    return {"core_cpu": sum(meter.seconds.values()), "seconds_by_call": meter.seconds, "calls": meter.calls}


def child_main(argv: list[str]) -> int:
    kind, portfolio, output, jobs, *logs = argv
    if kind == "e2e":
        result = child_end_to_end(Path(portfolio), [Path(p) for p in logs], int(jobs), Path(output))
    elif kind == "share":
        result = child_engine_share(Path(portfolio), [Path(p) for p in logs], Path(output))
    else:
        result = child_bare_engine(Path(portfolio), [Path(p) for p in logs])
    print(json.dumps(result))
    return 0


def report_tail(path: Path) -> dict[str, Any]:
    """The report's ``totals`` and ``facts``, read from its end.

    The whole report of a million facts is hundreds of megabytes: parsing it
    here would make this process big, and each measuring process started
    from it would inherit that size in its ``ru_maxrss`` (the peak counts
    the parent's pages until ``exec``). So only the tail is read.
    """
    marker = b'\n  "totals": {'
    with path.open("rb") as stream:
        size = stream.seek(0, os.SEEK_END)
        span = 1 << 20
        while True:
            stream.seek(max(size - span, 0))
            data = stream.read()
            at = data.rfind(marker)
            if at >= 0 or span >= size:
                break
            span *= 4
    return dict(json.loads(b"{" + data[at + 1 :]))


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def measure(kind: str, portfolio: Path, logs: list[Path], jobs: int, output: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, str(portfolio), str(output), str(jobs), *map(str, logs)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --- the table ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    size: str
    agreements: int
    facts: int
    jobs: int
    seconds: float
    cpu: float
    peak_mib: float
    bare: dict[str, Any] | None
    obligations: int
    share: dict[str, Any] | None = None

    @property
    def rate(self) -> float:
        return self.facts / self.seconds

    @property
    def cpu_rate(self) -> float:
        return self.facts / self.cpu

    def bare_cpu_rate(self) -> float | None:
        return self.bare["facts"] / self.bare["cpu"] if self.bare and self.bare["cpu"] else None

    def bare_rate(self) -> float | None:
        return self.bare["facts"] / self.bare["seconds"] if self.bare else None

    def floor_bound(self) -> float | None:
        """The highest CPU ratio for any monitor that validates each line (pydantic) and asserts it.

        Reading and validating the facts (``load_agreement_facts``) plus the
        bare engine's own time: a monitor that did nothing else would run at
        ``bare / (bare + validation)`` of the bare engine's rate.
        """
        if not self.bare or not self.bare.get("cpu"):
            return None
        return self.bare["cpu"] / (self.bare["cpu"] + self.bare["validation_cpu"])

    def ceiling(self) -> float | None:
        """The highest CPU ratio possible if the monitor's Python cost nothing: its own engine calls only."""
        bare_cpu = self.bare_cpu_rate()
        if not self.share or not bare_cpu:
            return None
        return self.facts / self.share["core_cpu"] / bare_cpu

    def cells(self) -> list[str]:
        bare_cpu = self.bare_cpu_rate()
        bare_wall = self.bare_rate()
        ceiling = self.ceiling()
        bound = self.floor_bound()
        return [
            f"{self.agreements:,}",
            f"{self.facts:,}",
            f"{self.obligations:,}",
            str(self.jobs),
            f"{self.seconds:,.1f}",
            f"{self.rate:,.0f}",
            f"{self.cpu:,.1f}",
            f"{self.cpu_rate:,.0f}",
            f"{bare_wall:,.0f}" if bare_wall else "-",
            f"{bare_cpu:,.0f}" if bare_cpu else "-",
            f"{self.rate / bare_wall:.3f}" if bare_wall else "-",
            f"{self.cpu_rate / bare_cpu:.3f}" if bare_cpu else "-",
            f"{self.bare['validation_cpu']:,.1f}" if self.bare else "-",
            f"{bound:.3f}" if bound else "-",
            f"{self.share['core_cpu']:,.1f}" if self.share else "-",
            f"{ceiling:.3f}" if ceiling else "-",
            f"{self.peak_mib:,.0f}",
        ]


HEADER = [
    "agreements",
    "facts",
    "obligations",
    "jobs",
    "wall s",
    "facts/s",
    "CPU s",
    "facts/CPU s",
    "bare facts/s",
    "bare facts/CPU s",
    "ratio (wall)",
    "ratio (CPU)",
    "validation CPU s",
    "bound: validate + bare",
    "monitor's engine calls, CPU s",
    "ceiling (CPU)",
    "peak MiB",
]


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---:" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    memory = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.split("\n")[1].split()[1]
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory} memory, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average {load:.2f} at the end"
    )


def parse_size(text: str) -> tuple[int, int]:
    agreements, _, facts = text.lower().partition("x")
    return int(agreements), int(facts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return child_main(argv[1:])
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), help="AGREEMENTSxFACTS_EACH, e.g. 100x1000")
    parser.add_argument("--jobs", nargs="+", type=int, default=[1], help="--jobs values to run end to end")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare engine")
    parser.add_argument(
        "--no-share", action="store_true", help="skip the run that meters the monitor's own engine calls"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "covenant-portfolio-bench",
        help="where portfolios are generated and kept between runs",
    )
    parser.add_argument("--seed", type=int, default=2003)
    parser.add_argument("--results", type=Path, default=None, help="also write every measurement to this JSON file")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    raw: list[dict[str, Any]] = []
    for size in args.sizes:
        agreements, facts_each = parse_size(size)
        folder = args.workdir / f"portfolio-{agreements}x{facts_each}-{args.seed}"
        if not (folder / "portfolio.yaml").is_file() or not (folder / "facts.jsonl").is_file():
            generate(folder, agreements, facts_each, seed=args.seed)
        portfolio, logs = folder / "portfolio.yaml", [folder / "facts.jsonl"]
        bare = None if args.no_bare else measure("bare", portfolio, logs, 1, folder / "unused")
        if bare:
            print(
                f"{size}: bare engine {bare['facts']:,} facts ({bare['engine_facts']:,} engine facts) "
                f"in {bare['seconds']:.2f} s ({bare['cpu']:.2f} CPU s), peak {bare['peak_mib']:,.0f} MiB",
                file=sys.stderr,
            )
            raw.append({"size": size, "kind": "bare", **bare})
        share = None if args.no_share else measure("share", portfolio, logs, 1, folder / "report-share.json")
        if share:
            calls = ", ".join(f"{name} {count:,}" for name, count in sorted(share["calls"].items()))
            print(f"{size}: the monitor's engine calls took {share['core_cpu']:.2f} CPU s ({calls})", file=sys.stderr)
            raw.append({"size": size, "kind": "share", **share})
        for jobs in args.jobs:
            output = folder / f"report-jobs{jobs}.json"
            result = measure("e2e", portfolio, logs, jobs, output)
            report = report_tail(output)
            statuses = report["totals"]["statuses"]
            row = Row(
                size,
                agreements,
                report["facts"]["read"],
                jobs,
                result["seconds"],
                result["cpu"],
                result["peak_mib"],
                bare,
                sum(statuses.values()),
                share,
            )
            rows.append(row)
            raw.append({"size": size, "kind": "e2e", "jobs": jobs, "facts": row.facts, **result})
            print(f"{size} --jobs {jobs}: " + ", ".join(row.cells()), file=sys.stderr)
        reports = [folder / f"report-jobs{jobs}.json" for jobs in args.jobs]
        if len(reports) > 1:
            same = len({digest(r) for r in reports}) == 1
            print(f"{size}: reports of --jobs {' and '.join(map(str, args.jobs))} identical: {same}", file=sys.stderr)
    print(table(rows))
    print()
    print(f"Machine: {machine()}.")
    if args.results:
        args.results.write_text(json.dumps({"machine": machine(), "runs": raw}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
