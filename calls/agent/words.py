"""Recognizer text as tokens: lower case, numbers as digits, a.m./p.m. joined.

Recognizers write "three thirty p m", "3:30 PM" or "three-thirty p.m." for the
same words; ``words_normalize`` gives one form for all ("3 30 pm"), so the
date, time, phone and intent rules match a single spelling.
"""

from __future__ import annotations

import re

from .speech import CARDINAL_WORDS, ORDINAL_WORDS, TENS_WORDS

_UNITS = {word: n for n, word in enumerate(CARDINAL_WORDS)}
_TENS = {word: 10 * n for n, word in enumerate(TENS_WORDS) if word} | {"fourty": 40}
_ORDINALS = {word: n for n, word in enumerate(ORDINAL_WORDS) if n} | {"twentieth": 20, "thirtieth": 30}
# Recognizers write numbers as their homophones; fixed only where a time is clearly meant.
_HOMOPHONES = {
    "for": "four",
    "fore": "four",
    "to": "two",
    "too": "two",
    "won": "one",
    "ate": "eight",
    "tree": "three",
    "tin": "ten",
    "nein": "nine",
}


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def words_normalize(text: str) -> list[str]:
    """Lower-case tokens with numbers as digits: "Three-thirty P.M. on the fourteenth" ->
    ["3", "30", "pm", "on", "the", "14th"]."""
    text = text.lower()
    text = re.sub(r"\ba\.\s?m\.?", " am ", text)
    text = re.sub(r"\bp\.\s?m\.?", " pm ", text)
    text = re.sub(r"o'?\s?clock", " oclock ", text)
    text = re.sub(r"(\d)(am|pm)\b", r"\1 \2", text)
    text = re.sub(r"(\d):(\d\d)", r"\1 \2", text)
    text = re.sub(r"[^a-z0-9'+ ]+", " ", text.replace("-", " "))
    raw = [token.strip("'") for token in text.split()]
    raw = [token for token in raw if token]
    merged = _merge_meridiem(raw)
    merged = _fix_homophones(merged)
    return _numbers_to_digits(merged)


def _merge_meridiem(tokens: list[str]) -> list[str]:
    """ "3 p m" -> "3 pm" (recognizers spell the letters out)."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] in ("a", "p") and i + 1 < len(tokens) and tokens[i + 1] == "m" and out:
            out.append(tokens[i] + "m")
            i += 2
            continue
        out.append(tokens[i])
        i += 1
    return out


def _fix_homophones(tokens: list[str]) -> list[str]:
    out = list(tokens)
    for i, token in enumerate(tokens):
        if token not in _HOMOPHONES:
            continue
        before = tokens[i - 1] if i else ""
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        # "at for pm", "half past to", "for thirty": clearly an hour. "come in for a cut" stays.
        clearly_time = after in ("am", "pm", "oclock", "thirty", "fifteen", "forty") or before in ("past", "at")
        if clearly_time and after not in ("the", "a", "an", "my", "me"):
            out[i] = _HOMOPHONES[token]
    return out


def _numbers_to_digits(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in _TENS:
            tens = _TENS[token]
            if nxt in _UNITS and 1 <= _UNITS[nxt] <= 9:
                out.append(str(tens + _UNITS[nxt]))
                i += 2
                continue
            if nxt in _ORDINALS and 1 <= _ORDINALS[nxt] <= 9:
                out.append(_ordinal(tens + _ORDINALS[nxt]))
                i += 2
                continue
            out.append(str(tens))
        elif token in ("oh", "o") and out and out[-1].isdigit() and nxt in _UNITS and 1 <= _UNITS[nxt] <= 9:
            out.append(f"0{_UNITS[nxt]}")  # "ten oh five" -> 10 05
            i += 2
            continue
        elif token in _UNITS:
            out.append(str(_UNITS[token]))
        elif token in _ORDINALS:
            out.append(_ordinal(_ORDINALS[token]))
        else:
            out.append(token)
        i += 1
    return out
