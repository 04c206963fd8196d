"""EDGAR's form codes in the spelling agreements and fact logs use, and which of them have a period of report.

EDGAR spells some forms its own way: the small-business reports without a
hyphen (``10QSB``, ``10KSB``, ``10KSB40``, the last a 10-KSB with the old
Item 405 box ticked) and a paper Form D before 2009 as ``REGDEX``. A lawyer,
an agreement and a hand-kept log write ``10-QSB``, ``10-KSB`` and ``D``, so an
imported filing is written that way, or a rule waiting for a 10-QSB would never
see it. This is about EDGAR's spelling, the same for every form, so it lives
with the importer and not in a rule folder.

A submissions file gives a ``reportDate`` for many forms, but it is the
period of report only for periodic reports and the notices that they will be
late; for an 8-K it is the event's date, for a Form 4 the transaction's, so
only the forms of ``PERIODIC`` carry it as the filing's period.
"""

from __future__ import annotations

AMENDMENT = "/A"
"""EDGAR's suffix for an amendment: kept, after the base code is respelled."""

RESPELLED: dict[str, str] = {
    "10QSB": "10-QSB",
    "10KSB": "10-KSB",
    "10KSB40": "10-KSB",
    "10-KSB40": "10-KSB",
    "10SB12G": "10-SB",
    "REGDEX": "D",
}
"""EDGAR's base code -> the spelling facts use (an amendment keeps its ``/A``)."""

PERIODIC = frozenset(
    {
        "10-Q",
        "10-K",
        "10-QSB",
        "10-KSB",
        "10-K405",
        "10-KT",
        "10-QT",
        "20-F",
        "40-F",
        "11-K",
        "N-CSR",
        "N-CSRS",
        "NT 10-Q",
        "NT 10-K",
        "NT 10-QSB",
        "NT 10-KSB",
        "NT 11-K",
        "NT 20-F",
    }
)
"""Forms (respelled, without ``/A``) whose ``reportDate`` is the period of report."""

KNOWN = (
    PERIODIC
    | frozenset(RESPELLED.values())
    | frozenset(
        {
            "8-K",
            "6-K",
            "SB-2",
            "S-1",
            "S-3",
            "S-4",
            "S-8",
            "424B1",
            "424B2",
            "424B3",
            "424B4",
            "424B5",
            "PRE 14A",
            "PRER14A",
            "DEF 14A",
            "DEFA14A",
            "DEFM14A",
            "DEFR14A",
            "PRE 14C",
            "PRER14C",
            "DEF 14C",
            "DEFR14C",
            "SC 13D",
            "SC 13G",
            "SC TO-T",
            "SC 14D9",
            "3",
            "4",
            "5",
            "144",
            "8-A12B",
            "8-A12G",
            "15-12B",
            "15-12G",
            "25",
            "25-NSE",
            "425",
            "EFFECT",
            "CORRESP",
            "UPLOAD",
            "CERT",
            "RW",
        }
    )
)
"""Codes the importer knows (respelled, without ``/A``); any other is kept as EDGAR spells it and counted."""


def respell(code: str) -> str:
    """EDGAR's code in the spelling facts use: ``10QSB/A`` -> ``10-QSB/A``, ``REGDEX`` -> ``D``; others unchanged."""
    code = " ".join(code.split())
    base, amended = (code[: -len(AMENDMENT)], AMENDMENT) if code.endswith(AMENDMENT) else (code, "")
    return RESPELLED.get(base, base) + amended


def base_of(form: str) -> str:
    """A respelled form without its amendment suffix: what ``PERIODIC`` and ``KNOWN`` list."""
    return form[: -len(AMENDMENT)] if form.endswith(AMENDMENT) else form


def is_known(form: str) -> bool:
    return base_of(form) in KNOWN


def has_period(form: str) -> bool:
    """Whether a filing of this (respelled) form reports on a period, so its ``reportDate`` is that period."""
    return base_of(form) in PERIODIC
