"""Conditions of the rule language as the engine evaluates them.

Each test adds one rule file to a copy of the Amnis folder (rules are data:
no code changes), evaluates a small log and checks which facts the rule saw.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from covenant.calendar import as_date
from covenant.pipeline import check

from .conftest import AMNIS_RULES

LARGE_INVOICES = """\
id: large-invoice-review
clause: 4(f)
title: Large invoices are reviewed
kind: review
text: At the Closing and any time thereafter, the Company shall reimburse Buyers for expenses
arises:
  on: invoice
  where:
    amount: {above: 1000}
"""

NOT_AN_EIGHT_K = """\
id: non-current-report-review
clause: 4(g)(i)
title: Filings other than current reports
kind: review
text: any Current Reports on Form 8-K
arises:
  on: sec_filing
  where:
    form: {not_one_of: [8-K, 8-K/A]}
    about: {not: transaction}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(AMNIS_RULES, target, ignore=shutil.ignore_patterns("scenarios"))
    return target


def _triggers(folder: Path, rule_text: str, rule_id: str, facts: list[dict[str, Any]], tmp_path: Path) -> list[str]:
    (folder / f"{rule_id}.yaml").write_text(rule_text, encoding="utf-8")
    log = tmp_path / "facts.jsonl"
    log.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    report = check([log], folder, as_date("2003-12-31")).report
    return [o["trigger"] for o in report["obligations"] if o["rule"] == rule_id]


CLOSING = {"id": "c1", "type": "closing", "date": "2003-05-09"}


def test_amounts_compare_as_numbers(folder: Path, tmp_path: Path) -> None:
    # As text, "500.00" > "1000" and "99999.5" > "1000" both hold; as numbers only the second.
    facts = [
        CLOSING,
        {"id": "small", "type": "invoice", "date": "2003-06-02", "buyer": "sds", "amount": "500.00"},
        {"id": "exact", "type": "invoice", "date": "2003-06-03", "buyer": "sds", "amount": 1000},
        {"id": "large", "type": "invoice", "date": "2003-06-04", "buyer": "sds", "amount": "99999.5"},
    ]
    assert _triggers(folder, LARGE_INVOICES, "large-invoice-review", facts, tmp_path) == ["large"]


def test_expense_interest_uses_the_exact_amount(folder: Path, tmp_path: Path) -> None:
    # 4(f) interest on 1234.567891 at 15% for 10 days (2003-06-02 to 2003-06-12 excluded):
    # 1234.567891 x 0.15 x 10 / 365 = 5.07356... -> 5.07; the engine sees a float, the money does not.
    log = tmp_path / "facts.jsonl"
    facts = [
        CLOSING,
        {"id": "i1", "type": "invoice", "date": "2003-06-02", "buyer": "alpha", "amount": "1234.567891"},
        {"id": "p1", "type": "payment", "date": "2003-06-12", "buyer": "alpha", "amount": "1234.567891", "ref": "i1"},
    ]
    log.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    report = check([log], folder, as_date("2003-12-31")).report
    (finding,) = [o for o in report["obligations"] if o["rule"] == "expense-reimbursement"]
    assert finding["status"] == "cured"
    assert {"kind": "interest", "buyer": "alpha", "amount": "5.07"} in finding["remedies"]


def test_not_and_not_one_of_hold_for_missing_fields(folder: Path, tmp_path: Path) -> None:
    facts = [
        CLOSING,
        {"id": "k", "type": "sec_filing", "date": "2003-06-02", "form": "10-QSB"},
        {"id": "k-about", "type": "sec_filing", "date": "2003-06-03", "form": "10-QSB", "about": "transaction"},
        {"id": "eight-k", "type": "sec_filing", "date": "2003-06-04", "form": "8-K"},
    ]
    assert _triggers(folder, NOT_AN_EIGHT_K, "non-current-report-review", facts, tmp_path) == ["k"]
