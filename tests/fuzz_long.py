"""Fuzzing the monitor end to end: generated fact logs and rule files, in a process that may die.

The C core of durable-rules can kill the process (a segmentation fault is
not an exception), so the generated cases run in a worker subprocess and a
supervisor counts what happened. Before each case the worker writes it to a
state file; if the worker dies, the supervisor records that case as a crash
and starts a new worker for the examples still to run. Nothing is lost.

Each case must end in a report or an ``InputError`` (exit 2 with file:line
messages); anything else is a finding:

- crash: the worker process died (signal or abnormal exit);
- traceback: another exception escaped (the CLI would print a traceback);
- silent drop: a non-blank line of a log is neither a fact nor a skipped
  line, or the report's fact accounting does not add up.

Run it (docs/limits.md)::

    python tests/fuzz_long.py --profile long         # >= 10,000 logs, 1,000 rule folders
    python tests/fuzz_long.py --logs 500 --rules 50  # a quick look

tests/test_fuzz.py runs the ``ci`` profile (or ``long`` with COVENANT_FUZZ=long).
Findings are written, one JSON object a line, to the ``--findings`` file.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from covenant.language.fieldkinds import OneOfKind
from covenant.language.vocabulary import VOCABULARY_FILE, load_vocabulary

ROOT = Path(__file__).resolve().parent.parent
AMNIS_RULES = ROOT / "rules" / "amnis-spa-2003"
AMNIS_VOCABULARY = load_vocabulary(AMNIS_RULES / VOCABULARY_FILE)


def _delivery_what() -> OneOfKind:
    kind = AMNIS_VOCABULARY.types["delivery"].fields["what"]
    assert isinstance(kind, OneOfKind)
    return kind


PROFILES: dict[str, dict[str, int]] = {
    "ci": {"logs": 2_000, "rules": 300},
    "long": {"logs": 10_000, "rules": 1_000},
}
"""Examples per run; COVENANT_FUZZ=long selects the long profile in tests/test_fuzz.py."""

WORKER_BATCH = {"logs": 2_500, "rules": 250, "selftest": 10}
"""A worker runs at most this many cases, then a fresh one takes over: the C core keeps every ruleset it is given."""


def profile_name() -> str:
    return os.environ.get("COVENANT_FUZZ", "ci")


# --- fact logs ------------------------------------------------------------------

BUYERS = ["sds", "alpha", "bristol"]
HOSTILE_TEXT = [
    "$s",
    "$m",
    "sid",
    "id",
    "_c",
    "key",
    'a"b',
    "x\ny",
    "tab\there",
    "quote'd",
    "\\",
    "\u0000",
    "e1",
    "2003-06-30",
    "stockholder-approval-complete",
    "héllo",
    "日本",
    "🙂",
    "\u202e",
    "\ud800",
    '{"t": "closing"}',
    "a" * 201,
]
HOSTILE_FIELDS = ["$s", "$and", "sid", "id2", "_c", "t", "key", "day", "okey", "tkey", "tday", "rule", "by_rule", "x"]
FORMS = ["10-QSB", "10-KSB", "8-K", "10-QSB/A", "10-KSB/A", "8-K/A", "D", "PRE 14C", "DEF 14C", "SB-2", "NT 10-Q"]
WHATS = list(_delivery_what().values)  # the vocabulary of facts.md, as the form's vocabulary.yaml declares it
OFFERINGS = ["bridge", "pipe", "o-1"]
CLAUSES = ["4(e)", "4(m)", "4(q)", "4(l)", "3(x)", "3(a)"]
RULE_IDS = [
    "sec-report-copies",
    "reserve-list",
    "expense-reimbursement",
    "timely-sec-reports",
    "contact-information",
    "no-such-rule",
]

ids = st.sampled_from([f"f{n}" for n in range(24)])
dates = st.dates(min_value=datetime.date(2002, 1, 1), max_value=datetime.date(2006, 12, 31))
day_text = dates.map(lambda d: d.isoformat())
odd_dates = st.sampled_from(["2003-02-30", "2003-13-01", "20030509", "", "2003-5-9", "9999-12-31", "0001-01-01"])
texts = st.text(max_size=24) | st.sampled_from(HOSTILE_TEXT)
buyers = st.sampled_from(BUYERS)
odd_buyers = st.sampled_from(["zed", "SDS", "", *HOSTILE_TEXT])
amounts = (
    st.decimals(min_value=0, max_value=10**7, places=2).map(str)
    | st.integers(min_value=0, max_value=10**7)
    | st.sampled_from(["0", "0.01", "12500.00", "1e3", "-5", "abc", "1e999", "NaN", "0.0000001", " 7 ", "1" * 40])
)
months = st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2002, 2006), st.integers(1, 12))


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "closing": {},
    "sec_filing": {
        "form": st.sampled_from(FORMS) | texts,
        "period": _maybe(day_text),
        "about": _maybe(st.sampled_from(["transaction"]) | texts),
        "names_buyers": _maybe(st.lists(buyers, max_size=3)),
        "required_by_law": _maybe(st.booleans()),
    },
    "press_release": {
        "about": _maybe(st.sampled_from(["transaction"])),
        "names_buyers": _maybe(st.lists(buyers, max_size=3)),
    },
    "stockholder_notice": {},
    "delivery": {
        "to": buyers,
        "what": st.sampled_from(WHATS),
        "ref": _maybe(ids | st.sampled_from(OFFERINGS)),
        "period": _maybe(months),
        "method": _maybe(st.sampled_from(["personal", "courier", "fax", "mail", "email"])),
    },
    "invoice": {"buyer": buyers, "amount": amounts},
    "payment": {"buyer": buyers, "amount": amounts, "ref": ids},
    "interest_payment": {"buyer": buyers, "amount": amounts},
    "conversion": {"buyer": buyers, "principal": amounts},
    "transfer": {"buyer": buyers, "all": st.booleans()},
    "reserve": {
        "authorized_reserved": st.integers(0, 10**9) | st.sampled_from([10**15, 10**16, -1, 2**63]),
        "issuable": st.integers(0, 10**9),
    },
    "stockholder_approval": {},
    "certificate_of_amendment": {},
    "sec_comment": {},
    "sec_response": {"ref": ids},
    "registration_effective": {},
    "sales_suspended": {"until": _maybe(day_text)},
    "financing": {
        "ref": st.sampled_from(OFFERINGS),
        "stage": st.sampled_from(["negotiation", "agreement", "amendment", "closing"]),
        "discount_to_market": st.booleans(),
        "variable_conversion": st.booleans(),
        "warrants": st.booleans(),
        "exempt": _maybe(st.sampled_from(["underwritten", "acquisition", "strategic", "existing_securities"])),
        "more_favorable": _maybe(st.booleans()),
    },
    "consent": {
        "by": st.lists(buyers, min_size=1, max_size=3),
        "clause": st.sampled_from(CLAUSES),
        "ref": _maybe(ids | st.sampled_from(OFFERINGS)),
    },
    "waiver": {
        "by": st.lists(buyers, min_size=1, max_size=3),
        "rule": st.sampled_from(RULE_IDS),
        "trigger": _maybe(ids | months.map(lambda m: f"{m}-28")),
    },
    "reverse_split": {"ratio": st.sampled_from(["1:20", "1:2", "20", "a:b"])},
    "use_of_proceeds": {
        "purpose": st.sampled_from(["working_capital", "repay_debt", "insider_loan", "investment"]) | texts,
        "amount": amounts,
    },
    "listing": {
        "market": st.sampled_from(["OTCBB", "Nasdaq", "NYSE", "AMEX"]) | texts,
        "status": st.sampled_from(["listed", "delisted"]),
    },
    "corporate_transaction": {
        "kind": st.sampled_from(["merger", "consolidation", "asset_sale", "dissolution"]),
        "successor_assumes": st.booleans(),
        "successor_listed": st.booleans(),
    },
    "opinion_of_counsel": {"buyer": buyers},
    "opinion_accepted": {"ref": ids},
    "representation_breach": {"clause": st.sampled_from(CLAUSES)},
    "representation_cured": {"ref": ids},
}
FACT_TYPES = sorted(FIELDS)

junk_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def fact_objects(draw: st.DrawFn, when: st.SearchStrategy[str] = day_text) -> dict[str, Any]:
    """A fact of the vocabulary: usually valid, sometimes bent in one of many ways."""
    kind = draw(st.sampled_from(FACT_TYPES))
    fact: dict[str, Any] = {"id": draw(ids), "type": kind, "date": draw(when)}
    for name, strategy in FIELDS[kind].items():
        value = draw(strategy)
        if value is not None:
            fact[name] = value
    if draw(st.integers(0, 9)) == 0:
        fact["note"] = draw(texts)
    if draw(st.integers(0, 19)) == 0:
        fact["agreement"] = draw(st.sampled_from(["amnis-spa-2003", "other"]))
    bend = draw(st.integers(0, 99))
    if bend < 12:
        mutation = draw(st.integers(0, 9))
        if mutation == 0 and len(fact) > 1:
            del fact[draw(st.sampled_from(sorted(fact)))]
        elif mutation == 1:
            fact[draw(st.sampled_from(HOSTILE_FIELDS))] = draw(junk_values)
        elif mutation == 2:
            fact[draw(st.sampled_from(sorted(fact)))] = draw(junk_values)
        elif mutation == 3:
            fact["date"] = draw(odd_dates)
        elif mutation == 4:
            fact["id"] = draw(st.sampled_from(HOSTILE_TEXT) | texts)
        elif mutation == 5:
            for name in ("to", "buyer"):
                if name in fact:
                    fact[name] = draw(odd_buyers)
        elif mutation == 6:
            fact["ref"] = draw(st.sampled_from(HOSTILE_TEXT) | texts)
        elif mutation == 7:
            fact["type"] = draw(st.sampled_from(["merger", "obligation", "period", "holder", "breach", "", "Closing"]))
        elif mutation == 8:
            fact["note"] = [[[[[[[[[["deep"]]]]]]]]]]
        else:
            fact["id"] = draw(ids) + "-" + draw(st.text(alphabet="abc#:/._-", max_size=5))
    return fact


@st.composite
def log_lines(draw: st.DrawFn, when: st.SearchStrategy[str] = day_text) -> bytes:
    """One line of a log file, without its end: mostly a fact, sometimes not JSON at all."""
    shape = draw(st.integers(0, 99))
    if shape < 88:
        fact = draw(fact_objects(when))
        return json.dumps(fact, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if shape < 90:
        return b""
    if shape < 93:
        return draw(st.binary(max_size=40)).replace(b"\n", b" ")
    if shape < 95:
        return json.dumps(draw(junk_values)).encode("utf-8", "surrogatepass")
    if shape < 97:
        return draw(st.sampled_from([b"{", b"[1, 2]", b'"text"', b"null", b'{"id": NaN}', b"{'id': 1}", b"  \t "]))
    if shape < 98:
        return b'{"id": "deep", "type": "closing", "date": "2003-05-09", "note": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    return b'{"id": "dup", "id": "dup2", "type": "closing", "date": "2003-05-09"}'


@dataclass
class LogCase:
    files: list[bytes]
    lenient: bool
    as_of: str | None
    text: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "files": [f.decode("utf-8", "backslashreplace") for f in self.files],
            "lenient": self.lenient,
            "as_of": self.as_of,
            "text": self.text,
        }


LAST_DAY = datetime.date(2006, 12, 31)


@st.composite
def log_cases(draw: st.DrawFn) -> LogCase:
    """A log of up to 40 lines over a stretch of 2002-2006, in one to three files.

    Most logs cover months, not years: a breach open for years costs a
    month-by-month computation per Buyer, and the fuzzer wants many logs.
    """
    start = draw(dates)
    span = draw(st.sampled_from([31, 120, 365, 730, 1826]))
    when = st.integers(0, span).map(lambda n: min(start + datetime.timedelta(days=n), LAST_DAY).isoformat())
    lines = draw(st.lists(log_lines(when), max_size=40))
    if draw(st.integers(0, 9)) < 8:
        lines.insert(0, json.dumps({"id": "closing", "type": "closing", "date": start.isoformat()}).encode())
    parts = draw(st.integers(1, 3))
    end = draw(st.sampled_from([b"\n", b"\r\n"]))
    files = []
    size = max(1, len(lines) // parts)
    for first in range(0, max(len(lines), 1), size):
        body = end.join(lines[first : first + size])
        if body and draw(st.booleans()):
            body += end
        files.append(body)
    if draw(st.integers(0, 19)) == 0:
        files[0] = b"\xef\xbb\xbf" + files[0]
    as_of = draw(st.none() | when | day_text)
    return LogCase(files=files, lenient=draw(st.booleans()), as_of=as_of, text=draw(st.integers(0, 3)) == 0)


class Finding(Exception):
    """A case that ended neither in a report nor in an ``InputError``."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def run_log_case(case: LogCase, workdir: Path) -> str:
    """Evaluate a generated log on the real rules: 'report' or 'input_error', else ``Finding``."""
    from covenant.calendar import as_date
    from covenant.diagnostics import InputError
    from covenant.pipeline import check
    from covenant.report.build import render_json
    from covenant.report.render.text import render_text

    paths = []
    for number, body in enumerate(case.files):
        path = workdir / f"log{number}.jsonl"
        path.write_bytes(body)
        paths.append(path)
    as_of = as_date(case.as_of) if case.as_of else None
    try:
        checked = check(paths, AMNIS_RULES, as_of, lenient=case.lenient)
    except InputError as error:
        if not error.problems:
            raise Finding("silent drop", "InputError without any problem") from None
        if not all(p.format().startswith(str(workdir)) for p in error.problems):
            raise Finding("traceback", f"a problem names no file: {error}") from None
        return "input_error"
    render_json(checked.report)
    if case.text:
        render_text(checked.report, color=False)
    _account_for_every_line(case, paths, checked)
    return "report"


