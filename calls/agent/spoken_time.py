"""Spoken dates and times, as a recognizer writes them, resolved against "now".

Callers say "tomorrow at three", "next Friday morning", "half past two",
"the 14th", "noon" or "three thirty", and recognizers write them in lower case
without punctuation, sometimes with numbers as words and sometimes as digits.
``words.words_normalize`` turns all of that into one token form ("3 30 pm",
"14th"), and ``when_parse`` finds the day and time in it relative to ``now`` in the
business's timezone.

Rules for what a phrase means (a receptionist's reading, then read back to the
caller for confirmation):

* a bare hour without a.m./p.m. is taken in business hours: 1-6 is p.m., 7-11
  a.m., 12 noon; "morning"/"afternoon"/"evening" in the sentence decide first;
* a weekday means its next occurrence, today included while the time is still
  ahead; "next Friday" means the Friday of next calendar week; while a later
  week is under discussion ("next Tuesday", then "no, Wednesday"), a bare
  weekday means that week's;
* a time without a day is today if still ahead, else tomorrow; "the 14th"
  rolls to next month and "March 3" to next year once past;
* when a sentence names two days or two times ("Friday, no, Thursday"), the
  last one wins, which is how corrections are said.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from .speech import MONTH_NAMES, WEEKDAY_NAMES
from .words import words_normalize

PartOfDay = Literal["morning", "afternoon", "evening"]

WEEKDAY_WORDS = {
    **{name.lower(): day for day, name in enumerate(WEEKDAY_NAMES)},
    **{name.lower() + "s": day for day, name in enumerate(WEEKDAY_NAMES)},
    "tues": 1,
    "thurs": 3,
}
MONTH_WORDS = {
    **{name.lower(): month for month, name in enumerate(MONTH_NAMES, start=1)},
    **{name.lower()[:3]: month for month, name in enumerate(MONTH_NAMES, start=1) if name not in ("March", "May")},
    "sept": 9,
}
# Words after an ordinal that make it an option ("the first one"), not a day of the month.
_NOT_A_DAY_AFTER = {
    "1",
    "one",
    "available",
    "option",
    "slot",
    "time",
    "appointment",
    "thing",
    "choice",
    "opening",
    "person",
    "free",
}


@dataclass(frozen=True)
class SpokenWhen:
    """What a sentence says about when: any part may be missing.

    ``date_said``/``time_said``: the caller named them (a date filled in only
    because a time was said is not "said"). ``earliest``: "as soon as
    possible", "first available".
    """

    date: dt.date | None = None
    time: dt.time | None = None
    part_of_day: PartOfDay | None = None
    earliest: bool = False
    date_said: bool = False
    time_said: bool = False
    after: dt.time | None = None
    before: dt.time | None = None

    @property
    def empty(self) -> bool:
        bounded = self.after is not None or self.before is not None
        return not (self.date_said or self.time_said or self.part_of_day or self.earliest or bounded)

    def at(self, tz: dt.tzinfo) -> dt.datetime | None:
        """The aware start, when both day and time are known (wall clock, so DST days stay right)."""
        if self.date is None or self.time is None:
            return None
        return dt.datetime.combine(self.date, self.time, tzinfo=tz)


_Span = tuple[int, int]


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    value: object


def _claim(found: list[_Found], taken: list[_Span], match: re.Match[str], value: object) -> None:
    span = match.span()
    if any(span[0] < end and start < span[1] for start, end in taken):
        return
    taken.append(span)
    found.append(_Found(span[0], span[1], value))


_MERIDIEM = r"(?: (am|pm))?"
_TIME_PATTERNS: tuple[tuple[str, str], ...] = (
    ("noon", r"\b(?:12 )?(?:noon|midday|lunchtime|lunch time)\b"),
    ("half_past", r"\bhalf (?:past|after) (\d{1,2})" + _MERIDIEM + r"\b"),
    ("quarter_past", r"\bquarter (?:past|after) (\d{1,2})" + _MERIDIEM + r"\b"),
    ("quarter_to", r"\bquarter (?:to|till|til|of|before) (\d{1,2})" + _MERIDIEM + r"\b"),
    ("minutes_past", r"\b(\d{1,2}) (?:minutes )?(?:past|after) (\d{1,2})" + _MERIDIEM + r"\b"),
    # "ten to four"; only round minutes, so "from 2 to 4" stays a range, not 3:58.
    ("minutes_to", r"\b(5|10|20|25) (?:minutes )?(?:to|till|til|before) (\d{1,2})" + _MERIDIEM + r"\b"),
    ("clock", r"\b(\d{1,2}) (\d\d)" + _MERIDIEM + r"\b"),
    ("hour", r"\b(\d{1,2}) ?(am|pm|oclock)\b"),
    (
        "at_hour",
        r"\b(?:at|around|about|make it|say) (\d{1,2})\b"
        r"(?! ?(?:st|nd|rd|th|people|of|days?|weeks?|minutes|hours|months?)\b)",
    ),
)
# "Good morning" is a greeting, not a wish for a morning slot.
_PART_WORDS: tuple[tuple[str, PartOfDay], ...] = (
    (r"\b(?<!good )(?:morning|mornings|first thing)\b", "morning"),
    (r"\b(?<!good )(?:afternoon|afternoons|after lunch)\b", "afternoon"),
    (r"\b(?<!good )(?:evening|evenings|tonight|after work)\b", "evening"),
)
# "after five", "before noon": a window for the time, not a time.
_BOUND = (
    r"\b(after|from|later than|before|by|until|till|no later than) "
    r"(?:(noon|lunch)|(\d{1,2})(?: (\d\d))?(?: (am|pm))?)\b"
)
_RANGE = r"\b(?:from|between) (\d{1,2})(?: (am|pm))? (?:to|and|till|until) (\d{1,2})(?: (am|pm))?\b"
_EARLIEST = r"\b(?:as soon as possible|asap|soonest|earliest|first available|next available|whenever you can)\b"


def _hour_24(hour: int, meridiem: str | None, part: PartOfDay | None) -> int | None:
    if not 0 <= hour <= 23:
        return None
    if hour >= 13 or hour == 0:
        return hour
    if meridiem == "am":
        return 0 if hour == 12 else hour
    if meridiem == "pm" or part in ("afternoon", "evening"):
        return hour if hour == 12 else hour + 12
    if part == "morning" and hour >= 5:
        return hour
    return hour + 12 if 1 <= hour <= 6 else hour


def _times(text: str, part: PartOfDay | None, *, bare_hour: bool) -> list[_Found]:
    found: list[_Found] = []
    taken: list[_Span] = []
    for kind, pattern in _TIME_PATTERNS:
        for m in re.finditer(pattern, text):
            value = _time_value(kind, m, part)
            if value is not None:
                _claim(found, taken, m, value)
    if bare_hour and not found:
        numbers = re.findall(r"(?<![\w])(\d{1,2})(?![\w])", text)
        if len(numbers) == 1:
            m = re.search(r"(?<![\w])(\d{1,2})(?![\w])", text)
            hour = _hour_24(int(numbers[0]), None, part)
            if m and hour is not None and 1 <= int(numbers[0]) <= 12:
                found.append(_Found(m.start(), m.end(), dt.time(hour)))
    return found


def _time_value(kind: str, m: re.Match[str], part: PartOfDay | None) -> dt.time | None:
    groups = m.groups()
    if kind == "noon":
        return dt.time(12)
    if kind in ("half_past", "quarter_past", "quarter_to"):
        hour = _hour_24(int(groups[0]), groups[1], part)
        if hour is None:
            return None
        if kind == "quarter_to":
            return dt.time((hour - 1) % 24, 45)
        return dt.time(hour, 30 if kind == "half_past" else 15)
    if kind == "minutes_past":
        minutes, hour = int(groups[0]), _hour_24(int(groups[1]), groups[2], part)
        return dt.time(hour, minutes) if hour is not None and 0 < minutes < 60 else None
    if kind == "minutes_to":
        minutes, hour = int(groups[0]), _hour_24(int(groups[1]), groups[2], part)
        return dt.time((hour - 1) % 24, 60 - minutes) if hour is not None else None
    if kind == "clock":
        minutes = int(groups[1])
        hour = _hour_24(int(groups[0]), groups[2], part)
        return dt.time(hour, minutes) if hour is not None and minutes < 60 else None
    if kind == "hour":
        raw = int(groups[0])
        meridiem = groups[1] if groups[1] in ("am", "pm") else None
        if meridiem and not 1 <= raw <= 12:
            return None
        hour = _hour_24(raw, meridiem, part)
        return dt.time(hour) if hour is not None else None
    hour = _hour_24(int(groups[0]), None, part)
    return dt.time(hour) if hour is not None and 1 <= int(groups[0]) <= 12 else None


def _next_weekday(today: dt.date, weekday: int) -> dt.date:
    return today + dt.timedelta(days=(weekday - today.weekday()) % 7)


def _add_month_day(today: dt.date, day: int) -> dt.date | None:
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return None


def _weekday_near(today: dt.date, weekday: int, near: dt.date | None) -> dt.date:
    """The weekday's next occurrence, or its day in the later week under discussion."""
    plain = _next_weekday(today, weekday)
    if near is None:
        return plain
    in_that_week = near - dt.timedelta(days=near.weekday()) + dt.timedelta(days=weekday)
    return in_that_week if in_that_week > plain else plain


