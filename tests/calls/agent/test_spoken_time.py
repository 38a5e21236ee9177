"""Spoken dates and times against a fixed "now" in the business's timezone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from calls.agent.spoken_time import when_parse
from calls.agent.words import words_normalize

NY = zoneinfo.ZoneInfo("America/New_York")
MONDAY_10AM = dt.datetime(2030, 1, 7, 10, 0, tzinfo=NY)  # Monday 7 January 2030
D = dt.date
T = dt.time


@pytest.mark.parametrize(
    ("text", "day", "time"),
    [
        ("tomorrow at three", D(2030, 1, 8), T(15)),
        ("tomorrow at 3", D(2030, 1, 8), T(15)),
        ("next friday morning", D(2030, 1, 18), None),
        ("this friday", D(2030, 1, 11), None),
        ("on friday", D(2030, 1, 11), None),
        ("half past two", D(2030, 1, 7), T(14, 30)),
        ("quarter past eleven tomorrow", D(2030, 1, 8), T(11, 15)),
        ("quarter to four on thursday", D(2030, 1, 10), T(15, 45)),
        ("ten to four", D(2030, 1, 7), T(15, 50)),
        ("the 14th", D(2030, 1, 14), None),
        ("on the fourteenth", D(2030, 1, 14), None),
        ("the twenty first at two p m", D(2030, 1, 21), T(14)),
        ("noon", D(2030, 1, 7), T(12)),
        ("tomorrow at noon", D(2030, 1, 8), T(12)),
        ("3 pm", D(2030, 1, 7), T(15)),
        ("3pm", D(2030, 1, 7), T(15)),
        ("three p.m.", D(2030, 1, 7), T(15)),
        ("three thirty", D(2030, 1, 7), T(15, 30)),
        ("at ten oh five", D(2030, 1, 7), T(10, 5)),
        ("twelve thirty", D(2030, 1, 7), T(12, 30)),
        ("eleven a m", D(2030, 1, 7), T(11)),
        ("at 3 o'clock on wednesday", D(2030, 1, 9), T(15)),
        ("friday the 11th at 3:30pm", D(2030, 1, 11), T(15, 30)),
        ("march 3rd", D(2030, 3, 3), None),
        ("the 3rd of march at 11 am", D(2030, 3, 3), T(11)),
        ("day after tomorrow at noon", D(2030, 1, 9), T(12)),
        ("in two days", D(2030, 1, 9), None),
        ("this weekend", D(2030, 1, 12), None),
        ("next week tuesday", D(2030, 1, 15), None),
        ("at 4 in the afternoon", D(2030, 1, 7), T(16)),
        ("at 9 in the morning tomorrow", D(2030, 1, 8), T(9)),
        # Recognizer quirks: homophones of numbers where a time is clearly meant.
        ("at for thirty", D(2030, 1, 7), T(16, 30)),
        ("a hair cut for to morrow at ten", D(2030, 1, 8), T(10)),
        ("on the fourteen at 2", D(2030, 1, 14), T(14)),
        ("half past to", D(2030, 1, 7), T(14, 30)),
        # Corrections: the last day or time said wins.
        ("no thursday instead", D(2030, 1, 10), None),
        ("friday no sorry thursday at four", D(2030, 1, 10), T(16)),
        # A greeting is not a wish for the morning.
        ("good morning can i come at 3", D(2030, 1, 7), T(15)),
    ],
)
def test_phrases_resolve_against_a_fixed_now(text: str, day: dt.date, time: dt.time | None) -> None:
    when = when_parse(text, MONDAY_10AM)
    assert (when.date, when.time) == (day, time)


@pytest.mark.parametrize(
    ("text", "day", "time"),
    [
        # 9 a.m. has passed on Monday at 10: the next 9 a.m. is tomorrow.
        ("at 9", D(2030, 1, 8), T(9)),
        # "Monday at 9" said on Monday after 9: next Monday.
        ("monday at 9", D(2030, 1, 14), T(9)),
        # "The 7th at 9" on the 7th after 9: next month's 7th.
        ("the seventh at 9", D(2030, 2, 7), T(9)),
        # A past month and day roll to next year.
        ("january 2nd", D(2031, 1, 2), None),
        # The caller said today: keep it (the booking check then says it has passed).
        ("today at 9", D(2030, 1, 7), T(9)),
        # Still ahead today.
        ("at 11", D(2030, 1, 7), T(11)),
    ],
)
def test_past_times_roll_forward(text: str, day: dt.date, time: dt.time | None) -> None:
    when = when_parse(text, MONDAY_10AM)
    assert (when.date, when.time) == (day, time)


def test_dst_spring_forward_keeps_wall_clock_time() -> None:
    saturday = dt.datetime(2030, 3, 9, 12, 0, tzinfo=NY)  # US clocks go forward on Sunday 10 March 2030
    when = when_parse("tomorrow at 3 pm", saturday)
    start = when.at(NY)
    assert start is not None
    assert (start.date(), start.time()) == (D(2030, 3, 10), T(15))
    assert start.utcoffset() == dt.timedelta(hours=-4)
    assert saturday.utcoffset() == dt.timedelta(hours=-5)
    assert start.astimezone(dt.UTC) - saturday.astimezone(dt.UTC) == dt.timedelta(
        hours=26
    )  # 27 wall-clock hours, one of them skipped


def test_dst_fall_back_keeps_wall_clock_time() -> None:
    saturday = dt.datetime(2030, 11, 2, 17, 0, tzinfo=NY)  # clocks go back on Sunday 3 November 2030
    start = when_parse("tomorrow at ten", saturday).at(NY)
    assert start is not None
    assert start.time() == T(10)
    assert start.utcoffset() == dt.timedelta(hours=-5)
    assert start.astimezone(dt.UTC) - saturday.astimezone(dt.UTC) == dt.timedelta(
        hours=18
    )  # 17 wall-clock hours plus the repeated one


def test_options_and_fillers_are_not_dates() -> None:
    assert when_parse("the first one", MONDAY_10AM).empty
    assert when_parse("just a second", MONDAY_10AM).empty
    assert when_parse("i'd like a haircut", MONDAY_10AM).empty


def test_parts_of_day_and_earliest() -> None:
    assert when_parse("friday afternoon", MONDAY_10AM).part_of_day == "afternoon"
    assert when_parse("tonight", MONDAY_10AM).part_of_day == "evening"
    assert when_parse("as soon as possible", MONDAY_10AM).earliest


def test_a_lone_number_is_an_hour_only_when_a_time_was_asked() -> None:
    assert when_parse("four", MONDAY_10AM).time is None
    assert when_parse("four", MONDAY_10AM, bare_hour=True).time == T(16)
    assert when_parse("ten please", MONDAY_10AM, bare_hour=True).time == T(10)


def test_words_normalize_writes_numbers_as_digits() -> None:
    assert words_normalize("Three-thirty P.M. on the twenty-first") == ["3", "30", "pm", "on", "the", "21st"]


@pytest.mark.parametrize(
    ("text", "after", "before"),
    [
        ("anything after five", T(17), None),
        ("thursday before noon", None, T(12)),
        ("from 2 to 4", T(14), T(16)),
        ("between 10 and 12 tomorrow", T(10), T(12)),
    ],
)
def test_time_windows(text: str, after: dt.time | None, before: dt.time | None) -> None:
    when = when_parse(text, MONDAY_10AM)
    assert (when.after, when.before, when.time) == (after, before, None)


@pytest.mark.parametrize(
    ("text", "discussed", "expected"),
    [
        # "Next Tuesday" (the 15th) is under discussion: "Wednesday" is the day after it.
        ("no wait make it wednesday instead", dt.date(2030, 1, 15), dt.date(2030, 1, 16)),
        # The discussed week is this one: the plain reading already lies in it.
        ("thursday instead", dt.date(2030, 1, 11), dt.date(2030, 1, 10)),
        # Never earlier than the weekday's next occurrence.
        ("monday", dt.date(2030, 1, 15), dt.date(2030, 1, 14)),
        # Nothing under discussion: the plain reading.
        ("wednesday", None, dt.date(2030, 1, 9)),
        # Explicit phrases keep their own meaning.
        ("next wednesday", dt.date(2030, 1, 22), dt.date(2030, 1, 16)),
    ],
)
def test_a_bare_weekday_is_read_in_the_week_under_discussion(
    text: str, discussed: dt.date | None, expected: dt.date
) -> None:
    assert when_parse(text, MONDAY_10AM, discussed=discussed).date == expected
