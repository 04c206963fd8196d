"""Shared fixtures: the real rule folder, compiled once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from covenant.language.vocabulary import VOCABULARY_FILE, Vocabulary, load_vocabulary
from covenant.law.driver import FormEvaluator
from covenant.pipeline import evaluator_for

ROOT = Path(__file__).resolve().parent.parent
AMNIS_RULES = ROOT / "rules" / "amnis-spa-2003"
EXAMPLE_FACTS = ROOT / "facts" / "amnis-2003-2004.jsonl"
AMNIS_VOCABULARY: Vocabulary = load_vocabulary(AMNIS_RULES / VOCABULARY_FILE)
"""The Amnis form's fact types, for the tests that read logs without the rest of the folder."""


@pytest.fixture(scope="session")
def amnis() -> FormEvaluator:
    return evaluator_for(AMNIS_RULES)
