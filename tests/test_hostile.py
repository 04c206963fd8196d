"""Hostile input cannot reach the engine's internals, and rule files never run code.

The engine gives meaning to some field names (its session id ``sid``, its
fact id ``id``, ``$``-prefixed operators) and the evaluator to others (``t``,
``key``, ``day``, ``_c``, ``okey``...). Fact logs are validated so that no
such name gets through, ids follow a pattern, and values are only ever
values: these tests show a fact cannot change another agreement's state or
another fact's match, and that a rule file that tries to run code, expand
an alias bomb or reach the engine's names is refused with its file and line.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import string
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from covenant.calendar import as_date
from covenant.diagnostics import InputError
from covenant.facts import load_fact_logs
from covenant.language.loader import load_rule_folder, read_yaml
from covenant.law.driver import FormEvaluator
from covenant.pipeline import check
from covenant.report.build import build_report, render_json

from .conftest import AMNIS_RULES, AMNIS_VOCABULARY, EXAMPLE_FACTS

CLOSING = {"id": "c1", "type": "closing", "date": "2003-05-09"}


def write_log(path: Path, facts: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    return path


def problems_of(path: Path, *, lenient: bool = False) -> list[str]:
    try:
        check([path], AMNIS_RULES, lenient=lenient)
    except InputError as error:
        return [p.format() for p in error.problems]
    return []


# --- fact logs ----------------------------------------------------------------------

ENGINE_NAMES = ["sid", "id2", "$s", "$and", "$m", "t", "key", "day", "_c", "okey", "tkey", "tday", "by_rule", "rule"]


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_a_field_the_engine_gives_meaning_to_is_refused(tmp_path: Path, name: str) -> None:
    log = write_log(tmp_path / "log.jsonl", [CLOSING, {**CLOSING, "id": "c2", name: "c1"}])
    assert problems_of(log) == [f"{log}:2: {name}: unknown field"]


@pytest.mark.parametrize(
    "value",
    ["$s", "$trigger", 'a"b', "x\ny", "a b", "", " c1", "ü", "a" * 201, "{}", "-x", "2003-06-30"],
)
def test_an_id_or_a_ref_outside_the_pattern_is_refused(tmp_path: Path, value: str) -> None:
    payment = {"id": "p1", "type": "payment", "date": "2003-06-02", "buyer": "sds", "amount": "1", "ref": value}
    log = write_log(tmp_path / "log.jsonl", [CLOSING, {**CLOSING, "id": value}, payment])
    problems = problems_of(log)
    assert any(p.startswith(f"{log}:2: id: ") for p in problems), problems
    assert any(p.startswith(f"{log}:3: ref: ") for p in problems), problems


def test_an_id_a_rule_gives_to_a_derived_fact_is_refused(tmp_path: Path) -> None:
    log = write_log(tmp_path / "log.jsonl", [CLOSING, {**CLOSING, "id": "stockholder-approval-complete#2"}])
    [problem] = problems_of(log)
    assert problem.startswith(f"{log}:2: id: 'stockholder-approval-complete#2' is reserved: rule ")


def _renamed(facts: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for fact in facts:
        fact = dict(fact)
        fact["id"] = names.get(fact["id"], fact["id"])
        if "ref" in fact and fact["type"] != "financing":
            fact["ref"] = names.get(fact["ref"], fact["ref"])
        if "trigger" in fact:
            fact["trigger"] = names.get(fact["trigger"], fact["trigger"])
        out.append(fact)
    return out


def _outcomes(report: dict[str, Any], back: dict[str, str]) -> list[tuple[Any, ...]]:
    """What each obligation came to, with the ids mapped back to the original log's."""
    return [
        (
            o["rule"],
            o["beneficiary"],
            back.get(o["trigger"], o["trigger"]),
            o["due"],
            o["status"],
            o["breach_start"],
            o["cured_on"],
            o["days_in_breach"],
            json.dumps(o["remedies"]),
            sorted(back.get(e, e) for e in o["evidence"]),
        )
        for o in report["obligations"]
    ]


