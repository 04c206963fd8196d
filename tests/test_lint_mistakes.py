"""Lint from the lawyer's side: a folder of deliberate mistakes and the exact lines lint must print.

tests/data/lint-mistakes/ holds the mistakes a newcomer makes (a misspelt
key, an amount written ``$250,000``, a date written ``2003-6-30``, a tab,
a line indented wrongly, two deadlines, a fixed date before the obligation
can arise, a deadline before the trigger that cannot be met, and a scenario
file naming rules, triggers and Buyers that do not exist, an amount written as a
number, a misspelt fact type and field). Each mistake
gives exactly one line, in words, with a hint and a code from
docs/errors.md; expected-lint.txt is the whole output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from covenant.cli.main import main

from .conftest import ROOT

MISTAKES = Path("tests/data/lint-mistakes")
ERRORS_DOC = ROOT / "docs" / "errors.md"


def _lint(monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[str]]:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["lint", str(MISTAKES)])
    return result.exit_code, result.stdout.splitlines()


def test_every_mistake_gives_exactly_the_expected_line(monkeypatch: pytest.MonkeyPatch) -> None:
    code, lines = _lint(monkeypatch)
    assert code == 1
    assert lines == (ROOT / MISTAKES / "expected-lint.txt").read_text(encoding="utf-8").splitlines()


def test_one_line_per_mistake_each_with_a_hint_and_a_documented_code(monkeypatch: pytest.MonkeyPatch) -> None:
    _, lines = _lint(monkeypatch)
    documented = set(re.findall(r"^## ([a-z-]+)$", ERRORS_DOC.read_text(encoding="utf-8"), re.MULTILINE))
    places = [line.split(": ", 1)[0] for line in lines]
    assert len(places) == len(set(places)), "two messages for one place: a cascade"
    for line in lines:
        assert "(hint: " in line, line
        code = re.search(r"\[([a-z-]+)\]$", line)
        assert code and code.group(1) in documented, line


def test_no_message_speaks_parser_or_names_a_file_outside_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    _, lines = _lint(monkeypatch)
    text = "\n".join(lines)
    for jargon in ("should match pattern", "<block", "Input should", "\\d{", "shared/spec", ".0.", ".1."):
        assert jargon not in text


def test_the_fact_vocabulary_page_is_current() -> None:
    """docs/facts.md, the Amnis form's page for people who record facts, is ``covenant vocabulary`` of its folder."""
    from covenant.language.schema import facts_markdown

    from .conftest import AMNIS_VOCABULARY

    page = (ROOT / "docs" / "facts.md").read_text(encoding="utf-8")
    regenerate = "regenerate it: covenant vocabulary rules/amnis-spa-2003 > docs/facts.md"
    assert page == facts_markdown(AMNIS_VOCABULARY, "amnis-spa-2003"), regenerate
    assert run_vocabulary() == page, regenerate
    assert all(f"## {name}\n" in page for name in AMNIS_VOCABULARY.models)


def run_vocabulary() -> str:
    from .conftest import AMNIS_RULES

    result = CliRunner().invoke(main, ["vocabulary", str(AMNIS_RULES)])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_vocabulary_page_says_each_type_and_field_in_words() -> None:
    from .conftest import AMNIS_VOCABULARY

    page = run_vocabulary()
    for name, decl in AMNIS_VOCABULARY.types.items():
        assert f"## {name}\n\n{decl.meaning[:1].upper()}{decl.meaning[1:]}" in page, name
        for field_name in decl.fields:
            assert f"- `{field_name}` (" in page
    assert "- `what` (required): what was sent. One of `sec_report`, " in page
    assert "when `what` is `offering_notice`, the `ref` of a `financing` fact instead" in page


def test_hints_name_no_file_outside_the_repository() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src" / "covenant").glob("*.py"))
    strings = re.findall(r'"[^"\n]*shared/spec[^"\n]*"', sources)
    assert [s for s in strings if "hint" in s or "see " in s] == []


def test_check_refuses_a_bad_rule_with_the_same_plain_words(tmp_path: Path) -> None:
    """``covenant check`` loads rules as lint does: the same message, the same hint, exit 2."""
    folder = tmp_path / "form"
    assert CliRunner().invoke(main, ["new", str(folder)]).exit_code == 0
    rule = folder / "a-annual-report-copies.yaml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("met_by:", "mett_by:"), encoding="utf-8")
    log = tmp_path / "facts.jsonl"
    log.write_text('{"id": "c1", "type": "closing", "date": "2024-01-10"}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(log), "--rules", str(folder)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"{rule}:18:1: unknown key 'mett_by' (hint: did you mean 'met_by'?)"]


def test_a_derive_rule_that_does_not_load_is_one_line_not_one_per_rule_using_its_fact(tmp_path: Path) -> None:
    import shutil

    from covenant.language.lint import format_problem, lint

    from .conftest import AMNIS_RULES

    folder = tmp_path / "rules" / AMNIS_RULES.name
    shutil.copytree(AMNIS_RULES, folder)
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    broken = folder / "4l-stockholder-approval-complete.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("kind: derive", "kind: derivee"), encoding="utf-8")
    assert [format_problem(p) for p in lint(folder).problems] == [
        f"{broken}:5:1: 'derivee' is not a kind of rule: one of duty, prohibition, derive, period, remedy, review,"
        " test, default, default_rate (hint: did you mean 'derive'?) [language]"
    ]