def _account_for_every_line(case: LogCase, paths: list[Path], checked: Any) -> None:
    expected: set[tuple[str, int]] = set()
    for path, body in zip(paths, case.files, strict=True):
        if body.startswith(b"\xef\xbb\xbf"):
            body = body[3:]
        for number, line in enumerate(body.split(b"\n"), start=1):
            if line.strip():
                expected.add((str(path), number))
    facts = {(f.file, f.line) for f in checked.log.facts}
    skipped = {(p.file, p.line) for p in checked.log.skipped}
    if facts & skipped:
        raise Finding("silent drop", f"lines both used and skipped: {sorted(facts & skipped)[:3]}")
    if facts | skipped != expected:
        missing = sorted(expected - facts - skipped)[:3]
        extra = sorted((facts | skipped) - expected)[:3]
        raise Finding("silent drop", f"lines neither facts nor skipped: {missing}; unknown lines: {extra}")
    if not case.lenient and skipped:
        raise Finding("silent drop", "strict mode skipped lines")
    accounting = checked.report["facts"]
    for name, counts in [("total", accounting), *accounting["per_file"].items()]:
        parts = counts["used"] + counts["after_as_of"] + counts["not_relevant"] + counts["skipped"]
        if counts["read"] != parts:
            raise Finding("silent drop", f"{name}: read {counts['read']} != used+after+not_relevant+skipped {parts}")
    if accounting["read"] != len(expected):
        raise Finding("silent drop", f"read {accounting['read']} but the files have {len(expected)} lines")


