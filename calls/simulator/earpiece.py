"""Twilio's playback of Zylin's audio, as the caller's earpiece hears it.

Audio is played at 8000 bytes/s, one 20 ms frame per tick. A mark is echoed
once the audio sent before it has played; ``clear`` drops the buffer and
echoes every pending mark at once. Offsets count bytes received on the
stream, so a mark sits exactly after the audio it follows.

A gap is a stretch of ticks with nothing to play after audio ran out. Marks
are named ``<playback>.<n>`` by Zylin, so a gap between audio of the same
playback (the same reply) is an underrun: the caller heard Zylin stall
mid-reply. A gap between two replies is just a turn boundary.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from calls.audio import FRAME_BYTES, MULAW_SILENCE

FRAME_S = 0.02


@dataclass(frozen=True)
class Gap:
    """Silence in Zylin's audio: from ``at`` (seconds into the stream) for ``ms``."""

    at: float
    ms: float
    offset: int  # bytes received (and played) when the audio ran out
    before: str = ""  # playback the audio before the gap belonged to
    after: str = ""  # playback the audio after it belonged to

    @property
    def underrun(self) -> bool:
        return bool(self.before) and self.before == self.after


def playback_of(mark_name: str) -> str:
    """The playback a mark belongs to (``t3.17`` -> ``t3``); '' for no mark."""
    return mark_name.rsplit(".", 1)[0]


class Earpiece:
    """Plays Zylin's audio in real time and decides when each mark is echoed."""

    def __init__(self, *, keep_audio: bool = False) -> None:
        self.buffer = bytearray()
        self.received = 0
        self.played = 0
        self.media_messages = 0
        self.arrivals: list[tuple[float, int]] = []  # (time, offset of the first byte)
        self.marks: list[tuple[int, str]] = []  # every mark: (offset, name)
        self.clears: list[float] = []
        self.acked = 0
        self.heard = bytearray() if keep_audio else None
        self._pending: deque[tuple[int, str]] = deque()
        self._ran_dry: tuple[float, int] | None = None
        self._gaps: list[tuple[float, float, int]] = []  # (at, ms, offset)

    @property
    def busy(self) -> bool:
        """Audio still to play, or marks not yet echoed."""
        return bool(self.buffer) or bool(self._pending)

    def media(self, audio: bytes, at: float) -> None:
        self.arrivals.append((at, self.received))
        self.media_messages += 1
        self.buffer += audio
        self.received += len(audio)

    def mark(self, name: str) -> list[str]:
        """Queue a mark after the audio received so far; returns the marks to echo now."""
        self._pending.append((self.received, name))
        self.marks.append((self.received, name))
        return self._due()

    def clear(self, at: float) -> list[str]:
        """Drop what was not played; every pending mark is echoed at once."""
        self.clears.append(at)
        self.buffer.clear()
        self.played = self.received
        self._ran_dry = None  # cut off on purpose, not a stall
        names = [name for _, name in self._pending]
        self._pending.clear()
        self.acked += len(names)
        return names

    def play(self, at: float) -> list[str]:
        """One 20 ms tick at ``at``: play a frame if there is one; returns the marks to echo."""
        chunk = bytes(self.buffer[:FRAME_BYTES])
        if chunk:
            del self.buffer[:FRAME_BYTES]
            if self._ran_dry is not None:
                dry_at, offset = self._ran_dry
                if at - dry_at > FRAME_S / 2:
                    self._gaps.append((dry_at, (at - dry_at) * 1000, offset))
                self._ran_dry = None
            self.played += len(chunk)
            if not self.buffer:
                self._ran_dry = (at + FRAME_S, self.played)
        if self.heard is not None:
            self.heard += chunk + bytes([MULAW_SILENCE]) * (FRAME_BYTES - len(chunk))
        return self._due()

    def first_audio_after(self, at: float) -> float | None:
        return next((time for time, _ in self.arrivals if time >= at), None)

    def gaps(self) -> list[Gap]:
        """Every gap, labelled with the playbacks either side (known once their marks arrived)."""
        labelled = []
        for at, ms, offset in self._gaps:
            before = next((name for mark_offset, name in self.marks if mark_offset >= offset), "")
            after = next((name for mark_offset, name in self.marks if mark_offset > offset), "")
            labelled.append(Gap(at, ms, offset, playback_of(before), playback_of(after)))
        return labelled

    def underruns(self) -> list[Gap]:
        return [gap for gap in self.gaps() if gap.underrun]

    def _due(self) -> list[str]:
        names = []
        while self._pending and self._pending[0][0] <= self.played:
            names.append(self._pending.popleft()[1])
        self.acked += len(names)
        return names
