"""What every human-facing format says the same way.

The report dict (report.build_report) is the single source; these helpers
pick from it what a reader looks for (breaches, the next deadlines, the
totals) and word it once, so the terminal, Markdown and HTML reports never
disagree on a label, an order or an amount.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from covenant.calendar import as_date
from covenant.law.obligations import Status


@dataclass(frozen=True)
class RemedyWords:
    """The form's own words for its remedies, in the order its agreement.yaml declares them.

    A report carries only each remedy's kind (``report_as``); which kinds
    come first, which are spreadsheet columns even when nothing accrued, and
    their short and long names belong to the form, so every renderer takes
    them from here. Without a form (``NO_WORDS``) kinds are sorted and named
    from the kind itself.
    """

    amounts: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    titles: Mapping[str, str] = field(default_factory=dict)
    everyone: str = "all Buyers"
    """An obligation owed to every party together, in the form's word: its parties' role (all Holders)."""

    @staticmethod
    def of(agreement: Any) -> RemedyWords:
        """From an ``Agreement``: its remedies' ``report_as``, ``label`` and ``title``."""
        amounts, flags = agreement.remedy_kinds()
        labels = {r.report_as: r.label for r in agreement.remedies.values() if r.label}
        titles = {r.report_as: r.title for r in agreement.remedies.values() if r.title}
        return RemedyWords(amounts, flags, labels, titles, agreement.everyone())

    @property
    def headline(self) -> str | None:
        """The first declared kind with an amount: the one the HTML summary sentence names."""
        return self.amounts[0] if self.amounts else None

    def ordered(self, kinds: Iterable[str]) -> list[str]:
        """``kinds`` in the declared order, then any other (a form changed since the report) sorted."""
        present = set(kinds)
        declared = [k for k in (*self.amounts, *self.flags) if k in present]
        return declared + sorted(present - set(declared))

    def label(self, kind: str) -> str:
        return self.labels.get(kind) or kind.replace("_", " ")

    def title(self, kind: str) -> str:
        return self.titles.get(kind) or kind.replace("_", " ").capitalize()


NO_WORDS = RemedyWords()

STATUS_WORDS = {
    Status.FULFILLED: "met",
    Status.PENDING: "pending",
    Status.BREACHED: "breached",
    Status.CURED: "cured",
    Status.WAIVED: "waived",
    Status.DISCHARGED: "discharged",
    Status.REVIEW: "review",
}
SUMMARY_ORDER = (
    Status.FULFILLED,
    Status.PENDING,
    Status.BREACHED,
    Status.CURED,
    Status.WAIVED,
    Status.DISCHARGED,
    Status.REVIEW,
)
"""The order a person reads the counts in: met first, as the summary line says it."""


def remedy_label(kind: str, words: RemedyWords = NO_WORDS) -> str:
    """Short name of a remedy kind, the form's ``label`` if it gives one: SLD, interest, event of default."""
    return words.label(kind)


def remedy_title(kind: str, words: RemedyWords = NO_WORDS) -> str:
    """Long name of a remedy kind, for headings: the form's ``title`` if it gives one."""
    return words.title(kind)


def money(amount: str | Decimal) -> str:
    """A decimal amount with thousands separators and two decimals: 74714.76 -> 74,714.76."""
    return f"{Decimal(amount):,.2f}"


COMPARISON_WORDS = {"at_least": "at least", "at_most": "at most", "below": "below", "above": "above"}


