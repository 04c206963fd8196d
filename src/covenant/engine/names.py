"""The names the compiler writes into engine rules and the driver asserts into sessions.

Both sides must agree on them byte for byte, and the rule-file checks must
refuse them as user names, so they live here once, beside the engine, rather
than in either side.
"""

from __future__ import annotations

OBLIGATION = "obligation"
HOLDER = "holder"
PERIOD = "period"
SCHEDULED = "scheduled"
"""A ``period`` fact's ``every`` on a date the instrument schedules (its ``pays`` says what is scheduled)."""
BREACH = "breach"
SESSION = "session"
INTERNAL_TYPES = frozenset({OBLIGATION, HOLDER, PERIOD, BREACH, SESSION})
"""Fact types only the evaluator asserts: no rule may derive them and no log may record them."""

ALWAYS_TRUE = {"_c": {"o": "_c"}}
"""The last term of every join: durable-rules can crash when that term is false (upstream issue #381)."""

ENGINE_FIELDS = frozenset(
    {"sid", "id", "t", "key", "day", "okey", "tkey", "tday", "tdate", "tid", "alt", "ext_deadline", "by_rule", "_c"}
)
"""Fields the engine (``sid``, ``id``) or the evaluator (the rest) give meaning to on engine facts."""