def _dates(text: str, today: dt.date, near: dt.date | None = None) -> list[_Found]:
    found: list[_Found] = []
    taken: list[_Span] = []
    weekday = "|".join(WEEKDAY_WORDS)
    month = "|".join(MONTH_WORDS)
    not_day = "|".join(_NOT_A_DAY_AFTER)
    for m in re.finditer(r"\b(?:the )?day after (?:tomorrow|2morrow)\b", text):
        _claim(found, taken, m, today + dt.timedelta(days=2))
    for m in re.finditer(
        rf"\b(?:on )?(?:(?:the )?({month}) (?:the )?(\d{{1,2}})(?:st|nd|rd|th)?|(?:the )?"
        rf"(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?({month}))\b",
        text,
    ):
        name, number = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        try:
            candidate = dt.date(today.year, MONTH_WORDS[name], int(number))
        except ValueError:
            continue
        if candidate < today:
            candidate = candidate.replace(year=today.year + 1)
        _claim(found, taken, m, candidate)
    for m in re.finditer(
        rf"\b(?:next week (?:on )?({weekday})|({weekday}) (?:of )?next week|next ({weekday}))\b", text
    ):
        target = WEEKDAY_WORDS[m.group(1) or m.group(2) or m.group(3)]
        monday_next = today + dt.timedelta(days=7 - today.weekday())
        _claim(found, taken, m, monday_next + dt.timedelta(days=target))
    for m in re.finditer(r"\b(?:a week from today|a week today|this time next week)\b", text):
        _claim(found, taken, m, today + dt.timedelta(days=7))
    for m in re.finditer(r"\b(?:tomorrow|tomorrows|tomorow|to morrow|2morrow|tmrw)\b", text):
        _claim(found, taken, m, today + dt.timedelta(days=1))
    for m in re.finditer(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b", text):
        _claim(found, taken, m, today)
    for m in re.finditer(r"\bin (\d{1,2}|a) (day|days|week|weeks)\b", text):
        count = 1 if m.group(1) == "a" else int(m.group(1))
        _claim(found, taken, m, today + dt.timedelta(days=count * (7 if m.group(2).startswith("week") else 1)))
    for m in re.finditer(r"\b(?:this )?weekend\b", text):
        _claim(found, taken, m, _next_weekday(today, 5))
    # "Friday the 14th": the day of the month is the more precise of the two.
    for m in re.finditer(rf"\b(?:on |the |this |coming )?(?:{weekday}) (?:the )?(\d{{1,2}})(?:st|nd|rd|th)\b", text):
        candidate = _add_month_day(today, int(m.group(1)))
        if candidate:
            _claim(found, taken, m, candidate)
    for m in re.finditer(rf"\b(?:on |this |coming )?({weekday})\b", text):
        _claim(found, taken, m, _weekday_near(today, WEEKDAY_WORDS[m.group(1)], near))
    for m in re.finditer(rf"\b(?:(?:on )?the |on )?(\d{{1,2}})(st|nd|rd|th)\b(?! (?:{not_day})\b)", text):
        if not m.group(0).startswith(("the", "on")) and re.search(r"\b(?:a|my|your)\s*$", text[: m.start()]):
            continue  # "just a second", "my second visit"
        candidate = _add_month_day(today, int(m.group(1)))
        if candidate:
            _claim(found, taken, m, candidate)
    # "On the 14" (the recognizer dropped the "th"): only after "on the", and not a time.
    for m in re.finditer(r"\bon the (\d{1,2})\b(?! ?(?:\d\d|am|pm|oclock|minutes|hours|people)\b)", text):
        candidate = _add_month_day(today, int(m.group(1)))
        if candidate and 1 <= int(m.group(1)) <= 31:
            _claim(found, taken, m, candidate)
    return found


def _blank(text: str, m: re.Match[str]) -> str:
    return text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]


