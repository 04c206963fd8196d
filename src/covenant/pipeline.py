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
from covenant.evaluate import AgreementState, Portfolio, default_as_of
from covenant.facts import FIRST_DAY, LAST_DAY, Fact, FactCheck, FactLog, buyer_problems, load_fact_logs
from covenant.report import STATUS_ORDER, build_report
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
    folder = resolve_folder(folder)
    stamp = tuple(sorted((str(p), p.stat().st_mtime) for p in folder.glob("*.y*ml")))
    return _portfolio_for(folder, stamp)


def resolve_folder(folder: Path) -> Path:
    """``folder`` as an absolute path without links, or ``InputError`` (a symbolic link loop raised RuntimeError)."""
    try:
        return folder.resolve()
    except (OSError, RuntimeError) as error:
        raise InputError([Problem(str(folder), None, None, f"cannot resolve the path: {error}")]) from None


def agreement_checks(form: CompiledForm) -> FactCheck:
    """The checks of one fact that need the agreement: its buyers, its id, the ids its rules give facts.

    A rule that derives a fact names it by the rule's id (``rule`` or
    ``rule#2``): a recorded fact with such an id would be taken for the
    derived one, so those ids are refused.
    """
    buyers = [b.id for b in form.agreement.buyers]
    agreement_id = form.agreement.id
    deriving = sorted(rule_id for rule_id, rule in form.rules.items() if getattr(rule, "derives", None))

    def check_fact(fact: Fact) -> list[Problem]:
        problems = buyer_problems(fact, buyers)
        if fact.agreement is not None and fact.agreement != agreement_id:
            problems.append(
                Problem(
                    fact.file,
                    fact.line,
                    "agreement",
                    f"unknown agreement {fact.agreement!r}; the rules are for {agreement_id!r}",
                )
            )
        for rule_id in deriving:
            if fact.id == rule_id or fact.id.startswith(f"{rule_id}#"):
                problems.append(
                    Problem(
                        fact.file,
                        fact.line,
                        "id",
                        f"{fact.id!r} is reserved: rule {rule_id!r} ({form.files[rule_id]}) derives facts named so",
                    )
                )
        return problems

    return check_fact


def check(fact_paths: Sequence[Path], rules: Path, as_of: Date | None = None, *, lenient: bool = False) -> Checked:
    """Load, validate, evaluate and report one agreement.

    The report's ``facts`` section accounts for every non-blank line read,
    per file: ``read = used + after_as_of + not_relevant + skipped``.
    """
    if as_of is not None and not FIRST_DAY <= as_of <= LAST_DAY:
        raise InputError([Problem("--as-of", None, None, f"{as_of} is out of range ({FIRST_DAY} to {LAST_DAY})")])
    portfolio = portfolio_for(rules)
    form = portfolio.form
    log = load_fact_logs(fact_paths, lenient=lenient, check=agreement_checks(form))
    day = as_of or default_as_of(log.facts)
    state: AgreementState | None = None
    if day is None:
        report = build_empty_report(form, as_of)
    else:
        state = portfolio.evaluate(form.agreement.id, log.facts, day)
        report = build_report(state, form)
    report["facts"] = fact_accounting(log, state)
    if log.skipped:
        report["skipped"] = [p.format() for p in log.skipped]
    return Checked(report=report, log=log, form=form)


def fact_accounting(log: FactLog, state: AgreementState | None) -> dict[str, Any]:
    """Every line read, per file, as used, after the as-of date, not relevant to any rule, or skipped."""
    skipped = log.skipped_lines()
    per_file: dict[str, dict[str, int]] = {
        file: {"read": read, "used": 0, "after_as_of": 0, "not_relevant": 0, "skipped": skipped.get(file, 0)}
        for file, read in sorted(log.lines_read.items())
    }
    evaluated = {f.id for f in state.facts} if state is not None else set()
    used = state.facts_used if state is not None else set()
    for fact in log.facts:
        entry = per_file[fact.file]
        if fact.id not in evaluated:
            entry["after_as_of"] += 1
        elif fact.id in used:
            entry["used"] += 1
        else:
            entry["not_relevant"] += 1
    totals = {name: sum(entry[name] for entry in per_file.values()) for name in _COUNTS}
    return {**totals, "per_file": per_file}


_COUNTS = ("read", "used", "after_as_of", "not_relevant", "skipped")


def build_empty_report(form: CompiledForm, as_of: Date | None) -> dict[str, Any]:
    """The report of a run without facts (an empty log, or every line skipped)."""
    return {
        "agreement": form.agreement.id,
        "as_of": as_of.isoformat() if as_of else None,
        "obligations": [],
        "summary": {"statuses": dict.fromkeys(STATUS_ORDER, 0), "totals": {}},
        "facts": {},
    }
