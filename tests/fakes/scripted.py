"""Scripted fakes of the recognizer, the agent and the voice, driven by a timed caller script.

``Script`` says what the caller does and when (seconds from the start of the
call); ``FakeSTT`` reports those words at realistic moments (interim results
while the caller speaks, a final on ``finalize`` or after its own endpointing);
``FakeLLM`` answers with scripted replies word by word; ``FakeTTS`` returns
audio whose every byte names the text it was made from, so a test can tell
exactly which words reached the caller.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from calls.voice.ports import (
    AgentEvent,
    CallAction,
    Clock,
    Expecting,
    IntentUpdate,
    ProviderError,
    SpeechEvent,
    TextDelta,
    Transcript,
)


@dataclass(frozen=True)
class Utterance:
    text: str
    at: float
    dur: float
    kind: Literal["speech", "noise"] = "speech"

    @property
    def end(self) -> float:
        return self.at + self.dur


@dataclass
class Script:
    """What the caller does, in seconds from ``start`` (set when the call begins)."""

    utterances: list[Utterance] = field(default_factory=list)
    digits: list[tuple[float, str]] = field(default_factory=list)
    start: float = 0.0

    def user_says(self, text: str, *, at: float, dur: float) -> Script:
        self.utterances.append(Utterance(text, at, dur))
        return self

    def noise(self, *, at: float, dur: float) -> Script:
        self.utterances.append(Utterance("", at, dur, "noise"))
        return self

    def presses(self, keys: str, *, at: float, gap: float = 0.3) -> Script:
        self.digits.extend((at + index * gap, key) for index, key in enumerate(keys))
        return self

    def sound_at(self, t: float) -> Utterance | None:
        """The utterance or noise audible at ``t`` (seconds from start)."""
        for utterance in self.utterances:
            if utterance.at <= t < utterance.end:
                return utterance
        return None

    @property
    def speech(self) -> list[Utterance]:
        return [u for u in self.utterances if u.kind == "speech"]


# -- recognizer ---------------------------------------------------------------------


class FakeSpeechStream:
    def __init__(self, stt: FakeSTT) -> None:
        self._stt = stt
        self._queue: asyncio.Queue[SpeechEvent | Exception | None] = asyncio.Queue()
        self._finalized: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.audio_bytes = 0
        self.modes: list[str] = []
        self.finalize_calls: list[float] = []
        self.closed = False
        self._spawn(self._play_script())

    async def send_audio(self, mulaw: bytes) -> None:
        if self.closed:
            raise ProviderError("stream closed", provider="fake-stt", retryable=True)
        self.audio_bytes += len(mulaw)

    def set_mode(self, mode: str) -> None:
        """Like pocketsphinx's stream: switch to a digit grammar while a number is expected."""
        self.modes.append(mode)

    async def finalize(self) -> None:
        clock, script = self._stt.clock, self._stt.script
        t = clock.now() - script.start
        self.finalize_calls.append(t)
        recent = [
            (i, u) for i, u in enumerate(script.speech) if u.at <= t and t - u.end < 2.0 and i not in self._finalized
        ]
        self._spawn(self._final_after_delay(recent[-1] if recent else None))

    async def events(self) -> AsyncIterator[SpeechEvent]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    async def aclose(self) -> None:
        self.closed = True
        for task in self._tasks:
            task.cancel()
        self._queue.put_nowait(None)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _final_after_delay(self, item: tuple[int, Utterance] | None) -> None:
        await self._stt.clock.sleep(self._stt.final_delay)
        if item is None:
            self._queue.put_nowait(Transcript("", is_final=True))
            return
        index, utterance = item
        self._finalized.add(index)
        self._queue.put_nowait(Transcript(utterance.text, is_final=True))

    async def _play_script(self) -> None:
        stt = self._stt
        clock, script = stt.clock, stt.script
        timeline: list[tuple[float, int, Transcript | Exception]] = []
        for index, utterance in enumerate(script.speech):
            words = utterance.text.split()
            step = stt.interim_every
            k = 1
            while k * step < utterance.dur:
                shown = math.ceil(len(words) * k * step / utterance.dur)
                timeline.append((utterance.at + k * step, index, Transcript(" ".join(words[:shown]), is_final=False)))
                k += 1
            if stt.endpointing is not None:
                final = Transcript(utterance.text, is_final=True, speech_final=True)
                timeline.append((utterance.end + stt.endpointing, index, final))
        if stt.fail_at is not None:  # only the stream open at that time fails
            fail_at, stt.fail_at = stt.fail_at, None
            timeline.append((fail_at, -1, ProviderError("recognizer dropped", provider="fake-stt", retryable=True)))
        timeline.sort(key=lambda item: item[0])
        for at, index, item in timeline:
            delay = script.start + at - clock.now()
            if delay < 0:
                continue  # before this stream existed
            await clock.sleep(delay)
            if index in self._finalized:
                continue
            if isinstance(item, Transcript) and item.is_final:
                self._finalized.add(index)
            self._queue.put_nowait(item)


