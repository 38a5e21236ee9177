"""Digits the caller types on the keypad where a number is expected."""

from __future__ import annotations


class DigitEntry:
    """Collects keypad digits: ``#`` submits, ``*`` starts over, a pause submits too.

    Args:
        timeout_s: seconds after the last digit after which the entry counts as complete.
    """

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._digits: list[str] = []
        self.deadline: float | None = None

    @property
    def active(self) -> bool:
        return bool(self._digits)

    def press(self, digit: str, now: float) -> str | None:
        """Take one key; return the number when ``#`` completes a non-empty entry."""
        if digit == "#":
            return self.take() if self._digits else None
        if digit == "*":
            self.take()
            return None
        self._digits.append(digit)
        self.deadline = now + self._timeout_s
        return None

    def take(self) -> str:
        """The digits so far, and a fresh entry."""
        number = "".join(self._digits)
        self._digits.clear()
        self.deadline = None
        return number
