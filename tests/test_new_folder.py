"""``covenant new``: a rule folder that works from anywhere, with its text files named in agreement.yaml."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
from click.testing import CliRunner
from ruamel.yaml import YAML

from covenant.cli.main import main
from covenant.language.lint import SCHEMA_LINE, format_problem, lint

from .conftest import AMNIS_RULES

AMENDMENT = """AMENDMENT NO. 1

(b) Quarterly Report. The Company shall deliver a copy of each Quarterly Report on
Form 10-Q to each Buyer within ten (10) days after it is filed.
"""

AMENDED_RULE = """# yaml-language-server: $schema=schemas/rule.schema.json
id: quarterly-report-copies
clause: (b)
title: Copy of each Quarterly Report to each Buyer
kind: duty
text: >-
  The Company shall deliver a copy of each Quarterly Report on Form 10-Q to each
  Buyer within ten (10) days after it is filed.
arises:
  on: sec_filing
  where:
    form: 10-Q
owed_to: each_holder
due:
  days_after: 10
met_by:
  - fact: delivery
    where:
      what: sec_report
      ref: {same_as: trigger}
      to: {same_as: beneficiary}
"""


def _new(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere" / "acme-notes-2024"
    result = CliRunner().invoke(main, ["new", str(folder), "--title", "Acme notes"])
    assert result.exit_code == 0, result.output
    return folder


def test_a_new_folder_lints_clean_and_its_scenarios_pass_outside_the_repository(tmp_path: Path) -> None:
    folder = _new(tmp_path)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "a-annual-report-copies.yaml",
        "agreement.txt",
        "agreement.yaml",
        "scenarios/annual-report-copies.yaml",
        "schemas/agreement.schema.json",
        "schemas/fact.schema.json",
        "schemas/rule.schema.json",
        "schemas/scenario.schema.json",
        "schemas/vocabulary.schema.json",
        "vocabulary.yaml",
    ]
    assert [format_problem(p) for p in lint(folder).problems] == []
    tested = CliRunner().invoke(main, ["test", str(folder)])
    assert tested.exit_code == 0, tested.output
    assert "3 passed, 0 failed" in tested.output


def test_every_schema_reference_of_a_new_folder_resolves_and_validates(tmp_path: Path) -> None:
    folder = _new(tmp_path)
    yaml = YAML(typ="safe", pure=True)
    for path in sorted(folder.rglob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(SCHEMA_LINE), path
        schema_path = (path.parent / first[len(SCHEMA_LINE) :]).resolve()
        assert schema_path.is_relative_to(folder.resolve()), path  # inside the folder: it moves with it
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        data: Any = json.loads(json.dumps(yaml.load(path.read_text(encoding="utf-8")), default=str))
        assert [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)] == [], path


def test_agreement_yaml_names_the_amendments_so_no_text_option_is_needed(tmp_path: Path) -> None:
    folder = _new(tmp_path)
    (folder / "amendment-1.txt").write_text(AMENDMENT, encoding="utf-8")
    (folder / "b-quarterly-report-copies.yaml").write_text(AMENDED_RULE, encoding="utf-8")
    assert [p.code for p in lint(folder).problems] == ["quote-not-found"]
    agreement = folder / "agreement.yaml"
    text = agreement.read_text(encoding="utf-8")
    listed = text.replace("  - agreement.txt\n", "  - agreement.txt\n  - amendment-1.txt\n")
    agreement.write_text(listed, encoding="utf-8")
    assert [format_problem(p) for p in lint(folder).problems] == []
    (folder / "amendment-1.txt").unlink()
    problems = lint(folder).problems
    assert {p.code for p in problems} == {"text-file", "quote-not-found"}
    assert any("'amendment-1.txt' cannot be read" in p.message for p in problems)


def test_new_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(main, ["new", str(tmp_path / "taken")])
    assert result.exit_code == 2
    assert "already exists and is not empty" in result.stderr


def test_lint_says_when_a_schema_reference_leads_nowhere(tmp_path: Path) -> None:
    """A folder copied out of the repository keeps ../../schemas/ lines that lead nowhere."""
    copy = tmp_path / "amnis"
    shutil.copytree(AMNIS_RULES, copy)
    problems = [p for p in lint(copy).problems if p.code == "schema-line"]
    assert len(problems) == len(list(copy.glob("4*.yaml"))) + len(list(copy.glob("[23]*.yaml")))
    assert "does not exist from this file's folder" in problems[0].message


def test_a_mistake_in_agreement_yaml_is_one_line_not_one_per_scenario(tmp_path: Path) -> None:
    """The Buyers are unknown when agreement.yaml does not load: scenarios are not told their Buyers do not exist."""
    folder = _new(tmp_path)
    agreement = folder / "agreement.yaml"
    agreement.write_text(
        agreement.read_text(encoding="utf-8").replace('principal: "500000.00"', "principal: $500,000"), encoding="utf-8"
    )
    assert [format_problem(p) for p in lint(folder).problems] == [
        f"{agreement}:17:5: parties, item 1, principal: '$500,000' is not a number as rule files write amounts "
        '(hint: write 500000 (no currency sign, no commas), or quoted with cents: "500000.00") [language]'
    ]
