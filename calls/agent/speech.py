"""Say times, dates, prices and numbers the way a receptionist says them aloud.

Everything here returns plain words for a speech engine: "three thirty p.m.",
"Friday the fourteenth", "forty-five dollars", never "15:30" or "$45.00".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

CARDINAL_WORDS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
TENS_WORDS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
ORDINAL_WORDS = (
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
)
_ORDINAL_TENS = (
    "",
    "",
    "twentieth",
    "thirtieth",
    "fortieth",
    "fiftieth",
    "sixtieth",
    "seventieth",
    "eightieth",
    "ninetieth",
)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_CURRENCY_WORDS = {
    "USD": ("dollar", "dollars"),
    "CAD": ("dollar", "dollars"),
    "AUD": ("dollar", "dollars"),
    "EUR": ("euro", "euros"),
    "GBP": ("pound", "pounds"),
}


def number_words(n: int) -> str:
    """Cardinal words for 0 <= n < 1,000,000: 45 -> "forty-five", 120 -> "a hundred and twenty"."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return CARDINAL_WORDS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return TENS_WORDS[tens] + (f"-{CARDINAL_WORDS[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "a hundred" if hundreds == 1 else f"{CARDINAL_WORDS[hundreds]} hundred"
        return head + (f" and {number_words(rest)}" if rest else "")
    thousands, rest = divmod(n, 1000)
    head = f"{number_words(thousands)} thousand"
    if not rest:
        return head
    return head + (" and " if rest < 100 else " ") + number_words(rest)


def ordinal_words(n: int) -> str:
    """Ordinal words for 1..99: 14 -> "fourteenth", 21 -> "twenty-first"."""
    if n < 20:
        return ORDINAL_WORDS[n]
    tens, ones = divmod(n, 10)
    if not ones:
        return _ORDINAL_TENS[tens]
    return f"{TENS_WORDS[tens]}-{ORDINAL_WORDS[ones]}"


def say_time(t: dt.time) -> str:
    """12:00 -> "noon", 15:00 -> "three p.m.", 15:30 -> "three thirty p.m.", 9:05 -> "nine oh five a.m."."""
    if t.hour == 12 and t.minute == 0:
        return "noon"
    if t.hour == 0 and t.minute == 0:
        return "midnight"
    hour = t.hour % 12 or 12
    suffix = "a.m." if t.hour < 12 else "p.m."
    if t.minute == 0:
        return f"{number_words(hour)} {suffix}"
    minutes = f"oh {number_words(t.minute)}" if t.minute < 10 else number_words(t.minute).replace("-", " ")
    return f"{number_words(hour)} {minutes} {suffix}"


def say_times(times: Sequence[dt.time]) -> str:
    """Offered times as said aloud: "two fifteen, two thirty or three thirty p.m." (a.m./p.m. once per run)."""
    words: list[str] = []
    for i, t in enumerate(times):
        spoken = say_time(t)
        nxt = times[i + 1] if i + 1 < len(times) else None
        same_half = nxt is not None and (t.hour < 12) == (nxt.hour < 12) and spoken.endswith(".m.")
        if same_half and nxt is not None and say_time(nxt).endswith(".m."):
            spoken = spoken.rsplit(" ", 1)[0]
        words.append(spoken)
    return join_or(words)


def say_date(day: dt.date, today: dt.date, *, full: bool = False) -> str:
    """How a receptionist names a day relative to ``today``.

    "today", "tomorrow", "Friday the fourteenth", or "Friday the fourteenth of
    March" when the month differs and the day is not within the next week.
    With ``full``, today and tomorrow also get their weekday and date
    ("tomorrow, Tuesday the eighth"), for reading details back.
    """
    named = f"{WEEKDAY_NAMES[day.weekday()]} the {ordinal_words(day.day)}"
    if day.month != today.month and (day - today).days > 6:
        named += f" of {MONTH_NAMES[day.month - 1]}"
    if day.year != today.year and (day - today).days > 60:
        named += f" {day.year}"
    if day == today:
        return f"today, {named}" if full else "today"
    if day == today + dt.timedelta(days=1):
        return f"tomorrow, {named}" if full else "tomorrow"
    return named


def say_day_and_time(start: dt.datetime, today: dt.date, *, full: bool = False) -> str:
    """ "Friday the fourteenth at three p.m." (``start`` already in the business's timezone)."""
    return f"{say_date(start.date(), today, full=full)} at {say_time(start.time())}"


def say_when(start: dt.datetime, today: dt.date, *, full: bool = False) -> str:
    """The day and time as they follow a noun: "on Friday the fourteenth at three p.m.",
    "tomorrow at noon", or with ``full`` "tomorrow, Tuesday the eighth, at noon"."""
    day = start.date()
    if day in (today, today + dt.timedelta(days=1)):
        spoken = say_date(day, today, full=full)
        return f"{spoken}, at {say_time(start.time())}" if full else f"{spoken} at {say_time(start.time())}"
    return f"on {say_day_and_time(start, today)}"


def say_price(amount: str | Decimal, currency: str = "USD") -> str:
    """ "45.00" -> "forty-five dollars"; "12.50" -> "twelve dollars fifty"; "1.00" -> "one dollar"."""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return f"{amount} {currency}".strip()
    whole, cents = divmod(int(value * 100), 100)
    singular, plural = _CURRENCY_WORDS.get(currency.upper(), (currency, currency))
    unit = singular if whole == 1 else plural
    spoken = f"{number_words(whole)} {unit}"
    if cents:
        spoken += f" {number_words(cents)}"
    return spoken


def say_duration(minutes: int) -> str:
    """30 -> "thirty minutes", 60 -> "an hour", 90 -> "an hour and a half", 135 -> "two hours and fifteen minutes"."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{number_words(rest)} minutes"
    head = "an hour" if hours == 1 else f"{number_words(hours)} hours"
    if rest == 0:
        return head
    if rest == 30:
        return f"{head} and a half"
    return f"{head} and {number_words(rest)} minutes"


def say_phone(e164: str) -> str:
    """Read a number back in groups: "+15551230000" -> "five five five, one two three, zero zero zero zero"."""
    digits = [c for c in e164 if c.isdigit()]
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    groups = [digits[:3], digits[3:6], digits[6:]] if len(digits) == 10 else [digits]
    return ", ".join(" ".join(CARDINAL_WORDS[int(d)] for d in group) for group in groups if group)


def full_stop(text: str) -> str:
    """End a sentence once: "... six p.m." stays, "... Sunday" gets its full stop."""
    return text if text.endswith((".", "?", "!")) else f"{text}."


def join_or(items: Sequence[str]) -> str:
    """ "a, b or c" — the way options are offered aloud."""
    return _join(items, "or")


def join_and(items: Sequence[str]) -> str:
    return _join(items, "and")


def _join(items: Sequence[str], word: str) -> str:
    items = [item for item in items if item]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def with_article(noun: str) -> str:
    """ "a haircut", "an eyebrow wax" (lower case, as said mid-sentence)."""
    lowered = noun.lower()
    return f"{'an' if lowered[:1] in 'aeiou' else 'a'} {lowered}"


def say_opening_hours(opening_hours: Sequence[Sequence[tuple[dt.time, dt.time]]]) -> str:
    """ "Monday to Friday from nine a.m. to six p.m., and Saturday from ten a.m. to four p.m.; closed on Sunday"."""
    groups: list[tuple[int, int, tuple[tuple[dt.time, dt.time], ...]]] = []
    for weekday, intervals in enumerate(opening_hours):
        key = tuple(intervals)
        if groups and groups[-1][2] == key and groups[-1][1] == weekday - 1:
            first, _, same = groups[-1]
            groups[-1] = (first, weekday, same)
        else:
            groups.append((weekday, weekday, key))
    open_parts: list[str] = []
    closed_days: list[str] = []
    for first, last, intervals in groups:
        days = WEEKDAY_NAMES[first] if first == last else f"{WEEKDAY_NAMES[first]} to {WEEKDAY_NAMES[last]}"
        if not intervals:
            closed_days.append(days)
            continue
        times = join_and([f"from {say_time(opens)} to {say_time(closes)}" for opens, closes in intervals])
        open_parts.append(f"{days} {times}")
    sentence = full_stop(f"We're open {join_and(open_parts)}") if open_parts else "We're closed at the moment."
    if closed_days:
        sentence += f" We're closed on {join_and(closed_days)}."
    return sentence


def speakable(text: str) -> str:
    """Drop what a voice cannot say: markdown emphasis, headings, bullets, line breaks."""
    text = re.sub(r"[*_#`]+", "", text)
    text = re.sub(r"(^|\n)\s*(?:[-\u2022]|\d+\.)\s+", r"\1", text)
    return text.replace("\n", " ")
