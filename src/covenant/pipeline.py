"""Facts and rules in, one report out: the library call behind ``covenant check``.

The CLI parses arguments and calls ``check``; tests and other programs call
it directly. Everything that can be wrong with the input is found before
the engine starts, so nothing is half-evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from covenant.calendar import Date
from covenant.compiler import CompiledForm, compile_form
from covenant.diagnostics import InputError, Problem
from covenant.evaluate import Portfolio, default_as_of
from covenant.facts import FactLog, check_buyers, load_fact_logs
from covenant.report import build_report
from covenant.rulefiles import load_rule_folder


@dataclass(frozen=True)
class Checked:
    report: dict[str, Any]
    log: FactLog
    form: CompiledForm


@lru_cache(maxsize=32)
def _portfolio_for(folder: Path, _stamp: tuple[tuple[str, float], ...]) -> Portfolio:
    # One compiled ruleset per rule folder per process: the C core keeps
    # every ruleset it is given, so recompiling per call would leak.
    return Portfolio(compile_form(load_rule_folder(folder)))


def portfolio_for(folder: Path) -> Portfolio:
    folder = folder.resolve()
    stamp = tuple(sorted((str(p), p.stat().st_mtime) for p in folder.glob("*.y*ml")))
    return _portfolio_for(folder, stamp)


def check(fact_paths: Sequence[Path], rules: Path, as_of: Date | None = None, *, lenient: bool = False) -> Checked:
    """Load, validate, evaluate and report one agreement."""
    portfolio = portfolio_for(rules)
    form = portfolio.form
    log = load_fact_logs(fact_paths, lenient=lenient)
    check_buyers(log, [b.id for b in form.agreement.buyers])
    foreign = [
        Problem(
            f.file, f.line, "agreement", f"unknown agreement {f.agreement!r}; the rules are for {form.agreement.id!r}"
        )
        for f in log.facts
        if f.agreement is not None and f.agreement != form.agreement.id
    ]
    if foreign:
        raise InputError(foreign)
    day = as_of or default_as_of(log.facts)
    if day is None:
        report = build_empty_report(form, as_of)
    else:
        state = portfolio.evaluate(form.agreement.id, log.facts, day)
        report = build_report(state, form)
    if log.skipped:
        report["skipped"] = [p.format() for p in log.skipped]
    report["facts"]["per_file"] = dict(sorted(log.lines_read.items()))
    return Checked(report=report, log=log, form=form)


def build_empty_report(form: CompiledForm, as_of: Date | None) -> dict[str, Any]:
    return {
        "agreement": form.agreement.id,
        "as_of": as_of.isoformat() if as_of else None,
        "obligations": [],
        "summary": {"statuses": {}, "totals": {}},
        "facts": {"read": 0, "used": 0, "after_as_of": 0, "not_relevant": 0},
    }
