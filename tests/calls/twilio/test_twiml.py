"""TwiML answers, parsed as XML and checked element by element."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from calls import twiml
from tests.calls.twilio.conftest import PUBLIC


def parse(xml: str) -> ET.Element:
    root = ET.fromstring(xml)
    assert root.tag == "Response"
    return root


def tags(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def test_stream_response() -> None:
    root = parse(twiml.stream_response(call_sid="CA123", business_id=7, session_id="sess-1"))
    assert tags(root) == ["Connect"]
    connect = root[0]
    assert tags(connect) == ["Stream"]
    stream = connect[0]
    assert stream.get("url") == "wss://zylin.example.com/media-stream"
    assert "?" not in stream.get("url", "")
    assert stream.get("statusCallback") == f"{PUBLIC}/twilio/stream-status"
    assert stream.get("statusCallbackMethod") == "POST"
    assert [(p.tag, p.get("name"), p.get("value")) for p in stream] == [
        ("Parameter", "sessionId", "sess-1"),
        ("Parameter", "callSid", "CA123"),
        ("Parameter", "business", "7"),
    ]


def test_stream_response_passes_hybrid_first_sentence() -> None:
    stream = parse(
        twiml.stream_response(call_sid="CA1", business_id=1, session_id="s", first_utterance="When do you open?")
    )[0][0]
    params = {p.get("name"): p.get("value") for p in stream}
    assert params["firstUtterance"] == "When do you open?"


def test_stream_url_follows_the_public_scheme(settings) -> None:
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    stream = parse(twiml.stream_response(call_sid="CA1", business_id=1, session_id="s"))[0][0]
    assert stream.get("url") == "ws://127.0.0.1:8000/media-stream"


def test_record_response() -> None:
    root = parse(twiml.record_response(greeting="Thanks for calling Bella."))
    assert tags(root) == ["Say", "Say", "Record", "Say", "Hangup"]
    assert root[0].text == "Thanks for calling Bella."
    assert root[1].text == twiml.RECORD_PROMPT
    record = root[2]
    assert record.attrib == {
        "action": f"{PUBLIC}/twilio/recording-done",
        "method": "POST",
        "maxLength": "30",
        "timeout": "5",
        "playBeep": "true",
        "recordingStatusCallback": f"{PUBLIC}/twilio/recording",
        "recordingStatusCallbackMethod": "POST",
        "recordingStatusCallbackEvent": "completed absent",
    }
    assert root[3].text == twiml.NOTHING_RECORDED


def test_gather_response() -> None:
    root = parse(twiml.gather_response(greeting="Hello, how can I help?"))
    assert tags(root) == ["Gather", "Redirect"]
    gather = root[0]
    assert gather.get("input") == "speech"
    assert gather.get("action") == f"{PUBLIC}/twilio/route"
    assert gather.get("method") == "POST"
    assert gather.get("actionOnEmptyResult") == "true"
    assert gather.get("speechTimeout") == "auto"
    assert tags(gather) == ["Say"]
    assert gather[0].text == "Hello, how can I help?"
    assert root[1].text == f"{PUBLIC}/twilio/route"


def test_unknown_number_apologizes_and_hangs_up() -> None:
    root = parse(twiml.unknown_number_response())
    assert tags(root) == ["Say", "Hangup"]
    assert "not set up" in root[0].text


def test_transfer_dials_the_person_with_an_outcome_action() -> None:
    root = parse(twiml.transfer_response(number="+15005550007"))
    assert tags(root) == ["Say", "Dial"]
    dial = root[1]
    assert dial.text == "+15005550007"
    assert dial.get("action") == f"{PUBLIC}/twilio/dial-done"
    assert dial.get("timeout") == "20"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("completed", ["Hangup"]),
        ("no-answer", ["Say", "Say", "Record", "Say", "Hangup"]),
        ("busy", ["Say", "Say", "Record", "Say", "Hangup"]),
        ("failed", ["Say", "Say", "Record", "Say", "Hangup"]),
    ],
)
def test_dial_outcome(status: str, expected: list[str]) -> None:
    assert tags(parse(twiml.dial_done_response(dial_status=status))) == expected


def test_fallback_record_prompts_without_a_greeting() -> None:
    root = parse(twiml.fallback_record_response())
    assert tags(root) == ["Say", "Record", "Say", "Hangup"]
    assert root[0].text == twiml.RECORD_FALLBACK_PROMPT


def test_recording_done_thanks_and_hangs_up() -> None:
    root = parse(twiml.recording_done_response())
    assert tags(root) == ["Say", "Hangup"]
    assert "WhatsApp" in root[0].text
