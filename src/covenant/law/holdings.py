"""Who holds the Securities on which day, and whose consent that makes enough.

Holding decides three things the rule files only name: which Buyers an
"each holder" obligation arises for, who must waive an obligation owed to
all, and whether consents add up to "every holder" or a majority in
interest. It changes only on the Closing and on transfers, so it is kept
apart from the engine as plain dates.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from covenant.calendar import Date
from covenant.language.model import Agreement


class Holdings:
    """Each Buyer's holding as (first day, day it ended or None)."""

    __slots__ = ("_majority", "_principals", "held")

    def __init__(self, agreement: Agreement) -> None:
        self.held: dict[str, tuple[Date, Date | None]] = {}
        self._principals = {b.id: b.principal for b in agreement.buyers}
        # What a majority in interest must exceed.
        self._majority = agreement.principal_total() * agreement.majority_in_interest_more_than

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
        share = sum((principals[b] for b in consenting if b in principals), Decimal(0))
        return share > self._majority
