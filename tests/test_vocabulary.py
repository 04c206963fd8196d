"""The Amnis vocabulary declared in its folder validates exactly as facts.py's hand-written models did.

``rules/amnis-spa-2003/vocabulary.yaml`` replaced the classes of
``facts.py``, which are kept as the oracle in tests/amnis_reference.py: every fact we have
(the example log, every scenario, the bad lines of the other tests, a
generated log) and a corpus of bad values for every field of every type go
through both, and must come out the same: the same ``Fact`` (values and
their exact Decimal form), or the same ``FILE:LINE: field: message`` lines.
"""

from __future__ import annotations

import ast
import copy
import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from covenant.diagnostics import InputError
from covenant.facts import Fact, decode_line
from covenant.language.fieldkinds import ANY_FACT, VocabularyDecl
from covenant.language.loader import VOCABULARY_FILE, read_yaml
from covenant.language.scenariofiles import _text, scenario_files
from covenant.language.vocabulary import build_vocabulary, load_vocabulary

from . import amnis_reference as facts
from .amnis_reference import parse_fact
from .conftest import AMNIS_RULES, EXAMPLE_FACTS, ROOT

VOCABULARY = load_vocabulary(AMNIS_RULES / VOCABULARY_FILE)


def outcome(parse: Any, raw: Any) -> tuple[str, Any]:
    """What a parser makes of one decoded object: the fact with the exact form of its values, or the lines."""
    try:
        fact = parse(copy.deepcopy(raw), "log.jsonl", 7, 3)
    except InputError as error:
        return "rejected", [problem.format() for problem in error.problems]
    return "accepted", (fact, repr(fact.fields), fact.note, fact.agreement, repr(fact.date))


def dumped(adapter: Any, raw: Any) -> str | None:
    try:
        return repr(adapter.validate_python(copy.deepcopy(raw)).model_dump())
    except Exception:
        return None


def same(raw: Any) -> None:
    expected = outcome(parse_fact, raw)
    assert outcome(VOCABULARY.parse_fact, raw) == expected, raw
    assert dumped(VOCABULARY.adapter, raw) == dumped(facts._ADAPTER, raw), raw


# The facts we have.


def log_objects(path: Path) -> Iterator[Any]:
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if line.strip():
            value, problem = decode_line(number, line, len(line), str(path))
            if problem is None:
                yield value


def example_facts() -> list[Any]:
    return list(log_objects(EXAMPLE_FACTS))


def scenario_facts() -> list[Any]:
    out = []
    for path in scenario_files(AMNIS_RULES):
        tree = read_yaml(path)
        for scenario in tree["scenarios"]:
            out.extend(_text(raw) for raw in scenario.get("facts") or [])
    return out


