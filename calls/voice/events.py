"""Inbound Twilio Media Stream events as frozen dataclasses.

``calls.twilio_media.parse_event`` builds these from the JSON text frames; the
voice session consumes them. Field names follow Python, not Twilio's camelCase;
numeric fields (which Twilio sends as strings) are already integers here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ConnectedEvent:
    """The first frame of a stream: the socket is up, nothing is known yet."""

    protocol: str
    version: str


@dataclass(frozen=True)
class MediaFormat:
    encoding: str  # "audio/x-mulaw"
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class StartEvent:
    """Stream metadata; ``custom_parameters`` carries the TwiML ``<Parameter>`` values."""

    stream_sid: str
    sequence_number: int
    account_sid: str
    call_sid: str
    tracks: tuple[str, ...]
    media_format: MediaFormat
    custom_parameters: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class MediaEvent:
    """One chunk of caller audio: raw 8 kHz mu-law, usually 20 ms (160 bytes)."""

    stream_sid: str
    sequence_number: int
    track: str
    chunk: int
    timestamp_ms: int
    payload: bytes


@dataclass(frozen=True)
class MarkEvent:
    """Twilio finished playing the audio sent before the mark called ``name`` (or cleared it)."""

    stream_sid: str
    sequence_number: int
    name: str


@dataclass(frozen=True)
class DtmfEvent:
    stream_sid: str
    sequence_number: int
    track: str
    digit: str  # one of 0-9, *, #


@dataclass(frozen=True)
class StopEvent:
    """The stream ended: the caller hung up or the call left the ``<Connect>``."""

    stream_sid: str
    sequence_number: int
    account_sid: str
    call_sid: str


InboundEvent = ConnectedEvent | StartEvent | MediaEvent | MarkEvent | DtmfEvent | StopEvent
