"""SentenceChunker: first clause early, then sentences; numbers, titles and prices stay whole."""

from __future__ import annotations

import pytest

from calls.voice.chunking import SentenceChunker


def chunk_stream(pieces: list[str], **options: int) -> list[str]:
    chunker = SentenceChunker(**options)
    out: list[str] = []
    for piece in pieces:
        out += chunker.push(piece)
    return out + chunker.flush()


def tokens(text: str) -> list[str]:
    """Split like an LLM stream: words with their leading space."""
    words = text.split(" ")
    return [words[0]] + [" " + word for word in words[1:]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Sure, I can help you with that. Let me look up the details for you right now.",
            ["Sure,", "I can help you with that.", "Let me look up the details for you right now."],
        ),
        ("We open at 3.30 on Friday. See you then!", ["We open at 3.30 on Friday.", "See you then!"]),
        ("Dr. Smith can see you at 9 a.m. tomorrow.", ["Dr. Smith can see you at 9 a.m. tomorrow."]),
        ("A cut is $45.50, a colour $120. Anything else?", ["A cut is $45.50,", "a colour $120.", "Anything else?"]),
        ("That is $1,200 in total. Okay?", ["That is $1,200 in total.", "Okay?"]),
        ("Mrs. J. Lopez is booked. Great!", ["Mrs. J. Lopez is booked.", "Great!"]),
        ("Hmm... let me check. Done.", ["Hmm...", "let me check.", "Done."]),
        ('She said "yes." Then she left.', ['She said "yes."', "Then she left."]),
        ("Is 10:30 good? Or 11:15?", ["Is 10:30 good?", "Or 11:15?"]),
        ("Yes", ["Yes"]),
        ("", []),
    ],
)
def test_reply_chunks(text: str, expected: list[str]) -> None:
    assert chunk_stream(tokens(text)) == expected


def test_only_the_first_clause_is_split_at_commas() -> None:
    assert chunk_stream(tokens("Well, on Tuesday, at noon, we have a slot.")) == [
        "Well,",
        "on Tuesday, at noon, we have a slot.",
    ]


def test_first_clause_needs_enough_words() -> None:
    assert chunk_stream(tokens("Sure, I can. Bye."), first_clause_min_words=2) == ["Sure, I can.", "Bye."]


def test_first_clause_is_released_as_soon_as_the_next_character_arrives() -> None:
    chunker = SentenceChunker()
    assert chunker.push("Sure,") == []  # could still be "Sure,000"
    assert chunker.push(" I") == ["Sure,"]
    assert chunker.push(" can help.") == []
    assert chunker.push(" Next") == ["I can help."]


def test_decimal_split_across_tokens_is_not_a_sentence_end() -> None:
    chunker = SentenceChunker()
    out = chunker.push("It is at 3.") + chunker.push("30 today.") + chunker.push(" Bye")
    assert out == ["It is at 3.30 today."]
    assert chunker.flush() == ["Bye"]


def test_character_by_character_stream_gives_the_same_chunks() -> None:
    text = "Sure, Dr. Lee has 2.45 free at $30.50. Shall I book it? Great."
    assert chunk_stream(list(text)) == chunk_stream(tokens(text))


def test_newlines_end_chunks() -> None:
    assert chunk_stream(["Hours\nMonday to Friday\n"]) == ["Hours", "Monday to Friday"]


def test_long_runs_are_cut_at_a_space() -> None:
    text = "word " * 100
    chunks = chunk_stream([text], max_chars=50)
    assert all(len(chunk) <= 50 for chunk in chunks)
    assert " ".join(chunks).split() == text.split()


def test_chunker_is_reusable_after_flush() -> None:
    chunker = SentenceChunker()
    chunker.push("Hello there, friend. ")
    chunker.flush()
    assert chunker.push("Yes, indeed. ") == ["Yes,", "indeed."]
