"""Twilio's side of a media stream, plus recorders for what a session reports.

``PhoneLine`` plays the caller (20 ms frames of synthetic voice, noise or
silence from a ``Script``) and plays Zylin's audio back in clock time, echoing
marks as Twilio does: after the audio before them has played, or all at once on
``clear``. ``VoiceCall`` wires a ``VoiceSession`` to the line and the fakes.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from calls.audio import FRAME_BYTES, MULAW_SILENCE, lin2ulaw, to_int16
from calls.voice.config import VoiceConfig
from calls.voice.events import DtmfEvent, MarkEvent, MediaEvent, MediaFormat, StartEvent, StopEvent
from calls.voice.phrases import PhraseCache
from calls.voice.ports import TurnRecord
from calls.voice.session import VoiceSession
from tests.fakes.clock import ManualClock
from tests.fakes.scripted import FakeLLM, FakeReply, FakeSTT, FakeTTS, Script

RATE = 8000


def voiced_mulaw(seconds: float = 2.0, f0: float = 120.0) -> bytes:
    """A vowel-like harmonic signal with a 4 Hz syllable rhythm; webrtcvad calls it speech."""
    t = np.arange(int(RATE * seconds)) / RATE
    rng = np.random.default_rng(7)
    signal = np.zeros_like(t)
    for k in range(1, int(3800 / f0)):
        f = f0 * k
        formants = sum(
            np.exp(-(((f - centre) / width) ** 2)) for centre, width in ((700, 150), (1200, 200), (2500, 300))
        )
        signal += (formants + 0.05) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) / np.sqrt(k)
    signal *= 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    return lin2ulaw(to_int16(signal / np.max(np.abs(signal)) * 32767 * 10 ** (-12 / 20)))


def noise_mulaw(seconds: float = 1.0) -> bytes:
    return lin2ulaw(to_int16(np.random.default_rng(3).normal(0, 4000, int(RATE * seconds))))


VOICE = voiced_mulaw()
NOISE = noise_mulaw()


class RecordingCallStore:
    def __init__(self) -> None:
        self.turns: list[TurnRecord] = []
        self.events: list[tuple[str, dict[str, Any] | None]] = []
        self.ended: list[str] = []

    async def turn_saved(self, turn: TurnRecord) -> None:
        self.turns.append(turn)

    async def event(self, name: str, detail: dict[str, Any] | None = None) -> None:
        self.events.append((name, detail))

    async def call_ended(self, *, reason: str) -> None:
        self.ended.append(reason)

    def named(self, name: str) -> list[dict[str, Any] | None]:
        return [detail for event, detail in self.events if event == name]

    def texts(self, speaker: str) -> list[str]:
        return [turn.text for turn in self.turns if turn.speaker == speaker]


class MemorySessionStore:
    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {}
        self.ttls: list[int] = []

    async def save(self, session_id: str, state: dict[str, Any], *, ttl_seconds: int) -> None:
        self.states[session_id] = json.loads(json.dumps(state))  # must be JSON-serializable
        self.ttls.append(ttl_seconds)

    async def load(self, session_id: str) -> dict[str, Any] | None:
        return self.states.get(session_id)


class RecordingCallControl:
    def __init__(self) -> None:
        self.actions: list[str] = []

    async def hang_up(self) -> None:
        self.actions.append("hang_up")

    async def transfer_to_human(self) -> None:
        self.actions.append("transfer")

    async def redirect_to_recording(self) -> None:
        self.actions.append("redirect_to_recording")


class PhoneLine:
    """Twilio as seen by Zylin: caller audio in, Zylin's audio played at 8000 bytes/s."""

    def __init__(self, clock: ManualClock, script: Script, *, stream_sid: str = "MZ1", call_sid: str = "CA1") -> None:
        self.clock = clock
        self.script = script
        self.stream_sid = stream_sid
        self.call_sid = call_sid
        self.session: VoiceSession | None = None
        self.sent: list[tuple[float, dict[str, Any]]] = []  # (script time, message)
        self.played: list[tuple[float, int]] = []  # (script time, first byte of each 20 ms played)
        self._buffer: deque[int] = deque()
        self._marks: deque[tuple[int, str]] = deque()  # (bytes queued before the mark, name)
        self._queued = 0
        self._played_bytes = 0
        self._sequence = 0
        self._next_digit = 0

    def t(self) -> float:
        return self.clock.now() - self.script.start

    async def send(self, text: str) -> None:
        message = json.loads(text)
        self.sent.append((self.t(), message))
        kind = message["event"]
        if kind == "media":
            audio = base64.b64decode(message["media"]["payload"])
            self._buffer.extend(audio)
            self._queued += len(audio)
        elif kind == "mark":
            self._marks.append((self._queued, message["mark"]["name"]))
        elif kind == "clear":
            self._buffer.clear()
            self._queued = self._played_bytes
            while self._marks:
                self._ack(self._marks.popleft()[1])

    def start(self, session: VoiceSession) -> None:
        self.session = session
        self.script.start = self.clock.now()
        self._feed(
            StartEvent(
                stream_sid=self.stream_sid,
                sequence_number=self._seq(),
                account_sid="AC1",
                call_sid=self.call_sid,
                tracks=("inbound",),
                media_format=MediaFormat("audio/x-mulaw", 8000, 1),
            )
        )

    async def run(self, seconds: float, *, until: Callable[[], bool] | None = None) -> None:
        """Advance the call by ``seconds``, 20 ms at a time."""
        assert self.session is not None
        for _ in range(round(seconds / 0.02)):
            if self.session.ended or (until is not None and until()):
                return
            self._feed_caller_frame()
            await self.clock.advance(0.02)
            self._play_frame()

    def stop(self) -> None:
        self._feed(StopEvent(self.stream_sid, self._seq(), "AC1", self.call_sid))

    def _seq(self) -> int:
        self._sequence += 1
        return self._sequence

    def _feed(self, event: Any) -> None:
        assert self.session is not None
        self.session.feed(event)

    def _feed_caller_frame(self) -> None:
        t = self.t()
        while self._next_digit < len(self.script.digits) and self.script.digits[self._next_digit][0] <= t:
            digit = self.script.digits[self._next_digit][1]
            self._feed(DtmfEvent(self.stream_sid, self._seq(), "inbound_track", digit))
            self._next_digit += 1
        sound = self.script.sound_at(t)
        if sound is None:
            frame = bytes([MULAW_SILENCE]) * FRAME_BYTES
        else:
            source = VOICE if sound.kind == "speech" else NOISE
            start = int((t - sound.at) * RATE) % (len(source) - FRAME_BYTES)
            frame = source[start : start + FRAME_BYTES]
        chunk = int(t / 0.02) + 1
        self._feed(MediaEvent(self.stream_sid, self._seq(), "inbound", chunk, int(t * 1000), frame))

    def _play_frame(self) -> None:
        if self._buffer:
            self.played.append((self.t(), self._buffer[0]))
        for _ in range(min(FRAME_BYTES, len(self._buffer))):
            self._buffer.popleft()
        self._played_bytes = min(self._queued, self._played_bytes + FRAME_BYTES)
        while self._marks and self._marks[0][0] <= self._played_bytes:
            self._ack(self._marks.popleft()[1])

    def _ack(self, name: str) -> None:
        self._feed(MarkEvent(self.stream_sid, self._seq(), name))

    # -- what the caller got ----------------------------------------------------------

    def messages(self, kind: str) -> list[tuple[float, dict[str, Any]]]:
        return [(t, m) for t, m in self.sent if m["event"] == kind]

    def first_audio_after(self, t: float) -> float | None:
        return next((at for at, m in self.sent if m["event"] == "media" and at >= t), None)

    def heard_codes(self) -> list[int]:
        """Distinct audio codes in the order the caller heard them."""
        codes: list[int] = []
        for _, code in self.played:
            if not codes or codes[-1] != code:
                codes.append(code)
        return codes

    @property
    def buffered_ms(self) -> float:
        return len(self._buffer) / 8


