"""The engine's working memory for one agreement's session, and what a fact looks like in it.

The engine matches scalars, so a user fact is encoded as one or more engine
facts (a list field becomes one fact per item; amounts become floats, the
exact Decimal staying on the ``Fact``). Working memory must stay the size of
what is still open, not of what was read: every fact asserted is either
kept (its type is joined later, or a join on its trigger may still use it)
or retracted at the end of its day, and facts a rule used up (a payment,
a closed obligation) go then too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from covenant.calendar import Date
from covenant.engine.core import Ruleset
from covenant.engine.names import OBLIGATION
from covenant.facts import Fact
from covenant.law.obligations import Obligation

EngineFact = dict[str, Any]


class WorkingMemory:
    """Asserts into one session and retracts, at the end of each day, what can no longer matter."""

    __slots__ = (
        "_by_key",
        "_consumed",
        "_consumed_ids",
        "_dated",
        "_joined_on_trigger",
        "_keep_always",
        "_ruleset",
        "_sid",
        "_tonight",
    )

    def __init__(
        self,
        ruleset: Ruleset,
        sid: str,
        keep_always: set[str],
        joined_on_trigger: dict[str, list[frozenset[str]]],
        dated: frozenset[str] = frozenset(),
    ) -> None:
        self._ruleset = ruleset
        self._sid = sid
        self._keep_always = keep_always
        self._joined_on_trigger = joined_on_trigger
        self._dated = dated
        self._tonight: list[EngineFact] = []
        self._consumed: list[EngineFact] = []
        self._consumed_ids: set[str] = set()  # engine ids of today's facts used up by a rule (a payment)
        self._by_key: dict[str, Fact] = {}

    def assert_fact(self, engine_fact: EngineFact) -> bool:
        """Assert; True if some engine rule fired on it."""
        return self._ruleset.assert_fact(self._sid, engine_fact)

    def assert_for_today(self, engine_fact: EngineFact) -> None:
        """Assert a fact that matters on this day only (a breach, a period end)."""
        self._ruleset.assert_fact(self._sid, engine_fact)
        self._tonight.append(engine_fact)

    def assert_user_fact(self, fact: Fact, day: Date) -> bool:
        """Assert a fact taking effect on ``day``; True if some engine rule fired on it."""
        keep = fact.type in self._keep_always
        handled = False
        for engine_fact in engine_facts(fact, day, fact.type in self._dated):
            self._by_key[fact.id] = fact
            if self._ruleset.assert_fact(self._sid, engine_fact):
                handled = True
            if not keep and not self._may_answer_later(fact, engine_fact):
                self._tonight.append(engine_fact)
        return handled

    def _may_answer_later(self, fact: Fact, engine_fact: EngineFact) -> bool:
        """Kept while a join on its trigger may still use it (a preview sent before the filing)."""
        for fields in self._joined_on_trigger.get(fact.type, ()):
            if all(name in engine_fact for name in fields):
                return engine_fact["id"] not in self._consumed_ids
        return False

    def consume(self, engine_fact: EngineFact) -> None:
        """A rule used this fact up (a payment counted once): it goes tonight, and may not answer a later join."""
        self._consumed_ids.add(engine_fact["id"])
        self._consumed.append(engine_fact)

    def retire(self, engine_fact: EngineFact) -> None:
        """Nothing can match this fact usefully any more (a closed obligation): it goes tonight."""
        self._consumed.append(engine_fact)

    def retract(self, engine_fact: EngineFact) -> None:
        """Retract now: the fact is replaced or ended while the day goes on."""
        self._ruleset.retract_fact(engine_fact)

    def end_day(self) -> None:
        # By engine id: an action's pattern is a copy of the fact asserted, and either may be listed.
        retracted: set[str] = set()
        for engine_fact in self._tonight + self._consumed:
            if engine_fact["id"] not in retracted:
                retracted.add(engine_fact["id"])
                self._ruleset.retract_fact(engine_fact)
        self._tonight.clear()
        self._consumed.clear()
        self._consumed_ids.clear()

    def exact_fields(self, engine_fact: EngineFact) -> dict[str, Any]:
        """A fact's fields as validated (amounts as Decimal), not as the engine saw them."""
        user_fact = self._by_key.get(engine_fact.get("key", ""))
        if user_fact is not None and engine_fact.get("t") == user_fact.type:
            return {**engine_fact, **user_fact.fields}
        return {k: v for k, v in engine_fact.items() if k not in ("sid", "id", "_c", "t")}


def engine_facts(fact: Fact, day: Date, with_date: bool = False) -> list[EngineFact]:
    """A fact as the engine sees it: scalars only; a list field becomes one fact per item.

    ``with_date``: it also carries the date it bears, as text, beside the day
    it takes effect (mail arrives later); only for the types whose ``date``
    some compiled rule compares (``CompiledForm.dated``).
    """
    base: EngineFact = {"t": fact.type, "key": fact.id, "day": day.toordinal(), "_c": 1}
    lists: list[tuple[str, list[Any]]] = []
    for name, value in fact.fields.items():
        if isinstance(value, list):
            lists.append((name, value))
        elif isinstance(value, Decimal):
            # A number, so `above`/`below` compare amounts; the exact Decimal stays on the Fact.
            base[name] = float(value)
        elif isinstance(value, Date):
            base[name] = value.isoformat()
        else:
            base[name] = value
    if with_date:
        base["date"] = fact.date.isoformat()
    out = [base]
    for name, values in lists:
        out = [{**item, name: value} for item in out for value in dict.fromkeys(values)]
    return out


class ObligationFacts:
    """How an obligation appears in working memory, for the rules that meet, extend or waive it to join on.

    Besides its key, trigger and deadline, it carries the trigger's fields and
    terms that a rule ties to (``same_as: trigger.month``); which ones is
    planned once, from the form.
    """

    __slots__ = ("_from_terms", "_from_trigger")

    def __init__(self, obligation_fields: dict[str, str]) -> None:
        self._from_trigger: list[tuple[str, str]] = []
        self._from_terms: list[tuple[str, str]] = []
        for engine_field, reference in obligation_fields.items():
            if engine_field in ("tkey", "tdate", "beneficiary"):
                continue  # every obligation fact has these
            head, _, name = reference.partition(".")
            (self._from_trigger if head == "trigger" else self._from_terms).append((engine_field, name))

    def encode(self, obligation: Obligation, trigger: EngineFact, terms: dict[str, Any]) -> EngineFact:
        due = obligation.due
        engine_fact = {
            "t": OBLIGATION,
            "rule": obligation.rule_id,
            "alt": obligation.alt,
            "okey": obligation.key,
            "tkey": obligation.trigger_key,
            "tid": trigger.get("key", obligation.trigger_key),
            "tday": obligation.trigger_date.toordinal(),
            "tdate": obligation.trigger_date.isoformat(),
            "beneficiary": obligation.beneficiary or "*",
            "due": due.toordinal() if due else 0,
            "_c": 1,
        }
        engine_fact.update((field, trigger[name]) for field, name in self._from_trigger if name in trigger)
        engine_fact.update((field, terms[name]) for field, name in self._from_terms if name in terms)
        return engine_fact
