"""covenant lint: every kind of mistake in a rule folder, found with its file and line.

Each test copies the real rule folder (and the agreement's text, where
agreement.yaml's text_file expects it) into a temporary directory, breaks
one thing in one file, and checks that lint reports exactly that, on the
line where it was written.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from covenant.cli.main import main
from covenant.diagnostics import InputError
from covenant.language.lint import format_problem, lint

from .conftest import AMNIS_RULES

AGREEMENT_TEXT = AMNIS_RULES / "agreement.txt"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """A copy of the Amnis rule folder (its agreement text included) at work/rules/amnis-spa-2003."""
    folder = tmp_path / "work" / "rules" / "amnis-spa-2003"
    shutil.copytree(AMNIS_RULES, folder)
    shutil.copytree(AMNIS_RULES.parent.parent / "schemas", tmp_path / "work" / "schemas")  # the files name them
    assert (folder / AGREEMENT_TEXT.name).is_file()
    return folder


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first ``old`` by ``new``; the 1-based line where ``new`` now starts."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return text[: text.index(new)].count("\n") + 1


def problems_of(folder: Path, code: str) -> list[tuple[str, int | None, str]]:
    return [(Path(p.file).name, p.line, p.message) for p in lint(folder).problems if p.code == code]


def test_the_shipped_rules_are_clean() -> None:
    result = lint(AMNIS_RULES)
    assert [format_problem(p) for p in result.problems] == []
    assert result.rule_files >= 17


# (file, text to replace, replacement, code, words the message must contain)
MISTAKES = [
    ("4g-i-sec-report-copies.yaml", "  - fact: delivery", "  - fact: delivry", "unknown-fact", "'delivry'"),
    ("4g-i-sec-report-copies.yaml", "      what: sec_report", "      wht: sec_report", "unknown-field", "'wht'"),
    ("4g-i-sec-report-copies.yaml", "what: sec_report", "what: sec_reports", "unknown-value", "'sec_reports'"),
    ("4h-reserve-list.yaml", "{same_as: trigger.month}", "{same_as: trigger.period}", "never-matches", "'period'"),
    ("4c-timely-sec-reports.yaml", "{same_as: terms.form}", "{same_as: terms.kind}", "never-matches", "'kind'"),
    ("4q-closing-disclosure.yaml", "about: transaction", "about: {same_as: beneficiary}", "never-matches", "all"),
    (
        "4g-i-sec-report-copies.yaml",
        "form: [10-KSB, 10-QSB, 8-K, 10-KSB/A, 10-QSB/A, 8-K/A]",
        "form: {same_as: beneficiary}",
        "never-matches",
        "before the obligation exists",
    ),
    ("4g-i-sec-report-copies.yaml", "      what: sec_report", "      date: 2003-08-25", "never-matches", "date"),
    (
        "4h-reserve-list.yaml",
        "[standard_liquidated_damages]",
        "[standard_liquidated_damage]",
        "unknown-remedy",
        "'standard",
    ),
    ("4r-breach-of-covenants.yaml", "[standard_liquidated_damages]", "[sld]", "unknown-remedy", "'sld'"),
    (
        "4l-stockholder-approval.yaml",
        "- fact: stockholder_approval_complete",
        "- fact: stockholder_approval_done",
        "unknown-fact",
        "stockholder_approval_done",
    ),
    ("4l-stockholder-approval.yaml", 'date: "2003-11-30"', 'date: "2003-11-31"', "bad-date", "2003-11-31"),
    ("4g-i-sec-report-copies.yaml", "(i) within ten", "(i) within twelve", "quote-not-found", "does not occur"),
]


@pytest.mark.parametrize(("file", "old", "new", "code", "words"), MISTAKES, ids=[f"{m[3]}:{m[2]}" for m in MISTAKES])
def test_each_mistake_is_found_on_its_line(rules: Path, file: str, old: str, new: str, code: str, words: str) -> None:
    line = edit(rules / file, old, new)
    if code == "quote-not-found":  # reported on the `text:` key the quotation starts at
        line = rules.joinpath(file).read_text(encoding="utf-8").split("\n").index("text: >-") + 1
    found = problems_of(rules, code)
    assert [(f, n) for f, n, _ in found] == [(file, line)], found
    assert words in found[0][2]


def test_the_hint_suggests_the_closest_name(rules: Path) -> None:
    edit(rules / "4g-i-sec-report-copies.yaml", "  - fact: delivery", "  - fact: delivry")
    (problem,) = [p for p in lint(rules).problems if p.code == "unknown-fact"]
    assert problem.hint == "did you mean 'delivery'?"
    assert problem.column == 5


def test_a_misquote_says_where_the_words_part(rules: Path) -> None:
    edit(rules / "4g-i-sec-report-copies.yaml", "(i) within ten", "(i) within twelve")
    (problem,) = [p for p in lint(rules).problems if p.code == "quote-not-found"]
    assert problem.hint is not None
    assert "(i) within'" in problem.hint and "'twelve (10) days" in problem.hint


def test_duplicate_rule_ids(rules: Path) -> None:
    shutil.copy(rules / "4h-reserve-list.yaml", rules / "zz-copy.yaml")
    found = problems_of(rules, "duplicate-id")
    assert found == [("zz-copy.yaml", 2, found[0][2])]
    assert "4h-reserve-list.yaml" in found[0][2]


def test_a_derived_fact_no_rule_uses(rules: Path) -> None:
    (rules / "zz-unused.yaml").write_text(
        "# yaml-language-server: $schema=../../schemas/rule.schema.json\n"
        "id: unused-derivation\n"
        "clause: 4(l)\n"
        "title: Derived and never used\n"
        "kind: derive\n"
        "text: Stockholder Approval\n"
        "derives: nobody_uses_this\n"
        "when:\n"
        "  - fact: stockholder_approval\n",
        encoding="utf-8",
    )
    assert problems_of(rules, "unused-derived") == [
        ("zz-unused.yaml", 7, "derives 'nobody_uses_this', but no rule uses it (fact: nobody_uses_this)")
    ]


def test_yaml_and_language_errors_keep_their_lines_and_other_files_are_still_checked(rules: Path) -> None:
    bad_yaml = edit(rules / "4o-contact-information.yaml", "owed_to: each_holder", "owed_to: [each_holder")
    unknown_key = edit(rules / "4h-reserve-list.yaml", "owed_to: each_holder", "owed_too: each_holder")
    edit(rules / "4g-i-sec-report-copies.yaml", "      what: sec_report", "      wht: sec_report")
    problems = lint(rules).problems
    codes = {(Path(p.file).name, p.code) for p in problems}
    assert ("4o-contact-information.yaml", "yaml") in codes
    assert ("4h-reserve-list.yaml", "language") in codes
    assert ("4g-i-sec-report-copies.yaml", "unknown-field") in codes
    (yaml_problem,) = [p for p in problems if p.code == "yaml"]
    assert yaml_problem.line is not None and yaml_problem.line >= bad_yaml
    assert any(p.code == "language" and p.line == unknown_key for p in problems)


def test_the_schema_line_is_required(rules: Path) -> None:
    path = rules / "4h-reserve-list.yaml"
    path.write_text(path.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    assert problems_of(rules, "schema-line") == [("4h-reserve-list.yaml", 1, problems_of(rules, "schema-line")[0][2])]


def test_what_the_engine_cannot_take_is_reported_too(rules: Path) -> None:
    forms = ", ".join(f"F-{n}" for n in range(101))
    line = edit(
        rules / "4g-i-sec-report-copies.yaml",
        "form: [10-KSB, 10-QSB, 8-K, 10-KSB/A, 10-QSB/A, 8-K/A]",
        f"form: [{forms}]",
    )
    assert [(f, n) for f, n, _ in problems_of(rules, "engine-limits")] == [("4g-i-sec-report-copies.yaml", line)]


def test_an_unreadable_text_file(rules: Path) -> None:
    line = edit(rules / "agreement.yaml", "text_file: agreement.txt", "text_file: nowhere.txt")
    assert [(f, n) for f, n, _ in problems_of(rules, "text-file")] == [("agreement.yaml", line)]


def test_more_text_with_an_amendment(rules: Path, tmp_path: Path) -> None:
    rule = rules / "4g-i-sec-report-copies.yaml"
    edit(rule, "(i) within ten", "(i) within twelve")
    quoted = YAML(typ="safe").load(rule.read_text(encoding="utf-8"))["text"]
    amendment = tmp_path / "amendment.txt"
    amendment.write_text(f"Amendment No. 1: {quoted}\n", encoding="utf-8")
    assert [p.code for p in lint(rules).problems] == ["quote-not-found"]
    assert lint(rules, [amendment]).problems == []


def test_no_folder_or_no_agreement_cannot_be_linted(rules: Path) -> None:
    with pytest.raises(InputError):
        lint(rules / "nowhere")
    (rules / "agreement.yaml").unlink()
    with pytest.raises(InputError):
        lint(rules)


def test_the_command_prints_file_line_column_message_hint_code(rules: Path) -> None:
    runner = CliRunner()
    clean = runner.invoke(main, ["lint", str(rules)])
    assert clean.exit_code == 0, clean.output
    edit(rules / "4g-i-sec-report-copies.yaml", "  - fact: delivery", "  - fact: delivry")
    broken = runner.invoke(main, ["lint", str(rules)])
    assert broken.exit_code == 1
    first = broken.stdout.splitlines()[0]
    pattern = r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<message>.+) \(hint: .+\) \[unknown-fact\]$"
    assert re.match(pattern, first), first
    missing = runner.invoke(main, ["lint", str(rules / "nowhere")])
    assert missing.exit_code == 2
    assert "no such rule folder" in missing.stderr


# --- the folder's vocabulary.yaml, checked like a rule file ---------------------


def test_a_misspelt_kind_or_key_in_the_vocabulary_is_one_line_with_did_you_mean(rules: Path) -> None:
    vocabulary = rules / "vocabulary.yaml"
    kind = edit(
        vocabulary, 'amount: {type: amount, meaning: "the expenses', 'amount: {type: amonut, meaning: "the expenses'
    )
    key = edit(
        vocabulary, "    meaning: a reimbursement paid to a Buyer", "    meening: a reimbursement paid to a Buyer"
    )
    found = [p for p in lint(rules).problems if p.code == "vocabulary"]
    assert [(Path(p.file).name, p.line) for p in found] == [("vocabulary.yaml", kind), ("vocabulary.yaml", key)]
    assert "unknown kind of field 'amonut'" in found[0].message and found[0].hint == "did you mean 'amount'?"
    assert found[1].message == "unknown key 'meening'" and found[1].hint == "did you mean 'meaning'?"
    assert found[0].column is not None
    # Without a vocabulary no rule is told that its facts are unknown: the file's own problems are the ones to fix.
    assert {p.code for p in lint(rules).problems} == {"vocabulary"}


def test_the_rules_are_checked_against_the_folders_vocabulary(rules: Path) -> None:
    """A value, a field or a type the folder's vocabulary.yaml lacks: the same lines as for facts.md's."""
    edit(rules / "vocabulary.yaml", "          - sec_report\n", "          - sec_reports\n")
    found = problems_of(rules, "unknown-value")
    assert found and all("delivery.what is never 'sec_report'" in message for _, _, message in found)
    assert any("'sec_reports'" in message for _, _, message in found)


def test_a_type_declared_in_the_vocabulary_may_be_named_by_a_rule(rules: Path) -> None:
    rule = rules / "4g-i-sec-report-copies.yaml"
    edit(rule, "  - fact: delivery", "  - fact: dividend")
    assert [message for _, _, message in problems_of(rules, "unknown-fact")] == [
        "unknown fact type 'dividend': not in the fact vocabulary and no rule derives it"
    ]
    text = (rules / "vocabulary.yaml").read_text(encoding="utf-8")
    dividend = "  dividend:\n    meaning: a dividend declared\n    fields:\n      what: {type: text}\n"
    (rules / "vocabulary.yaml").write_text(text.replace("types:\n", f"types:\n{dividend}", 1), encoding="utf-8")
    assert problems_of(rules, "unknown-fact") == []


def test_a_folder_without_vocabulary_is_refused_with_a_hint(rules: Path) -> None:
    (rules / "vocabulary.yaml").unlink()
    with pytest.raises(InputError) as caught:
        lint(rules)
    (problem,) = caught.value.problems
    assert problem.code == "folder" and "vocabulary.yaml" in problem.message
    assert problem.hint and "docs/vocabulary.md" in problem.hint
    result = CliRunner().invoke(main, ["check", str(AMNIS_RULES.parent.parent / "facts"), "--rules", str(rules)])
    assert result.exit_code == 2
    assert "every rule folder declares the facts its logs record in vocabulary.yaml" in result.stderr
