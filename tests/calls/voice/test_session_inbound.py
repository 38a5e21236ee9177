"""Inbound robustness and lifecycle: odd events never break a call; the call always winds down cleanly."""

from __future__ import annotations

import asyncio

from calls.voice.events import ConnectedEvent, MarkEvent, MediaEvent, MediaFormat, StartEvent, StopEvent
from tests.fakes.scripted import Script
from tests.fakes.voice_line import VOICE, VoiceCall


def media(number: int, payload: bytes = b"\xff" * 160, track: str = "inbound") -> MediaEvent:
    return MediaEvent("MZ1", number, track, number, number * 20, payload)


async def test_caller_audio_reaches_the_recognizer() -> None:
    call = await VoiceCall().start()
    await call.run(1.0)
    assert call.stt.streams[0].audio_bytes == 50 * 160
    await call.close()


async def test_odd_and_malformed_events_are_counted_not_raised() -> None:
    call = await VoiceCall().start()
    for junk in (None, "text", {"event": "media"}, 42, ConnectedEvent("Call", "1.0.0")):
        call.session.feed(junk)  # type: ignore[arg-type]
    call.session.feed(MarkEvent("MZ1", 2, "never-sent"))
    call.session.feed(
        StartEvent("MZ1", 3, "AC1", "CA1", ("inbound",), MediaFormat("audio/x-mulaw", 8000, 1))
    )  # a second start
    await call.run(0.5)
    assert not call.session.ended
    assert call.session.stats.unexpected == 5  # four junk objects and the repeated start
    assert call.session.pacer.unknown_marks == 1
    await call.close()


async def test_sequence_gaps_are_reported_as_loss_and_stale_frames_dropped() -> None:
    call = VoiceCall()
    await call.start()
    await call.clock.advance(0.02)
    session = call.session
    for number in (2, 3, 7, 8, 5, 8, 9):  # 4-6 lost; 5 and 8 arrive late/duplicated
        session.feed(media(number))
    session.feed(media(10, track="outbound"))  # not the caller
    await call.clock.advance(0.02)
    assert call.stt.streams[0].audio_bytes == 5 * 160
    session.feed(StopEvent("MZ1", 11, "AC1", "CA1"))
    await call.clock.advance(0.02)
    assert call.task is not None
    assert call.task.done()
    [stats] = call.store.named("inbound_stats")
    assert stats == {"media_frames": 5, "lost": 3, "out_of_order": 2, "unexpected": 0, "errors": 0}
    assert call.store.ended == ["stream_stopped"]


async def test_stop_ends_the_call_and_leaves_no_tasks_behind() -> None:
    script = Script().user_says("Tell me all your prices please", at=4.0, dur=1.0)
    call = await VoiceCall(script=script, replies=["We have many prices. " * 5]).start()
    await call.run(6.0)  # Zylin is mid-answer
    assert call.session.conversation.turn_tasks()
    call.line.stop()
    await call.clock.advance(0.02)
    assert call.task is not None
    assert call.task.done()
    assert call.task.exception() is None
    assert call.session.conversation.turn_tasks() == []
    assert call.stt.streams[0].closed
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert [t.get_name() for t in others] == []


async def test_aclose_cancels_a_running_call() -> None:
    call = await VoiceCall().start()
    await call.run(1.0)
    await call.session.aclose()
    assert call.task is not None
    assert call.task.done()
    assert call.store.ended == ["closed"]
    assert call.stt.streams[0].closed


async def test_a_dead_socket_ends_the_call_as_disconnected() -> None:
    call = VoiceCall()

    async def broken_send(text: str) -> None:
        raise ConnectionResetError("socket closed")

    call.session._send = broken_send
    await call.start()
    await call.run(0.5)
    assert call.task is not None
    assert call.task.done()
    assert call.task.exception() is None
    assert call.store.ended == ["disconnected"]


async def test_feed_never_blocks_even_with_a_flood() -> None:
    call = VoiceCall()
    for number in range(2, 3002):
        call.session.feed(media(number, VOICE[:160]))
    assert call.session._inbox.qsize() == 3000
