"""Write a large, valid fact log for one agreement on the Amnis form.

The log is what a busy company's paralegal would record over decades: the
Closing and what it requires, then month after month the periodic reports,
8-Ks and press releases with a copy to each of the three Buyers, monthly
reserve lists, stockholder notices, expense invoices and their payments,
interest payments and a few conversions, opinions of counsel and their
acceptance, SEC comments and responses, and a yearly information statement
with its previews. Most acts are on time, some are late and a few never
happen, so the evaluation does every kind of work: meeting, breaching,
curing and computing SLD over long breaches.

Every line passes ``covenant.facts`` validation: ids are unique, every
``ref`` names an earlier fact, buyers are the agreement's. The same ``--seed``
and ``--facts`` give the same bytes.

    python bench/generate.py --facts 100000 --output bench/out/amnis-100000.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from covenant.calendar import BusinessCalendar, Date, as_date

BUYERS: dict[str, Decimal] = {
    "sds": Decimal("500000.00"),
    "alpha": Decimal("350000.00"),
    "bristol": Decimal("150000.00"),
}
CLOSING = as_date("2003-05-09")
CALENDAR = BusinessCalendar()
RATE = Decimal("0.12")


@dataclass(frozen=True)
class Odds:
    """How often an act is late or missing (the rest is on time)."""

    late: float = 0.05
    missing: float = 0.002

    def draw(self, rng: random.Random) -> str:
        roll = rng.random()
        if roll < self.missing:
            return "missing"
        if roll < self.missing + self.late:
            return "late"
        return "on_time"


@dataclass
class Writer:
    """Collects facts with unique ids; sorted by date (stably) when written."""

    rng: random.Random
    odds: Odds
    facts: list[tuple[Date, int, dict[str, Any]]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def add(self, prefix: str, kind: str, day: Date, **fields: Any) -> str:
        number = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = number
        fact_id = f"{prefix}-{number}"
        record: dict[str, Any] = {"id": fact_id, "type": kind, "date": day.isoformat()}
        record.update({k: v for k, v in fields.items() if v is not None})
        self.facts.append((day, len(self.facts), record))
        return fact_id

    def copies(self, what: str, ref: str, day: Date, on_time_days: int, late_days: tuple[int, int]) -> None:
        """One delivery per Buyer: on time within ``on_time_days``, late, or never."""
        for buyer in BUYERS:
            fate = self.odds.draw(self.rng)
            if fate == "missing":
                continue
            if fate == "late":
                when = day.add(days=self.rng.randint(*late_days))
                method = "courier"
            else:
                when = day.add(days=self.rng.randint(0, on_time_days))
                method = self.rng.choice(("courier", "email", "fax", "personal"))
            self.add("d", "delivery", when, to=buyer, what=what, ref=ref, method=method)


def business_day_in(rng: random.Random, year: int, month: int, first: int = 1, last: int = 28) -> Date:
    return CALENDAR.rolled(Date(year, month, rng.randint(first, last)))


def closing_facts(w: Writer) -> None:
    """The Closing and the acts it calls for (4(b), 4(c), 4(o), 4(q), 4(l))."""
    w.add("closing", "closing", CLOSING)
    w.add("f", "sec_filing", CLOSING.add(days=3), form="8-K", about="transaction")
    w.add("pr", "press_release", CLOSING.add(days=4), about="transaction")
    w.add("f", "sec_filing", CLOSING.add(days=18), form="D")
    for buyer in BUYERS:
        w.add("d", "delivery", CLOSING, to=buyer, what="contact_information")


def information_statement(w: Writer, day: Date, form: str) -> None:
    """A 14C filing, previewed to each Buyer two business days before (4(l)).

    The previews are dated before the filing they carry; a ``ref`` may name a
    later fact (the log is checked as a whole), and sorting by date puts them first.
    """
    filing = w.add("f", "sec_filing", day, form=form)
    due = CALENDAR.business_days_before(day, 2)
    for buyer in BUYERS:
        fate = w.odds.draw(w.rng)
        if fate == "missing":
            continue
        when = due.subtract(days=w.rng.randint(0, 3)) if fate == "on_time" else day.add(days=w.rng.randint(1, 5))
        w.add("d", "delivery", when, to=buyer, what="information_statement", ref=filing, method="courier")


def stockholder_approval(w: Writer) -> None:
    information_statement(w, as_date("2003-08-20"), "PRE 14C")
    comment = w.add("sc", "sec_comment", as_date("2003-09-02"))
    w.add("sr", "sec_response", as_date("2003-09-04"), ref=comment)
    information_statement(w, as_date("2003-10-01"), "DEF 14C")
    notice = w.add("sn", "stockholder_notice", as_date("2003-10-06"))
    w.copies("stockholder_notice", notice, as_date("2003-10-06"), 0, (6, 20))
    w.add("sa", "stockholder_approval", as_date("2003-11-03"))
    w.add("ca", "certificate_of_amendment", as_date("2003-11-10"))


def periodic_report(w: Writer, period_end: Date) -> None:
    """10-QSB (quarters 1-3) or 10-KSB (year end), mostly on time, copied to each Buyer (4(c), 4(g)(i))."""
    annual = period_end.month == 12
    form, allowed = ("10-KSB", 90) if annual else ("10-QSB", 45)
    fate = w.odds.draw(w.rng)
    if fate == "missing":
        return
    if fate == "late":
        if w.rng.random() < 0.5:
            # Rule 12b-25: an NT form the day after the due date, then the report within the extension.
            due = CALENDAR.rolled(period_end.add(days=allowed))
            w.add(
                "f",
                "sec_filing",
                CALENDAR.business_days_after(due, 1),
                form="NT 10-K" if annual else "NT 10-Q",
                period=period_end.isoformat(),
            )
            day = due.add(days=w.rng.randint(2, 5 if not annual else 15))
        else:
            day = period_end.add(days=allowed + w.rng.randint(5, 30))
    else:
        day = CALENDAR.rolled(period_end.add(days=w.rng.randint(allowed - 20, allowed - 3)))
    filing = w.add("f", "sec_filing", day, form=form, period=period_end.isoformat())
    w.copies("sec_report", filing, day, 9, (15, 40))


def month_of_business(w: Writer, year: int, month: int, intensity: float) -> None:
    """One month of a busy company: filings, releases, invoices, opinions, comments."""
    rng = w.rng
    first = CLOSING.day + 1 if (year, month) == (CLOSING.year, CLOSING.month) else 1
    for _ in range(_count(rng, 12 * intensity)):
        day = business_day_in(rng, year, month, first)
        form = "8-K/A" if rng.random() < 0.05 else "8-K"
        filing = w.add("f", "sec_filing", day, form=form)
        w.copies("sec_report", filing, day, 9, (15, 40))
    for _ in range(_count(rng, 12 * intensity)):
        day = business_day_in(rng, year, month, first)
        release = w.add("pr", "press_release", day)
        w.copies("press_release", release, day, 0, (6, 20))
    if rng.random() < 0.3 * intensity:
        day = business_day_in(rng, year, month, first)
        notice = w.add("sn", "stockholder_notice", day)
        w.copies("stockholder_notice", notice, day, 0, (6, 20))
    for _ in range(_count(rng, 5 * intensity)):
        invoice_for(w, business_day_in(rng, year, month, first))
    for _ in range(_count(rng, 3 * intensity)):
        day = business_day_in(rng, year, month, first)
        comment = w.add("sc", "sec_comment", day)
        fate = w.odds.draw(rng)
        if fate != "missing":
            when = day.add(days=rng.randint(0, 3) if fate == "on_time" else rng.randint(8, 25))
            w.add("sr", "sec_response", when, ref=comment)
    for _ in range(_count(rng, 3 * intensity)):
        day = business_day_in(rng, year, month, first)
        opinion = w.add("op", "opinion_of_counsel", day, buyer=rng.choice(tuple(BUYERS)))
        fate = w.odds.draw(rng)
        if fate != "missing":
            when = day.add(days=rng.randint(0, 3) if fate == "on_time" else rng.randint(8, 25))
            w.add("oa", "opinion_accepted", when, ref=opinion)


def invoice_for(w: Writer, day: Date) -> None:
    """A Buyer's expenses (4(f)): paid at once, in two parts, late, or (rarely) never."""
    rng = w.rng
    buyer = rng.choice(tuple(BUYERS))
    amount = Decimal(rng.randint(50_000, 2_500_000)) / 100
    invoice = w.add("inv", "invoice", day, buyer=buyer, amount=f"{amount:.2f}")
    fate = w.odds.draw(rng)
    if fate == "missing":
        return
    if rng.random() < 0.2:
        first = (amount * Decimal(rng.randint(20, 80)) / 100).quantize(Decimal("0.01"))
        w.add("pay", "payment", day.add(days=rng.randint(0, 3)), buyer=buyer, amount=f"{first:.2f}", ref=invoice)
        rest_day = day.add(days=rng.randint(4, 5) if fate == "on_time" else rng.randint(15, 60))
        w.add("pay", "payment", rest_day, buyer=buyer, amount=f"{amount - first:.2f}", ref=invoice)
        return
    when = day.add(days=rng.randint(0, 5) if fate == "on_time" else rng.randint(15, 60))
    w.add("pay", "payment", when, buyer=buyer, amount=f"{amount:.2f}", ref=invoice)


