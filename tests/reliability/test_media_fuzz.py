"""Bad input on the media socket: thousands of malformed and hostile frames, and a call next to them.

Zylin must count and log every frame it cannot use, close a stream that never
starts properly with a clear code, never let an exception escape the consumer,
and keep a well-behaved call on the same server talking and booking.
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from bookings.models import Booking
from businesses.models import Business
from calls import wiring
from calls.consumers import MediaStreamConsumer
from calls.models import Call, CallEvent
from calls.twilio_media import MalformedEvent, parse_event
from calls.voice.events import ConnectedEvent, DtmfEvent, MarkEvent, MediaEvent, StartEvent, StopEvent
from tests.reliability.attackers import (
    flooding_call,
    hostile_call,
    hostile_streams_before_start,
    later_closes,
    read_until_closed,
    send_frame,
)
from tests.reliability.conftest import scale, stream_parameters, streaming_call
from tests.reliability.hostile import (
    Hostile,
    StreamIds,
    dump,
    hostile_frame,
    mid_call_frames,
    pre_start_frame,
    pre_start_frames,
    valid_messages,
)
from tests.reliability.phone import Phone, media_socket
from tests.reliability.scenarios import abooking_count, booking_lines, converse, weekday_ahead


def fuzz(examples: int, *, shrink: bool = True) -> settings:
    """The reliability profile with ``examples`` examples; socket suites skip shrinking (each example is slow)."""
    phases = [Phase.explicit, Phase.generate, *([Phase.shrink] if shrink else [])]
    return settings(settings.get_profile("reliability"), max_examples=examples, phases=phases)


# -- parse_event: the one function every frame goes through ------------------------------------

ANY_TEXT = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda data: data.decode("latin-1")),
    pre_start_frame().map(lambda hostile: hostile.text or ""),
    hostile_frame().map(lambda hostile: hostile.for_stream(StreamIds(), 100).text or ""),
)


@fuzz(3000)
@given(text=ANY_TEXT)
def test_parse_event_raises_nothing_but_malformed_event(text: str, ledger: Any) -> None:
    ledger.bad_input("parse_event: arbitrary text")
    try:
        event = parse_event(text)
    except MalformedEvent as error:
        reason = error.reason
        assert reason  # every refusal says why (it is logged)
        return
    # Whatever parses is fully typed: numbers are ints, audio is bytes of sane size.
    if isinstance(event, MediaEvent):
        assert isinstance(event.payload, bytes)
        assert len(event.payload) <= 8000
        assert min(event.sequence_number, event.chunk, event.timestamp_ms) >= 0
    elif isinstance(event, StartEvent):
        assert isinstance(event.media_format.sample_rate, int)
        assert all(isinstance(v, str) for v in event.custom_parameters.values())
    elif isinstance(event, DtmfEvent):
        assert event.digit in "0123456789*#"
        assert len(event.digit) == 1


@fuzz(500)
@given(
    sequence=st.integers(min_value=0, max_value=10**15),
    audio=st.binary(max_size=8000),
    digit=st.sampled_from("0123456789*#"),
    mark=st.text(min_size=1, max_size=40),
    as_number=st.booleans(),
)
def test_every_well_formed_frame_parses_to_its_event(
    sequence: int, audio: bytes, digit: str, mark: str, as_number: bool
) -> None:
    """The strictness has no false alarms: Twilio's real frames (numbers as strings or ints) all pass."""
    ids = StreamIds()
    messages = valid_messages(ids, sequence)
    if as_number:
        for message in messages.values():
            message["sequenceNumber"] = sequence
    messages["media"]["media"]["payload"] = base64.b64encode(audio).decode()
    messages["dtmf"]["dtmf"]["digit"] = digit
    messages["mark"]["mark"]["name"] = mark
    media = parse_event(dump(messages["media"]))
    assert isinstance(media, MediaEvent)
    assert media.payload == audio
    assert media.sequence_number == sequence
    assert parse_event(dump(messages["dtmf"])) == DtmfEvent(ids.stream_sid, sequence, "inbound_track", digit)
    assert parse_event(dump(messages["mark"])) == MarkEvent(ids.stream_sid, sequence, mark)
    assert isinstance(parse_event(dump(messages["stop"])), StopEvent)
    assert isinstance(parse_event(dump(messages["start"])), StartEvent)
    assert isinstance(parse_event(dump({"event": "connected", "protocol": "Call", "version": "1"})), ConnectedEvent)


