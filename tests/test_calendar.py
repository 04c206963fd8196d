"""The calendar conventions of the memo ("Time"), on the edge dates of 2003-2004.

Every expected date below was worked out by hand from a printed 2003/2004
calendar and the Federal Reserve (USNY) holiday schedule; the reasoning is in
the comment beside each case.
"""

from __future__ import annotations

import datetime

import pytest

from covenant.calendar import BusinessCalendar, Date, add_months, as_date, day_of, days_between, month_end, shift

# The memo's calendar: USNY holidays, roll "following", mail (method: mail) effective 5 days later.
USNY = BusinessCalendar(mail_field="method", mail_value="mail")
NO_ROLL = BusinessCalendar(roll="none")


def d(text: str) -> Date:
    return as_date(text)


def test_the_default_calendar_is_the_memos() -> None:
    assert (USNY.market, USNY.roll, USNY.mail_delay_days) == ("USNY", "following", 5)
    assert USNY.describe() == (
        "business days: Monday to Friday except USNY banking holidays; deadlines rolled to the next business day"
    )


# --- roll ("following", New York General Construction Law s. 25) ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "rolled", "why"),
    [
        # 2003-06-14 is a Saturday; Sunday 06-15; Monday 06-16 is a business day.
        ("2003-06-14", "2003-06-16", "Saturday rolls to Monday"),
        # 2003-06-15 is a Sunday -> Monday 06-16.
        ("2003-06-15", "2003-06-16", "Sunday rolls to Monday"),
        # Form D: Closing 2003-05-09 + 15 = Saturday 05-24; Sunday 05-25; Monday 05-26 Memorial Day -> Tuesday 05-27.
        ("2003-05-24", "2003-05-27", "Saturday, then Memorial Day"),
        # 4(l): 2003-08-30 Saturday, 08-31 Sunday, 09-01 Labor Day -> Tuesday 09-02.
        ("2003-08-30", "2003-09-02", "Saturday, Sunday, Labor Day"),
        # 4(l): 2003-11-30 Sunday -> Monday 12-01.
        ("2003-11-30", "2003-12-01", "Sunday"),
        # A business day stays where it is: Wednesday 2003-09-03.
        ("2003-09-03", "2003-09-03", "already a business day"),
        # 2004-12-25 Saturday (Christmas, not moved), 12-26 Sunday -> Monday 12-27 (no observed holiday on Monday).
        ("2004-12-25", "2004-12-27", "Christmas on a Saturday"),
        # 2004-08-14 Saturday (10-QSB Q2 2004: 06-30 + 45) -> Monday 08-16.
        ("2004-08-14", "2004-08-16", "10-QSB due date on a Saturday"),
    ],
)
def test_rolled(raw: str, rolled: str, why: str) -> None:
    assert USNY.rolled(d(raw)) == d(rolled), why


def test_roll_none_leaves_the_date_alone() -> None:
    # Same Saturday as above: with roll "none" the deadline stays on Saturday 2003-05-24.
    assert NO_ROLL.rolled(d("2003-05-24")) == d("2003-05-24")
    assert NO_ROLL.days_after(d("2003-05-09"), 15) == d("2003-05-24")
    # Labor Day is still not a business day: roll only changes what happens to deadlines.
    assert not NO_ROLL.is_business_day(d("2003-09-01"))


def test_days_after_rolls_unless_told_not_to() -> None:
    # Closing 2003-05-09 + 15 days = Saturday 2003-05-24 -> 05-27 (Memorial Day Monday skipped).
    assert USNY.days_after(d("2003-05-09"), 15) == d("2003-05-27")
    assert USNY.days_after(d("2003-05-09"), 15, roll=False) == d("2003-05-24")
    # 10-QSB for Q1: 2003-03-31 + 45 = 2003-05-15, a Thursday: no roll.
    assert USNY.days_after(d("2003-03-31"), 45) == d("2003-05-15")
    # 10-KSB 2003: 2003-12-31 + 90 = 2004-03-30 (Jan 31 + Feb 29 (leap) + Mar 30 = 90), a Tuesday.
    assert USNY.days_after(d("2003-12-31"), 90) == d("2004-03-30")


# --- holidays -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "business", "why"),
    [
        ("2003-09-01", False, "Labor Day 2003 (Monday)"),
        ("2003-10-13", False, "Columbus Day 2003: a USNY holiday"),
        ("2003-11-11", False, "Veterans Day 2003 (Tuesday): a USNY holiday"),
        ("2003-05-26", False, "Memorial Day 2003"),
        ("2003-11-27", False, "Thanksgiving 2003"),
        ("2004-04-09", True, "Good Friday 2004 is not a USNY holiday"),
        ("2004-12-24", True, "Friday before a Saturday Christmas: not moved, a business day"),
        ("2004-12-31", True, "Friday before a Saturday New Year's Day 2005: not moved either"),
        ("2003-06-14", False, "a Saturday"),
        ("2003-06-15", False, "a Sunday"),
        ("2003-08-14", True, "the SEC's blackout closure is not a banking holiday"),
        ("2003-10-14", True, "the Tuesday after Columbus Day"),
    ],
)
def test_business_days(day: str, business: bool, why: str) -> None:
    assert USNY.is_business_day(d(day)) is business, why


