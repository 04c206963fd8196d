"""Facts and rules in, one report out: the one path every command takes.

``check``, ``explain``, ``upcoming``, the scenarios of ``covenant test`` and
a portfolio's workers all validate facts with ``agreement_checks`` (through
``load_facts`` for fact logs, ``validated_facts`` for facts already parsed)
and evaluate them with ``evaluate``, so a log refused by one is refused by
all, in the same words, and every report is built the same way. Everything
that can be wrong with the input is found before the engine starts, so
nothing is half-evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from covenant.calendar import Date
from covenant.diagnostics import InputError, Problem
from covenant.facts import FIRST_DAY, LAST_DAY, Fact, FactCheck, FactLog, FactReader, load_fact_logs
from covenant.language.compiler import CompiledForm, compile_form
from covenant.language.loader import load_rule_folder
from covenant.language.model import Agreement
from covenant.law.driver import AgreementState, FormEvaluator, default_as_of
from covenant.report.build import STATUS_ORDER, Evaluated, build_report


@lru_cache(maxsize=32)
def _evaluator_for(folder: Path, _stamp: tuple[tuple[str, float], ...]) -> FormEvaluator:
    # One compiled ruleset per rule folder per process: the C core keeps
    # every ruleset it is given, so recompiling per call would leak.
    return FormEvaluator(compile_form(load_rule_folder(folder)))


def evaluator_for(folder: Path) -> FormEvaluator:
    """The rule folder compiled once per process (again only when one of its files changed)."""
    folder = resolve_folder(folder)
    stamp = tuple(sorted((str(p), p.stat().st_mtime) for p in folder.glob("*.y*ml")))
    return _evaluator_for(folder, stamp)


def resolve_folder(folder: Path) -> Path:
    """``folder`` as an absolute path without links, or ``InputError`` (a symbolic link loop raised RuntimeError)."""
    try:
        return folder.resolve()
    except (OSError, RuntimeError) as error:
        raise InputError([Problem(str(folder), None, None, f"cannot resolve the path: {error}")]) from None


def agreement_checks(form: CompiledForm) -> FactCheck:
    """The checks of one fact that need the agreement: its parties, its id, the ids its rules give facts.

    Which fields name a party, a rule or a clause is the form's vocabulary's
    to say (its ``party``, ``rule`` and ``clause`` fields).

    A rule that derives a fact names it by the rule's id (``rule`` or
    ``rule#2``): a recorded fact with such an id would be taken for the
    derived one, so those ids are refused.
    """
    vocabulary = form.vocabulary
    buyers = frozenset(b.id for b in form.agreement.buyers)
    word = party_word(form.agreement.buyers)
    agreement_id = form.agreement.id
    deriving = sorted(rule_id for rule_id, rule in form.rules.items() if getattr(rule, "derives", None))
    rule_ids = set(form.rules)
    clauses = {rule.clause for rule in form.rules.values()}
    checks_folder = {kind for of in ("rule", "clause") for kind, _ in vocabulary.fields_of_kind.get(of, ())}
    schedule = form.agreement.instrument.scheduled_dates() if vocabulary.scheduled_fields else {}

    def check_fact(fact: Fact) -> list[Problem]:
        problems = vocabulary.party_problems(fact, buyers, word)
        if fact.type in vocabulary.scheduled_fields:
            problems.extend(vocabulary.schedule_problems(fact, schedule))
        if fact.type in checks_folder:
            problems.extend(vocabulary.folder_problems(fact, rule_ids, clauses))
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


PARTY_WORD = "buyer"
"""What the messages call a party a fact names when agreement.yaml gives none (the default ``role``)."""


def party_word(parties: Iterable[Any]) -> str:
    """What messages call the parties: their ``role`` when they share one (``buyer``, ``holder``), else ``party``."""
    roles = {party.role for party in parties}
    if not roles:
        return PARTY_WORD
    return roles.pop() if len(roles) == 1 else "party"


def check_as_of(as_of: Date | None) -> None:
    if as_of is not None and not FIRST_DAY <= as_of <= LAST_DAY:
        raise InputError([Problem("--as-of", None, None, f"{as_of} is out of range ({FIRST_DAY} to {LAST_DAY})")])


def load_facts(fact_paths: Sequence[Path], form: CompiledForm, *, lenient: bool = False) -> FactLog:
    """Fact logs read and validated as facts of this agreement (``form.agreement`` holds its own terms)."""
    return load_fact_logs(fact_paths, form.vocabulary, lenient=lenient, check=agreement_checks(form))


def validated_facts(facts: Iterable[Fact], form: CompiledForm) -> FactLog:
    """Facts already parsed (a scenario's), validated exactly as a log's lines are; ``InputError`` if any is bad."""
    reader = FactReader(vocabulary=form.vocabulary, lenient=False, check=agreement_checks(form))
    lines_read: dict[str, int] = {}
    for fact in facts:
        lines_read[fact.file] = lines_read.get(fact.file, 0) + 1
        reader.accept(fact)
    return FactLog(facts=tuple(reader.resolve_refs()), lines_read=lines_read)


def evaluate(
    evaluator: FormEvaluator, log: FactLog, as_of: Date | None = None, agreement: Agreement | None = None
) -> Evaluated:
    """Evaluate one agreement's validated facts as of ``as_of`` (default: the latest fact's date) and report.

    ``agreement`` is a portfolio member's own terms over the form's
    (default: the form's ``agreement.yaml``). The report's ``facts``
    section accounts for every non-blank line read, per file:
    ``read = used + after_as_of + not_relevant + skipped``.
    """
    check_as_of(as_of)
    form = evaluator.form
    agreement = agreement or form.agreement
    day = as_of or default_as_of(log.facts)
    state: AgreementState | None = None
    if day is None:
        report = build_empty_report(form, as_of)
        report["agreement"] = agreement.id
    else:
        state = evaluator.evaluate(agreement.id, log.facts, day, agreement)
        report = build_report(state, form)
    report["facts"] = fact_accounting(log, state)
    if log.skipped:
        report["skipped"] = [p.format() for p in log.skipped]
    return Evaluated(report=report, log=log, form=form, state=state)


def check(fact_paths: Sequence[Path], rules: Path, as_of: Date | None = None, *, lenient: bool = False) -> Evaluated:
    """Load, validate, evaluate and report one agreement: ``covenant check``."""
    check_as_of(as_of)  # before reading a line: a bad date is the first thing to say
    evaluator = evaluator_for(rules)
    return evaluate(evaluator, load_facts(fact_paths, evaluator.form, lenient=lenient), as_of)


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
        "summary": {"statuses": dict.fromkeys(map(str, STATUS_ORDER), 0), "totals": {}},
        "facts": {},
    }
