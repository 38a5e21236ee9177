"""Twilio Media Streams wire format: strict parsing in, JSON text frames out.

Pure functions, no I/O. ``parse_event`` returns an event from
``calls.voice.events``, returns ``None`` for a well-formed frame of an event type
Zylin does not handle (Twilio may add new ones), and raises ``MalformedEvent``
(with the reason) for anything else: bad JSON, missing or mistyped fields,
invalid base64, oversize payloads. Numeric fields arrive as strings; decimal
strings and plain integers are accepted, nothing else (no floats, no booleans).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import orjson

from calls.voice.events import (
    ConnectedEvent,
    DtmfEvent,
    InboundEvent,
    MarkEvent,
    MediaEvent,
    MediaFormat,
    StartEvent,
    StopEvent,
)

# 1 s of 8 kHz mu-law. Twilio sends 20 ms chunks; anything far larger is not Twilio.
MAX_MEDIA_PAYLOAD_BYTES = 8000
# A start frame with many custom parameters stays well under this.
MAX_FRAME_CHARS = 32 * 1024
MAX_MARK_NAME_CHARS = 256
DTMF_DIGITS = frozenset("0123456789*#")


class MalformedEvent(ValueError):
    """A text frame that is not a valid Twilio Media Stream event; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_event(text: str) -> InboundEvent | None:
    """Parse one inbound text frame. See the module docstring for the error contract."""
    if not isinstance(text, str):
        raise MalformedEvent("frame is not text")
    if len(text) > MAX_FRAME_CHARS:
        raise MalformedEvent(f"frame longer than {MAX_FRAME_CHARS} characters")
    try:
        # orjson: a third of json.loads' time on a media frame, and stricter (no NaN, no lone
        # surrogates, integers within 64 bits, nesting within 1024 levels).
        message = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise MalformedEvent(f"invalid JSON: {exc}") from None
    if not isinstance(message, dict):
        raise MalformedEvent("frame is not a JSON object")
    event = _string(message, "event")
    if event == "media":  # 50 a second per call: straight to its parser
        return _parse_media(message, _string(message, "streamSid"), _integer(message, "sequenceNumber"))
    if event == "connected":
        return ConnectedEvent(protocol=_string(message, "protocol"), version=_string(message, "version"))
    parser = _PARSERS.get(event)
    if parser is None:
        return None
    stream_sid = _string(message, "streamSid")
    sequence_number = _integer(message, "sequenceNumber")
    return parser(message, stream_sid, sequence_number)


# -- outbound -------------------------------------------------------------------


def media_message(stream_sid: str, mulaw: bytes) -> str:
    """Audio for the caller: raw 8 kHz mu-law, no WAV header."""
    payload = base64.b64encode(mulaw).decode("ascii")
    return orjson.dumps({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}}).decode()


def mark_message(stream_sid: str, name: str) -> str:
    """Ask Twilio to echo ``name`` back once the audio sent before it has played."""
    return orjson.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}}).decode()


def clear_message(stream_sid: str) -> str:
    """Drop Twilio's buffered audio at once; Twilio then echoes every pending mark."""
    return orjson.dumps({"event": "clear", "streamSid": stream_sid}).decode()


# -- field readers --------------------------------------------------------------


def _object(message: dict[str, Any], key: str) -> dict[str, Any]:
    value = message.get(key)
    if not isinstance(value, dict):
        raise MalformedEvent(f"'{key}' must be an object")
    return value


def _string(message: dict[str, Any], key: str, *, allow_empty: bool = False) -> str:
    value = message.get(key)
    if not isinstance(value, str):
        raise MalformedEvent(f"'{key}' must be a string")
    if not value and not allow_empty:
        raise MalformedEvent(f"'{key}' must not be empty")
    return value


def _integer(message: dict[str, Any], key: str) -> int:
    value = message.get(key)
    # bool is an int subclass; a JSON true is never a sequence number.
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        number = int(value)
    else:
        raise MalformedEvent(f"'{key}' must be a non-negative integer (as a decimal string)")
    if number < 0:
        raise MalformedEvent(f"'{key}' must not be negative")
    return number