# --- rule folders -------------------------------------------------------------------


def shipped_rules() -> list[dict[str, Any]]:
    """The rule files of the real folder that load today, as plain data to vary."""
    from covenant.diagnostics import InputError
    from covenant.language.loader import AGREEMENT_FILE, plain_data, read_yaml

    out = []
    for path in sorted(AMNIS_RULES.glob("*.yaml")):
        if path.name in (AGREEMENT_FILE, "vocabulary.yaml"):
            continue
        try:
            out.append(json.loads(json.dumps(plain_data(read_yaml(path)), default=str)))
        except InputError:
            continue
    return out


FIELD_NAMES = sorted({name for fields in FIELDS.values() for name in fields} | {"date", "id", "type"})
REFERENCES = [
    "trigger",
    "trigger.date",
    "trigger.month",
    "trigger.ref",
    "trigger.amount",
    "trigger.form",
    "trigger.to",
    "trigger.nothing",
    "beneficiary",
    "terms.form",
    "terms.x",
    "derived.start",
    "nonsense",
    "$trigger",
]
scalars = (
    st.sampled_from(["sec_report", "10-QSB", "transaction", "sds", "bridge", "2003-05", "x"])
    | st.integers(-(2**70), 2**70)
    | st.integers(-5, 100)
    | st.booleans()
    | st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str)
    | texts
)
tests_ = st.one_of(
    st.builds(lambda r: {"same_as": r}, st.sampled_from(REFERENCES)),
    st.builds(lambda v: {"one_of": v}, st.lists(scalars, max_size=4)),
    st.builds(lambda v: {"not_one_of": v}, st.lists(scalars, max_size=4)),
    st.builds(lambda v: {"not": v}, scalars),
    st.builds(lambda k, v: {k: v}, st.sampled_from(["below", "at_most", "above", "at_least"]), st.integers(-10, 10**6)),
    st.builds(
        lambda k, f, t: {k: {"field": f, "times": t}},
        st.sampled_from(["below", "above"]),
        st.sampled_from(["issuable", "authorized_reserved", "amount", "nothing"]),
        st.integers(-3, 2**40),
    ),
    st.builds(lambda v: {"present": v}, st.booleans()),
    st.builds(lambda r: {"on_or_before": r}, st.sampled_from(REFERENCES)),
    st.builds(lambda r: {"on_or_after": r}, st.sampled_from(REFERENCES)),
    st.builds(lambda a, b: {"same_as": a, "not": b}, st.sampled_from(REFERENCES), scalars),
)
conditions = scalars | st.lists(scalars, max_size=4) | st.lists(st.lists(scalars, max_size=2), max_size=2) | tests_
where_maps = st.dictionaries(
    st.sampled_from(FIELD_NAMES)
    | st.sampled_from(HOSTILE_FIELDS)
    | st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
    conditions,
    max_size=4,
)
dues = st.one_of(
    st.builds(lambda n: {"days_after": n}, st.integers(-2, 400) | st.just(10**9)),
    st.builds(lambda n: {"business_days_after": n}, st.integers(-1, 60) | st.just(10**7)),
    st.builds(lambda n: {"business_days_before": n}, st.integers(0, 20)),
    st.builds(lambda n: {"days_before": n}, st.integers(0, 20)),
    st.builds(lambda d: {"date": d}, day_text | odd_dates),
    st.builds(lambda n, r: {"days_after": n, "roll": r}, st.integers(0, 30), st.booleans()),
    st.builds(lambda n, d: {"days_after": n, "date": d}, st.integers(0, 30), day_text),
    st.builds(
        lambda n, w: {
            "days_after": n,
            "extended_by": [{"fact": "sec_filing", "where": w, "no_later_than_business_days_after_due": 5, "days": 5}],
        },
        st.integers(0, 45),
        where_maps,
    ),
)
owed = st.sampled_from(["all", "each_holder", {"buyer_in": "buyer"}, {"buyer_in": "to"}, {"buyer_in": "nothing"}, "x"])
fact_names = st.sampled_from([*FACT_TYPES * 4, "stockholder_approval_complete", "obligation", "period", "nothing"])
fact_triggers = st.builds(lambda f, w: {"on": f, "where": w}, fact_names, where_maps)
triggers = st.one_of(
    fact_triggers,
    st.builds(lambda f, w, d: {"on": f, "where": w, "due": d}, fact_names, where_maps, dues),
    st.builds(
        lambda e, q: {"every": e, **({"quarters": q} if q else {})},
        st.sampled_from(["month_end", "fiscal_quarter_end", "fiscal_year_end", "week_end"]),
        st.none() | st.lists(st.integers(0, 5), max_size=3),
    ),
    st.builds(
        lambda f, w, t: {"on": f, "where": w, "terms": t},
        fact_names,
        where_maps,
        st.dictionaries(st.sampled_from(["form", "x", "amount"]), scalars, max_size=2),
    ),
)
patterns = st.builds(lambda f, w: {"fact": f, "where": w}, fact_names, where_maps)


