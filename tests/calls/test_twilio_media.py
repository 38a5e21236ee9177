"""calls.twilio_media: strict parsing of Twilio Media Stream frames and the outbound messages."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from calls.twilio_media import (
    MAX_MEDIA_PAYLOAD_BYTES,
    MalformedEvent,
    clear_message,
    mark_message,
    media_message,
    parse_event,
)
from calls.voice.events import (
    ConnectedEvent,
    DtmfEvent,
    MarkEvent,
    MediaEvent,
    MediaFormat,
    StartEvent,
    StopEvent,
)

AUDIO = bytes(range(160))
PAYLOAD = base64.b64encode(AUDIO).decode()

START = {
    "event": "start",
    "sequenceNumber": "1",
    "streamSid": "MZ1",
    "start": {
        "streamSid": "MZ1",
        "accountSid": "AC1",
        "callSid": "CA1",
        "tracks": ["inbound"],
        "customParameters": {"sessionId": "s-1", "business": "bella"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    },
}
MEDIA = {
    "event": "media",
    "sequenceNumber": "3",
    "streamSid": "MZ1",
    "media": {"track": "inbound", "chunk": "2", "timestamp": "5", "payload": PAYLOAD},
}
MARK = {"event": "mark", "sequenceNumber": "4", "streamSid": "MZ1", "mark": {"name": "t1.3"}}
DTMF = {"event": "dtmf", "sequenceNumber": "5", "streamSid": "MZ1", "dtmf": {"track": "inbound_track", "digit": "#"}}
STOP = {"event": "stop", "sequenceNumber": "6", "streamSid": "MZ1", "stop": {"accountSid": "AC1", "callSid": "CA1"}}


def with_changes(message: dict[str, Any], path: str, value: Any) -> str:
    """``message`` as JSON with ``path`` ("media.chunk") set to ``value`` (or removed when value is ...)."""
    copy = json.loads(json.dumps(message))
    *parents, key = path.split(".")
    target = copy
    for parent in parents:
        target = target[parent]
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return json.dumps(copy)


VALID = [
    (
        json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}),
        ConnectedEvent(protocol="Call", version="1.0.0"),
    ),
    (
        json.dumps(START),
        StartEvent(
            stream_sid="MZ1",
            sequence_number=1,
            account_sid="AC1",
            call_sid="CA1",
            tracks=("inbound",),
            media_format=MediaFormat("audio/x-mulaw", 8000, 1),
            custom_parameters={"sessionId": "s-1", "business": "bella"},
        ),
    ),
    (json.dumps(MEDIA), MediaEvent("MZ1", 3, "inbound", 2, 5, AUDIO)),
    (with_changes(MEDIA, "sequenceNumber", 3), MediaEvent("MZ1", 3, "inbound", 2, 5, AUDIO)),  # an int is fine too
    (with_changes(MEDIA, "media.payload", ""), MediaEvent("MZ1", 3, "inbound", 2, 5, b"")),
    (json.dumps(MARK), MarkEvent("MZ1", 4, "t1.3")),
    (json.dumps(DTMF), DtmfEvent("MZ1", 5, "inbound_track", "#")),
    (json.dumps(STOP), StopEvent("MZ1", 6, "AC1", "CA1")),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_frames_parse(text: str, expected: object) -> None:
    assert parse_event(text) == expected


def test_unknown_event_types_are_ignored_not_errors() -> None:
    assert parse_event(json.dumps({"event": "transcription", "streamSid": "MZ1", "sequenceNumber": "9"})) is None


MALFORMED = [
    ("not json", "invalid JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({"protocol": "Call"}), "'event'"),
    (json.dumps({"event": 5}), "'event'"),
    (with_changes(MEDIA, "streamSid", ...), "'streamSid'"),
    (with_changes(MEDIA, "streamSid", ""), "'streamSid' must not be empty"),
    (with_changes(MEDIA, "sequenceNumber", "3.5"), "'sequenceNumber'"),
    (with_changes(MEDIA, "sequenceNumber", "-3"), "'sequenceNumber'"),
    (with_changes(MEDIA, "sequenceNumber", True), "'sequenceNumber'"),
    (with_changes(MEDIA, "sequenceNumber", 3.0), "'sequenceNumber'"),
    (with_changes(MEDIA, "sequenceNumber", -1), "must not be negative"),
    (with_changes(MEDIA, "sequenceNumber", "١٢"), "'sequenceNumber'"),  # non-ASCII digits
    (with_changes(MEDIA, "media", "x"), "'media' must be an object"),
    (with_changes(MEDIA, "media.chunk", None), "'chunk'"),
    (with_changes(MEDIA, "media.timestamp", "soon"), "'timestamp'"),
    (with_changes(MEDIA, "media.track", ...), "'track'"),
    (with_changes(MEDIA, "media.payload", "not base64!"), "not valid base64"),
    (with_changes(MEDIA, "media.payload", "QUJD="), "not valid base64"),  # bad padding
    (with_changes(MEDIA, "media.payload", 12), "'payload'"),
    (
        with_changes(MEDIA, "media.payload", base64.b64encode(bytes(MAX_MEDIA_PAYLOAD_BYTES + 3)).decode()),
        "larger than",
    ),
    (with_changes(MARK, "mark.name", ""), "'name'"),
    (with_changes(MARK, "mark.name", "x" * 300), "too long"),
    (with_changes(DTMF, "dtmf.digit", "A"), "unknown DTMF digit"),
    (with_changes(DTMF, "dtmf.digit", "12"), "unknown DTMF digit"),
    (with_changes(STOP, "stop", None), "'stop'"),
    (with_changes(STOP, "stop.callSid", 7), "'callSid'"),
    (with_changes(START, "start.streamSid", "MZ2"), "differs"),
    (with_changes(START, "start.tracks", "inbound"), "'tracks'"),
    (with_changes(START, "start.customParameters", {"a": 1}), "'customParameters'"),
    (with_changes(START, "start.mediaFormat.sampleRate", "8k"), "'sampleRate'"),
    (with_changes(START, "start.mediaFormat", ...), "'mediaFormat'"),
    (json.dumps({"event": "connected", "protocol": "Call"}), "'version'"),
    ("x" * 40000, "longer than"),
]


@pytest.mark.parametrize(("text", "reason"), MALFORMED)
def test_malformed_frames_raise_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(MalformedEvent) as caught:
        parse_event(text)
    assert reason in caught.value.reason


def test_full_second_of_audio_is_accepted() -> None:
    payload = base64.b64encode(bytes(MAX_MEDIA_PAYLOAD_BYTES)).decode()
    event = parse_event(with_changes(MEDIA, "media.payload", payload))
    assert isinstance(event, MediaEvent)
    assert len(event.payload) == MAX_MEDIA_PAYLOAD_BYTES


def test_outbound_messages_are_compact_twilio_json() -> None:
    assert json.loads(media_message("MZ1", AUDIO)) == {
        "event": "media",
        "streamSid": "MZ1",
        "media": {"payload": PAYLOAD},
    }
    assert json.loads(mark_message("MZ1", "t1.3")) == {"event": "mark", "streamSid": "MZ1", "mark": {"name": "t1.3"}}
    assert json.loads(clear_message("MZ1")) == {"event": "clear", "streamSid": "MZ1"}
    assert " " not in media_message("MZ1", AUDIO)


def test_outbound_media_round_trips_through_the_parser() -> None:
    sent = json.loads(media_message("MZ1", AUDIO))
    inbound = {"event": "media", "sequenceNumber": "2", "streamSid": "MZ1"}
    inbound["media"] = {"track": "outbound", "chunk": "1", "timestamp": "0", **sent["media"]}
    event = parse_event(json.dumps(inbound))
    assert isinstance(event, MediaEvent)
    assert event.payload == AUDIO
