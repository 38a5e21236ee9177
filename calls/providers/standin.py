"""Stand-in providers for benchmarks and load tests.

They mirror a fixed published setup so Zylin's own overhead can be measured and
compared with other voice frameworks on the same machine: the recognizer
"hears" one fixed sentence whenever Zylin's end-of-turn logic fires (it has no
endpointing of its own), the agent gives one fixed answer, and the voice returns
one fixed 8 kHz clip as fast as it can. Each can add a fixed latency. With
stand-ins there is no greeting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from calls.audio import read_wav_as_mulaw, silence_mulaw, tone_mulaw
from calls.voice.clock import MonotonicClock
from calls.voice.ports import AgentEvent, Clock, Expecting, SpeechEvent, TextDelta, Transcript

STANDIN_TRANSCRIPT = "I would like to check the status of my order."
STANDIN_REPLY = "Sure, I can help you with that. Let me look up the details for you right now."
CLIP_CHUNK_BYTES = 8000  # yield the clip in 1 s pieces


@dataclass(frozen=True)
class StandInConfig:
    """``latency_ms`` is added once per request (connect/finalize, reply, synthesis)."""

    latency_ms: float = 0.0
    clip_path: str | None = None


def builtin_clip() -> bytes:
    """About 4 s of audible mu-law: a slow three-note chime with short gaps."""
    notes = (523.25, 659.25, 783.99, 659.25)
    return b"".join(tone_mulaw(frequency, 900, dbfs=-14.0) + silence_mulaw(100) for frequency in notes)


class _Latency:
    def __init__(self, config: StandInConfig, clock: Clock) -> None:
        self._seconds = config.latency_ms / 1000
        self._clock = clock

    async def wait(self) -> None:
        if self._seconds > 0:
            await self._clock.sleep(self._seconds)
        else:
            await asyncio.sleep(0)


class StandInSpeechStream:
    """Discards audio; on ``finalize`` (Zylin's end of turn) reports the fixed sentence."""

    def __init__(self, latency: _Latency) -> None:
        self._latency = latency
        self._events: asyncio.Queue[SpeechEvent | None] = asyncio.Queue()
        self.audio_bytes = 0
        self._closed = False

    async def send_audio(self, mulaw: bytes) -> None:
        self.audio_bytes += len(mulaw)

    async def finalize(self) -> None:
        # The latency runs while the session waits for the final, as a real recognizer's would.
        await self._latency.wait()
        if not self._closed:
            self._events.put_nowait(Transcript(STANDIN_TRANSCRIPT, is_final=True, speech_final=True))

    async def events(self) -> AsyncIterator[SpeechEvent]:
        while (event := await self._events.get()) is not None:
            yield event

    async def aclose(self) -> None:
        self._closed = True
        self._events.put_nowait(None)


class StandInSpeechToText:
    name = "standin"

    def __init__(self, config: StandInConfig = StandInConfig(), *, clock: Clock | None = None) -> None:
        self._latency = _Latency(config, clock or MonotonicClock())

    async def connect(self, *, hints: Sequence[str] = ()) -> StandInSpeechStream:
        return StandInSpeechStream(self._latency)


class StandInAgent:
    """Answers every turn with the same two sentences; no greeting, no tools."""

    name = "standin"

    def __init__(self, config: StandInConfig = StandInConfig(), *, clock: Clock | None = None) -> None:
        self._latency = _Latency(config, clock or MonotonicClock())
        self.turns = 0

    def greeting(self) -> str:
        return ""

    async def respond(self, caller_text: str) -> AsyncIterator[AgentEvent]:
        await self._latency.wait()
        self.turns += 1
        yield TextDelta(STANDIN_REPLY)

    def note_heard(self, heard_text: str) -> None:
        return None

    @property
    def expecting(self) -> Expecting:
        return "open"

    def snapshot(self) -> dict[str, Any]:
        return {"turns": self.turns}

    def restore(self, state: dict[str, Any]) -> None:
        self.turns = int(state.get("turns", 0))


class StandInTextToSpeech:
    """Returns the same clip (``clip_path`` WAV, or the built-in chime) for any text."""

    name = "standin"

    def __init__(self, config: StandInConfig = StandInConfig(), *, clock: Clock | None = None) -> None:
        self._config = config
        self._latency = _Latency(config, clock or MonotonicClock())

    @cached_property
    def clip(self) -> bytes:
        path = self._config.clip_path
        return read_wav_as_mulaw(Path(path)) if path else builtin_clip()

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        if not text.strip():
            return  # like every voice: nothing to say, no audio
        clip = self.clip
        await self._latency.wait()
        for start in range(0, len(clip), CLIP_CHUNK_BYTES):
            yield clip[start : start + CLIP_CHUNK_BYTES]

    async def aclose(self) -> None:
        return None
