"""Times, dates, prices and numbers said the way a receptionist says them."""

from __future__ import annotations

import datetime as dt

import pytest

from calls.agent.speech import (
    number_words,
    say_date,
    say_duration,
    say_opening_hours,
    say_phone,
    say_price,
    say_time,
    say_times,
    say_when,
)

TODAY = dt.date(2030, 1, 7)  # a Monday


@pytest.mark.parametrize(
    ("time", "spoken"),
    [
        (dt.time(15, 30), "three thirty p.m."),
        (dt.time(15), "three p.m."),
        (dt.time(12), "noon"),
        (dt.time(9, 5), "nine oh five a.m."),
        (dt.time(10, 45), "ten forty five a.m."),
        (dt.time(12, 30), "twelve thirty p.m."),
        (dt.time(0), "midnight"),
    ],
)
def test_say_time(time: dt.time, spoken: str) -> None:
    assert say_time(time) == spoken


@pytest.mark.parametrize(
    ("day", "spoken"),
    [
        (dt.date(2030, 1, 7), "today"),
        (dt.date(2030, 1, 8), "tomorrow"),
        (dt.date(2030, 1, 11), "Friday the eleventh"),
        (dt.date(2030, 1, 14), "Monday the fourteenth"),
        (dt.date(2030, 1, 21), "Monday the twenty-first"),
        (dt.date(2030, 2, 1), "Friday the first of February"),
    ],
)
def test_say_date(day: dt.date, spoken: str) -> None:
    assert say_date(day, TODAY) == spoken


def test_say_date_in_full_names_tomorrow() -> None:
    assert say_date(dt.date(2030, 1, 8), TODAY, full=True) == "tomorrow, Tuesday the eighth"


def test_say_when_puts_on_before_named_days_only() -> None:
    tz = dt.UTC
    assert say_when(dt.datetime(2030, 1, 11, 15, tzinfo=tz), TODAY) == "on Friday the eleventh at three p.m."
    assert say_when(dt.datetime(2030, 1, 8, 12, tzinfo=tz), TODAY) == "tomorrow at noon"


@pytest.mark.parametrize(
    ("amount", "spoken"),
    [
        ("45.00", "forty-five dollars"),
        ("120.00", "a hundred and twenty dollars"),
        ("1.00", "one dollar"),
        ("12.50", "twelve dollars fifty"),
    ],
)
def test_say_price(amount: str, spoken: str) -> None:
    assert say_price(amount, "USD") == spoken


def test_say_times_says_am_pm_once_per_run() -> None:
    assert (
        say_times([dt.time(14, 15), dt.time(14, 30), dt.time(15, 30)]) == "two fifteen, two thirty or three thirty p.m."
    )
    assert say_times([dt.time(9), dt.time(13)]) == "nine a.m. or one p.m."
    assert say_times([dt.time(11, 30), dt.time(12), dt.time(13)]) == "eleven thirty a.m., noon or one p.m."


def test_numbers_durations_and_phones() -> None:
    assert number_words(1234) == "one thousand two hundred and thirty-four"
    assert say_duration(90) == "an hour and a half"
    assert say_duration(30) == "thirty minutes"
    assert say_duration(135) == "two hours and fifteen minutes"
    assert say_phone("+15551230000") == "five five five, one two three, zero zero zero zero"


def test_opening_hours_group_days_and_name_closed_ones() -> None:
    weekday = ((dt.time(9), dt.time(18)),)
    hours = (weekday,) * 5 + (((dt.time(10), dt.time(16)),), ())
    assert say_opening_hours(hours) == (
        "We're open Monday to Friday from nine a.m. to six p.m. and Saturday from ten a.m. to four p.m. "
        "We're closed on Sunday."
    )
