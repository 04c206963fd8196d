"""Time ``covenant.pipeline.check`` end to end on a large fact log of one agreement.

Prints facts per second, the split between loading and validating the log,
evaluating it on the engine, and building the report (SLD and interest
included), and the process's peak memory. The log is generated with
``bench/generate.py`` unless one is given.

    python bench/run.py                      # 100,000 generated facts
    python bench/run.py --facts 10000 50000 100000
    python bench/run.py some-log.jsonl

Wall-clock time is read only here, in bench/ (``time.perf_counter``): the
monitor itself runs on simulated time.
"""

from __future__ import annotations

import argparse
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from covenant.evaluate import default_as_of
from covenant.facts import check_buyers, load_fact_logs
from covenant.pipeline import check, portfolio_for
from covenant.report import build_report, render_json
from generate import generate, write  # bench/ is the script's directory, so on sys.path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = ROOT / "rules" / "amnis-spa-2003"


@dataclass(frozen=True)
class Timing:
    facts: int
    total: float
    load: float
    evaluate: float
    report: float
    render: float
    obligations: int
    breached: int
    peak_mib: float

    @property
    def rate(self) -> float:
        return self.facts / self.total


def peak_memory_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def measure(log: Path, rules: Path = DEFAULT_RULES) -> Timing:
    """One end-to-end ``check``, then the same three stages timed one by one."""
    portfolio = portfolio_for(rules)  # compiled once per process, as the CLI does; not timed
    started = time.perf_counter()
    checked = check([log], rules)
    total = time.perf_counter() - started
    peak = peak_memory_mib()  # before the staged run: the peak of one check (and the compiled rules)
    summary = checked.report["summary"]
    del checked

    started = time.perf_counter()
    facts = load_fact_logs([log])
    check_buyers(facts, [b.id for b in portfolio.form.agreement.buyers])
    load = time.perf_counter() - started
    as_of = default_as_of(facts.facts)
    assert as_of is not None
    started = time.perf_counter()
    state = portfolio.evaluate(portfolio.form.agreement.id, facts.facts, as_of)
    evaluate = time.perf_counter() - started
    started = time.perf_counter()
    report = build_report(state, portfolio.form)
    built = time.perf_counter() - started
    started = time.perf_counter()
    render_json(report)
    render = time.perf_counter() - started

    assert report["summary"] == summary, "the staged run must give the end-to-end report"
    return Timing(
        facts=len(facts.facts),
        total=total,
        load=load,
        evaluate=evaluate,
        report=built,
        render=render,
        obligations=len(report["obligations"]),
        breached=report["summary"]["statuses"].get("breached", 0),
        peak_mib=peak,
    )


def print_timing(timing: Timing, log: Path) -> None:
    staged = timing.load + timing.evaluate + timing.report
    print(f"{log.name}: {timing.facts:,} facts, {timing.obligations:,} obligations ({timing.breached:,} breached)")
    print(f"  check, end to end     {timing.total:8.2f} s   {timing.rate:10,.0f} facts/s")
    print(f"  load + validate       {timing.load:8.2f} s   {100 * timing.load / staged:5.1f} %")
    print(f"  evaluate (engine)     {timing.evaluate:8.2f} s   {100 * timing.evaluate / staged:5.1f} %")
    print(f"  report (SLD, text)    {timing.report:8.2f} s   {100 * timing.report / staged:5.1f} %")
    print(f"  render JSON           {timing.render:8.2f} s   (not part of check)")
    print(f"  peak memory (RSS)     {timing.peak_mib:8.0f} MiB   (whole process, after one check)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logs", nargs="*", type=Path, help="fact logs to time (default: generate one per --facts)")
    parser.add_argument("--facts", type=int, nargs="+", default=[100_000], help="sizes to generate (default 100000)")
    parser.add_argument("--seed", type=int, default=2003)
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="rule folder (default: the Amnis rules)")
    args = parser.parse_args(argv)
    if args.logs:
        # Measured in this process: the log was written elsewhere, so peak memory is the check's own.
        for log in args.logs:
            print_timing(measure(log, args.rules), log)
        return 0
    print(f"python {platform.python_version()} on {platform.machine()}, {_cpus()} CPUs; rules {args.rules}")
    with tempfile.TemporaryDirectory(prefix="covenant-bench-") as directory:
        for size in args.facts:
            log = Path(directory) / f"amnis-{size}.jsonl"
            write(generate(size, args.seed), log)
            # A fresh process per size, so each peak memory figure is that size's alone.
            sys.stdout.flush()
            subprocess.run([sys.executable, __file__, "--rules", str(args.rules), str(log)], check=True)
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    raise SystemExit(main())