def _payload(media: dict[str, Any]) -> bytes:
    encoded = _string(media, "payload", allow_empty=True)
    if len(encoded) > (MAX_MEDIA_PAYLOAD_BYTES + 2) // 3 * 4:
        raise MalformedEvent(f"media payload larger than {MAX_MEDIA_PAYLOAD_BYTES} bytes")
    if len(encoded) % 4:
        raise MalformedEvent("media payload is not valid base64 (length)")
    try:
        # Strict: only the base64 alphabet, padding only at the end.
        payload = binascii.a2b_base64(encoded, strict_mode=True)
    except (binascii.Error, ValueError):
        raise MalformedEvent("media payload is not valid base64") from None
    # The length check above lets through up to two bytes more (base64 pads to 3-byte groups).
    if len(payload) > MAX_MEDIA_PAYLOAD_BYTES:
        raise MalformedEvent(f"media payload larger than {MAX_MEDIA_PAYLOAD_BYTES} bytes")
    return payload


# -- per-event parsers ----------------------------------------------------------


def _parse_start(message: dict[str, Any], stream_sid: str, sequence_number: int) -> StartEvent:
    start = _object(message, "start")
    if "streamSid" in start and _string(start, "streamSid") != stream_sid:
        raise MalformedEvent("start.streamSid differs from streamSid")
    tracks = start.get("tracks", [])
    if not isinstance(tracks, list) or not all(isinstance(track, str) for track in tracks):
        raise MalformedEvent("'tracks' must be a list of strings")
    parameters = start.get("customParameters", {})
    if not isinstance(parameters, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in parameters.items()
    ):
        raise MalformedEvent("'customParameters' must map strings to strings")
    media_format = _object(start, "mediaFormat")
    return StartEvent(
        stream_sid=stream_sid,
        sequence_number=sequence_number,
        account_sid=_string(start, "accountSid"),
        call_sid=_string(start, "callSid"),
        tracks=tuple(tracks),
        media_format=MediaFormat(
            encoding=_string(media_format, "encoding"),
            sample_rate=_integer(media_format, "sampleRate"),
            channels=_integer(media_format, "channels"),
        ),
        custom_parameters=dict(parameters),
    )


def _parse_media(message: dict[str, Any], stream_sid: str, sequence_number: int) -> MediaEvent:
    media = _object(message, "media")
    return MediaEvent(
        stream_sid=stream_sid,
        sequence_number=sequence_number,
        track=_string(media, "track"),
        chunk=_integer(media, "chunk"),
        timestamp_ms=_integer(media, "timestamp"),
        payload=_payload(media),
    )


def _parse_mark(message: dict[str, Any], stream_sid: str, sequence_number: int) -> MarkEvent:
    name = _string(_object(message, "mark"), "name")
    if len(name) > MAX_MARK_NAME_CHARS:
        raise MalformedEvent("mark name too long")
    return MarkEvent(stream_sid=stream_sid, sequence_number=sequence_number, name=name)


def _parse_dtmf(message: dict[str, Any], stream_sid: str, sequence_number: int) -> DtmfEvent:
    dtmf = _object(message, "dtmf")
    digit = _string(dtmf, "digit")
    if digit not in DTMF_DIGITS:
        raise MalformedEvent(f"unknown DTMF digit {digit!r}")
    return DtmfEvent(stream_sid=stream_sid, sequence_number=sequence_number, track=_string(dtmf, "track"), digit=digit)


def _parse_stop(message: dict[str, Any], stream_sid: str, sequence_number: int) -> StopEvent:
    stop = _object(message, "stop")
    return StopEvent(
        stream_sid=stream_sid,
        sequence_number=sequence_number,
        account_sid=_string(stop, "accountSid"),
        call_sid=_string(stop, "callSid"),
    )


_PARSERS: dict[str, Callable[[dict[str, Any], str, int], InboundEvent]] = {
    "start": _parse_start,
    "media": _parse_media,
    "mark": _parse_mark,
    "dtmf": _parse_dtmf,
    "stop": _parse_stop,
}