def other_tests_facts() -> list[Any]:
    """Every fact-shaped literal of the tests of fact logs: dicts, and JSON lines decoded as a log line is."""
    out: list[Any] = []
    for name in ("test_facts.py", "test_robustness.py", "test_hostile.py"):
        for node in ast.walk(ast.parse((ROOT / "tests" / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                try:
                    value = ast.literal_eval(node)
                except ValueError:
                    continue
                if isinstance(value, dict) and ("type" in value or "id" in value):
                    out.append(value)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith('{"'):
                raw = node.value.encode("utf-8", "surrogatepass")
                value, problem = decode_line(1, raw, len(raw), name)
                if problem is None:
                    out.append(value)
    for path in sorted((ROOT / "tests").rglob("*.jsonl")):
        out.extend(log_objects(path))
    return out


def generated_facts() -> list[Any]:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import generate  # bench/generate.py
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return [json.loads(json.dumps(record), parse_float=Decimal) for record in generate.generate(3000)]


def test_the_declared_types_are_facts_py_types_in_the_same_order() -> None:
    assert list(VOCABULARY.models) == list(facts.FACT_TYPES)
    for name, model in VOCABULARY.models.items():
        assert list(model.model_fields) == list(facts.FACT_TYPES[name].model_fields), name


def test_every_fact_of_the_example_log_is_the_same_fact() -> None:
    raws = example_facts()
    assert len(raws) > 100
    for raw in raws:
        same(raw)


def test_every_scenario_fact_is_the_same_fact() -> None:
    raws = scenario_facts()
    assert len(raws) > 100
    for raw in raws:
        same(raw)


def test_every_fact_of_the_other_tests_gives_the_same_fact_or_the_same_problems() -> None:
    raws = other_tests_facts()
    assert len(raws) > 100
    for raw in raws:
        same(raw)


def test_a_generated_log_gives_the_same_facts() -> None:
    for raw in generated_facts():
        same(raw)


# Bad values, field by field.

HOSTILE: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    7,
    10**15,
    10**16,
    Decimal("1.5"),
    Decimal("1E+3"),
    Decimal("0.0000001"),
    Decimal("-0.5"),
    "",
    " ",
    "x" * 501,
    "x" * 201,
    "a b",
    "sds",
    "zed",
    "f-1",
    "2003-05-09",
    "2003-02-30",
    "2003-13-01",
    "1899-12-31",
    "2200-01-01",
    "2003-05",
    "2003-00",
    "1:20",
    "1/20",
    "-5",
    "5.1234567",
    "1e3",
    "NaN",
    "Infinity",
    "lots",
    "12500.00",
    " 12 ",
    "listed",
    "merger",
    "offering_notice",
    "email",
    "closing",
    [],
    ["sds"],
    ["sds", "alpha"],
    [""],
    [7],
    ["sds"] * 51,
    {},
    {"a": 1},
]


def valid_fact_of_each_type() -> dict[str, dict[str, Any]]:
    """One accepted fact of every type, with every optional field given where some fact gives it."""
    found: dict[str, dict[str, Any]] = {}
    for raw in [*other_tests_facts(), *example_facts(), *scenario_facts()]:
        kind = raw.get("type") if isinstance(raw, dict) else None
        richer = kind in facts.FACT_TYPES and len(raw) > len(found.get(kind, {}))
        if richer and outcome(parse_fact, raw)[0] == "accepted":
            found[kind] = raw
    return found


BASES = valid_fact_of_each_type()


def test_there_is_a_valid_fact_of_every_type() -> None:
    assert set(BASES) == set(facts.FACT_TYPES)


@pytest.mark.parametrize("kind", sorted(facts.FACT_TYPES))
def test_every_bad_value_of_every_field_gives_the_same_problems(kind: str) -> None:
    base = BASES[kind]
    names = [*facts.FACT_TYPES[kind].model_fields, "colour"]
    for name in names:
        without = {k: v for k, v in base.items() if k != name}
        same(without)
        for value in HOSTILE:
            same({**base, name: value})
    same({**base, "type": kind.upper()})
    same({**base, "type": 7})
    same({**base, "type": None})


def test_what_the_cross_fact_checks_need_matches_facts_py() -> None:
    """Refs, parties, rules and clauses: the tables facts.py's checks are written around, read from the file."""
    assert VOCABULARY.refs_to_facts() == facts.REFS_TO_FACTS
    assert VOCABULARY.names == {"offering": ("financing", "ref")}
    buyer_fields = ("to", "buyer", "by", "names_buyers")  # the fields facts.buyer_problems reads, in every type
    parties = {(kind, name) for kind, model in facts.FACT_TYPES.items() for name in model.model_fields}
    parties = {(kind, name) for kind, name in parties if name in buyer_fields}
    assert set(VOCABULARY.fields_of_kind["party"]) == parties
    assert VOCABULARY.fields_of_kind["rule"] == (("waiver", "rule"),)
    assert VOCABULARY.fields_of_kind["clause"] == (("consent", "clause"),)
    notice = parse_fact(
        {"id": "n", "type": "delivery", "date": "2003-07-25", "to": "sds", "what": "offering_notice", "ref": "b"},
        "f",
        1,
        0,
    )
    copy_of = parse_fact(
        {"id": "d", "type": "delivery", "date": "2003-07-25", "to": "sds", "what": "sec_report", "ref": "f1"}, "f", 1, 0
    )
    payment = parse_fact(
        {"id": "p", "type": "payment", "date": "2003-07-25", "buyer": "sds", "amount": "5", "ref": "i1"}, "f", 1, 0
    )
    assert VOCABULARY.ref_target(notice, "ref") == "offering"
    assert VOCABULARY.ref_target(copy_of, "ref") == ANY_FACT
    assert VOCABULARY.ref_target(payment, "ref") == ANY_FACT


# The JSON Schema.


def without_descriptions(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_descriptions(v) for k, v in value.items() if k != "description"}
    if isinstance(value, list):
        return [without_descriptions(v) for v in value]
    return value


def test_the_json_schema_is_todays_plus_the_meanings() -> None:
    """``covenant schema facts`` from the vocabulary: the hand-written models' schema, with each meaning described.

    The descriptions are the only difference: an editor shows them when a
    field is hovered, which is what the meanings are for. The golden file
    holds them since the vocabulary replaced the hand-written models.
    """
    golden = json.loads((ROOT / "tests" / "golden" / "schema-facts.json").read_text(encoding="utf-8"))
    generated = VOCABULARY.json_schema()
    assert {"$schema": golden["$schema"], **generated, "title": golden["title"]} == golden
    hand_written = facts._ADAPTER.json_schema(mode="validation")
    assert without_descriptions(generated) == without_descriptions(hand_written)
    for name, decl in VOCABULARY.declaration.types.items():
        schema = generated["$defs"][VOCABULARY.models[name].__name__]
        assert schema["description"] == decl.meaning
        for field_name, kind in decl.fields.items():
            assert schema["properties"][field_name].get("description") == kind.meaning


# The declaration file itself.


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / VOCABULARY_FILE
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_vocabulary(path)
    return [problem.format().removeprefix(f"{path}:") for problem in caught.value.problems]


def test_mistakes_in_the_file_are_named_with_their_line(tmp_path: Path) -> None:
    text = """types:
  dividend:
    meaning: a dividend declared
    fields:
      amount: {type: amonut}
      payable: {type: date, optinal: true}
      paid: {type: ref, to: dividends}
      Kind: {type: text}
  closing: {}
"""
    assert problems_of(tmp_path, text) == [
        "5:7: types, dividend, fields, amount: unknown kind of field 'amonut'; the kinds are date, month, amount, "
        "decimal, integer, shares, text, identifier, one_of, bool, party, ref, name, rule, clause, list "
        "(hint: did you mean 'amount'?)",
        "6:29: types, dividend, fields, payable: unknown key 'optinal' (hint: did you mean 'optional'?)",
        "8:7: types, dividend, fields, Kind: a name of lower-case letters, digits and _ (such as cash_balance)",
        "9:3: types, closing: required key 'meaning' is missing",
    ]
    text = """types:
  dividend:
    meaning: a dividend declared
    fields:
      paid: {type: ref, to: dividends}
      date: {type: date}
      stage: {type: one_of, values: [a, a]}
      count: {type: integer, min: 5, max: 1}
      by: {type: ref, to: any, cases: [{when: {stage: b}, to: any}, {when: {paid: x}, to: any}]}
"""
    assert problems_of(tmp_path, text) == [
        "5:25: types, dividend, fields, paid, to: no fact type or name 'dividends' in this vocabulary "
        "(hint: did you mean 'dividend'?)",
        "6:7: types, dividend, fields, date: every fact has 'date'; a type does not declare it",
        "7:29: types, dividend, fields, stage, values: a value is listed twice",
        "8:7: types, dividend, fields, count: min is more than max",
        "9:48: types, dividend, fields, by, cases, item 1, when, stage: 'b' is not one of stage's values",
        "9:77: types, dividend, fields, by, cases, item 2, when, paid: when: names 'paid', which is not a one_of "
        "field of this type",
    ]


def test_unsafe_yaml_is_refused_as_in_rule_files(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "types: &a {x: *a}\n")[0].startswith("1:8: anchors (&name) are not allowed")


# The next forms' facts fit without new code: Oil-Dri's note agreement.

OIL_DRI = {
    "types": {
        "financials": {
            "meaning": "the quarter's figures as the Company reported them",
            "fields": {
                "period": {"type": "date"},
                "consolidated_net_income": {"type": "amount", "negative": True},
                "interest_charges": {"type": "amount"},
            },
        },
        "payment": {
            "meaning": "a payment to one holder",
            "fields": {
                "to": {"type": "party"},
                "kind": {"type": "one_of", "values": ["interest", "principal"]},
                "due": {"type": "date"},
                "amount": {"type": "amount"},
            },
        },
        "prime_rate": {
            "meaning": "the Prime Rate from date on",
            "fields": {"rate": {"type": "decimal", "min": "0", "max": "1", "places": 8}},
        },
        "awareness": {
            "meaning": "a Responsible Officer became aware of that default",
            "fields": {"rule": {"type": "rule"}, "trigger": {"type": "identifier"}},
        },
        "delivery": {
            "meaning": "something sent to one holder",
            "fields": {
                "to": {"type": "party"},
                "what": {"type": "one_of", "values": ["quarterly_statements", "default_notice"]},
                "period": {"type": "date", "optional": True, "only_when": {"what": "quarterly_statements"}},
                "ref": {
                    "type": "ref",
                    "to": "awareness",
                    "optional": True,
                    "required_when": {"what": "default_notice"},
                },
            },
        },
        "election": {"meaning": "holders elect the Default Rate", "fields": {"by": {"type": "list", "of": "party"}}},
        "acceleration": {
            "meaning": "holders declare Notes due",
            "fields": {"by": {"type": "list", "of": "party", "min": 1}, "scope": {"type": "one_of", "values": ["own"]}},
        },
    }
}


def test_a_second_form_declares_its_own_facts() -> None:
    vocabulary = build_vocabulary(VocabularyDecl.model_validate(OIL_DRI))
    parse = vocabulary.parse_fact
    loss = parse(
        {
            "id": "q1",
            "type": "financials",
            "date": "2020-12-10",
            "period": "2020-10-31",
            "consolidated_net_income": "-125000.50",
            "interest_charges": "10",
        },
        "oil.jsonl",
        1,
        0,
    )
    assert loss.fields["consolidated_net_income"] == Decimal("-125000.50")
    rate = parse({"id": "r", "type": "prime_rate", "date": "2020-03-16", "rate": "0.0325"}, "oil.jsonl", 2, 1)
    assert rate.fields == {"rate": Decimal("0.0325")}
    assert vocabulary.refs_to_facts() == {"delivery": "ref"}
    assert set(vocabulary.fields_of_kind["party"]) == {
        ("payment", "to"),
        ("delivery", "to"),
        ("election", "by"),
        ("acceleration", "by"),
    }
    for raw, expected in [
        ({"id": "r", "type": "prime_rate", "date": "2020-03-16", "rate": "1.5"}, "rate: '1.5' is above 1"),
        ({"id": "r", "type": "prime_rate", "date": "2020-03-16", "rate": 0.03}, "rate: expected a decimal number"),
        ({"id": "i", "type": "financials", "date": "2020-12-10", "period": "2020-10-31"}, "required field"),
        (
            {"id": "p", "type": "payment", "date": "2020-11-16", "to": "pica", "kind": "fee", "due": "2020-11-15"},
            "kind: expected 'interest' or 'principal'",
        ),
    ]:
        with pytest.raises(InputError) as caught:
            parse(raw, "oil.jsonl", 3, 2)
        assert expected in caught.value.problems[0].format() or expected in str(caught.value), caught.value


def test_a_field_required_or_allowed_only_with_a_value_of_another() -> None:
    """Oil-Dri: a default notice names the awareness fact; only statements name a period."""
    vocabulary = build_vocabulary(VocabularyDecl.model_validate(OIL_DRI))
    base = {"id": "d", "type": "delivery", "date": "2020-12-01", "to": "pica"}

    def problems(**fields: Any) -> list[str]:
        try:
            vocabulary.parse_fact({**base, **fields}, "oil.jsonl", 4, 0)
        except InputError as error:
            return [problem.format() for problem in error.problems]
        return []

    assert problems(what="default_notice", ref="aw1") == []
    assert problems(what="quarterly_statements", period="2020-10-31") == []
    assert problems(what="quarterly_statements") == []
    assert problems(what="quarterly_statements", ref="aw1") == []
    assert problems(what="default_notice") == ["oil.jsonl:4: ref: required when what is default_notice"]
    assert problems(what="default_notice", ref="aw1", period="2020-10-31") == [
        "oil.jsonl:4: period: allowed only when what is quarterly_statements"
    ]


def test_conditions_name_one_of_fields_of_optional_fields(tmp_path: Path) -> None:
    text = """types:
  notice:
    meaning: a notice
    fields:
      what: {type: one_of, values: [a, b]}
      ref: {type: ref, to: any, required_when: {what: c}}
      period: {type: date, optional: true, only_when: {kind: a}}
      by: {type: list, of: {type: party, optional: true}}
"""
    assert problems_of(tmp_path, text) == [
        "6:33: types, notice, fields, ref, required_when: required_when: is for an optional field; add optional: true",
        "6:49: types, notice, fields, ref, required_when, what: 'c' is not one of what's values",
        "7:56: types, notice, fields, period, only_when, kind: when: names 'kind', which is not a one_of field of "
        "this type",
        "8:24: types, notice, fields, by, of: optional, required_when and only_when are for the list, not its items",
    ]


def test_unique_names_single_fields_of_its_type_once(tmp_path: Path) -> None:
    text = """types:
  financials:
    meaning: a quarter's figures
    unique: [perod, by, period, period]
    fields:
      period: {type: date}
      by: {type: list, of: party}
"""
    assert problems_of(tmp_path, text) == [
        "4:14: types, financials, unique, item 1: 'perod' is not a field of this type (hint: did you mean 'period'?)",
        "4:21: types, financials, unique, item 2: 'by' is a list; name fields of one value",
        "4:33: types, financials, unique, item 4: 'period' is named twice",
    ]


def test_unique_allows_one_fact_per_value_of_its_fields() -> None:
    """A second fact of a ``unique:`` type with the same values is an input error naming the first."""
    declaration = {
        "types": {
            "closing": {"meaning": "the Closing"},
            "financials": {
                "meaning": "a quarter's figures",
                "unique": ["period"],
                "fields": {"period": {"type": "date"}, "note_to": {"type": "party", "optional": True}},
            },
            "certificate": {
                "meaning": "a certificate",
                "unique": ["to", "period"],
                "fields": {"to": {"type": "party"}, "period": {"type": "date", "optional": True}},
            },
        }
    }
    vocabulary = build_vocabulary(VocabularyDecl.model_validate(declaration))
    lines = [
        {"id": "c1", "type": "closing", "date": "2020-05-15"},
        {"id": "f1", "type": "financials", "date": "2020-09-10", "period": "2020-07-31"},
        {"id": "f2", "type": "financials", "date": "2020-12-10", "period": "2020-10-31"},
        {"id": "f3", "type": "financials", "date": "2020-12-11", "period": "2020-07-31"},
        {"id": "k1", "type": "certificate", "date": "2020-12-11", "to": "pica", "period": "2020-07-31"},
        {"id": "k2", "type": "certificate", "date": "2020-12-11", "to": "pruco", "period": "2020-07-31"},
        {"id": "k3", "type": "certificate", "date": "2020-12-12", "to": "pica", "period": "2020-07-31"},
        {"id": "k4", "type": "certificate", "date": "2020-12-12", "to": "pica"},
        {"id": "k5", "type": "certificate", "date": "2020-12-13", "to": "pica"},
    ]
    from covenant.facts import FactReader

    for lenient in (False, True):
        reader = FactReader(vocabulary=vocabulary, lenient=lenient, check=None)
        for number, raw in enumerate(lines, 1):
            reader.accept(vocabulary.parse_fact(raw, "oil.jsonl", number, number - 1), raw)
        found = [problem.format() for problem in (reader.skipped if lenient else reader.problems)]
        assert found == [
            "oil.jsonl:4: period: a second financials fact with period '2020-07-31'; the first is 'f1' at "
            "oil.jsonl:2 (one financials fact per period)",
            "oil.jsonl:7: to: a second certificate fact with to 'pica' and period '2020-07-31'; the first is 'k1' "
            "at oil.jsonl:5 (one certificate fact per to and period)",
        ]
        assert [fact.id for fact in reader.facts] == ["c1", "f1", "f2", "k1", "k2", "k4", "k5"]
    assert VOCABULARY.unique == {}


def test_an_import_names_a_declared_type_and_its_fields(tmp_path: Path) -> None:
    """``imports:`` tells an importer which type and fields receive its words; a name it cannot use is refused."""
    text = """types:
  filing:
    meaning: a filing
    fields:
      kind: {type: text}
imports:
  edgar: {fact: filings, fields: {form: kind}}
  other: {fact: filing, fields: {form: knid, period: kind}}
"""
    assert problems_of(tmp_path, text) == [
        "7:11: imports, edgar, fact: no fact type 'filings' in this vocabulary (hint: did you mean 'filing'?)",
        "8:34: imports, other, fields, form: filing has no field 'knid' (hint: did you mean 'kind'?)",
    ]
    declared = VOCABULARY.declaration.imports["edgar"]
    assert declared.fact in VOCABULARY.types
    assert set(declared.fields.values()) <= set(VOCABULARY.types[declared.fact].fields)


# The checks across facts, from the declared kinds.


def logs_of_facts() -> list[list[Fact]]:
    """The example log and each scenario's facts, parsed, as the logs the checks across facts see."""
    logs = [[parse_fact(raw, str(EXAMPLE_FACTS), n, n) for n, raw in enumerate(example_facts(), 1)]]
    for path in scenario_files(AMNIS_RULES):
        for scenario in read_yaml(path)["scenarios"]:
            raws = [_text(raw) for raw in scenario.get("facts") or []]
            logs.append([parse_fact(raw, str(path), n, n) for n, raw in enumerate(raws, 1)])
    return logs


def test_dangling_refs_are_found_as_facts_py_finds_them() -> None:
    found: list[str] = []
    for log in logs_of_facts():
        for step in (2, 3, 5, 7):
            kept = [fact for n, fact in enumerate(log) if n % step]
            dropped = [fact for n, fact in enumerate(log) if not n % step]
            rejected_ids = {fact.id: f"{fact.file}:{fact.line}" for fact in dropped[::2]}
            offerings = {fact.fields["ref"]: "x.jsonl:1" for fact in dropped[::2] if fact.type == "financing"}
            expected = list(facts._ref_problems(kept, rejected_ids, offerings))
            assert list(VOCABULARY.ref_problems(kept, rejected_ids, {"offering": offerings})) == expected
            found.extend(problem.message for _, problem in expected)
    assert len(found) > 100
    for start in ("no fact has id", "names fact", "no financing fact has ref", "names offering"):
        assert any(message.startswith(start) for message in found), start


def test_unknown_parties_rules_and_clauses_are_found_as_facts_py_finds_them() -> None:
    every = [fact for log in logs_of_facts() for fact in log]
    found = 0
    for parties in ({"sds", "alpha", "bristol"}, {"sds"}, set()):
        for fact in every:
            expected = sorted(facts.buyer_problems(fact, parties))
            assert sorted(VOCABULARY.party_problems(fact, parties, "buyer")) == expected
            found += len(expected)
    for rule_ids, clauses in ((["reserve-list", "lock-up"], ["4(e)"]), ([], []), (["sec-report-copies"], ["4(m)"])):
        for fact in every:
            expected = facts.reference_problems(fact, rule_ids, clauses)
            assert VOCABULARY.folder_problems(fact, rule_ids, clauses) == expected
            found += len(expected)
    assert found > 100


def test_the_shipped_vocabularies_pass_their_editor_schema() -> None:
    """What an editor checks as a lawyer types (schemas/vocabulary.schema.json) accepts what the loader accepts.

    The schema once refused ``of: party``, the short form of a list's items
    that the loader reads and the Amnis vocabulary uses.
    """
    import jsonschema

    schema = json.loads((ROOT / "schemas" / "vocabulary.schema.json").read_text(encoding="utf-8"))
    template = ROOT / "src" / "covenant" / "language" / "template" / VOCABULARY_FILE
    for path in (AMNIS_RULES / VOCABULARY_FILE, template, ROOT / "rules" / "oil-dri-nppsa-2020" / VOCABULARY_FILE):
        tree = json.loads(json.dumps(read_yaml(path), default=str))
        errors = [error.message for error in jsonschema.Draft202012Validator(schema).iter_errors(tree)]
        assert errors == [], (path, errors[:3])
