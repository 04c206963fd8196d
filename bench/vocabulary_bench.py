"""Validate a generated log with the old hand-written models and with those built from the folder's vocabulary.yaml.

The declared vocabulary must cost no more than the hand-written classes
facts.py had before issue 14 (kept as the tests' oracle,
tests/amnis_reference.py): both validate the same decoded lines, in turns, several rounds,
and the best round of each is printed as facts per second. Only
``parse_fact`` is timed: reading and decoding the lines is the same code
either way and happens before the clock starts.

    python bench/vocabulary_bench.py                 # 100,000 generated facts, 5 rounds
    python bench/vocabulary_bench.py --facts 20000 --rounds 3

Wall-clock time is read only here, in bench/ (``time.perf_counter``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from covenant.facts import decode_line
from covenant.language.loader import VOCABULARY_FILE
from covenant.language.vocabulary import load_vocabulary
from generate import generate  # bench/ is the script's directory, so on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.amnis_reference import parse_fact  # noqa: E402  (the repository root, for the tests' oracle)

DEFAULT_RULES = ROOT / "rules" / "amnis-spa-2003"


def decoded_lines(total: int, seed: int) -> list[Any]:
    """The generated log's lines, decoded as ``load_fact_logs`` decodes them (Decimal numbers, no floats)."""
    out = []
    for number, record in enumerate(generate(total, seed=seed), 1):
        raw = json.dumps(record, separators=(", ", ": ")).encode("utf-8")
        value, problem = decode_line(number, raw, len(raw), "bench.jsonl")
        assert problem is None, problem
        out.append(value)
    return out


def one_round(parse: Callable[..., Any], lines: list[Any]) -> float:
    start = time.perf_counter()
    for order, raw in enumerate(lines):
        parse(raw, "bench.jsonl", order + 1, order)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=100_000, help="facts to generate (default 100000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each, in turns (default 5)")
    parser.add_argument("--seed", type=int, default=2003)
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="rule folder with vocabulary.yaml")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    vocabulary = load_vocabulary(args.rules / VOCABULARY_FILE)
    built = time.perf_counter() - start
    lines = decoded_lines(args.facts, args.seed)
    ways: dict[str, Callable[..., Any]] = {
        "hand-written models (before issue 14)": parse_fact,
        "vocabulary.yaml (generated models)": vocabulary.parse_fact,
    }
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(args.rounds):
        for name, parse in ways.items():
            best[name] = min(best[name], one_round(parse, lines))
    print(f"{len(lines):,} facts, best of {args.rounds} rounds; vocabulary read and built in {built * 1000:.0f} ms")
    for name, seconds in best.items():
        print(f"  {name:<36} {seconds:6.3f} s  {len(lines) / seconds:>10,.0f} facts/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
