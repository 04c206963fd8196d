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
import functools
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from covenant import pipeline
from covenant.law.driver import FormEvaluator
from covenant.report.build import render_json
from generate import generate, write  # bench/ is the script's directory, so on sys.path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = ROOT / "rules" / "amnis-spa-2003"


@dataclass(frozen=True)
class Timing:
    facts: int
    total: float
    cpu: float
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


class StageClock:
    """Times the stages of one ``check`` by wrapping the functions ``pipeline.check`` calls.

    One run gives both the end-to-end figure and its split, so nothing is
    evaluated twice and the split cannot drift from what ``check`` really does.
    """

    STAGES: ClassVar[dict[str, tuple[object, str]]] = {
        "load": (pipeline, "load_fact_logs"),
        "evaluate": (FormEvaluator, "evaluate"),
        "report": (pipeline, "build_report"),
        "accounting": (pipeline, "fact_accounting"),
    }

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(self.STAGES, 0.0)
        self._saved: list[tuple[object, str, Callable[..., Any]]] = []

    def __enter__(self) -> StageClock:
        for stage, (owner, name) in self.STAGES.items():
            original = getattr(owner, name)  # AttributeError: pipeline.check changed, update STAGES
            self._saved.append((owner, name, original))
            setattr(owner, name, self._timed(stage, original))
        return self

    def __exit__(self, *_: object) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)

    def _timed(self, stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - started

        return timed


def measure(log: Path, rules: Path = DEFAULT_RULES) -> Timing:
    """One ``pipeline.check`` of ``log``, timed end to end and stage by stage."""
    pipeline.evaluator_for(rules)  # compiled once per process, as the CLI does; not timed
    with StageClock() as clock:
        started, cpu_started = time.perf_counter(), time.process_time()
        checked = pipeline.check([log], rules)
        total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = peak_memory_mib()
    started = time.perf_counter()
    render_json(checked.report)
    render = time.perf_counter() - started
    report = checked.report
    return Timing(
        facts=report["facts"]["read"],
        total=total,
        cpu=cpu,
        load=clock.seconds["load"],
        evaluate=clock.seconds["evaluate"],
        report=clock.seconds["report"] + clock.seconds["accounting"],
        render=render,
        obligations=len(report["obligations"]),
        breached=report["summary"]["statuses"].get("breached", 0),
        peak_mib=peak,
    )


def print_timing(timing: Timing, log: Path) -> None:
    other = timing.total - timing.load - timing.evaluate - timing.report

    def share(seconds: float) -> str:
        return f"{seconds:8.2f} s   {100 * seconds / timing.total:5.1f} %"

    print(f"{log.name}: {timing.facts:,} facts, {timing.obligations:,} obligations ({timing.breached:,} breached)")
    print(f"  check, end to end     {timing.total:8.2f} s   {timing.rate:10,.0f} facts/s")
    print(f"  check, CPU time       {timing.cpu:8.2f} s   {timing.facts / timing.cpu:10,.0f} facts/s of CPU")
    print(f"  load + validate       {share(timing.load)}")
    print(f"  evaluate (engine)     {share(timing.evaluate)}")
    print(f"  report (SLD, text)    {share(timing.report)}")
    print(f"  other                 {share(other)}")
    print(f"  render JSON           {timing.render:8.2f} s   (after check, as --format json does)")
    print(
        f"  peak memory (RSS)     {timing.peak_mib:8.0f} MiB   (whole process: interpreter, compiled rules, one check)"
    )


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
