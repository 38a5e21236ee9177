"""Keypad entry: # submits, * starts over, a pause submits what was typed."""

from calls.voice.keypad import DigitEntry


def test_hash_submits_the_digits_typed_so_far() -> None:
    entry = DigitEntry(timeout_s=4.0)
    assert [entry.press(d, 1.0) for d in "555"] == [None, None, None]
    assert entry.active
    assert entry.press("#", 2.0) == "555"
    assert not entry.active
    assert entry.deadline is None


def test_hash_on_an_empty_entry_submits_nothing() -> None:
    assert DigitEntry(timeout_s=4.0).press("#", 1.0) is None


def test_star_starts_over() -> None:
    entry = DigitEntry(timeout_s=4.0)
    entry.press("1", 1.0)
    entry.press("*", 1.5)
    assert not entry.active
    entry.press("7", 2.0)
    assert entry.press("#", 2.5) == "7"


def test_each_digit_moves_the_deadline() -> None:
    entry = DigitEntry(timeout_s=4.0)
    entry.press("1", 1.0)
    assert entry.deadline == 5.0
    entry.press("2", 3.0)
    assert entry.deadline == 7.0
    assert entry.take() == "12"
