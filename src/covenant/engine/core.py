"""The only module that touches durable-rules.

It drives the C core of durable-rules directly (``durable_rules_engine``)
rather than through ``durable.engine.Host``: the Host starts timer threads
that re-arm forever and swallows exceptions raised by actions into session
state. Time in this project is simulated, so the engine's timers are never
needed, and an action that fails must stop the run with a clear message.

A compiled ruleset holds every rule of one agreement form; each agreement
is a session (the engine's ``sid``) of it, so a run can hold many agreements
side by side without their facts ever meeting. The C core allows 1,024
sessions per ruleset; ``EnginePool`` opens further copies of the ruleset
when a portfolio needs more.

Known pitfalls designed around (shared/notes/durable-rules.md):
- fact identity is a 32-bit FNV-1a hash of ``id``: ids are assigned here,
  unique by construction, and checked against the hashes already in use;
- actions fire synchronously; facts asserted from inside an action are
  queued by the core and their actions run in the same drain loop;
- result code 1 (no rule wants the fact) is an answer, not an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import durable_rules_engine as _core
import orjson


def _encode(value: Any) -> str:
    # orjson: about five times faster than json.dumps, and every fact crosses into C as JSON.
    return orjson.dumps(value).decode("utf-8")


Patterns = dict[str, dict[str, Any]]
Action = Callable[[str, Patterns], None]
"""Called as ``action(session_id, {pattern_name: engine_fact, ...})``."""

MAX_SESSIONS_PER_RULESET = 1024
_NOT_HANDLED = 1
_OBSERVED = 2


class EngineError(RuntimeError):
    """The engine refused or failed: the run cannot go on."""


def fnv1a_32(text: str) -> int:
    """The hash the C core keys facts by (state.c, ``storeMessage``)."""
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


class _EngineIds:
    """``e1``, ``e2``, ... with any id whose FNV hash an earlier one has left out.

    The sequence is the same for every session, so it is computed once per
    process, as far as the longest session needs: every session then takes
    its ids from it and no two facts of a session ever share a hash.
    """

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._hashes: set[int] = set()
        self._number = 0

    def __getitem__(self, position: int) -> str:
        while position >= len(self._ids):
            self._number += 1
            candidate = f"e{self._number}"
            digest = fnv1a_32(candidate)
            if digest not in self._hashes:
                self._hashes.add(digest)
                self._ids.append(candidate)
        return self._ids[position]


_ENGINE_IDS = _EngineIds()


@dataclass
class _Session:
    """How many engine ids one session has used."""

    used: int = 0

    def new_id(self) -> str:
        engine_id = _ENGINE_IDS[self.used]
        self.used += 1
        return engine_id


class Ruleset:
    """One compiled ruleset registered with the C core, and its actions."""

    def __init__(self, name: str, definition: dict[str, Any], actions: dict[str, Action]):
        missing = set(definition) - set(actions)
        if missing:
            raise EngineError(f"no action for engine rules {sorted(missing)}")
        self.name = name
        self._actions = actions
        self._sessions: dict[str, _Session] = {}
        self._session_hashes: dict[int, str] = {}  # the core finds a session by this hash alone
        self._draining = False
        try:
            self._handle = _core.create_ruleset(name, _encode(definition))
        except Exception as error:  # the core reports parse errors as plain exceptions
            raise EngineError(f"durable-rules refused ruleset {name!r}: {error}") from error

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    def can_open(self, sid: str) -> bool:
        """Whether ``sid`` fits: a free slot, and no open session whose id has the same hash."""
        return len(self._sessions) < MAX_SESSIONS_PER_RULESET and fnv1a_32(sid) not in self._session_hashes

    def open_session(self, sid: str) -> None:
        if sid in self._sessions:
            return
        if len(self._sessions) >= MAX_SESSIONS_PER_RULESET:
            raise EngineError(f"ruleset {self.name!r} already holds {MAX_SESSIONS_PER_RULESET} sessions")
        digest = fnv1a_32(sid)
        if digest in self._session_hashes:
            # Two open sessions whose ids share a hash would share one working memory in the core.
            other = self._session_hashes[digest]
            raise EngineError(f"sessions {other!r} and {sid!r} have the same engine hash; open them apart")
        self._session_hashes[digest] = sid
        self._sessions[sid] = _Session()

    def close_session(self, sid: str) -> None:
        """Forget an agreement's working memory once its evaluation is over."""
        session = self._sessions.pop(sid, None)
        if session is not None:
            del self._session_hashes[fnv1a_32(sid)]
        if session is not None and session.used:  # the core has no state for a session never asserted into
            _core.delete_state(self._handle, sid)

    def assert_fact(self, sid: str, fact: dict[str, Any]) -> bool:
        """Assert ``fact`` into session ``sid``; return whether any rule wanted it.

        ``fact`` gets its engine ``id`` and ``sid`` here; callers keep the dict
        to retract it later.
        """
        fact["sid"] = sid
        fact["id"] = self._sessions[sid].new_id()
        return self._call(_core.assert_fact, fact)

    def retract_fact(self, fact: dict[str, Any]) -> None:
        self._call(_core.retract_fact, fact)

    def _call(self, operation: Callable[[int, str], Any], fact: dict[str, Any]) -> bool:
        try:
            code, state_handle = operation(self._handle, _encode(fact))
        except Exception as error:
            raise EngineError(f"durable-rules failed on {fact!r}: {error}") from error
        if code == _OBSERVED:
            raise EngineError(f"durable-rules saw engine id {fact['id']!r} twice in {fact['sid']!r}")
        if not self._draining:
            self._drain(fact["sid"], state_handle)
        return code != _NOT_HANDLED

    def _drain(self, sid: str, state_handle: int) -> None:
        """Run every queued action of session ``sid``, including those queued by actions."""
        self._draining = True
        try:
            result = _core.start_action_for_state(self._handle, state_handle)
            while result:
                message = orjson.loads(result[1])
                for rule_name, patterns in message.items():
                    self._actions[rule_name](sid, patterns)
                following = _core.complete_and_start_action(self._handle, state_handle)
                result = (result[0], following) if following else None
        finally:
            self._draining = False


class EnginePool:
    """Copies of one compiled ruleset, so any number of agreements fit.

    A session goes to the first copy with a free slot and no open session
    whose id has the same hash; each copy holds at most
    ``MAX_SESSIONS_PER_RULESET`` open sessions, and closing one frees its slot.
    """

    def __init__(self, name: str, definition: dict[str, Any], actions: dict[str, Action]):
        self._name = name
        self._definition = definition
        self._actions = actions
        self._rulesets: list[Ruleset] = []
        self._home: dict[str, Ruleset] = {}

    def session(self, sid: str) -> Ruleset:
        """The ruleset copy holding ``sid``, opening the session on first use."""
        home = self._home.get(sid)
        if home is not None:
            return home
        home = next((ruleset for ruleset in self._rulesets if ruleset.can_open(sid)), None)
        if home is None:
            copy_name = f"{self._name}#{len(self._rulesets) + 1}"
            home = Ruleset(copy_name, self._definition, self._actions)
            self._rulesets.append(home)
        home.open_session(sid)
        self._home[sid] = home
        return home

    def forget(self, sid: str) -> None:
        """The session is over and closed (``Ruleset.close_session``): its copy may take another."""
        self._home.pop(sid, None)