def test_holiday_names_for_explanations() -> None:
    assert USNY.holiday_name(d("2003-09-01")) == "Labor Day"
    assert USNY.holiday_name(d("2003-10-13")) == "Columbus Day"
    assert USNY.holiday_name(d("2003-11-11")) == "Veterans Day"
    assert USNY.holiday_name(d("2004-04-09")) is None
    assert USNY.holiday_name(d("2004-12-24")) is None


# --- "the Nth business day after X" (X never counts) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "count", "expected", "why"),
    [
        # Closing Friday 2003-05-09: 1st business day after = Monday 05-12 (4(q)); 2nd = Tuesday 05-13 (4(c)).
        ("2003-05-09", 1, "2003-05-12", "weekend skipped"),
        ("2003-05-09", 2, "2003-05-13", "weekend skipped"),
        # Comment Monday 2003-10-06: 10-07 (1), 10-08 (2), 10-09 (3). No holiday in between.
        ("2003-10-06", 3, "2003-10-09", "three plain business days"),
        # Comment Thursday 2003-10-09: 10-10 (1); 10-11/12 weekend; 10-13 Columbus Day; 10-14 (2); 10-15 (3).
        ("2003-10-09", 3, "2003-10-15", "across Columbus Day"),
        # Friday 2003-10-10: next business day is Tuesday 10-14 (weekend + Columbus Day).
        ("2003-10-10", 1, "2003-10-14", "Columbus Day skipped"),
        # Reserve list for October 2003, month end Friday 10-31: 11-03 (1), 11-04 (2), 11-05 (3), 11-06 (4), 11-07 (5).
        ("2003-10-31", 5, "2003-11-07", "5th business day after a month end"),
        # Friday 2003-11-07: 11-10 (1); 11-11 Veterans Day; 11-12 (2), 11-13 (3), 11-14 (4); weekend; 11-17 (5).
        ("2003-11-07", 5, "2003-11-17", "across Veterans Day"),
        # Monday 2003-11-10: 11-11 holiday -> 11-12 is the 1st business day after.
        ("2003-11-10", 1, "2003-11-12", "Veterans Day skipped"),
        # Thursday 2004-04-08: Good Friday 04-09 counts -> 1st business day after is 04-09.
        ("2004-04-08", 1, "2004-04-09", "Good Friday counts"),
        # Thursday 2004-12-23: 12-24 (1, Christmas Eve on a Friday counts); weekend; 12-27 (2).
        ("2004-12-23", 2, "2004-12-27", "2004-12-24 counts"),
        # Invoice Tuesday 2003-07-01: 07-02 (1), 07-03 (2), 07-04 Independence Day, 07-07 (3), 07-08 (4), 07-09 (5).
        ("2003-07-01", 5, "2003-07-09", "across Independence Day"),
        # X on a Saturday (2003-06-14): Monday 06-16 is the 1st business day after it.
        ("2003-06-14", 1, "2003-06-16", "counting from a weekend day"),
        ("2003-06-16", 0, "2003-06-16", "zero business days after X is X"),
    ],
)
def test_business_days_after(start: str, count: int, expected: str, why: str) -> None:
    assert USNY.business_days_after(d(start), count) == d(expected), why


# --- "at least N business days before X" ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "count", "expected", "why"),
    [
        # PRE 14C Friday 2003-09-05: 09-04 (1), 09-03 (2) -> previews due on or before Wednesday 09-03.
        ("2003-09-05", 2, "2003-09-03", "two plain business days"),
        # PRE 14C Tuesday 2003-10-14: 10-13 Columbus Day; 10-12/11 weekend; 10-10 (1); 10-09 (2).
        ("2003-10-14", 2, "2003-10-09", "Columbus Day does not count"),
        # Tuesday 2003-09-02: 09-01 Labor Day, weekend, Friday 08-29 (1).
        ("2003-09-02", 1, "2003-08-29", "Labor Day does not count"),
        # Wednesday 2003-11-12: 11-11 Veterans Day; 11-10 (1); weekend; 11-07 (2).
        ("2003-11-12", 2, "2003-11-07", "Veterans Day does not count"),
        # Monday 2004-04-12: weekend; Good Friday 04-09 (1).
        ("2004-04-12", 1, "2004-04-09", "Good Friday counts"),
        # Monday 2004-12-27: weekend (12-25 Christmas on Saturday); Friday 12-24 (1).
        ("2004-12-27", 1, "2004-12-24", "2004-12-24 counts"),
        # 20 business days before the bridge closing Monday 2003-12-15, counted back:
        # Dec 12, 11, 10, 9, 8 (5), 5, 4, 3, 2, 1 (10), Nov 28, 26, 25, 24 (14; 11-27 Thanksgiving),
        # 21, 20, 19, 18, 17 (19), 14 (20).
        ("2003-12-15", 20, "2003-11-14", "twenty business days, across Thanksgiving"),
    ],
)
def test_business_days_before(anchor: str, count: int, expected: str, why: str) -> None:
    assert USNY.business_days_before(d(anchor), count) == d(expected), why