EDITS = [
    *["where"] * 8,
    *["trigger", "triggers", "due", "owed_to", "met_by", "unless", "when", "remedies"] * 2,
    "many_conditions",
    "kind",
    "delete",
    "id",
    "junk",
]
"""Edits of a shipped rule, the ones that keep it loadable most often listed most."""


@st.composite
def rule_variants(draw: st.DrawFn, base: list[dict[str, Any]]) -> dict[str, Any]:
    """A shipped rule, varied by a few random edits at random places."""
    rule = copy.deepcopy(draw(st.sampled_from(base)))
    kind = rule.get("kind")
    for _ in range(draw(st.integers(0, 3))):
        edit = draw(st.sampled_from(EDITS))
        if edit == "where":
            _edit_a_where(draw, rule)
        elif edit == "trigger":
            rule["forbids" if kind == "prohibition" else "arises"] = draw(
                fact_triggers if kind == "prohibition" else triggers
            )
        elif edit == "triggers":
            choice = fact_triggers if kind == "prohibition" else triggers
            rule["forbids" if kind == "prohibition" else "arises"] = draw(st.lists(choice, min_size=1, max_size=3))
        elif edit == "due" and kind == "duty":
            rule["due"] = draw(dues)
        elif edit == "owed_to" and kind in ("duty", "prohibition"):
            rule["owed_to"] = draw(owed)
        elif edit == "met_by" and kind == "duty":
            rule["met_by"] = draw(st.lists(patterns, min_size=1, max_size=3))
        elif edit == "many_conditions" and kind == "duty":
            many = {f"f{n}": n for n in range(draw(st.integers(20, 300)))}
            rule["met_by"] = [{"fact": "delivery", "where": many}]
        elif edit == "unless" and kind == "prohibition":
            given_by = st.sampled_from(["every_holder", "majority_in_interest", "beneficiary", "x"])
            rule["unless"] = draw(
                st.lists(st.builds(lambda p, g: {**p, "given_by": g}, patterns, given_by), max_size=2)
            )
        elif edit == "when" and kind == "derive":
            rule["when"] = draw(st.lists(patterns, min_size=0, max_size=10))
        elif edit == "remedies" and kind in ("duty", "prohibition"):
            rule["remedies"] = draw(st.lists(st.sampled_from(["standard_liquidated_damages", "expense_interest", "x"])))
        elif edit == "kind":
            rule["kind"] = draw(st.sampled_from(["duty", "prohibition", "derive", "remedy", "review", "period", "x"]))
        elif edit == "delete" and rule:
            del rule[draw(st.sampled_from(sorted(rule)))]
        elif edit == "id":
            rule["id"] = draw(st.sampled_from(["same-id", "sec-report-copies", "Bad Id", "x" * 300, "$and"]))
        elif edit == "junk":
            name = draw(st.sampled_from(["unknown", "$where", "remedies", "window", "curable", "once"]))
            rule[name] = draw(junk_values)
    return rule


