"""Write a synthetic but valid portfolio: N agreements on the Amnis form, about M facts each.

Each agreement gets its own three Buyers (drawn from a pool of funds, so a
fund invests in many agreements and the per-Buyer totals mean something),
its own principals and a Closing between January and June 2003. Its log is
what a company's paralegal would record over ``--months`` months:

- the Closing and what it calls for: contact lists (4(o)), the 8-K and the
  press release on the financing (4(c), 4(q)), the Form D (4(b)), the
  information statement with its previews (4(l)), Stockholder Approval;
- every month, the reserve list to each Buyer (4(h));
- every quarter, the 10-QSB or 10-KSB (4(c)) with a copy to each Buyer
  (4(g)(i)) and an interest payment to each Buyer;
- to reach M facts, business as usual spread over the months: press
  releases and 8-Ks with their copies, expense invoices and payments
  (4(f)), opinions of counsel and their acceptance (2(f)), SEC comments and
  responses.

Each act is on time, late or missing with the odds given (by default 85%,
11% and 4%), so the evaluation meets, breaches, cures and computes SLD.
Facts go to one log sorted by date (a nightly feed of the whole portfolio)
or to one log per agreement (``--split``). Every line passes the fact
models; the same arguments give the same bytes.

    python bench/generate_portfolio.py --agreements 100 --facts 1000 --output bench/out/p100x1000
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "amnis-spa-2003"
FUNDS = (
    "alder",
    "birch",
    "cedar",
    "dogwood",
    "elm",
    "fir",
    "ginkgo",
    "hazel",
    "juniper",
    "larch",
    "maple",
    "oak",
)
RATE = Decimal("0.12")
HOLIDAYS = {
    # USNY banking holidays 2003-2007 (holidays.financial_holidays("USNY")), enough to date acts on business days.
    date(y, m, d)
    for y, m, d in (
        (2003, 1, 1), (2003, 1, 20), (2003, 2, 17), (2003, 5, 26), (2003, 7, 4), (2003, 9, 1), (2003, 10, 13),
        (2003, 11, 11), (2003, 11, 27), (2003, 12, 25), (2004, 1, 1), (2004, 1, 19), (2004, 2, 16), (2004, 5, 31),
        (2004, 7, 5), (2004, 9, 6), (2004, 10, 11), (2004, 11, 11), (2004, 11, 25), (2004, 12, 24), (2005, 1, 17),
        (2005, 2, 21), (2005, 5, 30), (2005, 7, 4), (2005, 9, 5), (2005, 10, 10), (2005, 11, 11), (2005, 11, 24),
        (2005, 12, 26), (2006, 1, 2), (2006, 1, 16), (2006, 2, 20), (2006, 5, 29), (2006, 7, 4), (2006, 9, 4),
        (2006, 10, 9), (2006, 11, 23), (2006, 12, 25), (2007, 1, 1), (2007, 1, 15), (2007, 2, 19), (2007, 5, 28),
        (2007, 7, 4), (2007, 9, 3), (2007, 10, 8), (2007, 11, 12), (2007, 11, 22), (2007, 12, 25),
    )
}  # fmt: skip


def business(day: date) -> date:
    """The day, or the next business day (weekends and USNY holidays)."""
    while day.weekday() >= 5 or day in HOLIDAYS:
        day += timedelta(days=1)
    return day


def month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


@dataclass(frozen=True)
class Odds:
    late: float = 0.11
    missing: float = 0.04

    def draw(self, rng: random.Random) -> str:
        roll = rng.random()
        if roll < self.missing:
            return "missing"
        return "late" if roll < self.missing + self.late else "on_time"


@dataclass
class Agreement:
    """One agreement's terms and the facts written for it so far."""

    id: str
    closing: date
    buyers: dict[str, Decimal]
    rng: random.Random
    odds: Odds
    facts: list[tuple[date, int, dict[str, Any]]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def add(self, prefix: str, kind: str, day: date, **fields: Any) -> str:
        number = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = number
        fact_id = f"{prefix}-{number}"
        record = {"id": fact_id, "type": kind, "date": day.isoformat(), "agreement": self.id}
        record.update({k: v for k, v in fields.items() if v is not None})
        self.facts.append((day, len(self.facts), record))
        return fact_id

    def act(self, due: date, late_days: tuple[int, int], early_days: int = 0) -> date | None:
        """When an act due on ``due`` happens: on time (up to ``early_days`` before), late, or never."""
        fate = self.odds.draw(self.rng)
        if fate == "missing":
            return None
        if fate == "late":
            return due + timedelta(days=self.rng.randint(*late_days))
        return due - timedelta(days=self.rng.randint(0, early_days))

    def copies(self, what: str, ref: str, day: date, allowed_days: int) -> None:
        """A copy to each Buyer: within ``allowed_days`` of ``day``, late, or never."""
        for buyer in self.buyers:
            when = self.act(day + timedelta(days=allowed_days), (2, 25), allowed_days)
            if when is not None:
                method = self.rng.choice(("email", "email", "courier", "fax", "personal"))
                self.add("d", "delivery", when, to=buyer, what=what, ref=ref, method=method)


def closing_facts(a: Agreement) -> None:
    c = a.closing
    a.add("closing", "closing", c)
    for buyer in a.buyers:
        when = a.act(c, (1, 6))
        if when is not None:
            a.add("d", "delivery", when, to=buyer, what="contact_information", method="personal")
    when = a.act(business(c + timedelta(days=1)), (1, 8), 1) or business(c + timedelta(days=20))
    filing = a.add("f", "sec_filing", when, form="8-K", about="transaction")
    a.copies("sec_report", filing, when, 10)
    when = a.act(business(c + timedelta(days=2)), (1, 8), 2) or business(c + timedelta(days=25))
    release = a.add("pr", "press_release", when, about="transaction")
    a.copies("press_release", release, when, 1)
    when = a.act(business(c + timedelta(days=15)), (2, 20), 10)
    if when is not None:
        a.add("f", "sec_filing", when, form="D")
    # 4(l): the information statement by 2003-08-30, previewed two business days before; approval by 2003-11-30.
    filed = a.act(date(2003, 8, 29), (3, 30), 20)
    if filed is not None:
        filed = business(filed)
        filing = a.add("f", "sec_filing", filed, form="PRE 14C")
        for buyer in a.buyers:
            preview = a.act(filed - timedelta(days=4), (5, 7), 5)
            if preview is not None:
                a.add("d", "delivery", preview, to=buyer, what="information_statement", ref=filing, method="courier")
        comment = a.add("sc", "sec_comment", business(filed + timedelta(days=10)))
        answered = a.act(business(filed + timedelta(days=12)), (3, 15), 1)
        if answered is not None:
            a.add("sr", "sec_response", answered, ref=comment)
    approved = a.act(date(2003, 11, 20), (5, 40), 20)
    if approved is not None:
        a.add("sa", "stockholder_approval", approved)
        a.add("ca", "certificate_of_amendment", approved + timedelta(days=a.rng.randint(0, 7)))


def monthly_facts(a: Agreement, year: int, month: int, paid_to: dict[str, date]) -> None:
    end = month_end(year, month)
    if end > a.closing and (year, month) >= (2003, 5):
        period = f"{year:04d}-{month:02d}"
        for buyer in a.buyers:
            when = a.act(end + timedelta(days=5), (4, 30), 4)
            if when is not None:
                a.add("rl", "delivery", when, to=buyer, what="reserve_list", period=period, method="email")
    if month % 3 == 0 and end > a.closing:
        annual = month == 12
        form, allowed = ("10-KSB", 90) if annual else ("10-QSB", 45)
        when = a.act(business(end + timedelta(days=allowed)), (3, 40), 25)
        if when is not None:
            filing = a.add("f", "sec_filing", business(when), form=form, period=end.isoformat())
            a.copies("sec_report", filing, business(when), 10)
        pay_day = business(end + timedelta(days=5))
        for buyer, principal in a.buyers.items():
            days = (pay_day - paid_to[buyer]).days
            interest = (principal * RATE * days / 365).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
            a.add("int", "interest_payment", pay_day, buyer=buyer, amount=f"{interest:.2f}")
            paid_to[buyer] = pay_day


def busy_day(a: Agreement, start: date, end: date) -> date:
    return business(start + timedelta(days=a.rng.randint(0, max((end - start).days - 1, 0))))


def extra_facts(a: Agreement, start: date, end: date) -> None:
    """One event of business as usual, on a random business day of [start, end)."""
    rng = a.rng
    day = busy_day(a, start, end)
    kind = rng.random()
    if kind < 0.40:
        release = a.add("pr", "press_release", day, about=rng.choice(("product", "earnings", "personnel")))
        a.copies("press_release", release, day, 1)
    elif kind < 0.70:
        filing = a.add("f", "sec_filing", day, form="8-K", about="event")
        a.copies("sec_report", filing, day, 10)
    elif kind < 0.85:
        buyer = rng.choice(tuple(a.buyers))
        amount = Decimal(rng.randint(50_000, 2_500_000)) / 100
        invoice = a.add("inv", "invoice", day, buyer=buyer, amount=f"{amount:.2f}")
        when = a.act(day + timedelta(days=7), (3, 40), 7)
        if when is not None:
            a.add("pay", "payment", when, buyer=buyer, amount=f"{amount:.2f}", ref=invoice)
    elif kind < 0.95:
        buyer = rng.choice(tuple(a.buyers))
        opinion = a.add("op", "opinion_of_counsel", day, buyer=buyer)
        when = a.act(day + timedelta(days=3), (2, 20), 3)
        if when is not None:
            a.add("oa", "opinion_accepted", when, ref=opinion)
    else:
        comment = a.add("sc", "sec_comment", day)
        when = a.act(day + timedelta(days=3), (2, 20), 3)
        if when is not None:
            a.add("sr", "sec_response", when, ref=comment)


def agreement_facts(a: Agreement, facts: int, months: int) -> list[dict[str, Any]]:
    """About ``facts`` facts: the Closing's, then the calendar's, then business as usual to fill up."""
    closing_facts(a)
    paid_to = dict.fromkeys(a.buyers, a.closing)
    year, month = a.closing.year, a.closing.month
    for _ in range(months):
        monthly_facts(a, year, month, paid_to)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    end = month_end(year, month - 1) if month > 1 else month_end(year - 1, 12)
    while len(a.facts) < facts:
        extra_facts(a, a.closing + timedelta(days=1), end)
    ordered = [record for _, _, record in sorted(a.facts, key=lambda item: (item[0], item[1]))]
    return trim(ordered, facts)


def trim(ordered: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    """The first ``total`` facts by date, less any whose ``ref`` names a fact past the cut.

    A ref may name a later fact (a preview is sent before the filing it
    carries), so refs are checked against everything kept; nothing refers to
    a fact that has a ref, so one pass is enough.
    """
    kept = ordered[:total]
    ids = {record["id"] for record in kept}
    return [record for record in kept if record.get("ref") is None or record["ref"] in ids]


def make_agreement(number: int, seed: int, odds: Odds) -> Agreement:
    rng = random.Random(f"{seed}-{number}")
    funds = rng.sample(FUNDS, 3)
    principals = [Decimal(rng.randint(10, 100) * 10_000) for _ in funds]
    closing = business(date(2003, 1, 6) + timedelta(days=rng.randint(0, 170)))
    return Agreement(f"ag-{number:05d}", closing, dict(zip(funds, principals, strict=True)), rng, odds)


PER_FILE = 500
"""Agreements per portfolio file: a file stays well under the 1 MB that safe YAML loading accepts."""


def entries_yaml(agreements: list[Agreement], rules: str) -> list[str]:
    lines = []
    for a in agreements:
        lines += [
            f"  - id: {a.id}",
            f"    rules: {rules}",
            "    terms:",
            f"      title: Securities Purchase Agreement of {a.closing.isoformat()} ({a.id})",
            "      buyers:",
        ]
        for buyer, principal in a.buyers.items():
            name_of = buyer.capitalize() + " Capital Fund, LP"
            lines.append(f'        - {{id: {buyer}, name: "{name_of}", principal: "{principal:.2f}"}}')
    return lines


def write_portfolio(output: Path, agreements: list[Agreement], name: str) -> Path:
    """portfolio.yaml, with ``include`` files of ``PER_FILE`` agreements each beyond the first ``PER_FILE``."""
    portfolio = output / "portfolio.yaml"
    head, rest = agreements[:PER_FILE], agreements[PER_FILE:]
    lines = [f"portfolio: {name}"]
    if rest:
        (output / "parts").mkdir(exist_ok=True)
        includes = []
        for start in range(0, len(rest), PER_FILE):
            part = output / "parts" / f"part-{start // PER_FILE + 1:03d}.yaml"
            body = entries_yaml(rest[start : start + PER_FILE], os.path.relpath(RULES, part.parent))
            part.write_text("\n".join(["agreements:", *body]) + "\n", encoding="utf-8")
            includes.append(f"  - parts/{part.name}")
        lines += ["include:", *includes]
    lines += ["agreements:", *entries_yaml(head, os.path.relpath(RULES, output))]
    portfolio.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return portfolio


def merged(streams: list[Iterator[tuple[str, int, str]]]) -> Iterator[str]:
    for _, _, line in heapq.merge(*streams):
        yield line


def generate(
    output: Path, agreements: int, facts: int, *, seed: int = 2003, months: int = 36, split: bool = False,
    odds: Odds | None = None,
) -> tuple[Path, list[Path], int]:  # fmt: skip
    """Write ``output``/portfolio.yaml and the fact logs; return their paths and the number of facts."""
    output.mkdir(parents=True, exist_ok=True)
    odds = odds or Odds()
    members = [make_agreement(n + 1, seed, odds) for n in range(agreements)]
    portfolio = write_portfolio(output, members, f"synthetic-{agreements}x{facts}")
    total = 0
    logs: list[Path] = []
    if split:
        (output / "facts").mkdir(exist_ok=True)
        for a in members:
            records = agreement_facts(a, facts, months)
            a.facts.clear()
            path = output / "facts" / f"{a.id}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
            logs.append(path)
            total += len(records)
        return portfolio, logs, total
    # One feed sorted by date: agreements are generated one at a time and merged from temporary files.
    parts = output / ".parts"
    parts.mkdir(exist_ok=True)
    part_paths = []
    for a in members:
        records = agreement_facts(a, facts, months)
        a.facts.clear()
        path = parts / f"{a.id}.jsonl"
        path.write_text("".join(f"{r['date']}\t{json.dumps(r)}\n" for r in records), encoding="utf-8")
        part_paths.append(path)
        total += len(records)
    feed = output / "facts.jsonl"
    handles = [p.open(encoding="utf-8") for p in part_paths]
    try:
        streams = [
            ((line.split("\t", 1)[0], index, line.split("\t", 1)[1]) for line in handle)
            for index, handle in enumerate(handles)
        ]
        with feed.open("w", encoding="utf-8") as out:
            out.writelines(merged(streams))
    finally:
        for handle in handles:
            handle.close()
        for path in part_paths:
            path.unlink()
        parts.rmdir()
    return portfolio, [feed], total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--agreements", "-n", type=int, default=10, help="number of agreements (default 10)")
    parser.add_argument("--facts", "-m", type=int, default=1000, help="facts per agreement (default 1,000)")
    parser.add_argument("--months", type=int, default=36, help="months of history from each Closing (default 36)")
    parser.add_argument("--seed", type=int, default=2003)
    parser.add_argument("--late", type=float, default=Odds.late, help="share of acts done late (default 0.11)")
    parser.add_argument("--missing", type=float, default=Odds.missing, help="share never done (default 0.04)")
    parser.add_argument("--split", action="store_true", help="one log per agreement instead of one feed")
    parser.add_argument("--output", "-o", type=Path, required=True, help="folder to write")
    args = parser.parse_args(argv)
    portfolio, logs, total = generate(
        args.output, args.agreements, args.facts, seed=args.seed, months=args.months, split=args.split,
        odds=Odds(args.late, args.missing),
    )  # fmt: skip
    print(f"{args.agreements:,} agreements, {total:,} facts -> {portfolio} and {len(logs)} log(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