def test_negative_business_days_after_counts_back() -> None:
    # The compiler may express "before" as a negative count: same answer as business_days_before.
    assert USNY.business_days_after(d("2003-10-14"), -2) == d("2003-10-09")


# --- month ends and calendar-month addition -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2003-02-10", "2003-02-28"),  # February of a common year
        ("2004-02-01", "2004-02-29"),  # February of a leap year
        ("2003-04-15", "2003-04-30"),  # a 30-day month
        ("2003-12-31", "2003-12-31"),  # already the last day
        ("2003-05-09", "2003-05-31"),  # the Closing's month: first reserve list period
    ],
)
def test_month_end(day: str, expected: str) -> None:
    assert month_end(d(day)) == d(expected)


@pytest.mark.parametrize(
    ("start", "months", "expected", "why"),
    [
        ("2003-01-31", 1, "2003-02-28", "clamped to February's end (memo's example)"),
        ("2004-01-31", 1, "2004-02-29", "leap year"),
        ("2003-01-31", 2, "2003-03-31", "counted from the anchor, not from the clamped 02-28"),
        ("2003-08-31", 1, "2003-09-30", "31 -> 30-day month"),
        ("2003-08-26", 1, "2003-09-26", "plain case: the report.md example's month 1 end"),
        ("2003-12-15", 1, "2004-01-15", "across a year end"),
        ("2003-05-09", 12, "2004-05-09", "one year after the Closing (8(i))"),
        ("2004-02-29", 12, "2005-02-28", "leap day + 12 months"),
        ("2003-05-09", 0, "2003-05-09", "zero months"),
    ],
)
def test_add_months(start: str, months: int, expected: str, why: str) -> None:
    assert add_months(d(start), months) == d(expected), why


# --- 8(f): when a delivery takes effect ---------------------------------------------------------------------------


def test_mail_is_effective_five_days_later_not_rolled() -> None:
    # Bristol's 10-QSB/A copy mailed Monday 2003-08-25: effective 08-30, a Saturday, and NOT rolled to 09-02.
    assert USNY.effective_date(d("2003-08-25"), {"method": "mail"}) == d("2003-08-30")
    # Mailed Thursday 2003-12-16 + 5 = Sunday 12-21 (README: bristol's copy of pr-bridge-closing).
    assert USNY.effective_date(d("2003-12-16"), {"method": "mail"}) == d("2003-12-21")
    # Across a month end: 2003-10-28 + 5 = 2003-11-02.
    assert USNY.effective_date(d("2003-10-28"), {"method": "mail"}) == d("2003-11-02")


@pytest.mark.parametrize("method", ["personal", "courier", "fax", "email", None])
def test_other_methods_are_effective_the_same_day(method: str | None) -> None:
    assert USNY.effective_date(d("2003-08-30"), {"method": method}) == d("2003-08-30")


def test_mail_delay_is_a_setting() -> None:
    three_days = BusinessCalendar(mail_delay_days=3, mail_field="method", mail_value="mail")
    # 2003-08-25 + 3 = 2003-08-28.
    assert three_days.effective_date(d("2003-08-25"), {"method": "mail"}) == d("2003-08-28")


def test_as_date_accepts_strings_and_dates() -> None:
    assert as_date("2003-05-09") == d("2003-05-09")
    assert as_date(datetime.date(2003, 5, 9)) == d("2003-05-09")
    with pytest.raises(ValueError):
        as_date("2003-02-30")


def test_add_months_and_days_between_agree_with_pendulum_on_every_day_of_a_leap_cycle() -> None:
    """The ordinal shortcuts SLD uses give what ``Date.add(months=)`` and ``Date - Date`` give."""
    first = d("2003-01-01")
    for offset in range(4 * 366):
        start = shift(first, offset)
        for months in (0, 1, 2, 11, 12, 13, 25):
            moved = add_months(start, months)
            assert moved == start.add(months=months) and type(moved) is Date, (start, months)
        assert days_between(first, start) == (start - first).days == offset
        assert day_of(start.toordinal()) == start


def test_without_a_mail_convention_every_fact_takes_effect_on_its_date() -> None:
    # agreement.yaml's calendar.by_mail names the field and value; a form without it delays nothing.
    assert BusinessCalendar().effective_date(d("2003-08-25"), {"method": "mail"}) == d("2003-08-25")
