"""The authoring commands, and the promise of docs/authoring.md.

``covenant test`` passes on the shipped scenarios and shows a field-by-field
diff when an expectation is wrong; ``explain`` prints an SLD's arithmetic
month by month; the committed JSON Schemas are current and accept every
shipped file; ``compile --show`` prints the ruleset. Last, the guide's own
example (a clause that is not in the Amnis agreement) is read out of the
guide's code blocks, added to a copy of the rule folder by files only, and
linted, tested and checked with no change to the program.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest
from click.testing import CliRunner, Result
from pydantic import BaseModel
from ruamel.yaml import YAML

from covenant.cli.main import main
from covenant.language.lint import SCHEMA_LINE
from covenant.language.loader import AGREEMENT_FILE, plain_data
from covenant.language.model import Agreement, Rule
from covenant.language.scenariofiles import load_scenarios, scenario_files
from covenant.language.schema import SCHEMAS, json_schema, render_schema
from covenant.law.driver import FormEvaluator
from covenant.pipeline import check
from covenant.report.coverage import compute_coverage, render_coverage

from .conftest import AMNIS_RULES, AMNIS_VOCABULARY, EXAMPLE_FACTS, ROOT

AGREEMENT_TEXT = AMNIS_RULES / "agreement.txt"
GUIDE = ROOT / "docs" / "authoring.md"
SCHEMA_FOLDER = ROOT / "schemas"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """work/ with a copy of the rules (agreement text included) and the example log, as in the repository."""
    work = tmp_path / "work"
    shutil.copytree(AMNIS_RULES, work / "rules" / "amnis-spa-2003")
    shutil.copytree(ROOT / "schemas", work / "schemas")  # every rule file names its schema by a relative path
    (work / "facts").mkdir()
    shutil.copy(EXAMPLE_FACTS, work / "facts" / EXAMPLE_FACTS.name)
    monkeypatch.chdir(work)
    return work


# --- covenant test ------------------------------------------------------------


def test_the_shipped_scenarios_pass_with_coverage() -> None:
    count = sum(len(load_scenarios(path, AMNIS_VOCABULARY)) for path in scenario_files(AMNIS_RULES))
    result = run("test", AMNIS_RULES, "--coverage")
    assert result.exit_code == 0, result.output
    assert f"\n{count} passed, 0 failed\n" in result.output
    assert "FAIL" not in result.output
    assert re.search(r"^coverage: (\d+) of \1 rules exercised", result.output, re.M), result.output


def test_a_wrong_expectation_fails_with_a_diff(workspace: Path) -> None:
    scenarios = workspace / "rules" / "amnis-spa-2003" / "scenarios" / "sec-report-copies.yaml"
    text = scenarios.read_text(encoding="utf-8")
    scenarios.write_text(text.replace('amount: "2673.12"', 'amount: "2673.13"', 1), encoding="utf-8")
    result = run("test", "rules/amnis-spa-2003", "-k", "sec-report-copies")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    failed = [line for line in lines if line.startswith("FAIL")]
    at_line = text.splitlines().index("  - name: one-late-one-missing") + 1
    where = f"rules/amnis-spa-2003/scenarios/sec-report-copies.yaml:{at_line}"
    assert failed == [f"FAIL  sec-report-copies::one-late-one-missing  ({where})"]
    at = lines.index(failed[0])
    assert lines[at + 2 : at + 6] == [
        "      sec-report-copies, trigger f1, owed to sds:",
        "          remedies:       expected standard_liquidated_damages sds 2673.13",
        "                          got      standard_liquidated_damages sds 2673.12",
        "PASS  sec-report-copies::labor-day-due-date",
    ]
    assert lines[-1] == f"{sum(1 for line in lines if line.startswith('PASS'))} passed, 1 failed"


def test_a_missing_obligation_lists_what_the_report_has(workspace: Path) -> None:
    scenarios = workspace / "rules" / "amnis-spa-2003" / "scenarios" / "form-d.yaml"
    text = scenarios.read_text(encoding="utf-8")
    first = re.search(r"rule: form-d, trigger: (\w+)", text)
    assert first is not None
    scenarios.write_text(text.replace(first.group(0), "rule: form-d, trigger: nowhere", 1), encoding="utf-8")
    result = run("test", "rules/amnis-spa-2003", "-k", "form-d")
    assert result.exit_code == 1
    assert "missing: form-d, trigger nowhere, owed to all" in result.output
    assert f"the report has for form-d: {first.group(1)}/null" in result.output
    assert f"unexpected: form-d, trigger {first.group(1)}, owed to all" in result.output


def test_a_broken_scenario_file_is_bad_input(workspace: Path) -> None:
    scenarios = workspace / "rules" / "amnis-spa-2003" / "scenarios" / "form-d.yaml"
    text = scenarios.read_text(encoding="utf-8")
    scenarios.write_text(text.replace("type: closing", "type: closng", 1), encoding="utf-8")
    line = text.splitlines().index(next(x for x in text.splitlines() if "type: closing" in x)) + 1
    result = CliRunner().invoke(main, ["test", "rules/amnis-spa-2003"])
    assert result.exit_code == 2
    assert f"rules/amnis-spa-2003/scenarios/form-d.yaml:{line}: type: unknown fact type 'closng'" in result.stderr


# --- covenant explain ---------------------------------------------------------


SEC_REPORT_FACTS = [
    {"id": "c1", "type": "closing", "date": "2003-05-09"},
    {"id": "f1", "type": "sec_filing", "date": "2003-08-15", "form": "8-K"},
    {"id": "d1", "type": "delivery", "date": "2003-08-20", "to": "alpha", "what": "sec_report", "ref": "f1"},
    {"id": "d2", "type": "delivery", "date": "2003-08-28", "to": "sds", "what": "sec_report", "ref": "f1"},
    {"id": "d2b", "type": "delivery", "date": "2003-09-01", "to": "alpha", "what": "press_release", "method": "mail"},
]


def _log(folder: Path, facts: list[dict[str, Any]]) -> Path:
    path = folder / "facts.jsonl"
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    return path


def test_explain_shows_an_sld_month_by_month(tmp_path: Path) -> None:
    # scenarios/sec-report-copies.yaml, one-late-one-missing: bristol never gets its copy.
    log = _log(tmp_path, SEC_REPORT_FACTS)
    result = run(
        "explain", log, "--rules", AMNIS_RULES, "--rule", "sec-report-copies", "--trigger", "f1",
        "--beneficiary", "bristol", "--as-of", "2003-09-30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.output
    assert "trigger f1, owed to bristol: breached as of 2003-09-30" in out
    assert "within ten\n  (10) days after the filing" in out or "(10) days after the filing" in out
    assert re.search(r"f1  sec_filing of 2003-08-15  \(.*facts\.jsonl:2\): the trigger", out)
    assert "due            2003-08-25  10 calendar days after 2003-08-15" in out
    assert "breach from    2003-08-26  the day after the due date" in out
    assert "days in breach 36          2003-08-26 to 2003-09-30, both included" in out
    assert "USNY banking holidays; deadlines rolled to the next business day" in out
    assert "mail_delay_days 5" in out
    months = [line.split() for line in out.splitlines() if re.match(r"^\s+[12]  2003-", line)]
    assert months == [
        ["1", "2003-08-26", "2003-09-26", "2.00%", "155,375.34", "31/31", "3,107.51"],
        ["2", "2003-09-26", "2003-10-26", "3.00%", "156,904.11", "5/30", "784.52"],
    ]
    assert "total 3892.0274, rounded half-up to cents once: 3,892.03" in out


def test_explain_shows_when_mail_took_effect(tmp_path: Path) -> None:
    facts = [*SEC_REPORT_FACTS[:3], {**SEC_REPORT_FACTS[3], "date": "2003-08-22", "method": "mail"}]
    result = run(
        "explain", _log(tmp_path, facts), "--rules", AMNIS_RULES, "--rule", "sec-report-copies",
        "--trigger", "f1", "--beneficiary", "sds", "--as-of", "2003-09-30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sent by mail: effective 2003-08-27, 5 days after it was sent" in result.output
    assert "cured on       2003-08-27" in result.output


def test_explain_lists_the_candidates_when_the_obligation_is_not_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["explain", str(_log(tmp_path, SEC_REPORT_FACTS)), "--rules", str(AMNIS_RULES), "--rule", "sec-report-copies"],
    )
    assert result.exit_code == 2
    assert "3 obligations of sec-report-copies match" in result.stderr
    assert "--trigger f1 --beneficiary bristol (breached)" in result.stderr


# --- covenant schema ----------------------------------------------------------


def test_the_committed_schemas_are_current(tmp_path: Path) -> None:
    for kind, (file_name, _, _) in SCHEMAS.items():
        assert (SCHEMA_FOLDER / file_name).read_text(encoding="utf-8") == render_schema(kind, AMNIS_VOCABULARY), (
            f"schemas/{file_name} is stale: run `covenant schema --write schemas`"
        )
    result = run("schema", "--write", tmp_path, "--rules", AMNIS_RULES)
    assert result.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f for f, _, _ in SCHEMAS.values())
    assert run("schema", "rules").output == render_schema("rules")


def test_the_schema_of_facts_is_a_forms() -> None:
    """Facts and scenarios are a form's: without --rules the command says so; with it, that form's types."""
    for args in (("schema", "facts"), ("schema", "scenarios"), ("schema", "--write", "somewhere")):
        result = run(*args)
        assert result.exit_code == 2
        assert "needs --rules DIR: a form declares its facts in DIR/vocabulary.yaml" in result.output
    printed = run("schema", "facts", "--rules", AMNIS_RULES)
    assert printed.exit_code == 0
    assert json.loads(printed.output)["discriminator"]["mapping"].keys() == AMNIS_VOCABULARY.models.keys()


def _yaml(path: Path) -> Any:
    return plain_data(YAML(typ="safe").load(path.read_text(encoding="utf-8")))


def _validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = json_schema(kind, AMNIS_VOCABULARY)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_every_shipped_file_validates_against_its_schema() -> None:
    rules = _validator("rules")
    files = sorted(p for p in AMNIS_RULES.glob("*.yaml") if p.name not in (AGREEMENT_FILE, "vocabulary.yaml"))
    assert files
    for path in files:
        assert path.read_text(encoding="utf-8").startswith(f"{SCHEMA_LINE}../../schemas/rule.schema.json")
        assert [e.message for e in rules.iter_errors(_yaml(path))] == [], path.name
    agreement = AMNIS_RULES / AGREEMENT_FILE
    assert [e.message for e in _validator("agreement").iter_errors(_yaml(agreement))] == []
    scenarios = _validator("scenarios")
    for path in scenario_files(AMNIS_RULES):
        assert path.read_text(encoding="utf-8").startswith(f"{SCHEMA_LINE}../../../schemas/scenario.schema.json")
        assert [e.message for e in scenarios.iter_errors(_yaml(path))] == [], path.name
    facts = _validator("facts")
    for line in EXAMPLE_FACTS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            assert [e.message for e in facts.iter_errors(json.loads(line))] == [], line


def test_the_schema_rejects_what_the_language_rejects() -> None:
    rule = _yaml(AMNIS_RULES / "4h-reserve-list.yaml")
    rules = _validator("rules")
    assert rules.is_valid(rule)
    assert not rules.is_valid({**rule, "owed_too": "each_holder"})
    assert not rules.is_valid({**rule, "kind": "obligation"})
    assert not rules.is_valid({**rule, "due": {"days_after": "ten"}})
    assert not _validator("facts").is_valid({"id": "x", "type": "delivery", "date": "2003-05-09", "to": "sds"})


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for argument in get_args(annotation) for m in _models(argument)]


def test_every_key_of_the_language_is_in_the_reference() -> None:
    """language.py and docs/rule-language.md are kept in step: a new key needs its entry."""
    reference = (ROOT / "docs" / "rule-language.md").read_text(encoding="utf-8")
    keys: set[str] = set()
    todo, seen = [*_models(Rule), Agreement], set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            keys.add(info.alias or name)
            todo.extend(_models(info.annotation))
    assert len(keys) > 80
    undocumented = sorted(key for key in keys if not re.search(rf"`{key}`|\{{{key}:|^\s*(- )?{key}:", reference, re.M))
    assert undocumented == []


# --- covenant compile ---------------------------------------------------------


def test_compile_shows_the_ruleset_and_bindings() -> None:
    result = run("compile", AMNIS_RULES, "--show", "--rule", "sec-report-copies")
    assert result.exit_code == 0, result.output
    compiled = json.loads(result.output)
    assert set(compiled) == {"ruleset", "bindings"}
    assert compiled["bindings"]["sec-report-copies/met/0"] == {
        "kind": "meet", "rule": "sec-report-copies", "index": 0, "detail": 0,
    }  # fmt: skip
    met = json.dumps(compiled["ruleset"]["sec-report-copies/met/0"])
    assert '"t": "delivery"' in met and '"what": "sec_report"' in met
    assert set(compiled["ruleset"]) == set(compiled["bindings"])
    assert run("compile", AMNIS_RULES, "--show").output.count('"kind"') > len(compiled["bindings"])


# --- coverage over check ------------------------------------------------------


def test_coverage_of_the_example_history(amnis: FormEvaluator) -> None:
    checked = check([EXAMPLE_FACTS], AMNIS_RULES)
    assert checked.state is not None
    coverage = compute_coverage([checked.state.fired], checked.form)
    assert "sec-report-copies" in coverage.exercised
    lines = render_coverage(coverage, checked.form)
    assert lines[-1].startswith("coverage: ")
    # 4(q): the example history discloses the Closing by an 8-K, never by a press release.
    disclosure = [line for line in lines if "4q-closing-disclosure.yaml" in line]
    assert [line.split(": ", 1)[1] for line in disclosure] == ["met_by press_release (alternative 1) never matched"]
    text = (AMNIS_RULES / "4q-closing-disclosure.yaml").read_text(encoding="utf-8").splitlines()
    assert disclosure[0].split(":")[1] == str(text.index("  - fact: press_release") + 1)


# --- the promise of docs/authoring.md -----------------------------------------


def guide_files(chapter: str | None = None) -> dict[str, str]:
    """The files the guide asks a lawyer to write: code blocks with a title="path".

    ``chapter``: only those under that ``## `` heading; else those of the first example (chapter 3).
    """
    text = GUIDE.read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.M)
    wanted = chapter or "3. Adding a clause, step by step"
    section = next(s for s in sections if s.startswith(wanted))
    blocks = re.findall(r'^```\w+ title="([^"]+)"\n(.*?)^```$', section, re.M | re.S)
    return dict(blocks)


def test_the_guide_example_works_by_files_only(workspace: Path) -> None:
    files = guide_files()
    assert sorted(files) == [
        "facts/audited-financials-2003.jsonl",
        "rules/amnis-spa-2003/4s-audited-financials.yaml",
        "rules/amnis-spa-2003/amendment-1.txt",
        "rules/amnis-spa-2003/scenarios/audited-financials.yaml",
    ]
    for name, content in files.items():
        (workspace / name).write_text(content, encoding="utf-8")
    guide = GUIDE.read_text(encoding="utf-8")
    # Step 2 adds the kind of delivery to the folder's vocabulary.yaml: a file edit, no programmer.
    added = "             - sec_correspondence\n             - audited_statements\n"
    assert added in guide
    vocabulary = workspace / "rules" / "amnis-spa-2003" / "vocabulary.yaml"
    lines = [line.removeprefix("   ") for line in added.splitlines()]  # the guide's block is in a list item
    text = vocabulary.read_text(encoding="utf-8")
    assert f"{lines[0]}\n" in text
    vocabulary.write_text(text.replace(f"{lines[0]}\n", f"{lines[0]}\n{lines[1]}\n"), encoding="utf-8")

    lint_command = "covenant lint rules/amnis-spa-2003"
    assert f"```\n{lint_command}\n```" in guide
    assert run(*lint_command.split()[1:]).exit_code == 1  # the amendment is not listed yet: the quote is not found
    listed = "text_file:\n  - agreement.txt\n  - amendment-1.txt\n"
    assert listed in guide  # step 1 lists the amendment in agreement.yaml
    agreement = workspace / "rules" / "amnis-spa-2003" / "agreement.yaml"
    agreement.write_text(
        agreement.read_text(encoding="utf-8").replace("text_file: agreement.txt\n", listed), encoding="utf-8"
    )
    linted = run(*lint_command.split()[1:])
    assert linted.exit_code == 0, linted.output
    assert "clean" in linted.stderr

    test_command = "covenant test rules/amnis-spa-2003 -k audited-financials"
    assert test_command in guide
    tested = run(*test_command.split()[1:])
    assert tested.exit_code == 0, tested.output
    assert tested.output.splitlines()[-1] == "3 passed, 0 failed"

    check_command = (
        "covenant check facts/amnis-2003-2004.jsonl facts/audited-financials-2003.jsonl --rules rules/amnis-spa-2003"
    )
    assert check_command in guide
    checked = run(*check_command.split()[1:], "--format", "json")
    assert checked.exit_code == 0, checked.output
    found = [
        (o["trigger"], o["beneficiary"], o["status"], o["due"], o["cured_on"], o["days_in_breach"])
        for o in json.loads(checked.output)["obligations"]
        if o["rule"] == "audited-financials"
    ]
    assert sorted(found) == [
        ("2003-12-31", "alpha", "fulfilled", "2004-04-29", None, 0),
        ("2003-12-31", "bristol", "fulfilled", "2004-04-29", None, 0),
        ("2003-12-31", "sds", "cured", "2004-04-29", "2004-05-10", 11),
        ("2004-12-31", "alpha", "pending", "2005-05-02", None, 0),
        ("2004-12-31", "sds", "pending", "2005-05-02", None, 0),
    ]
    assert "4(s)" in run(*check_command.split()[1:], "--format", "text", "--no-color").output

    explain_command = (
        "covenant explain facts/amnis-2003-2004.jsonl facts/audited-financials-2003.jsonl --rules rules/amnis-spa-2003"
        " --rule audited-financials --trigger 2003-12-31 --beneficiary sds"
    )
    assert explain_command in guide
    explained = run(*explain_command.split()[1:])
    assert explained.exit_code == 0, explained.output
    assert "120 calendar days after 2003-12-31" in explained.output
    assert re.search(r"^\s+1  2004-04-30  2004-05-30  2\.00%  .* 11/30 ", explained.output, re.M), explained.output