def _edit_a_where(draw: st.DrawFn, rule: dict[str, Any]) -> None:
    spots: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "where" in node and isinstance(node["where"], dict):
                spots.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(rule)
    if spots:
        spot = draw(st.sampled_from(spots))
        own = sorted({*FIELDS.get(spot.get("fact", spot.get("on")), {}), "date"})
        if draw(st.integers(0, 3)):  # mostly the fact's own fields, so that the rule loads and reaches the engine
            names = st.sampled_from(own)
            values = st.lists(scalars, min_size=90, max_size=110) if not draw(st.integers(0, 9)) else conditions
            spot["where"] = {**spot["where"], **draw(st.dictionaries(names, values, max_size=4))}
        else:
            spot["where"] = {**spot["where"], **draw(where_maps)}


@dataclass
class RuleCase:
    rules: list[dict[str, Any]]
    text_edits: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"rules": self.rules, "text_edits": self.text_edits}


@st.composite
def rule_cases(draw: st.DrawFn, base: list[dict[str, Any]]) -> RuleCase:
    rules = draw(st.lists(rule_variants(base), min_size=1, max_size=3))
    for number, rule in enumerate(rules):
        if number and isinstance(rule.get("id"), str) and draw(st.integers(0, 19)):
            rule["id"] = f"{rule['id']}-{number}"  # mostly distinct ids: a duplicate is refused at once
    edits = draw(
        st.lists(
            st.sampled_from(["anchor", "python-tag", "custom-tag", "tab", "truncate", "flow", "binary"]), max_size=1
        )
        if draw(st.integers(0, 9)) == 0
        else st.just([])
    )
    return RuleCase(rules=rules, text_edits=edits)