@dataclass
class VoiceCall:
    """A ``VoiceSession`` on a ``PhoneLine`` with scripted fakes (all on one manual clock)."""

    script: Script = field(default_factory=Script)
    replies: Sequence[FakeReply | str] = ()
    config: VoiceConfig = field(default_factory=VoiceConfig)
    stt_options: dict[str, Any] = field(default_factory=dict)
    resume_state: dict[str, Any] | None = None
    first_utterance: str = ""
    cache_phrases: bool = True

    def __post_init__(self) -> None:
        self.clock = ManualClock()
        self.stt = FakeSTT(self.clock, self.script, **self.stt_options)
        self.llm = FakeLLM(self.clock, self.replies)
        self.tts = FakeTTS(self.clock)
        self.store = RecordingCallStore()
        self.sessions = MemorySessionStore()
        self.control = RecordingCallControl()
        self.line = PhoneLine(self.clock, self.script)
        self.phrases = PhraseCache()
        if self.cache_phrases:
            for text in (*self.config.phrases.all(), self.llm.greeting()):
                self.phrases.put(text, self.tts.audio_for(text))
        self.session = VoiceSession(
            send=self.line.send,
            stt=self.stt,
            tts=self.tts,
            agent=self.llm,
            store=self.store,
            sessions=self.sessions,
            control=self.control,
            clock=self.clock,
            config=self.config,
            session_id="session-1",
            phrase_cache=self.phrases,
            resume_state=self.resume_state,
            first_utterance=self.first_utterance,
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> VoiceCall:
        self.task = asyncio.create_task(self.session.run(), name="session")
        self.line.start(self.session)
        await self.clock.advance(0)
        return self

    async def run(self, seconds: float, *, until: Callable[[], bool] | None = None) -> None:
        await self.line.run(seconds, until=until)

    async def close(self) -> None:
        await self.session.aclose()
        if self.task is not None:
            await asyncio.wait({self.task}, timeout=2)

    def text_of(self, code: int) -> str | None:
        return self.tts.text_for(code)

    def codes_of(self, reply: str) -> set[int]:
        """Audio codes of the pieces of ``reply`` that were synthesized."""
        return {self.tts.code_for(text) for text in self.tts.requests if text in reply}

    def heard(self) -> list[str | None]:
        """Texts whose audio the caller heard, in order."""
        return [self.text_of(code) for code in self.line.heard_codes()]
