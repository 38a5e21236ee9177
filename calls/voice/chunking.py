"""Splits streamed agent text into pieces worth sending to TTS on their own.

The first clause of a reply goes out as soon as it is complete ("Sure," can be
spoken while the model still writes the rest); after that, whole sentences.
A boundary is only confirmed once the next character has arrived, so "3." is
held until it turns out to be "3.30", and "$45." until we see it is followed by
a space. Abbreviations ("Dr.", "a.m.") and initials ("J.") never end a sentence.
"""

from __future__ import annotations

import re

ABBREVIATIONS: frozenset[str] = frozenset(
    {
        "dr", "mr", "mrs", "ms", "mx", "prof", "st", "sr", "jr", "ave", "rd", "blvd", "apt", "vs", "etc",
        "e.g", "i.e", "approx", "dept", "est", "min", "mins", "hr", "hrs", "a.m", "p.m", "inc", "ltd",
        "co", "mt", "ft", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    }
)  # fmt: skip
_SENTENCE_END = ".!?…"
_CLAUSE_END = ",;:"
_CLOSERS = "\"')]}”’"
_TOKEN_BEFORE = re.compile(r"([A-Za-z](?:[A-Za-z.]*[A-Za-z])?)$")


class SentenceChunker:
    """Incremental sentence and first-clause splitter.

    Args:
        first_clause_min_words: words a leading clause needs to be sent alone.
        max_chars: a run without any boundary is cut (at a space) beyond this.
    """

    def __init__(self, *, first_clause_min_words: int = 1, max_chars: int = 200) -> None:
        self._first_clause_min_words = first_clause_min_words
        self._max_chars = max_chars
        self._buffer = ""
        self._scan_from = 0
        self._emitted = 0

    def push(self, text: str) -> list[str]:
        """Add streamed text; return the chunks it completed, in order."""
        self._buffer += text
        chunks: list[str] = []
        while (cut := self._next_cut()) is not None:
            self._emit(cut, chunks)
        while len(self._buffer) > self._max_chars:
            self._emit(self._forced_cut(), chunks)
        return chunks

    def flush(self) -> list[str]:
        """The reply is complete: return what is left."""
        chunks: list[str] = []
        self._emit(len(self._buffer), chunks)
        self._emitted = 0
        return chunks

    def _emit(self, cut: int, chunks: list[str]) -> None:
        piece = " ".join(self._buffer[:cut].split())
        self._buffer = self._buffer[cut:].lstrip()
        self._scan_from = 0
        if piece:
            chunks.append(piece)
            self._emitted += 1

    def _next_cut(self) -> int | None:
        """Index just after a confirmed boundary, or None."""
        buffer = self._buffer
        index = self._scan_from
        while index < len(buffer):
            char = buffer[index]
            if char == "\n" and buffer[:index].strip():
                return index + 1
            if char in _SENTENCE_END or (char in _CLAUSE_END and self._emitted == 0):
                end = index + 1
                while end < len(buffer) and buffer[end] in _CLOSERS + _SENTENCE_END:
                    end += 1
                if end >= len(buffer):
                    # Undecided until the next character arrives; resume scanning here.
                    self._scan_from = index
                    return None
                if buffer[end].isspace() and self._is_boundary(index, char):
                    return end
                index = end
                continue
            index += 1
        self._scan_from = len(buffer)
        return None

    def _is_boundary(self, index: int, char: str) -> bool:
        before = self._buffer[:index]
        if char in _CLAUSE_END:
            return len(before.split()) >= self._first_clause_min_words
        if char != ".":
            return True
        token = _TOKEN_BEFORE.search(before)
        if token is None:
            return bool(before.strip())
        word = token.group(1)
        if len(word) == 1 and word.isupper():
            return False  # an initial, as in "J. Smith"
        return word.lower() not in ABBREVIATIONS

    def _forced_cut(self) -> int:
        window = self._buffer[: self._max_chars]
        for marks in (_CLAUSE_END, " "):
            cut = max(window.rfind(mark) for mark in marks)
            if cut > 0:
                return cut + 1
        return self._max_chars
