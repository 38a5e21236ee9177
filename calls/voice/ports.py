"""The small interfaces the voice loop and the agent are written against.

Nothing here imports Django, Channels or Celery: the voice loop and the agent
are plain asyncio and are given objects that satisfy these Protocols. Django
adapters (bookings, call store) live in ``calls/adapters/``; vendor adapters in
``calls/providers/``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class ProviderError(Exception):
    """A vendor or engine failed. ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, provider: str, retryable: bool) -> None:
        super().__init__(message)
        self.provider = provider
        self.retryable = retryable


# --------------------------------------------------------------------------
# Clock
# --------------------------------------------------------------------------


class Clock(Protocol):
    """Monotonic time in seconds, injected so tests never sleep."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


# --------------------------------------------------------------------------
# Speech to text
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Transcript:
    """A recognition result.

    ``is_final``: the text of this segment is stable.
    ``speech_final``: the recognizer believes the caller finished the utterance.
    """

    text: str
    is_final: bool
    speech_final: bool = False
    confidence: float | None = None


@dataclass(frozen=True)
class SpeechStarted:
    """The recognizer (or its VAD) heard speech begin."""


@dataclass(frozen=True)
class UtteranceEnd:
    """The recognizer saw a gap after the last word (Deepgram ``UtteranceEnd``)."""


SpeechEvent = Transcript | SpeechStarted | UtteranceEnd


class SpeechStream(Protocol):
    """One live recognition session for one call."""

    async def send_audio(self, mulaw: bytes) -> None:
        """Feed raw 8 kHz mu-law audio (any length, usually 20 ms)."""

    async def finalize(self) -> None:
        """Flush: emit a final transcript for the audio received so far."""

    def events(self) -> AsyncIterator[SpeechEvent]:
        """Recognition events, in order, until the stream is closed."""

    async def aclose(self) -> None: ...


class SpeechToText(Protocol):
    """Factory of live recognition streams (Deepgram, pocketsphinx, stand-in)."""

    name: str

    async def connect(self, *, hints: Sequence[str] = ()) -> SpeechStream:
        """Open a stream; ``hints`` are domain words (services, names) to favour."""


class BatchSpeechToText(Protocol):
    """Whole-file transcription for the recording path."""

    name: str

    async def transcribe(self, wav: bytes, *, hints: Sequence[str] = ()) -> str: ...


# --------------------------------------------------------------------------
# Text to speech
# --------------------------------------------------------------------------


class TextToSpeech(Protocol):
    """Streaming synthesis to 8 kHz mu-law, ready for Twilio."""

    name: str

    def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Yield mu-law 8 kHz mono chunks as soon as they are available."""

    async def aclose(self) -> None: ...


# --------------------------------------------------------------------------
# Booking domain as the agent sees it (plain data)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    duration_minutes: int
    price: str  # decimal as text, e.g. "45.00"
    currency: str = "USD"
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class FaqInfo:
    question: str
    answer: str


@dataclass(frozen=True)
class BusinessInfo:
    name: str
    timezone: str
    address: str
    greeting: str
    transfer_number: str
    services: tuple[ServiceInfo, ...]
    # One entry per weekday, Monday first: ((open, close), ...) local times; empty = closed.
    opening_hours: tuple[tuple[tuple[dt.time, dt.time], ...], ...]
    closures: tuple[dt.date, ...] = ()
    faqs: tuple[FaqInfo, ...] = ()


@dataclass(frozen=True)
class SlotInfo:
    service: str
    start: dt.datetime  # aware, business timezone
    end: dt.datetime


@dataclass(frozen=True)
class HoldInfo:
    hold_id: int
    service: str
    start: dt.datetime
    end: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True)
class BookingInfo:
    booking_id: int
    service: str
    start: dt.datetime
    end: dt.datetime
    status: str  # held | confirmed | cancelled
    customer_name: str
    phone: str


class BookingError(Exception):
    """A booking action was refused (slot taken, closed, unknown service...).

    ``code`` is machine-readable: slot_taken, closed, outside_hours, in_past,
    unknown_service, not_found, hold_expired, invalid.
    """

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