ENGINE_LIKE_IDS = [
    "sid",
    "id",
    "key",
    "t",
    "e1",
    "e2",
    "e3",
    "obligation",
    "period",
    "holder",
    "breach",
    "day",
    "okey",
    "tkey",
    "rule",
    "stockholder_approval_complete",
    "sec-report-copies",
    "holding",
]


def test_ids_that_look_like_the_engines_own_change_no_match(tmp_path: Path) -> None:
    facts = [json.loads(line) for line in EXAMPLE_FACTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    originals = [f["id"] for f in facts if f["id"] not in ENGINE_LIKE_IDS][: len(ENGINE_LIKE_IDS)]
    names = dict(zip(originals, ENGINE_LIKE_IDS, strict=True))
    plain = check([write_log(tmp_path / "plain.jsonl", facts)], AMNIS_RULES).report
    hostile = check([write_log(tmp_path / "hostile.jsonl", _renamed(facts, names))], AMNIS_RULES).report
    back = {v: k for k, v in names.items()}
    assert _outcomes(hostile, back) == _outcomes(plain, {})
    assert {k: v for k, v in hostile["facts"].items() if k != "per_file"} == {
        k: v for k, v in plain["facts"].items() if k != "per_file"
    }


INJECTIONS = [
    'x", "about": "transaction',
    'x\\", \\"about\\": \\"transaction',
    "transaction\u0000",
    "transaction\n",
    "$transaction",
    '{"$and": [{"about": "transaction"}]}',
    "transaction ",
    "TRANSACTION",
]


@pytest.mark.parametrize("about", INJECTIONS)
def test_a_value_is_only_a_value(tmp_path: Path, about: str) -> None:
    # 4(q) is met by an 8-K "about: transaction" within a business day of the Closing; nothing else meets it.
    def disclosure(value: str) -> str:
        filing = {"id": "f1", "type": "sec_filing", "date": "2003-05-12", "form": "8-K", "about": value}
        log = write_log(tmp_path / f"log-{len(value)}.jsonl", [CLOSING, filing])
        report = check([log], AMNIS_RULES, as_of=as_date("2003-06-30")).report
        [status] = [o["status"] for o in report["obligations"] if o["rule"] == "closing-disclosure"]
        return status

    assert disclosure("transaction") == "fulfilled", "the rule this test relies on is met by the plain value"
    assert disclosure(about) == disclosure("something else") == "breached"


def _hostile_agreement() -> list[dict[str, Any]]:
    """A log made to hurt: engine-like ids, injected text, waivers and transfers of everything, on busy days."""
    facts: list[dict[str, Any]] = [
        {"id": "sid", "type": "closing", "date": "2003-05-09", "note": 'x", "sid": "a'},
        {"id": "e1", "type": "sec_filing", "date": "2003-05-12", "form": '8-K", "t": "closing', "about": "$s"},
        {"id": "key", "type": "delivery", "date": "2003-05-12", "to": "sds", "what": "sec_report", "ref": "e1"},
        {"id": "t", "type": "invoice", "date": "2003-05-12", "buyer": "alpha", "amount": "99999999999.999999"},
        {"id": "okey", "type": "payment", "date": "2003-05-13", "buyer": "alpha", "amount": "0", "ref": "t"},
        {"id": "obligation", "type": "waiver", "date": "2003-05-13", "by": ["sds", "alpha"], "rule": "reserve-list"},
        {"id": "period", "type": "waiver", "date": "2003-05-13", "by": ["bristol"], "rule": "sec-report-copies"},
        {"id": "holder", "type": "transfer", "date": "2003-05-14", "buyer": "sds", "all": True},
        {"id": "breach", "type": "transfer", "date": "2003-05-14", "buyer": "sds", "all": True},
        {"id": "day", "type": "reserve", "date": "2003-05-15", "authorized_reserved": 0, "issuable": 10**15},
        {"id": "rule", "type": "consent", "date": "2003-05-15", "by": ["alpha"], "clause": "$and", "ref": "e1"},
    ]
    return facts


def test_one_agreement_cannot_change_another_agreements_state(tmp_path: Path, amnis: FormEvaluator) -> None:
    own = load_fact_logs([EXAMPLE_FACTS], AMNIS_VOCABULARY).facts
    hostile = load_fact_logs([write_log(tmp_path / "hostile.jsonl", _hostile_agreement())], AMNIS_VOCABULARY).facts
    as_of = as_date("2004-12-31")

    def report(sid: str, facts: Any) -> str:
        return render_json(build_report(amnis.evaluate(sid, facts, as_of), amnis.form))

    alone = report("amnis", own)
    hostile_report = report("hostile", hostile)
    assert json.loads(hostile_report)["obligations"], "the hostile agreement was evaluated too"
    assert report("amnis", own) == alone
    # The same session id, reused right after the hostile agreement had it, starts clean as well.
    report("amnis", hostile)
    assert report("amnis", own) == alone


# --- rule files ---------------------------------------------------------------------

BASE_RULE = (AMNIS_RULES / "4g-i-sec-report-copies.yaml").read_text(encoding="utf-8")


def rule_folder(tmp_path: Path, text: str, name: str = "rule.yaml") -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    shutil.copy(AMNIS_RULES / "agreement.yaml", folder / "agreement.yaml")
    shutil.copy(AMNIS_RULES / "vocabulary.yaml", folder / "vocabulary.yaml")
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def refusal(folder: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_rule_folder(folder)
    return [p.format() for p in caught.value.problems]


def test_the_base_rule_loads(tmp_path: Path) -> None:
    assert load_rule_folder(rule_folder(tmp_path, BASE_RULE)).rule_ids() == ["sec-report-copies"]


def test_a_billion_laughs_is_refused_before_it_expands(tmp_path: Path) -> None:
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 10)}]" for n in range(1, 10)]
    path = tmp_path / "laughs.yaml"
    path.write_text(BASE_RULE + "\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_yaml(path)
    [problem] = [p.format() for p in caught.value.problems]
    line = BASE_RULE.count("\n") + 1
    assert problem == f"{path}:{line}:7: anchors (&name) are not allowed in rule files"


def test_a_python_tag_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = Path(tempfile.gettempdir()) / f"covenant-pwned-{tmp_path.name}"
    marker.unlink(missing_ok=True)
    text = BASE_RULE + f"\nnote: !!python/object/apply:os.system ['touch {marker}']\n"
    folder = rule_folder(tmp_path, text)
    line = BASE_RULE.count("\n") + 2
    expected = f"{folder / 'rule.yaml'}:{line}:7: tags such as tag:yaml.org,2002:python/object/apply:os.system"
    assert refusal(folder)[0].startswith(expected)
    log = write_log(tmp_path / "log.jsonl", [CLOSING])
    result = subprocess.run(
        [sys.executable, "-m", "covenant", "check", str(log), "--rules", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists(), "the tag ran a command"


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        ("note: !include other.yaml\n", "tags such as !include are not allowed in rule files"),
        ("note: !!str 4(g)\n", "tags such as tag:yaml.org,2002:str are not allowed"),
        ("note: !!binary aGVsbG8=\n", "tags such as tag:yaml.org,2002:binary are not allowed"),
        ("extra:\n  <<: {note: x}\n", "merge keys (<<) are not allowed in rule files"),
        ("note: *missing\n", "aliases (*name) are not allowed in rule files"),
    ],
)
def test_tags_aliases_and_merge_keys_are_refused(tmp_path: Path, addition: str, message: str) -> None:
    folder = rule_folder(tmp_path, BASE_RULE + addition)
    [problem] = refusal(folder)
    assert re.match(rf"{re.escape(str(folder / 'rule.yaml'))}:\d+:\d+: ", problem), problem
    assert message in problem


WHERE = "      what: sec_report\n"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (WHERE, WHERE + "      sid: x\n", "met_by.0.where.sid: 'sid' is a name the engine keeps for itself"),
        (WHERE, WHERE + "      t: obligation\n", "met_by.0.where.t: 't' is a name the engine keeps for itself"),
        (WHERE, WHERE + "      key: f1\n", "met_by.0.where.key: 'key' is a name the engine keeps for itself"),
        (WHERE, WHERE + '      "$and": x\n', "met_by.0.where.$and: '$and' is not a field name"),
        (WHERE, WHERE + "      colour: red\n", "met_by.0.where.colour: delivery facts have no field 'colour'"),
        ("  - fact: delivery\n", "  - fact: obligation\n", "met_by.0.fact: unknown fact type 'obligation'"),
        (WHERE, WHERE + '      method: "\\ud800"\n', "met_by.0.where.method: text with an unpaired surrogate"),
        (WHERE, f"      what: [{', '.join(['sec_report'] * 600)}]\n", "600 values; a list has at most 100"),
        ("  days_after: 10\n", "  days_after: 1000000000\n", "due.days_after: 1000000000 days is out of range"),
        ("  days_after: 10\n", "  days_after: 10\n  roll: .inf\n", "due.roll: inf is not a finite number"),
        (
            "owed_to: each_holder\n",
            "owed_to: each_holder\nremedies: [free_money]\n",
            "remedies: remedy 'free_money' is not defined in agreement.yaml",
        ),
    ],
)
def test_a_rule_that_reaches_for_the_engines_names_or_limits_is_refused(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in BASE_RULE
    folder = rule_folder(tmp_path, BASE_RULE.replace(old, new, 1))
    problems = refusal(folder)
    assert any(re.match(rf"{re.escape(str(folder / 'rule.yaml'))}:\d+:\d+: ", p) and message in p for p in problems), (
        problems
    )


def test_too_many_patterns_joined_in_one_trigger_are_refused(tmp_path: Path) -> None:
    provided = "".join("      - fact: sec_comment\n" for _ in range(9))
    text = BASE_RULE.replace(
        "  on: sec_filing\n", "  on: sec_filing\n  provided:\n" + provided.replace("      -", "    -")
    )
    problems = refusal(rule_folder(tmp_path, text))
    assert any("9 provided/provided_none patterns; at most 8 together" in p for p in problems), problems


def test_more_fields_carried_by_obligations_than_the_engine_holds_are_refused(tmp_path: Path) -> None:
    # Every distinct trigger.<field> / terms.<name> reference is a field of every obligation fact;
    # the core refuses a fact of more than 254 properties (error 302) in the middle of a run.
    names = ("".join(pair) for pair in itertools.product(string.ascii_lowercase, repeat=2))
    folder = rule_folder(tmp_path, BASE_RULE)
    for number in range(26):
        met_by = "".join(
            f"  - fact: delivery\n    where:\n      ref: {{same_as: terms.{next(names)}}}\n" for _ in range(8)
        )
        text = BASE_RULE.replace("id: sec-report-copies", f"id: many-{number:02d}")
        (folder / f"many-{number:02d}.yaml").write_text(text[: text.index("met_by:")] + "met_by:\n" + met_by)
    [problem] = refusal(folder)
    assert re.match(rf"{re.escape(str(folder / 'many-25.yaml'))}:\d+:\d+: .*more than 200 distinct", problem), problem


def test_a_duty_in_breach_from_a_period_end_is_refused(tmp_path: Path) -> None:
    # Found by the fuzzer: the evaluator has no fact to start such a breach from (AttributeError).
    text = (AMNIS_RULES / "3z-representation-accuracy.yaml").read_text(encoding="utf-8")
    assert "  on: representation_breach\n" in text
    folder = rule_folder(tmp_path, text.replace("  on: representation_breach\n", "  every: month_end\n"))
    [problem] = refusal(folder)
    assert "arises: breach_starts: on_trigger needs fact triggers (on: ...), not period ends" in problem