def financial_tests(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every financial test, met or not, in the report's order: the obligations that carry a ``measure``."""
    return [o for o in report["obligations"] if o.get("measure")]


def measure_words(obligation: Mapping[str, Any]) -> str:
    """``1.4999 (limit: at least 1.50)``; ``- (limit: ...)`` for a test whose figures are missing."""
    measure = obligation["measure"]
    return f"{measure.get('value') or '-'} (limit: {measure_limit(obligation)})"


def measure_limit(obligation: Mapping[str, Any]) -> str:
    """``at least 1.50``."""
    measure = obligation["measure"]
    return f"{COMPARISON_WORDS.get(str(measure.get('test')), str(measure.get('test')))} {measure.get('limit')}"


def owed_to(obligation: Mapping[str, Any], words: RemedyWords | None = None) -> str:
    return obligation["beneficiary"] or (words or NO_WORDS).everyone


def breaches(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every obligation that was ever in breach, by first day in breach, then identity."""
    found = [o for o in report["obligations"] if o["breach_start"]]
    return sorted(found, key=lambda o: (o["breach_start"], o["rule"], o["trigger"] or "", o["beneficiary"] or ""))


def pending(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Obligations not yet due or met, soonest first."""
    found = [o for o in report["obligations"] if o["status"] == Status.PENDING]
    return sorted(
        found, key=lambda o: (o["due"] or "9999-12-31", o["rule"], o["trigger"] or "", o["beneficiary"] or "")
    )


def review(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [o for o in report["obligations"] if o["status"] == Status.REVIEW]


def breach_end(obligation: Mapping[str, Any]) -> str | None:
    """The day the breach stopped (cure, waiver or discharge), or None while it is open."""
    return obligation["cured_on"] or obligation.get("ended_on")


def end_words(obligation: Mapping[str, Any]) -> str:
    """How the breach stands: its cure date, "waived 2004-01-12", "ended 2004-11-04" or "open"."""
    if obligation["cured_on"]:
        return str(obligation["cured_on"])
    ended = obligation.get("ended_on")
    if ended:
        return f"{'waived' if obligation['status'] == 'waived' else 'ended'} {ended}"
    return "open"


def remedy_phrases(obligation: Mapping[str, Any], words: RemedyWords = NO_WORDS) -> list[str]:
    """One phrase per remedy line: "SLD alpha 1,871.19", "event of default"."""
    phrases = []
    for remedy in obligation["remedies"]:
        label = words.label(remedy["kind"])
        if "amount" in remedy:
            phrases.append(f"{label} {remedy['buyer']} {money(remedy['amount'])}")
        else:
            phrases.append(label)
    return phrases


def days_until(due: str | None, as_of: str | None) -> int | None:
    if not due or not as_of:
        return None
    return (as_date(due) - as_date(as_of)).days


@dataclass(frozen=True)
class TotalLine:
    """The accrued amount of one remedy kind: per Buyer, and in total."""

    kind: str
    title: str
    per_buyer: list[tuple[str, str]]
    total: str


def total_lines(report: Mapping[str, Any], words: RemedyWords = NO_WORDS) -> list[TotalLine]:
    """The summary's totals in the form's order of remedies, each Buyer in the report's (sorted) order."""
    totals: Mapping[str, Mapping[str, str]] = report["summary"].get("totals", {})
    kinds = words.ordered(totals)
    return [
        TotalLine(
            kind=kind,
            title=words.title(kind),
            per_buyer=[(buyer, amount) for buyer, amount in totals[kind].items() if buyer != "total"],
            total=totals[kind]["total"],
        )
        for kind in kinds
    ]


def status_counts(report: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """(status, word, count) for every status, in the summary's reading order."""
    statuses: Mapping[str, int] = report["summary"].get("statuses", {})
    return [(status, STATUS_WORDS[status], statuses.get(status, 0)) for status in SUMMARY_ORDER]


def buyers_in(report: Mapping[str, Any]) -> list[str]:
    """Every Buyer the report names (as beneficiary or in a remedy), sorted."""
    found: set[str] = set()
    for obligation in report["obligations"]:
        if obligation["beneficiary"]:
            found.add(obligation["beneficiary"])
        found.update(r["buyer"] for r in obligation["remedies"] if r.get("buyer"))
    for amounts in report["summary"].get("totals", {}).values():
        found.update(b for b in amounts if b != "total")
    return sorted(found)


def trigger_dates(facts: Iterable[Any], agreement: Any) -> dict[str | None, str]:
    """Fact id -> date, for the timeline's start of each obligation.

    The report names a fact-made obligation's trigger by the fact's id; the
    date comes from the fact log. Obligations of fixed date (trigger null)
    arise at the Closing (explain.py), so ``None`` maps to the date of the
    first fact that starts the holdings (``agreement``'s `holding_starts` effects).
    """
    dates: dict[str | None, str] = {}
    for fact in facts:
        dates[fact.id] = fact.date.isoformat()
        if None not in dates and agreement.starts_holdings(fact.type, fact.fields):
            dates[None] = fact.date.isoformat()
    return dates


def trigger_date(obligation: Mapping[str, Any], dates: Mapping[str | None, str]) -> str | None:
    """When the obligation arose: the report's ``trigger_date`` if it has one, else the fact's date,
    else the period end the trigger names, else None."""
    if obligation.get("trigger_date"):
        return str(obligation["trigger_date"])
    trigger = obligation["trigger"]
    if trigger in dates:
        return dates[trigger]
    if trigger and _is_date(trigger):
        return str(trigger)
    return None


def _is_date(text: str) -> bool:
    try:
        as_date(text)
    except ValueError:
        return False
    return len(text) == 10


def template_summary(report: Mapping[str, Any], words: RemedyWords) -> dict[str, Any]:
    """What the Markdown and HTML templates both open with: the agreement, counts, totals, open breaches."""
    return {
        "report": report,
        "agreement": report["agreement"],
        "as_of": report.get("as_of"),
        "counts": status_counts(report),
        "totals": total_lines(report, words),
        "words": words,
        "open_breaches": sum(1 for o in report["obligations"] if o["status"] == Status.BREACHED),
        "tests": financial_tests(report),
    }