SMALL_LOG = [
    {"id": "closing", "type": "closing", "date": "2003-05-09"},
    {"id": "f1", "type": "sec_filing", "date": "2003-05-12", "form": "8-K", "about": "transaction"},
    {"id": "d1", "type": "delivery", "date": "2003-05-20", "to": "alpha", "what": "sec_report", "ref": "f1"},
    {"id": "i1", "type": "invoice", "date": "2003-06-02", "buyer": "sds", "amount": "100.00"},
    {"id": "p1", "type": "payment", "date": "2003-06-20", "buyer": "sds", "amount": "100.00", "ref": "i1"},
    {"id": "r1", "type": "reserve", "date": "2003-06-30", "authorized_reserved": 10, "issuable": 20},
    {"id": "sa", "type": "stockholder_approval", "date": "2003-07-01"},
    {"id": "ca", "type": "certificate_of_amendment", "date": "2003-07-03"},
    {"id": "fin", "type": "financing", "date": "2003-08-01", "ref": "bridge", "stage": "closing", "warrants": True},
    {"id": "t1", "type": "transfer", "date": "2003-09-01", "buyer": "bristol", "all": True},
    {"id": "w1", "type": "waiver", "date": "2003-09-02", "by": ["sds"], "rule": "reserve-list"},
    {"id": "q1", "type": "sec_filing", "date": "2003-11-14", "form": "10-QSB", "period": "2003-09-30"},
]


