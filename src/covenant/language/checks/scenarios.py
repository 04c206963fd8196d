"""Lint checks of scenario files: what a scenario compares must exist (rule ids, triggers, Buyers)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

from covenant.calendar import as_date
from covenant.diagnostics import Problem
from covenant.language.checks.common import (
    LintFolder,
    ScenarioFileTree,
    did_you_mean,
)
from covenant.language.loader import locate


def check_scenarios(folder: LintFolder) -> Iterator[Problem]:
    """``scenario``: what a scenario compares must exist (rule ids, triggers, beneficiaries).

    A misspelt rule id, a trigger naming no fact of the scenario, a Buyer
    the agreement does not have, or a beneficiary on an obligation owed to
    all: ``covenant test`` would fail on them with a less direct message,
    or (before every scenario could fail) pass without checking anything.
    """
    rules: dict[str, Any] = {r.rule.id: r.rule for r in folder.rules}
    rules.update(dict.fromkeys(folder.unloaded_ids - set(rules)))
    buyers = {b.id for b in folder.agreement.buyers} if folder.agreement else None  # None: agreement.yaml is wrong
    vocabulary = folder.vocabulary
    if vocabulary is None:  # without the form's vocabulary no scenario file was read (lint.py)
        return
    schedule = folder.agreement.instrument.scheduled_dates() if folder.agreement and vocabulary.scheduled_fields else {}
    for linted in folder.scenario_files:
        tree = linted.tree
        yield from _unknown_keys(linted, [], tree, SCENARIO_FILE_KEYS)
        file_rule = str(tree.get("rule")) if tree.get("rule") is not None else None
        for index, scenario in enumerate(linted.scenarios):
            at = ["scenarios", index]
            yield from _unknown_keys(linted, at, tree["scenarios"][index], SCENARIO_KEYS)
            for number, entry in enumerate(tree["scenarios"][index].get("expect") or []):
                if isinstance(entry, dict):
                    yield from _unknown_keys(linted, [*at, "expect", number], entry, EXPECTED_KEYS)
            named = [e.get("rule") for e in scenario.expect]
            if file_rule not in rules and scenario.rules is None and not named:
                yield _scenario_problem(
                    linted,
                    ["rule"] if index == 0 else at,
                    f"rule: {file_rule} is not a rule id, and scenario {scenario.name!r} names no rule",
                    did_you_mean(str(file_rule), rules) or "give the scenario rules: [rule-id, ...]",
                )
            for number, name in enumerate(scenario.rules or ()):
                if name not in rules:
                    yield _unknown_rule(linted, [*at, "rules", number], name, rules)
            facts = {fact.id: fact for fact in scenario.facts}
            clauses = {r.rule.clause for r in folder.rules}
            for fact in scenario.facts:
                for problem in vocabulary.folder_problems(fact, rules, clauses):
                    yield dataclasses.replace(problem, code="scenario")
                if schedule:
                    for problem in vocabulary.schedule_problems(fact, schedule):
                        yield dataclasses.replace(problem, code="scenario")
            for number, entry in enumerate(scenario.expect):
                yield from _expected_entry(linted, [*at, "expect", number], entry, rules, buyers, facts)


SCENARIO_FILE_KEYS = frozenset({"rule", "scenarios"})
SCENARIO_KEYS = frozenset({"name", "title", "as_of", "facts", "rules", "expect"})
EXPECTED_KEYS = frozenset(
    {"rule", "trigger", "beneficiary", "due", "status", "breach_start", "cured_on", "days_in_breach", "remedies"}
    | {"clause", "ended_on", "trigger_date", "waived_by", "discharged_by", "evidence", "explanation"}
    | {"measure", "valid"}
)
"""What a scenario file, a scenario and an expected obligation (the report's fields) may say."""


def _unknown_keys(
    linted: ScenarioFileTree, path: list[int | str], mapping: Any, allowed: frozenset[str]
) -> Iterator[Problem]:
    for key in mapping if isinstance(mapping, dict) else ():
        if key not in allowed:
            yield _scenario_problem(
                linted,
                [*path, key],
                f"unknown key {key!r}",
                did_you_mean(str(key), allowed) or f"the keys here: {', '.join(sorted(allowed))}",
            )


def _scenario_problem(linted: ScenarioFileTree, path: Sequence[int | str], message: str, hint: str | None) -> Problem:
    line, column = locate(linted.tree, list(path))
    return Problem(linted.file, line, None, message, column, code="scenario", hint=hint)


def _unknown_rule(linted: ScenarioFileTree, path: Sequence[int | str], name: Any, rules: dict[str, Any]) -> Problem:
    return _scenario_problem(
        linted,
        path,
        f"no rule of this folder has the id {name!r}",
        did_you_mean(str(name), rules) or "the rule ids are the id: of each rule file",
    )


def _expected_entry(
    linted: ScenarioFileTree,
    path: list[int | str],
    entry: dict[str, Any],
    rules: dict[str, Any],
    buyers: set[str] | None,
    facts: dict[str, Any],
) -> Iterator[Problem]:
    name = entry.get("rule")
    if str(name) not in rules:
        yield _unknown_rule(linted, [*path, "rule"], name, rules)
        return
    rule = rules[str(name)]
    if rule is None:
        return  # its file did not load; that file's problems say why
    beneficiary = entry.get("beneficiary")
    owed_to = getattr(rule, "owed_to", None)
    if buyers is not None and beneficiary is not None and beneficiary not in buyers:  # None: Buyers unknown
        yield _scenario_problem(
            linted,
            [*path, "beneficiary"],
            f"beneficiary {beneficiary!r} is not a Buyer of the agreement",
            did_you_mean(str(beneficiary), buyers) or f"the Buyers: {', '.join(sorted(buyers))}, or null",
        )
    elif beneficiary is not None and owed_to == "all":
        yield _scenario_problem(
            linted,
            [*path, "beneficiary"],
            f"rule {name} is owed to all the Buyers together: its obligations have beneficiary null",
            "write beneficiary: null",
        )
    elif beneficiary is None and owed_to == "each_holder":
        yield _scenario_problem(
            linted,
            [*path, "beneficiary"],
            f"rule {name} makes one obligation per Buyer: beneficiary null can never be reported",
            f"write one expected obligation per Buyer: {', '.join(sorted(buyers or ()))}",
        )
    for number, remedy in enumerate(entry.get("remedies") or []):
        amount = remedy.get("amount") if isinstance(remedy, dict) else None
        if amount is not None and not isinstance(amount, str):
            yield _scenario_problem(
                linted,
                [*path, "remedies", number, "amount"],
                f"amount {amount!r} is written as a number: the report writes amounts as text with two decimals",
                f'quote it with its cents: "{amount:.2f}"' if isinstance(amount, int | float) else "quote it",
            )
    trigger = entry.get("trigger")
    if trigger is None or not isinstance(trigger, str):
        return
    fact = facts.get(trigger)
    if fact is None:
        rests_on, _, underlying = trigger.partition("/")
        if underlying and rests_on in rules and (underlying in facts or _is_date(underlying)):
            return  # an Event of Default's trigger: the rule and trigger it rests on
        try:
            as_date(trigger)
        except ValueError:
            yield _scenario_problem(
                linted,
                [*path, "trigger"],
                f"trigger {trigger!r} is no fact of this scenario",
                did_you_mean(trigger, facts)
                or 'a trigger is the id of a fact under facts:, a period end "YYYY-MM-DD", or RULE/TRIGGER',
            )
        return
    kinds = {getattr(t, "on", None) for t in _rule_triggers(rule)}
    if kinds and None not in kinds and fact.type not in kinds:
        yield _scenario_problem(
            linted,
            [*path, "trigger"],
            f"trigger {trigger!r} is a fact of type {fact.type}, but rule {name} arises on "
            f"{', '.join(sorted(kinds))} only",
            "name the fact that makes the obligation arise",
        )


def _is_date(text: str) -> bool:
    try:
        as_date(text)
    except ValueError:
        return False
    return True


def _rule_triggers(rule: Any) -> list[Any]:
    triggers = getattr(rule, "triggers", None)
    return triggers() if callable(triggers) else []