class FakeSTT:
    """``SpeechToText`` that 'recognizes' the script.

    Args:
        endpointing: seconds after the end of speech at which the fake sends its own
            ``speech_final``; None for an engine that only finalizes on request.
        connect_failures: errors raised by the next ``connect`` calls, in order.
        fail_at: script time at which the open stream raises a retryable error.
    """

    name = "fake-stt"

    def __init__(
        self,
        clock: Clock,
        script: Script,
        *,
        interim_every: float = 0.2,
        final_delay: float = 0.05,
        endpointing: float | None = None,
        connect_failures: Sequence[ProviderError] = (),
        fail_at: float | None = None,
    ) -> None:
        self.clock = clock
        self.script = script
        self.interim_every = interim_every
        self.final_delay = final_delay
        self.endpointing = endpointing
        self.connect_failures = list(connect_failures)
        self.fail_at = fail_at
        self.streams: list[FakeSpeechStream] = []
        self.hints: list[tuple[str, ...]] = []

    async def connect(self, *, hints: Sequence[str] = ()) -> FakeSpeechStream:
        self.hints.append(tuple(hints))
        if self.connect_failures:
            raise self.connect_failures.pop(0)
        stream = FakeSpeechStream(self)
        self.streams.append(stream)
        return stream


# -- agent ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeReply:
    text: str
    expecting: Expecting = "open"
    action: CallAction | None = None
    intent: IntentUpdate | None = None


class FakeLLM:
    """``LanguageModel`` answering each caller turn with the next scripted reply."""

    name = "fake-llm"

    def __init__(
        self,
        clock: Clock,
        replies: Sequence[FakeReply | str] = (),
        *,
        greeting: str = "Thanks for calling Bella Hair Studio, how can I help?",
        first_token_s: float = 0.3,
        word_interval_s: float = 0.02,
    ) -> None:
        self.clock = clock
        self.replies = [FakeReply(r) if isinstance(r, str) else r for r in replies]
        self._greeting = greeting
        self.first_token_s = first_token_s
        self.word_interval_s = word_interval_s
        self.failures: list[ProviderError] = []
        self.received: list[str] = []
        self.heard: list[str] = []
        self.restored: dict[str, Any] | None = None
        self._expecting: Expecting = "open"

    def greeting(self) -> str:
        return self._greeting

    async def respond(self, caller_text: str) -> AsyncIterator[AgentEvent]:
        self.received.append(caller_text)
        if self.failures:
            await self.clock.sleep(self.first_token_s)
            raise self.failures.pop(0)
        reply = self.replies.pop(0) if self.replies else FakeReply("Okay.")
        await self.clock.sleep(self.first_token_s)
        for index, word in enumerate(reply.text.split(" ")):
            yield TextDelta(word if index == 0 else " " + word)
            await self.clock.sleep(self.word_interval_s)
        self._expecting = reply.expecting
        if reply.intent is not None:
            yield reply.intent
        if reply.action is not None:
            yield reply.action

    def note_heard(self, heard_text: str) -> None:
        self.heard.append(heard_text)

    @property
    def expecting(self) -> Expecting:
        return self._expecting

    def snapshot(self) -> dict[str, Any]:
        return {"received": list(self.received), "heard": list(self.heard), "expecting": self._expecting}

    def restore(self, state: dict[str, Any]) -> None:
        self.restored = state
        self.received = list(state["received"])
        self.heard = list(state["heard"])
        self._expecting = state["expecting"]


# -- voice ---------------------------------------------------------------------------


class FakeTTS:
    """``TextToSpeech`` whose audio bytes all equal a code naming the text."""

    name = "fake-tts"

    def __init__(self, clock: Clock, *, first_audio_s: float = 0.1, ms_per_char: float = 40.0, chunk_ms: int = 100):
        self.clock = clock
        self.first_audio_s = first_audio_s
        self.ms_per_char = ms_per_char
        self.chunk_bytes = chunk_ms * 8
        self.failures: list[ProviderError] = []
        self.requests: list[str] = []
        self._codes: dict[str, int] = {}

    def code_for(self, text: str) -> int:
        if text not in self._codes:
            code = 0x10 + len(self._codes)
            if code >= 0x7F:
                raise RuntimeError("too many distinct texts for FakeTTS")
            self._codes[text] = code
        return self._codes[text]

    def text_for(self, code: int) -> str | None:
        return next((text for text, c in self._codes.items() if c == code), None)

    def audio_for(self, text: str) -> bytes:
        return bytes([self.code_for(text)]) * max(160, int(len(text) * self.ms_per_char * 8))

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        self.requests.append(text)
        await self.clock.sleep(self.first_audio_s)
        if self.failures:
            raise self.failures.pop(0)
        audio = self.audio_for(text)
        for start in range(0, len(audio), self.chunk_bytes):
            yield audio[start : start + self.chunk_bytes]
            await asyncio.sleep(0)

    async def aclose(self) -> None:
        return None