# -- streams that never start properly --------------------------------------------------------

SHORT_START_TIMEOUT_S = 0.15


def expected_refusal(frames: list[Hostile], known_calls: set[str]) -> int:
    """The close code the consumer documents for a stream that sends ``frames`` and nothing else."""
    for frame in frames:
        if frame.text is None:
            continue  # binary: ignored and counted
        try:
            event = parse_event(frame.text)
        except MalformedEvent:
            return 4400
        if event is None or isinstance(event, ConnectedEvent):
            continue
        if not isinstance(event, StartEvent):
            return 4400
        if (event.media_format.encoding, event.media_format.sample_rate, event.media_format.channels) != (
            "audio/x-mulaw",
            8000,
            1,
        ):
            return 4400
        return 4409 if event.call_sid in known_calls else 4404
    return 4408


@pytest.fixture
def sessions_built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """CallSids for which a voice session was built (the consumer only builds one after a valid start)."""
    built: list[str] = []
    build = wiring.session_build

    async def counting(call: Call, start: StartEvent, send: Callable[[str], Any]) -> Any:
        built.append(call.sid)
        return await build(call, start, send)

    monkeypatch.setattr(wiring, "session_build", counting)
    return built


@pytest.mark.django_db(transaction=True)
@fuzz(150, shrink=False)
@given(frames=st.lists(pre_start_frame(), min_size=1, max_size=5))
async def test_a_stream_without_a_valid_start_is_closed_with_a_clear_code(
    frames: list[Hostile],
    edge_settings: Any,
    capacity: Any,
    sessions_built: list[str],
    monkeypatch: pytest.MonkeyPatch,
    ledger: Any,
) -> None:
    monkeypatch.setattr(MediaStreamConsumer, "START_TIMEOUT_S", SHORT_START_TIMEOUT_S)
    for frame in frames:
        ledger.bad_input(frame.kind)
    socket = media_socket()
    connected, _ = await socket.connect()
    assert connected
    for frame in frames:
        await send_frame(socket, frame)
    code, texts = await read_until_closed(socket)
    # Twilio answers the close; the consumer must then wind down on its own, without an error.
    await socket.send_input({"type": "websocket.disconnect", "code": code})
    await socket.wait(timeout=2)
    assert socket.future.done()
    assert socket.future.exception() is None
    assert await later_closes(socket) == []
    assert code == expected_refusal(frames, known_calls=set())
    assert texts == []  # nothing was ever spoken to a stream that never started
    assert sessions_built == []


@pytest.mark.django_db(transaction=True)
async def test_a_refused_stream_is_closed_once_even_when_twilio_is_slow_to_hang_up(
    edge_settings: Any, capacity: Any, monkeypatch: pytest.MonkeyPatch, ledger: Any
) -> None:
    monkeypatch.setattr(MediaStreamConsumer, "START_TIMEOUT_S", SHORT_START_TIMEOUT_S)
    socket = media_socket()
    assert (await socket.connect())[0]
    ledger.bad_input("invalid JSON")
    await socket.send_to(text_data="{not json")
    code, _ = await read_until_closed(socket)
    await asyncio.sleep(SHORT_START_TIMEOUT_S * 3)  # the start timer would have fired by now
    assert code == 4400
    assert await later_closes(socket) == []
    await socket.send_input({"type": "websocket.disconnect", "code": code})
    await socket.wait(timeout=2)


# -- hostile frames inside a running call ------------------------------------------------------


def expected_rejections(frames: list[Hostile]) -> tuple[Counter[str], int]:
    """What the consumer must count as rejected (binary, malformed, unknown), and how many starts parse."""
    rejected: Counter[str] = Counter()
    starts = 0
    for frame in frames:
        if frame.text is None:
            rejected["binary"] += 1
            continue
        try:
            event = parse_event(frame.text)
        except MalformedEvent:
            rejected["malformed"] += 1
            continue
        if event is None:
            rejected["unknown"] += 1
        elif isinstance(event, StartEvent):
            starts += 1
    return rejected, starts


async def call_events(call: Call, name: str) -> list[dict[str, Any]]:
    return await sync_to_async(
        lambda: list(CallEvent.objects.filter(call=call, name=name).values_list("detail", flat=True))
    )()


async def caller_texts(call: Call) -> list[str]:
    return await sync_to_async(
        lambda: list(call.turns.filter(speaker="caller").order_by("index").values_list("text", flat=True))
    )()


QUESTION = "what time do you close on saturday"


