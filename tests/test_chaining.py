"""Derived facts and chained rules, seen from the report (issue 3, items 6 and 7).

The scenario files check statuses, dates and amounts; these tests check what
a lawyer reads about the chain: which derived fact a finding rests on, which
rule derived it from which facts, which rule granted the remedies, and the
8(i) survival note.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from covenant.pipeline import check

from .conftest import AMNIS_RULES


def _report(tmp_path: Path, facts: list[dict[str, Any]], as_of: str) -> dict[str, Any]:
    log = tmp_path / "facts.jsonl"
    log.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    from covenant.calendar import as_date

    return check([log], AMNIS_RULES, as_date(as_of)).report


def _one(report: dict[str, Any], rule: str, **identity: Any) -> dict[str, Any]:
    found = [o for o in report["obligations"] if o["rule"] == rule and all(o[k] == v for k, v in identity.items())]
    assert len(found) == 1, f"{rule} {identity}: {len(found)} obligations"
    return found[0]


CLOSING = {"id": "c1", "type": "closing", "date": "2003-05-09"}


def test_lock_up_finding_names_the_derived_period_and_its_sources(tmp_path: Path) -> None:
    # Registration effective 2003-12-01: 180 days -> 2004-05-29; a suspension of 10 days
    # (2004-01-05..2004-01-14, both included) moves it to 2004-06-08. Closing + 270 days is
    # 2004-02-03, earlier, so the later limb governs. A negotiation on 2004-06-08 is inside.
    report = _report(
        tmp_path,
        [
            CLOSING,
            {"id": "reg", "type": "registration_effective", "date": "2003-12-01"},
            {"id": "susp", "type": "sales_suspended", "date": "2004-01-05", "until": "2004-01-14"},
            {
                "id": "fn1",
                "type": "financing",
                "date": "2004-06-08",
                "ref": "OFF",
                "stage": "negotiation",
                "warrants": True,
            },
        ],
        "2004-06-30",
    )
    finding = _one(report, "lock-up", trigger="fn1")
    assert finding["status"] == "breached"
    assert finding["breach_start"] == "2004-06-08"
    # The evidence is the act and the user facts the Lock-up Period was derived from.
    assert finding["evidence"] == ["fn1", "c1", "reg", "susp"]
    assert "lock_up_period from 2003-05-09 to 2004-06-08" in finding["explanation"]
    assert "derived by 4(e) (lock-up-period) from c1, reg, susp" in finding["explanation"]
    assert "Remedies chained from the breach by 4(r) (breach-of-covenants)" in finding["explanation"]


def test_lock_up_period_not_ended_without_registration(tmp_path: Path) -> None:
    # Closing + 270 days = 2004-02-03, but with no registration effective the period has not
    # ended: a warrant financing on 2004-03-01 is still inside it.
    report = _report(
        tmp_path,
        [
            CLOSING,
            {
                "id": "fn1",
                "type": "financing",
                "date": "2004-03-01",
                "ref": "OFF",
                "stage": "agreement",
                "warrants": True,
            },
        ],
        "2004-03-31",
    )
    finding = _one(report, "lock-up", trigger="fn1")
    assert finding["status"] == "breached"
    assert "not ended" in finding["explanation"]


def test_stockholder_approval_rests_on_the_derived_fact(tmp_path: Path) -> None:
    report = _report(
        tmp_path,
        [
            CLOSING,
            {"id": "sa", "type": "stockholder_approval", "date": "2003-11-20"},
            {"id": "coa", "type": "certificate_of_amendment", "date": "2003-11-25"},
        ],
        "2003-12-31",
    )
    finding = _one(report, "stockholder-approval")
    assert finding["status"] == "fulfilled"
    assert finding["trigger"] is None  # a fixed-date obligation of the agreement
    assert finding["evidence"] == ["c1", "sa", "coa"]
    assert (
        "stockholder_approval_complete, derived by 4(l) (stockholder-approval-complete) from sa, coa"
        in (finding["explanation"])
    )


def test_reverse_split_is_an_event_of_default_and_sld(tmp_path: Path) -> None:
    report = _report(
        tmp_path, [CLOSING, {"id": "rs", "type": "reverse_split", "date": "2003-10-01", "ratio": "1:20"}], "2003-10-31"
    )
    finding = _one(report, "no-reverse-split", trigger="rs")
    kinds = [(r["kind"], r["buyer"]) for r in finding["remedies"]]
    assert kinds == [
        ("event_of_default", None),
        ("standard_liquidated_damages", "alpha"),
        ("standard_liquidated_damages", "bristol"),
        ("standard_liquidated_damages", "sds"),
    ]
    assert "amount" not in finding["remedies"][0]
    assert "Remedies chained from the breach by 4(m) (no-reverse-split)" in finding["explanation"]


def test_survival_note_only_for_breaches_starting_after_one_year(tmp_path: Path) -> None:
    # 8(i): a breach that starts after 2004-05-09 carries the note; one that starts on it does not.
    report = _report(
        tmp_path,
        [
            CLOSING,
            {"id": "rb1", "type": "representation_breach", "date": "2004-05-09", "clause": "3(x)"},
            {"id": "rb2", "type": "representation_breach", "date": "2004-05-10", "clause": "3(y)"},
        ],
        "2004-05-31",
    )
    on_anniversary = _one(report, "representation-accuracy", trigger="rb1")
    after = _one(report, "representation-accuracy", trigger="rb2")
    assert "survival_note" not in on_anniversary
    assert "8(i)" in after["survival_note"]


def test_listing_lost_only_when_no_eligible_market_remains(tmp_path: Path) -> None:
    # Listed on AMEX on 2003-09-01, then removed from the OTCBB on 2003-09-02: still listed on an
    # eligible market, no breach. Removed from AMEX on 2003-10-01: now on none, in breach.
    report = _report(
        tmp_path,
        [
            CLOSING,
            {"id": "amex", "type": "listing", "date": "2003-09-01", "market": "AMEX", "status": "listed"},
            {"id": "otc-off", "type": "listing", "date": "2003-09-02", "market": "OTCBB", "status": "delisted"},
            {"id": "amex-off", "type": "listing", "date": "2003-10-01", "market": "AMEX", "status": "delisted"},
        ],
        "2003-10-31",
    )
    listing = [o for o in report["obligations"] if o["rule"] == "listing"]
    assert [(o["trigger"], o["status"], o["breach_start"]) for o in listing] == [("amex-off", "breached", "2003-10-01")]
