"""The simulator speaks Twilio's wire format: Zylin's own parser reads every frame it sends."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calls.audio import lin2ulaw, to_int16
from calls.simulator.messages import TwilioStream, outbound_audio, outbound_event
from calls.simulator.report import CallResult, TurnResult, percentile, summary
from calls.simulator.script import line_dtmf, line_from_audio, line_noise, speech_span
from calls.simulator.webhooks import Target, twiml_parse
from calls.twilio_media import mark_message, media_message, parse_event
from calls.voice.events import ConnectedEvent, DtmfEvent, MarkEvent, MediaEvent, StartEvent, StopEvent


def test_every_frame_parses_with_string_numbers_in_sequence() -> None:
    stream = TwilioStream(call_sid="CA" + "1" * 32)
    frames = [
        stream.connected(),
        stream.start({"sessionId": "s1", "callSid": stream.call_sid, "business": "7"}),
        stream.media(b"\xff" * 160),
        stream.media(bytes(range(160))),
        stream.mark("t1.1"),
        stream.dtmf("#"),
        stream.stop(),
    ]
    events = [parse_event(frame) for frame in frames]
    assert [type(event) for event in events] == [
        ConnectedEvent, StartEvent, MediaEvent, MediaEvent, MarkEvent, DtmfEvent, StopEvent,
    ]  # fmt: skip
    assert [getattr(event, "sequence_number", None) for event in events] == [None, 1, 2, 3, 4, 5, 6]
    start, _, media = events[1], events[2], events[3]
    assert isinstance(start, StartEvent)
    assert start.custom_parameters == {"sessionId": "s1", "callSid": stream.call_sid, "business": "7"}
    assert (start.media_format.encoding, start.media_format.sample_rate) == ("audio/x-mulaw", 8000)
    assert isinstance(media, MediaEvent)
    assert (media.chunk, media.timestamp_ms, media.payload) == (2, 20, bytes(range(160)))
    raw = json.loads(frames[2])["media"]
    assert isinstance(raw["chunk"], str)
    assert isinstance(raw["timestamp"], str)


def test_zylins_frames_are_read_back() -> None:
    assert outbound_event(mark_message("MZ1", "t1.2")) == (
        "mark",
        {"event": "mark", "streamSid": "MZ1", "mark": {"name": "t1.2"}},
    )
    event, message = outbound_event(media_message("MZ1", b"\x01\x02"))
    assert event == "media"
    assert outbound_audio(message) == b"\x01\x02"
    with pytest.raises(ValueError):
        outbound_event('["not", "an", "event"]')


def test_twiml_stream_and_record_answers() -> None:
    streaming = twiml_parse(
        '<?xml version="1.0"?><Response><Connect><Stream url="wss://z.example/media-stream" '
        'statusCallback="https://z.example/twilio/stream-status"><Parameter name="sessionId" value="abc"/>'
        '<Parameter name="callSid" value="CA1"/></Stream></Connect></Response>'
    )
    assert streaming.path == "streaming"
    assert streaming.stream is not None
    assert streaming.stream.parameters == {"sessionId": "abc", "callSid": "CA1"}
    assert streaming.stream.status_callback == "https://z.example/twilio/stream-status"
    recording = twiml_parse("<Response><Say>Leave a message.</Say><Record/><Hangup/></Response>")
    assert (recording.path, recording.said) == ("recording", ("Leave a message.",))


def test_public_urls_are_requested_at_zylins_real_address() -> None:
    target = Target(base_url="http://127.0.0.1:9001", public_url="https://zylin.example.com")
    assert target.ws_url("wss://zylin.example.com/media-stream") == "ws://127.0.0.1:9001/media-stream"
    assert target.http_url("https://zylin.example.com/twilio/voice?x=1") == "http://127.0.0.1:9001/twilio/voice?x=1"
    assert target.public("/twilio/status") == "https://zylin.example.com/twilio/status"


def test_speech_span_finds_the_voiced_part_of_a_line() -> None:
    rate = 8000
    tone = np.sin(2 * np.pi * 300 * np.arange(int(0.5 * rate)) / rate) * 8000
    audio = b"\xff" * 1600 + lin2ulaw(to_int16(tone)) + b"\xff" * 2400  # 0.2 s, 0.5 s of tone, 0.3 s
    assert speech_span(audio) == pytest.approx((0.2, 0.7))
    line = line_from_audio("tone", audio)
    assert (line.seconds, line.speech_end_s) == pytest.approx((1.0, 0.7))
    noise = line_noise(200)
    assert noise.speech_end_s - noise.speech_start_s == pytest.approx(0.2)
    assert line_dtmf("12#").digits == "12#"
    with pytest.raises(ValueError):
        line_dtmf("12a")


def test_summary_percentiles_leave_out_lines_spoken_over_zylin() -> None:
    result = CallResult(call_sid="CA1", path="streaming")
    result.turns = [TurnResult(index=i, label="x", text="", voice_to_voice_ms=100.0 * (i + 1)) for i in range(10)]
    over = TurnResult(index=10, label="y", text="", over_reply=True, voice_to_voice_ms=5, clear_after_ms=250)
    result.turns.append(over)
    figures = summary([result])
    assert figures["turns"] == 10
    assert figures["voice_to_voice_ms"]["p50"] == 500
    assert figures["voice_to_voice_ms"]["p95"] == 1000
    assert figures["barge_in_clear_ms"] == {"count": 1, "p50": 250, "p95": 250}
    assert percentile([], 0.5) is None
