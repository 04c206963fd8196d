"""Lint checks of dates and deadlines that cannot mean what the clause says."""

from __future__ import annotations

from collections.abc import Iterator

from covenant.calendar import as_date
from covenant.diagnostics import Problem
from covenant.language.checks.common import (
    LintedRule,
    LintFolder,
    models,
    problem,
    triggers_with_paths,
)
from covenant.language.model import Due, DutyRule, FactTrigger, PeriodTrigger, Test


def check_dates(folder: LintFolder) -> Iterator[Problem]:
    """``bad-date``: a date written in the right shape that is not a calendar date (2003-02-30)."""
    for rule in folder.rules:
        for node in models(rule):
            if isinstance(node.model, Due) and node.model.date:
                yield from _bad_date(rule, [*node.path, "date"], node.model.date)
            starting = getattr(node.model, "starting", None)
            if isinstance(node.model, PeriodTrigger) and starting:
                yield from _bad_date(rule, [*node.path, "starting"], f"{starting}-01", shown=starting)


def _bad_date(rule: LintedRule, path: list[int | str], text: str, shown: str | None = None) -> Iterator[Problem]:
    try:
        as_date(text)
    except ValueError:
        yield problem(rule, path, "bad-date", f"{shown or text!r} is not a calendar date", "write YYYY-MM-DD")


def check_deadlines(folder: LintFolder) -> Iterator[Problem]:
    """``bad-deadline``: a deadline that cannot mean what the clause says.

    Two deadlines (the rule's ``due`` and a trigger's own, or ``act_by`` on a
    duty whose breach starts the day after ``due``): one is silently
    ignored. A fixed date before the first period that makes the obligation
    arise. A deadline counted before a trigger while what meets the
    obligation must come on or after that trigger: it can never be met in
    time, so the breach starts before the obligation exists.
    """
    for rule in folder.rules:
        model = rule.rule
        if not isinstance(model, DutyRule):
            continue
        for path, trigger in triggers_with_paths(model):
            if trigger.due is not None and model.due is not None:
                yield problem(
                    rule,
                    [*path, "due"],
                    "bad-deadline",
                    "two deadlines: this trigger has its own due, and the rule has due as well",
                    "the trigger's due wins; remove one of them",
                )
        if model.act_by is not None and model.breach_starts != "on_trigger":
            yield problem(
                rule,
                ["act_by"],
                "bad-deadline",
                "two deadlines: act_by is only read when breach_starts: on_trigger; here due decides",
                "remove act_by, or write breach_starts: on_trigger instead of due",
            )
        for path, trigger in triggers_with_paths(model):
            due = trigger.due or model.due
            due_path = [*path, "due"] if trigger.due is not None else ["due"]
            if due is None:
                continue
            if due.date and isinstance(trigger, PeriodTrigger) and trigger.starting:
                yield from _fixed_date_before(rule, due_path, due.date, trigger)
            if (due.days_before or due.business_days_before) and isinstance(trigger, FactTrigger):
                yield from _before_and_after(rule, model, due_path, trigger)


def _fixed_date_before(
    rule: LintedRule, path: list[int | str], fixed: str, trigger: PeriodTrigger
) -> Iterator[Problem]:
    try:
        due = as_date(fixed)
        first = as_date(f"{trigger.starting}-01")
    except ValueError:
        return  # bad-date says so
    if due < first:
        yield problem(
            rule,
            [*path, "date"],
            "bad-deadline",
            f"due on {fixed}, before the first obligation can arise "
            f"(every {trigger.every} starting {trigger.starting})",
            "every obligation would be in breach the day it arises: check the date or the starting month",
        )


def _before_and_after(
    rule: LintedRule, model: DutyRule, path: list[int | str], trigger: FactTrigger
) -> Iterator[Problem]:
    for index, meeting in enumerate(model.met_by):
        condition = meeting.where.get("date")
        if isinstance(condition, Test) and condition.on_or_after in ("trigger", "trigger.date"):
            yield problem(
                rule,
                ["met_by", index, "where", "date"],
                "bad-deadline",
                f"due before the {trigger.on} that makes it arise, but met only by a {meeting.fact} "
                "on or after it: it can never be met in time",
                "a deadline before the trigger needs a meeting fact that may come before it; "
                "drop on_or_after, or count the deadline after the trigger",
            )