def _bounds(text: str, part: PartOfDay | None) -> tuple[dt.time | None, dt.time | None, str]:
    """ "From 2 to 4", "after five", "before noon": the window, and the text without them."""
    after: dt.time | None = None
    before: dt.time | None = None
    for m in re.finditer(_RANGE, text):
        low = _hour_24(int(m.group(1)), m.group(2) or m.group(4), part)
        high = _hour_24(int(m.group(3)), m.group(4), part)
        if low is not None and high is not None:
            after, before = dt.time(low), dt.time(high)
            text = _blank(text, m)
    for m in re.finditer(_BOUND, text):
        hour = 12 if m.group(2) else _hour_24(int(m.group(3)), m.group(5), part)
        if hour is None or (m.group(4) and int(m.group(4)) > 59):
            continue
        bound = dt.time(hour, int(m.group(4) or 0))
        if m.group(1) in ("after", "from", "later than"):
            after = bound
        else:
            before = bound
        text = _blank(text, m)
    return after, before, text


def when_parse(text: str, now: dt.datetime, *, bare_hour: bool = False, discussed: dt.date | None = None) -> SpokenWhen:
    """Find the day and time in ``text``, relative to ``now`` (aware, business timezone).

    With ``bare_hour``, a lone number ("four", "10 please") is an hour: use it
    when the caller was just asked for a time. ``discussed`` is the day the
    conversation is about, if any: a bare weekday is read in its week when that
    week is later than the weekday's next occurrence.
    """
    normalized = " ".join(words_normalize(text))
    today = now.date()
    part: PartOfDay | None = None
    part_at = -1
    for pattern, name in _PART_WORDS:
        for m in re.finditer(pattern, normalized):
            if m.start() > part_at:
                part, part_at = name, m.start()
    earliest = re.search(_EARLIEST, normalized) is not None
    dates = _dates(normalized, today, discussed)
    # Claimed date text (e.g. "the 14th", "march 3") must not also read as a time.
    masked = normalized
    for found in dates:
        masked = masked[: found.start] + " " * (found.end - found.start) + masked[found.end :]
    after, before, masked = _bounds(masked, part)
    times = _times(masked, part, bare_hour=bare_hour)
    last_date = max(dates, key=lambda f: f.start).value if dates else None
    last_time = max(times, key=lambda f: f.start).value if times else None
    day = last_date if isinstance(last_date, dt.date) else None
    time = last_time if isinstance(last_time, dt.time) else None
    date_said = day is not None
    if time is not None:
        day = _roll_forward(day, time, now, date_said=date_said, normalized=normalized)
    return SpokenWhen(
        date=day,
        time=time,
        part_of_day=part,
        earliest=earliest,
        date_said=date_said,
        time_said=time is not None,
        after=after,
        before=before,
    )


def _roll_forward(day: dt.date | None, time: dt.time, now: dt.datetime, *, date_said: bool, normalized: str) -> dt.date:
    """Move a day whose time has already passed to its next sensible occurrence."""
    today = now.date()
    tz = now.tzinfo
    if day is None:
        at_today = dt.datetime.combine(today, time, tzinfo=tz)
        return today if at_today > now else today + dt.timedelta(days=1)
    if day != today or dt.datetime.combine(day, time, tzinfo=tz) > now:
        return day
    if re.search(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b", normalized):
        return day  # "today at nine" at ten: the caller said today; the slot check will say it has passed
    if re.search(rf"\b(?:{'|'.join(WEEKDAY_WORDS)})\b", normalized):
        return day + dt.timedelta(days=7)
    return _add_month_day(today + dt.timedelta(days=1), day.day) or day