def _rule_text(rule: dict[str, Any], edit: str | None) -> str:
    from io import StringIO

    from ruamel.yaml import YAML

    stream = StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = edit == "flow"
    yaml.dump(rule, stream)
    text = stream.getvalue()
    if edit == "anchor":
        text = "base: &b [1, 2]\nagain: *b\n" + text
    elif edit == "python-tag":
        text += f"\nx: !!python/object/apply:os.system ['touch {PWNED}']\n"
    elif edit == "custom-tag":
        text = text.replace("clause:", "clause: !include", 1)
    elif edit == "tab":
        text = "\t" + text
    elif edit == "truncate":
        text = text[: len(text) // 2]
    elif edit == "binary":
        text = text + "\udcff"
    return text


PWNED = Path(tempfile.gettempdir()) / "covenant-fuzz-pwned"


def run_rule_case(case: RuleCase, workdir: Path) -> str:
    """Load, compile and evaluate a generated rule folder: 'report' or 'input_error', else ``Finding``."""
    from covenant.diagnostics import InputError
    from covenant.facts import load_fact_logs
    from covenant.language.compiler import compile_form
    from covenant.language.loader import load_rule_folder
    from covenant.law.driver import FormEvaluator
    from covenant.pipeline import fact_accounting
    from covenant.report.build import build_report, render_json

    folder = workdir / "rules"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    shutil.copy(AMNIS_RULES / "agreement.yaml", folder / "agreement.yaml")
    shutil.copy(AMNIS_RULES / "vocabulary.yaml", folder / "vocabulary.yaml")
    for number, rule in enumerate(case.rules):
        edit = case.text_edits[0] if case.text_edits and number == 0 else None
        (folder / f"r{number}.yaml").write_text(_rule_text(rule, edit), encoding="utf-8", errors="surrogatepass")
    log_path = workdir / "small.jsonl"
    log_path.write_text("\n".join(json.dumps(f) for f in SMALL_LOG) + "\n", encoding="utf-8")
    try:
        loaded = load_rule_folder(folder)
    except InputError as error:
        if not error.problems or not all(p.file.startswith(str(folder)) for p in error.problems):
            raise Finding("traceback", f"rule problems without a file: {error}") from None
        return "input_error"
    finally:
        if PWNED.exists():
            PWNED.unlink()
            raise Finding("traceback", "a rule file ran a command")
    form = compile_form(loaded)
    portfolio = FormEvaluator(form)
    log = load_fact_logs([log_path], AMNIS_VOCABULARY)
    from covenant.calendar import as_date

    state = portfolio.evaluate(form.agreement.id, log.facts, as_date("2004-06-30"))
    report = build_report(state, form)
    report["facts"] = fact_accounting(log, state)
    render_json(report)
    return "report"


# --- the worker and its supervisor --------------------------------------------------


@dataclass
class Summary:
    kind: str
    examples: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    crashes: int = 0
    tracebacks: int = 0
    silent_drops: int = 0
    workers: int = 0
    seconds: float = 0.0

    @property
    def findings(self) -> int:
        return self.crashes + self.tracebacks + self.silent_drops

    def line(self) -> str:
        outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(self.outcomes.items()))
        return (
            f"{self.kind}: {self.examples:,} examples ({outcomes}); crashes {self.crashes}, "
            f"tracebacks {self.tracebacks}, silent drops {self.silent_drops}; "
            f"{self.workers} worker(s), {self.seconds:.0f} s"
        )


def _worker(kind: str, examples: int, seed_value: int, state_file: Path, findings_file: Path) -> None:
    """Run ``examples`` generated cases; write each to ``state_file`` first, and findings as they come."""
    counts: Counter[str] = Counter()
    workdir = Path(tempfile.mkdtemp(prefix=f"covenant-fuzz-{kind}-"))
    runner: Callable[[Any, Path], str]
    if kind == "logs":
        strategy: st.SearchStrategy[Any] = log_cases()
        runner = run_log_case
    elif kind == "rules":
        strategy = rule_cases(shipped_rules())
        runner = run_rule_case
    else:
        strategy = st.integers(0, 100)
        runner = _selftest_case

    @seed(seed_value)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(case: Any) -> None:
        counts["examples"] += 1
        payload = case.to_json() if hasattr(case, "to_json") else case
        state_file.write_text(json.dumps({"index": counts["examples"], "case": payload}, ensure_ascii=True))
        try:
            counts[runner(case, workdir)] += 1
        except Finding as finding:
            counts[finding.kind] += 1
            _record(findings_file, kind, finding.kind, finding.detail, payload)
        except Exception as error:
            counts["traceback"] += 1
            detail = "".join(traceback.format_exception(error))[-4000:]
            _record(findings_file, kind, "traceback", detail, payload)

    try:
        run()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        print(json.dumps(dict(counts)), flush=True)