@dataclass
class Debentures:
    """Each Buyer's outstanding principal, to write interest payments and conversions that make sense."""

    principal: dict[str, Decimal] = field(default_factory=lambda: dict(BUYERS))
    paid_to: dict[str, Date] = field(default_factory=lambda: dict.fromkeys(BUYERS, CLOSING))

    def quarter(self, w: Writer, quarter_end: Date) -> None:
        day = CALENDAR.business_days_after(quarter_end, 5)
        for buyer in BUYERS:
            days = (day - self.paid_to[buyer]).days
            interest = (self.principal[buyer] * RATE * days / 365).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
            if interest > 0:
                w.add("int", "interest_payment", day, buyer=buyer, amount=f"{interest:.2f}")
            self.paid_to[buyer] = day
            if w.rng.random() < 0.15 and self.principal[buyer] > BUYERS[buyer] / 5:
                converted = (BUYERS[buyer] / 50).quantize(Decimal("0.01"))
                self.principal[buyer] -= converted
                w.add(
                    "conv", "conversion", day.add(days=w.rng.randint(1, 20)), buyer=buyer, principal=f"{converted:.2f}"
                )


def reserve_month(w: Writer, month_end: Date) -> None:
    """The month's reserve list to each Buyer (4(h)), and the share count behind it."""
    issuable = 10_000_000 + w.rng.randint(0, 2_000_000)
    w.add(
        "res", "reserve", month_end, authorized_reserved=2 * issuable + w.rng.randint(0, 1_000_000), issuable=issuable
    )
    period = month_end.format("YYYY-MM")
    for buyer in BUYERS:
        fate = w.odds.draw(w.rng)
        if fate == "missing":
            continue
        when = month_end.add(days=w.rng.randint(1, 5) if fate == "on_time" else w.rng.randint(12, 35))
        w.add("rl", "delivery", when, to=buyer, what="reserve_list", period=period, method="courier")


