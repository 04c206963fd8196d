"""Who holds the Securities on which day, and whose consent that makes enough.

Holding decides three things the rule files only name: which Buyers an
"each holder" obligation arises for, who must waive an obligation owed to
all, and whether consents add up to "every holder" or a majority in
interest. It changes only on the Closing and on transfers, so it is kept
apart from the engine as plain dates.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Collection, Iterable
from decimal import Decimal

from covenant.calendar import Date
from covenant.facts import Fact
from covenant.language.model import Agreement, Effect


def matches(effect: Effect, fact: Fact) -> bool:
    """Whether ``fact`` has the effect: its type, and the field values the effect's ``where`` gives."""
    return fact.type == effect.on and all(fact.fields.get(name) == value for name, value in effect.where.items())


def effect_amounts(agreement: Agreement, facts: Iterable[Fact], does: str) -> dict[str, list[tuple[Date, Decimal]]]:
    """Per party, (date, amount) of each fact with a declared effect of kind ``does`` (a conversion's principal)."""
    effects = agreement.effects_doing(does)
    out: dict[str, list[tuple[Date, Decimal]]] = {}
    if not effects:
        return out
    types = {effect.on for effect in effects}
    for fact in facts:
        if fact.type not in types:
            continue
        for effect in effects:
            if matches(effect, fact):
                assert effect.party is not None and effect.by is not None  # the model requires them
                out.setdefault(fact.fields[effect.party], []).append((fact.date, Decimal(fact.fields[effect.by])))
                break
    return out


class Holdings:
    """Each holder's holding as (first day, day it ended or None), and how consents count.

    The majority is the agreement's ``majority``: a share of the principal,
    strictly more or at least, of the original principal or of the principal
    outstanding on the act's day (after the declared ``principal_reduced``
    effects dated on or before it).
    """

    __slots__ = ("_at_least", "_principals", "_reduced", "_share", "held")

    def __init__(self, agreement: Agreement, facts: Iterable[Fact] = ()) -> None:
        self.held: dict[str, tuple[Date, Date | None]] = {}
        self._principals = {b.id: b.principal for b in agreement.parties}
        majority = agreement.majority
        self._at_least = majority.at_least is not None
        share = majority.at_least if majority.at_least is not None else majority.more_than
        assert share is not None  # the model requires one
        self._share = share
        # Per party: days (ordinals) of reductions and the total reduced by then; only when counted outstanding.
        self._reduced: dict[str, tuple[list[int], list[Decimal]]] = {}
        if majority.of == "outstanding_principal":
            for party, changes in effect_amounts(agreement, facts, "principal_reduced").items():
                changes.sort()
                days = [day.toordinal() for day, _ in changes]
                self._reduced[party] = (days, list(itertools.accumulate(amount for _, amount in changes)))

    def principal_on(self, party: str, day: Date) -> Decimal:
        """The principal ``party`` holds on ``day``: its original less reductions dated on or before it."""
        original = self._principals.get(party, Decimal(0))
        reduced = self._reduced.get(party)
        if reduced is None:
            return original
        days, totals = reduced
        position = bisect.bisect_right(days, day.toordinal())
        return max(original - (totals[position - 1] if position else Decimal(0)), Decimal(0))

    def start(self, buyer: str, on: Date) -> None:
        self.held[buyer] = (on, None)

    def end(self, buyer: str, on: Date) -> None:
        start, _ = self.held[buyer]
        self.held[buyer] = (start, on)

    def holders_on(self, day: Date) -> set[str]:
        return {b for b, (start, end) in self.held.items() if start <= day and (end is None or day < end)}

    def owed_on(self, buyer: str, trigger_date: Date) -> bool:
        """Whether an "each holder" obligation arises for ``buyer``: holding on the trigger date, not since transferred.

        A Buyer not (yet) holding anything is not judged here: before the
        Closing an obligation may be owed to a named Buyer.
        """
        if buyer not in self.held:
            return True
        held_from, held_to = self.held[buyer]
        return not (trigger_date < held_from or held_to is not None)

    def permitted(self, given_by: str, consenting: Collection[str], beneficiary: str | None, act_on: Date) -> bool:
        """Whether the consents given so far permit an act of ``act_on``, as the rule's ``given_by`` counts them."""
        consenting = set(consenting)
        if given_by == "beneficiary":
            return beneficiary in consenting
        if given_by == "every_holder":
            return self.holders_on(act_on) <= consenting
        principals = self._principals
        share = sum((self.principal_on(b, act_on) for b in consenting if b in principals), Decimal(0))
        needed = sum((self.principal_on(b, act_on) for b in principals), Decimal(0)) * self._share
        return share >= needed if self._at_least else share > needed
