"""The media socket consumer: who may open it, what it accepts before and after ``start``, and the end."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from businesses.models import Business
from calls.capacity import streaming_capacity, streaming_capacity_reset
from calls.consumers import CloseCode, MediaStreamConsumer
from calls.models import Call, CallEvent, Turn
from calls.simulator.messages import TwilioStream
from tests.calls.media_stream_support import (
    PUBLIC,
    STANDINS,
    communicator,
    next_message,
    started,
    stream_parameters,
    streaming_call,
    until_closed,
    upgrade_signature,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media_settings(settings: Any) -> Any:
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.TWILIO_SIGNING_TOKEN = "consumer-test-token"
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""
    settings.VOICE = {**settings.VOICE, **STANDINS}
    streaming_capacity_reset(limit=5)
    yield settings
    streaming_capacity_reset()


@pytest.fixture
def call(demo_business: Any) -> Call:
    return streaming_call(demo_business)


async def events_named(call: Call, name: str) -> list[dict[str, Any]]:
    rows = CallEvent.objects.filter(call=call, name=name).values_list("detail", flat=True)
    return await sync_to_async(list)(rows)


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
async def test_a_missing_or_wrong_signature_is_refused_before_the_handshake_completes(signature: str) -> None:
    socket = communicator(signature)
    connected, code = await socket.connect()
    assert (connected, code) == (False, CloseCode.BAD_SIGNATURE)


async def test_a_signature_over_another_path_is_refused() -> None:
    socket = communicator(upgrade_signature("/elsewhere"))
    assert await socket.connect() == (False, CloseCode.BAD_SIGNATURE)


async def test_start_plays_the_greeting_with_marks_and_stop_ends_the_call(call: Call) -> None:
    socket = communicator()
    connected, _ = await socket.connect()
    assert connected
    stream = await started(socket, call)
    received: list[dict[str, Any]] = []
    while len([m for m in received if m["event"] == "mark"]) < 6:
        message = await next_message(socket)
        assert message["streamSid"] == stream.stream_sid
        received.append(message)
        if message["event"] == "mark":  # Twilio echoes each mark once its audio has played
            await socket.send_to(text_data=stream.mark(message["mark"]["name"]))
    media = [base64.b64decode(m["media"]["payload"]) for m in received if m["event"] == "media"]
    assert received[0]["event"] == "media"
    assert all(len(audio) % 160 == 0 and audio for audio in media)  # whole 20 ms frames
    assert sum(map(len, media)) >= 6 * 800  # a mark at least every 100 ms of audio
    assert streaming_capacity().live == 1

    await socket.send_to(text_data=stream.stop())
    _, code = await until_closed(socket)
    assert code == 1000
    await socket.disconnect()
    stored = await sync_to_async(Call.objects.get)(pk=call.pk)
    assert stored.end_reason == "stream_stopped"
    assert stored.status == Call.Status.COMPLETED
    assert streaming_capacity().live == 0


async def test_the_first_sentence_heard_before_the_stream_is_answered_at_once(call: Call) -> None:
    # Hybrid routing passes what <Gather> heard as the stream's firstUtterance parameter.
    socket = communicator()
    assert (await socket.connect())[0]
    stream = TwilioStream(call_sid=call.sid)
    await socket.send_to(text_data=stream.connected())
    parameters = {**stream_parameters(call), "firstUtterance": "When do you open on Saturday?"}
    await socket.send_to(text_data=stream.start(parameters))
    kinds = []
    # Zylin answers with no caller audio at all; play it to the end (all marks echoed).
    while not kinds or not await socket.receive_nothing(timeout=1.0):
        message = await next_message(socket)
        kinds.append(message["event"])
        if message["event"] == "mark":
            await socket.send_to(text_data=stream.mark(message["mark"]["name"]))
    assert kinds[0] == "media"
    await socket.send_to(text_data=stream.stop())
    await until_closed(socket)
    await socket.disconnect()
    turns = await sync_to_async(list)(Turn.objects.filter(call=call).order_by("index").values_list("speaker", "text"))
    assert turns[0] == ("caller", "When do you open on Saturday?")
    speaker, answer = turns[1]
    assert speaker == "assistant"
    assert "saturday" in answer.lower()  # the embedded agent answered the question itself


async def test_malformed_and_binary_frames_after_start_are_counted_and_the_call_goes_on(call: Call) -> None:
    socket = communicator()
    await socket.connect()
    stream = await started(socket, call)
    await next_message(socket)  # the greeting started
    await socket.send_to(text_data="{not json")
    await socket.send_to(bytes_data=b"\x00\x01binary")
    await socket.send_to(text_data='{"event":"media","streamSid":"MZ1","sequenceNumber":"x"}')
    await socket.send_to(text_data='{"event":"transcription","streamSid":"MZ1","sequenceNumber":"9"}')
    await socket.send_to(text_data=stream.media(b"\xff" * 160))
    message = await next_message(socket)  # still served
    assert message["event"] in ("media", "mark")
    await socket.send_to(text_data=stream.stop())
    await until_closed(socket)
    await socket.disconnect()
    assert await events_named(call, "rejected_frames") == [{"malformed": 2, "binary": 1, "unknown": 1}]


@pytest.mark.parametrize(
    "first_frame",
    [
        "media",
        '{"event": "start"',
        '{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"1","dtmf":{"track":"inbound_track","digit":"1"}}',
    ],
)
async def test_anything_but_connected_before_start_closes_the_stream(call: Call, first_frame: str) -> None:
    socket = communicator()
    await socket.connect()
    stream = TwilioStream(call_sid=call.sid)
    await socket.send_to(text_data=stream.connected())
    await socket.send_to(text_data=stream.media(b"\xff" * 160) if first_frame == "media" else first_frame)
    messages, code = await until_closed(socket)
    assert (messages, code) == ([], CloseCode.PROTOCOL_ERROR)
    await socket.disconnect()
    assert streaming_capacity().live == 0


async def test_a_stream_without_start_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MediaStreamConsumer, "START_TIMEOUT_S", 0.2)
    socket = communicator()
    await socket.connect()
    await socket.send_to(text_data=TwilioStream(call_sid="CA1").connected())
    _, code = await until_closed(socket, wait_s=2)
    assert code == CloseCode.START_TIMEOUT
    await socket.disconnect()


async def test_start_for_an_unknown_call_is_closed() -> None:
    socket = communicator()
    await socket.connect()
    stream = TwilioStream(call_sid="CA" + "0" * 32)
    await socket.send_to(text_data=stream.start({"sessionId": "nope", "callSid": stream.call_sid, "business": "1"}))
    _, code = await until_closed(socket)
    assert code == CloseCode.UNKNOWN_CALL
    await socket.disconnect()


@pytest.mark.parametrize("parameter", ["sessionId", "business"])
async def test_start_that_does_not_match_its_call_is_closed(call: Call, parameter: str) -> None:
    socket = communicator()
    await socket.connect()
    stream = TwilioStream(call_sid=call.sid)
    parameters = {"sessionId": call.session_id, "callSid": call.sid, "business": str(call.business_id)}
    parameters[parameter] = "999999"
    await socket.send_to(text_data=stream.start(parameters))
    _, code = await until_closed(socket)
    assert code == CloseCode.CALL_MISMATCH
    await socket.disconnect()


async def test_no_streaming_capacity_closes_the_stream(call: Call) -> None:
    streaming_capacity_reset(limit=0)
    socket = communicator()
    await socket.connect()
    await started(socket, call)
    _, code = await until_closed(socket)
    assert code == CloseCode.NO_CAPACITY
    await socket.disconnect()


async def test_echo_mode_sends_the_callers_audio_straight_back(call: Call) -> None:
    await sync_to_async(Business.objects.filter(pk=call.business_id).update)(echo_mode=True)
    socket = communicator()
    await socket.connect()
    stream = await started(socket, call)
    frames = [bytes([value]) * 160 for value in (0x10, 0x20, 0x30)]
    for frame in frames:
        await socket.send_to(text_data=stream.media(frame))
    echoed = [base64.b64decode((await next_message(socket))["media"]["payload"]) for _ in frames]
    assert echoed == frames
    await socket.send_to(text_data=stream.stop())
    await until_closed(socket)
    await socket.disconnect()


async def test_a_dropped_socket_leaves_the_call_open_for_a_resume(call: Call) -> None:
    socket = communicator()
    await socket.connect()
    await started(socket, call)
    await next_message(socket)
    await socket.disconnect()  # no stop: the network went away
    await asyncio.sleep(0)
    stored = await sync_to_async(Call.objects.get)(pk=call.pk)
    assert stored.ended_at is None
    assert await events_named(call, "stream_dropped") == [{"reason": "closed"}]
    assert streaming_capacity().live == 0