def _count(rng: random.Random, mean: float) -> int:
    """A count around ``mean`` (uniform on [0, 2 x mean]): busy months and quiet ones."""
    return rng.randint(0, max(round(2 * mean), 0))


def generate(total: int, seed: int = 2003, intensity: float = 1.0, odds: Odds | None = None) -> list[dict[str, Any]]:
    """At least ``total`` facts, month by month from the Closing, trimmed to exactly ``total``."""
    w = Writer(random.Random(seed), odds or Odds())
    debentures = Debentures()
    closing_facts(w)
    stockholder_approval(w)
    cursor = CLOSING.start_of("month")
    while len(w.facts) < total * 1.02 + 50:
        end = cursor.end_of("month")
        month_of_business(w, cursor.year, cursor.month, intensity)
        reserve_month(w, end)
        if end.month % 3 == 0:
            periodic_report(w, end)
            debentures.quarter(w, end)
        if end.month == 6 and end.year > CLOSING.year:
            information_statement(w, business_day_in(w.rng, end.year, 7), "PRE 14C")
        cursor = cursor.add(months=1)
    ordered = [record for _, _, record in sorted(w.facts, key=lambda item: (item[0], item[1]))]
    return _trim(ordered, total)


def _trim(ordered: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    """Keep the first ``total`` facts by date, then drop any whose ``ref`` points past the cut."""
    kept = ordered[:total]
    ids = {record["id"] for record in kept}
    kept = [r for r in kept if r.get("ref") is None or r["ref"] in ids]
    # Dropping dangling refs frees room: take more from after the cut, checking refs again.
    index = total
    while len(kept) < total and index < len(ordered):
        record = ordered[index]
        index += 1
        if record.get("ref") is None or record["ref"] in ids:
            kept.append(record)
            ids.add(record["id"])
    return kept


def write(records: list[dict[str, Any]], output: Path | None) -> None:
    lines = "".join(json.dumps(record, separators=(", ", ": ")) + "\n" for record in records)
    if output is None:
        sys.stdout.write(lines)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(lines, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=100_000, help="number of facts (default 100,000)")
    parser.add_argument("--seed", type=int, default=2003, help="random seed (default 2003)")
    parser.add_argument(
        "--intensity",
        type=float,
        default=1.0,
        help="activity per month (1.0: about 125 facts a month, so 100,000 facts run to 2069)",
    )
    parser.add_argument("--late", type=float, default=Odds.late, help="share of acts done late (default 0.05)")
    parser.add_argument("--missing", type=float, default=Odds.missing, help="share never done (default 0.002)")
    parser.add_argument("--output", "-o", type=Path, default=None, help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    records = generate(args.facts, args.seed, args.intensity, Odds(args.late, args.missing))
    write(records, args.output)
    if args.output is not None:
        print(
            f"{len(records):,} facts, {records[0]['date']} to {records[-1]['date']} -> {args.output}", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
