"""A recognizer that hears a scripted caller, one line per turn, for calls whose words matter.

Like the stand-in recognizer it has no endpointing of its own: when Zylin's
end-of-turn logic asks it to ``finalize``, it reports the caller's next line.
The cursor belongs to the recognizer, not to a stream, so a call that
reconnects (a dropped recognizer, a resumed Media Stream) goes on with the
next line instead of starting over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from calls.voice.ports import SpeechEvent, Transcript


class LinesStream:
    def __init__(self, recognizer: LinesRecognizer) -> None:
        self._recognizer = recognizer
        self._events: asyncio.Queue[SpeechEvent | None] = asyncio.Queue()
        self.closed = False

    async def send_audio(self, mulaw: bytes) -> None:
        self._recognizer.audio_bytes += len(mulaw)

    async def finalize(self) -> None:
        line = self._recognizer.next_line()
        if not self.closed:
            self._events.put_nowait(Transcript(line, is_final=True, speech_final=True))

    async def events(self) -> AsyncIterator[SpeechEvent]:
        while (event := await self._events.get()) is not None:
            yield event

    async def aclose(self) -> None:
        self.closed = True
        self._events.put_nowait(None)


class LinesRecognizer:
    """``SpeechToText`` that reports ``lines`` in order, one per finalized turn ('' once they run out)."""

    name = "scripted"

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        self.heard: list[str] = []
        self.streams: list[LinesStream] = []
        self.audio_bytes = 0

    def next_line(self) -> str:
        line = self.lines[len(self.heard)] if len(self.heard) < len(self.lines) else ""
        self.heard.append(line)
        return line

    async def connect(self, *, hints: Sequence[str] = ()) -> LinesStream:
        stream = LinesStream(self)
        self.streams.append(stream)
        return stream