class BookingPort(Protocol):
    """The only way the agent reaches bookings. Times are aware datetimes."""

    async def business_info(self) -> BusinessInfo: ...

    async def now(self) -> dt.datetime:
        """Current time in the business's timezone."""

    async def check_availability(self, *, service: str, day: dt.date, limit: int = 20) -> list[SlotInfo]: ...

    async def hold_slot(self, *, service: str, start: dt.datetime, caller_phone: str) -> HoldInfo: ...

    async def release_hold(self, *, hold_id: int) -> None: ...

    async def confirm_booking(self, *, hold_id: int, customer_name: str, phone: str) -> BookingInfo: ...

    async def find_bookings(self, *, phone: str) -> list[BookingInfo]:
        """Upcoming confirmed bookings for this phone number."""

    async def reschedule(self, *, booking_id: int, start: dt.datetime) -> BookingInfo: ...

    async def cancel(self, *, booking_id: int) -> BookingInfo: ...


# --------------------------------------------------------------------------
# The agent ("LanguageModel" in the house style)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TextDelta:
    """Speech-ready text, streamed; sentence boundaries are found downstream."""

    text: str


@dataclass(frozen=True)
class ToolUsed:
    name: str
    arguments: dict[str, Any]
    result: dict[str, Any]


@dataclass(frozen=True)
class IntentUpdate:
    name: str
    confidence: float
    slots: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallAction:
    """The agent wants the call to end or go to a person, after it finishes speaking."""

    kind: Literal["end", "transfer"]
    reason: str = ""


AgentEvent = TextDelta | ToolUsed | IntentUpdate | CallAction

# What the agent is waiting for next; the turn detector adapts its silence allowance.
Expecting = Literal["phone", "name", "date", "yes_no", "open"]


@runtime_checkable
class LanguageModel(Protocol):
    """The receptionist's mind: turns a caller utterance into speech and actions."""

    name: str

    def greeting(self) -> str: ...

    def respond(self, caller_text: str) -> AsyncIterator[AgentEvent]:
        """Stream the reply to one caller turn. Cancellable at any await."""

    def note_heard(self, heard_text: str) -> None:
        """The last reply was interrupted: only ``heard_text`` reached the caller."""

    @property
    def expecting(self) -> Expecting: ...

    def snapshot(self) -> dict[str, Any]:
        """JSON-serializable state (history, slots, pending hold)."""

    def restore(self, state: dict[str, Any]) -> None: ...


# --------------------------------------------------------------------------
# What the session reports out: persistence and live-call control
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TurnRecord:
    """One completed turn, with its latency breakdown in milliseconds."""

    index: int
    speaker: Literal["caller", "assistant"]
    text: str
    started_at: float  # wall clock (time.time())
    ended_at: float
    interrupted: bool = False
    asr_ms: float | None = None
    llm_first_token_ms: float | None = None
    tts_first_audio_ms: float | None = None
    voice_to_voice_ms: float | None = None
    intent: IntentUpdate | None = None


class CallStore(Protocol):
    """Where a session writes what happened (the Call row and its Turns)."""

    async def turn_saved(self, turn: TurnRecord) -> None: ...

    async def event(self, name: str, detail: dict[str, Any] | None = None) -> None:
        """A notable event: fault, fallback, barge-in, transfer..."""

    async def call_ended(self, *, reason: str) -> None: ...


class SessionStore(Protocol):
    """Checkpoints for resuming a call after a dropped socket."""

    async def save(self, session_id: str, state: dict[str, Any], *, ttl_seconds: int) -> None: ...

    async def load(self, session_id: str) -> dict[str, Any] | None: ...


class CallControl(Protocol):
    """Acts on the live phone call (Twilio REST), or records the wish when offline."""

    async def hang_up(self) -> None: ...

    async def transfer_to_human(self) -> None: ...

    async def redirect_to_recording(self) -> None: ...