def _selftest_case(case: int, workdir: Path) -> str:
    """For the supervisor's own test: the third case kills the worker as a segfault would."""
    marker = workdir.parent / "covenant-fuzz-selftest-died"
    if case >= 0 and not marker.exists() and _selftest_case.calls >= 2:  # type: ignore[attr-defined]
        marker.touch()
        os.kill(os.getpid(), signal.SIGSEGV)
    _selftest_case.calls += 1  # type: ignore[attr-defined]
    return "report"


_selftest_case.calls = 0  # type: ignore[attr-defined]


def _record(findings_file: Path, kind: str, finding: str, detail: str, case: Any) -> None:
    with findings_file.open("a", encoding="utf-8") as stream:
        stream.write(json.dumps({"kind": kind, "finding": finding, "detail": detail, "case": case}) + "\n")


def run_fuzz(kind: str, examples: int, *, first_seed: int = 0, findings_file: Path | None = None) -> Summary:
    """Run ``examples`` cases of ``kind`` in worker processes; a worker that dies is a crash, counted."""
    summary = Summary(kind=kind)
    started = time.monotonic()
    findings = findings_file or Path(tempfile.gettempdir()) / f"covenant-fuzz-{kind}-findings.jsonl"
    with tempfile.TemporaryDirectory(prefix="covenant-fuzz-") as scratch:
        state_file = Path(scratch) / "state.json"
        worker_seed = first_seed
        while summary.examples < examples:
            batch = min(WORKER_BATCH[kind], examples - summary.examples)
            state_file.unlink(missing_ok=True)
            summary.workers += 1
            env = {**os.environ, "TMPDIR": scratch}
            command = [sys.executable, __file__, "--worker", kind, "--examples", str(batch)]
            command += ["--seed", str(worker_seed), "--state", str(state_file), "--findings", str(findings)]
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                check=False,
            )
            worker_seed += 1
            if done.returncode == 0:
                counts = json.loads(done.stdout.strip().splitlines()[-1])
                _add(summary, counts)
                continue
            state = json.loads(state_file.read_text()) if state_file.exists() else {"index": 0, "case": None}
            ran = max(int(state["index"]), 1)
            summary.examples += ran
            summary.crashes += 1
            summary.outcomes["crash"] = summary.outcomes.get("crash", 0) + 1
            reason = f"exit {done.returncode}" + (
                f" ({signal.Signals(-done.returncode).name})" if done.returncode < 0 else ""
            )
            _record(findings, kind, "crash", f"{reason}: {done.stderr[-2000:]}", state["case"])
    summary.seconds = time.monotonic() - started
    return summary


def _add(summary: Summary, counts: dict[str, int]) -> None:
    summary.examples += counts.pop("examples", 0)
    summary.tracebacks += counts.get("traceback", 0)
    summary.silent_drops += counts.get("silent drop", 0)
    for name, value in counts.items():
        summary.outcomes[name] = summary.outcomes.get(name, 0) + value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default=None)
    parser.add_argument("--logs", type=int, default=None, help="generated fact logs")
    parser.add_argument("--rules", type=int, default=None, help="generated rule folders")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--findings", type=Path, default=None, help="where findings are written (JSONL)")
    parser.add_argument("--worker", choices=["logs", "rules", "selftest"], help=argparse.SUPPRESS)
    parser.add_argument("--examples", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.examples, args.seed, args.state, args.findings)
        return 0
    counts = dict(PROFILES[args.profile or profile_name()])
    if args.logs is not None:
        counts["logs"] = args.logs
    if args.rules is not None:
        counts["rules"] = args.rules
    findings = args.findings or Path(tempfile.gettempdir()) / "covenant-fuzz-findings.jsonl"
    findings.unlink(missing_ok=True)
    print(f"seed {args.seed}; findings to {findings}", flush=True)
    total = 0
    for kind in ("logs", "rules"):
        if counts[kind]:
            summary = run_fuzz(kind, counts[kind], first_seed=args.seed, findings_file=findings)
            print(summary.line(), flush=True)
            print(json.dumps(asdict(summary)), flush=True)
            total += summary.findings
    return 1 if total else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())