@pytest.mark.django_db(transaction=True)
@fuzz(4 * scale(), shrink=False)
@given(data=st.data())
async def test_hostile_frames_during_a_call_are_counted_and_the_call_goes_on(
    data: st.DataObject,
    demo_business: Business,
    edge_settings: Any,
    capacity: Any,
    scripted_speech: Any,
    ledger: Any,
) -> None:
    scripted_speech(demo_business, [QUESTION])
    call = await sync_to_async(streaming_call)(demo_business)
    socket = media_socket()
    assert (await socket.connect())[0]
    phone = await Phone(socket, call_sid=call.sid, parameters=stream_parameters(call)).start()
    assert await phone.answer_after(0.0, timeout_s=3.0) is not None  # the greeting
    await phone.quiet(0.3)

    ids = StreamIds(stream_sid=phone.stream.stream_sid, call_sid=call.sid)
    frames: list[Hostile] = []
    for index, drawn in enumerate(data.draw(mid_call_frames(ids, min_size=100, max_size=250), label="frames")):
        frame = drawn.for_stream(ids, phone.stream.sequence)
        frames.append(frame)
        ledger.bad_input(frame.kind)
        await phone.send_raw(frame.text, frame.data)
        if index % 25 == 0:
            await asyncio.sleep(0)  # interleave with the caller's real frames

    # The call must still listen and answer.
    speech_end = await phone.say(0.8)
    answer = await phone.answer_after(speech_end, timeout_s=4.0)
    await phone.quiet(0.3)
    await phone.hang_up()
    escaped = phone.application_error()
    ledger.call(disturbed=answer is None or escaped is not None)

    assert escaped is None
    assert answer is not None, "the call stopped answering after the hostile frames"
    assert await caller_texts(call) == [QUESTION]
    rejected, starts = expected_rejections(frames)
    [counted] = await call_events(call, "rejected_frames")
    assert counted == dict(rejected)
    [stats] = await call_events(call, "inbound_stats")
    assert stats["unexpected"] == starts
    assert stats["errors"] == 0  # every frame that parsed was handled without an exception


# -- a well-behaved call on the same server as the hostile traffic ----------------------------


@pytest.mark.django_db(transaction=True)
@fuzz(scale(), shrink=False)
@given(data=st.data())
async def test_a_call_next_to_hostile_streams_keeps_talking_and_books(
    data: st.DataObject,
    demo_business: Business,
    other_business: Business,
    edge_settings: Any,
    capacity: Any,
    scripted_speech: Any,
    monkeypatch: pytest.MonkeyPatch,
    ledger: Any,
) -> None:
    monkeypatch.setattr(MediaStreamConsumer, "START_TIMEOUT_S", SHORT_START_TIMEOUT_S)
    pre_start = [data.draw(pre_start_frames(min_size=2, max_size=5, offset=batch)) for batch in range(40)]
    ids = StreamIds()
    mid_call = [data.draw(mid_call_frames(ids, min_size=120, max_size=160)) for _ in range(2)]

    _, day_name = weekday_ahead(demo_business.tz)
    lines = booking_lines(day_name)
    scripted_speech(demo_business, lines)
    await sync_to_async(lambda: Booking.objects.all().delete())()  # each example books the same slot
    good = await sync_to_async(streaming_call)(demo_business)
    hostile_calls = [await sync_to_async(streaming_call)(other_business) for _ in range(3)]

    socket = media_socket()
    assert (await socket.connect())[0]
    phone = await Phone(socket, call_sid=good.sid, parameters=stream_parameters(good)).start()
    attackers = asyncio.gather(
        hostile_streams_before_start(pre_start[:20], ledger),
        hostile_streams_before_start(pre_start[20:], ledger),
        hostile_call(hostile_calls[0], mid_call[0], ledger),
        hostile_call(hostile_calls[1], mid_call[1], ledger),
        flooding_call(hostile_calls[2], ledger),
    )
    report = await converse(phone, len(lines))
    codes_a, codes_b, *escaped = await attackers
    booked = await abooking_count(demo_business, call=good)
    problems = report.problems()
    ledger.call(disturbed=bool(problems) or booked != 1)
    ledger.bookings(expected=1, found=booked)

    assert problems == []
    assert report.hung_up_by_zylin  # the caller said goodbye and Zylin ended the call
    assert booked == 1
    assert escaped == [None, None, None]
    assert set(codes_a + codes_b) <= {4400, 4404, 4408, 4409}
