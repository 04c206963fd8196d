"""A form is data: the package names no word of the Amnis fact vocabulary (issue 14).

The fact types, field names and field values of the Amnis form live in
``rules/amnis-spa-2003/vocabulary.yaml``; a Python branch on one of them
(``fact.type == "delivery"``, ``fields["what"]``) would make the monitor read
that form only. This test reads the words from the file, so a type added to
the vocabulary is guarded too, and scans every module of ``src/covenant``:
string literals (a docstring explains, it does not decide, so it is not
scanned), identifiers written with ``_`` (``sec_filing``) and the model
names the schema gives the types (``SecFiling``).

A word that is also an ordinary word of the rule language or of Python may
be allowed below, each with its reason. Words marked ``# law/: issue-14-law``
are still named by the code for holdings and consents: issue
14 is not done until they go (the second test fails when an entry is no
longer needed, so the list only shrinks).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

from ruamel.yaml import YAML

from .conftest import AMNIS_RULES, ROOT

PACKAGE = ROOT / "src" / "covenant"

GENERIC = frozenset({"id", "type", "date", "agreement", "note"})
"""Every fact of every form has these (facts.COMMON_FIELDS)."""

ALLOWED: dict[str, str] = {
    # Keys of the rule language, the report or the portfolio file, which every form shares:
    "rule": "a rule file; `rule:` of a scenario or a waiver (every form waives rules)",
    "trigger": "the rule language's trigger of an obligation",
    "clause": "a rule's `clause:`",
    "kind": "a rule's `kind:` (duty, prohibition ...)",
    "status": "an obligation's status in the report",
    "amount": "a remedy's amount in the report; `adding_up` sums any field",
    "by": "`due: {by: ...}` of the rule language",
    "all": "`all:` of the rule language (every condition)",
    "to": "the English preposition and `owed_to`",
    "ref": "the rule language's `same_as` refs; the vocabulary's `ref` kind",
    "period": "a calendar period (month_end, quarter_end) of the rule language",
    "form": "the agreement form: this package reads forms",
    "what": "the English word in messages",
    "until": "the English word in messages; `until` of the report's --within",
    "about": "the English word in messages and schema descriptions",
    "listed": "the English word in messages",
    "listing": "the English word (a listing of ids)",
    "market": "the calendar's financial market (USNY), an agreement.yaml key",
    "amendment": "an amendment of the agreement's text (--text)",
    "method": "iCalendar's METHOD property (report/render/ics.py); a form's mail field is calendar.by_mail's",
    "offering": "docstring-like examples in field descriptions of the rule language",
    "consent": "the rule language's word: a prohibition's `unless:` lists consents (every form)",
    # Parties, holdings and remedies, moved by issue 14's other half:
    "buyer": "report.md's contract: a remedy's money is per `buyer` (the JSON key every form's report keeps)",
    "principal": "an instrument's principal, which every form's holdings and interest formulas count",
}
"""Word -> why it may appear in the package. Keep it short: an entry is a word the scan cannot guard."""


def vocabulary_words() -> dict[str, str]:
    """Every type, field, value and shared name of the Amnis vocabulary -> where it is declared."""
    declaration = YAML(typ="safe").load((AMNIS_RULES / "vocabulary.yaml").read_text(encoding="utf-8"))
    words: dict[str, str] = {}
    for type_name, decl in declaration["types"].items():
        words.setdefault(type_name, f"type {type_name}")
        words.setdefault("".join(part.capitalize() for part in type_name.split("_")), f"the model of {type_name}")
        for field_name, kind in (decl.get("fields") or {}).items():
            words.setdefault(field_name, f"field {type_name}.{field_name}")
            items = [kind, kind.get("of")] if isinstance(kind.get("of"), dict) else [kind]
            for item in items:
                for value in item.get("values") or []:
                    words.setdefault(value, f"a value of {type_name}.{field_name}")
                if item.get("names"):
                    words.setdefault(item["names"], f"the name {type_name}.{field_name} gives")
    return {word: where for word, where in words.items() if word not in GENERIC}


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for statement in body:
            value = statement.value if isinstance(statement, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                lines.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
    return lines


def words_used(path: Path) -> list[tuple[int, str]]:
    """(line, word) of the module's string literals' words, and of its identifiers with ``_`` or in CamelCase.

    A plain lower-case identifier (``transfer = ...``) is code naming code; a string is what would be compared
    with a fact's type, field or value.
    """
    text = path.read_text(encoding="utf-8")
    docstrings = _docstring_lines(ast.parse(text))
    found: list[tuple[int, str]] = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.NAME and ("_" in token.string or token.string[:1].isupper()):
            found.append((token.start[0], token.string))
        elif token.type == tokenize.STRING and token.start[0] not in docstrings:
            found.extend((token.start[0], word) for word in re.findall(r"[A-Za-z0-9_]+", token.string))
    return found


def test_the_package_names_no_word_of_the_amnis_vocabulary() -> None:
    words = vocabulary_words()
    assert {"delivery", "what", "offering_notice", "offering", "SecFiling"} <= set(words)  # the scan reads them
    found = [
        f"{path.relative_to(ROOT)}:{line}: {word} ({words[word]})"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, word in words_used(path)
        if word in words and word not in ALLOWED
    ]
    assert found == [], "the form's words belong in its vocabulary.yaml:\n" + "\n".join(found)


def test_every_allowed_word_is_a_word_of_the_vocabulary_and_still_needed() -> None:
    """An entry for a word the package no longer uses, or the vocabulary no longer has, is removed."""
    words = vocabulary_words()
    assert set(ALLOWED) <= set(words), set(ALLOWED) - set(words)
    used = {word for path in sorted(PACKAGE.rglob("*.py")) for _, word in words_used(path)}
    assert set(ALLOWED) <= used, set(ALLOWED) - used


def test_the_scan_finds_a_branch_on_a_fact_type(tmp_path: Path) -> None:
    """The scan itself: a branch on a type, a field read by name, a model class; not a docstring."""
    module = tmp_path / "m.py"
    module.write_text(
        '"""A delivery is explained here."""\n'
        'def f(fact):\n    return fact.type == "reserve" and fact.fields["issuable"]\n'
        "class ReverseSplit:\n    pass\n",
        encoding="utf-8",
    )
    words = vocabulary_words()
    hits = [(line, word) for line, word in words_used(module) if word in words]
    assert (3, "reserve") in hits and (3, "issuable") in hits and (4, "ReverseSplit") in hits
    assert all(line != 1 for line, _ in hits)
