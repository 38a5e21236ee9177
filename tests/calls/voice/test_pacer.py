"""Framer and Pacer: 20 ms frames, a bounded unacknowledged window, marks, clear, heard text."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import pytest

from calls.voice.pacer import Framer, Pacer
from tests.fakes.clock import ManualClock, settle


class Twilio:
    """Collects what the pacer sends; acknowledges marks on request."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def send(self, text: str) -> None:
        self.messages.append(json.loads(text))

    def media_bytes(self) -> int:
        return sum(len(base64.b64decode(m["media"]["payload"])) for m in self.messages if m["event"] == "media")

    def marks(self) -> list[str]:
        return [m["mark"]["name"] for m in self.messages if m["event"] == "mark"]

    def kinds(self) -> list[str]:
        return [m["event"] for m in self.messages]


@pytest.fixture
async def line() -> AsyncIterator[tuple[Pacer, Twilio]]:
    twilio = Twilio()
    pacer = Pacer(twilio.send, ManualClock(), window_ms=300, mark_interval_ms=100, max_frames_per_message=5)
    pacer.start("MZ1")
    task = asyncio.create_task(pacer.run())
    yield pacer, twilio
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_framer_carries_the_remainder_and_pads_the_last_frame() -> None:
    framer = Framer()
    assert [len(f) for f in framer.push(b"\x01" * 400)] == [160, 160]
    assert [len(f) for f in framer.push(b"\x02" * 100)] == [160]  # 80 carried + 80 new
    last = framer.flush()
    assert last == b"\x02" * 20 + b"\xff" * 140
    assert framer.flush() is None


async def test_window_caps_unacknowledged_audio(line: tuple[Pacer, Twilio]) -> None:
    pacer, twilio = line
    playback = pacer.open("t1")
    playback.say("a long sentence", b"\x20" * 16000)  # 2 s
    await settle()
    assert twilio.media_bytes() == 2400  # 300 ms
    assert twilio.marks() == ["t1.1", "t1.2", "t1.3"]  # one per 100 ms
    assert pacer.unacked_ms == 300
    await settle()
    assert twilio.media_bytes() == 2400  # nothing more until Twilio confirms playback

    pacer.on_mark("t1.1")
    await settle()
    assert twilio.media_bytes() == 3200
    assert pacer.unacked_ms == 300


async def test_media_messages_carry_up_to_five_frames(line: tuple[Pacer, Twilio]) -> None:
    pacer, twilio = line
    pacer.open("t1").say("x", b"\x20" * 2400)
    await settle()
    sizes = [len(base64.b64decode(m["media"]["payload"])) for m in twilio.messages if m["event"] == "media"]
    assert sizes == [800, 800, 800]
    assert twilio.kinds() == ["media", "mark"] * 3  # the last interval mark also ends the segment


async def test_segment_end_gets_a_mark_and_padding(line: tuple[Pacer, Twilio]) -> None:
    pacer, twilio = line
    playback = pacer.open("t1")
    playback.say("one", b"\x20" * 2000)  # 250 ms
    await settle()
    assert twilio.media_bytes() == 2080  # padded to whole frames
    assert len(twilio.marks()) == 3


async def test_played_waits_for_the_final_mark(line: tuple[Pacer, Twilio]) -> None:
    pacer, twilio = line
    playback = pacer.open("t1")
    playback.say("hello there", b"\x20" * 1600)
    playback.finish()
    await settle()
    assert not playback.done.is_set()
    for name in twilio.marks():
        pacer.on_mark(name)
    await settle()
    assert playback.done.is_set()
    assert playback.complete
    assert playback.heard_text() == "hello there"
    assert pacer.idle


async def test_heard_text_follows_acknowledged_marks(line: tuple[Pacer, Twilio]) -> None:
    pacer, twilio = line
    playback = pacer.open("t1")
    playback.say("Sure,", b"\x21" * 800)  # 100 ms
    playback.say("one two three four", b"\x22" * 3200)  # 400 ms
    playback.finish()
    await settle()
    assert playback.heard_text() == ""
    marks = twilio.marks()
    pacer.on_mark(marks[0])  # "Sure," has played
    assert playback.heard_text() == "Sure,"
    await settle()
    pacer.on_mark(twilio.marks()[2])  # 200 of 400 ms of the second segment (implies the mark before)
    assert playback.heard_text() == "Sure, one two"
    assert not playback.complete
    pacer.on_mark(twilio.marks()[3])
    assert playback.heard_text() == "Sure, one two three"


async def test_interrupt_clears_twilio_and_drops_queued_audio(line: tuple[Pacer, Twilio]) -> None:
    pacer, twilio = line
    playback = pacer.open("t1")
    playback.say("first part", b"\x20" * 8000)
    await settle()
    pending = twilio.marks()
    assert await pacer.interrupt() is True
    assert twilio.kinds()[-1] == "clear"
    assert playback.cancelled
    assert playback.done.is_set()
    assert pacer.unacked_ms == 0
    # Twilio echoes the pending marks after a clear: they must not count as heard.
    for name in pending:
        pacer.on_mark(name)
    assert playback.heard_text() == ""
    assert pacer.unknown_marks == 0
    before = twilio.media_bytes()
    await settle()
    assert twilio.media_bytes() == before  # the rest of the old audio never goes out

    nxt = pacer.open("t2")
    nxt.say("new answer", b"\x30" * 800)
    await settle()
    assert twilio.media_bytes() == before + 800  # window reset: sent at once


async def test_interrupt_without_audio_at_twilio_sends_no_clear(line: tuple[Pacer, Twilio]) -> None:
    pacer, twilio = line
    assert await pacer.interrupt() is False
    assert "clear" not in twilio.kinds()


async def test_audio_after_cancel_is_ignored(line: tuple[Pacer, Twilio]) -> None:
    pacer, twilio = line
    playback = pacer.open("t1")
    segment = playback.segment("late words")
    await pacer.interrupt()
    segment.append(b"\x20" * 1600)
    segment.close()
    await settle()
    assert twilio.media_bytes() == 0


async def test_unknown_marks_are_counted_not_fatal(line: tuple[Pacer, Twilio]) -> None:
    pacer, _ = line
    pacer.on_mark("nobody-sent-this")
    assert pacer.unknown_marks == 1


async def test_nothing_is_sent_before_the_stream_starts() -> None:
    twilio = Twilio()
    clock = ManualClock()
    pacer = Pacer(twilio.send, clock)
    task = asyncio.create_task(pacer.run())
    pacer.open("t1").say("hi", b"\x20" * 800)
    await settle()
    assert twilio.messages == []
    pacer.start("MZ9")
    await settle()
    assert twilio.messages[0]["streamSid"] == "MZ9"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_first_frame_time_is_stamped_per_segment() -> None:
    twilio = Twilio()
    clock = ManualClock(start=50.0)
    pacer = Pacer(twilio.send, clock)
    pacer.start("MZ1")
    task = asyncio.create_task(pacer.run())
    playback = pacer.open("t1")
    playback.say("One moment.", b"\x20" * 160, spoken=False)
    await clock.advance(0.5)
    playback.say("Here it is.", b"\x21" * 160)
    await settle()
    assert playback.first_sent_at(spoken_only=False) == 50.0
    assert playback.first_sent_at() == 50.5
    assert playback.text() == "Here it is."
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def payload(message: dict) -> bytes:
    return base64.b64decode(message["media"]["payload"])


async def test_pause_clears_and_resume_replays_from_the_last_confirmed_mark(line: tuple[Pacer, Twilio]) -> None:
    pacer, twilio = line
    playback = pacer.open("t1")
    # Ten 100 ms pieces, each its own byte value, so what is sent twice can be told apart.
    audio = b"".join(bytes([0x20 + i]) * 800 for i in range(10))
    playback.say("one two three four five six seven eight nine ten", audio)
    playback.finish()
    await settle()
    first_marks = twilio.marks()
    pacer.on_mark(first_marks[0])  # the first 100 ms has played
    await settle()
    sent_before = len(twilio.messages)

    assert await pacer.pause() is True
    assert twilio.kinds()[sent_before:] == ["clear"]
    for name in twilio.marks():  # Twilio echoes the pending marks after a clear
        pacer.on_mark(name)
    await settle()
    assert twilio.kinds()[sent_before:] == ["clear"]  # nothing is sent while paused
    assert playback.heard_text() == "one"
    assert await pacer.pause() is False  # already paused

    pacer.resume()
    await settle()
    resumed = [payload(m) for m in twilio.messages[sent_before + 1 :] if m["event"] == "media"]
    assert resumed[0][:1] == bytes([0x21])  # replays from the second piece, the first unconfirmed one
    while not playback.done.is_set():
        for name in twilio.marks()[len(first_marks) :]:
            pacer.on_mark(name)
        await settle()
    assert playback.complete
    assert playback.heard_text() == "one two three four five six seven eight nine ten"
    # Every piece reached Twilio in order; only the unconfirmed ones went twice.
    pieces = [p[0] for m in twilio.messages if m["event"] == "media" for p in [payload(m)]]
    assert pieces == [0x20, 0x21, 0x22, 0x23] + list(range(0x21, 0x2A))  # 400 ms out when paused


async def test_interrupt_after_a_pause_drops_the_kept_audio(line: tuple[Pacer, Twilio]) -> None:
    pacer, twilio = line
    playback = pacer.open("t1")
    playback.say("a long sentence", b"\x20" * 8000)
    playback.finish()
    await settle()
    await pacer.pause()
    assert await pacer.interrupt() is False  # the pause already cleared Twilio
    assert twilio.kinds().count("clear") == 1
    assert playback.cancelled
    assert not pacer.paused
    follow = pacer.open("t2")
    follow.say("next", b"\x30" * 800)
    await settle()
    assert payload(twilio.messages[-2]) == b"\x30" * 800  # the next turn plays at once


async def test_a_segment_end_sent_alone_survives_a_pause(line: tuple[Pacer, Twilio]) -> None:
    pacer, twilio = line
    playback = pacer.open("t1")
    segment = playback.segment("streamed words")
    segment.append(b"\x20" * 800)  # exactly one interval: the mark is not yet the segment's end
    await settle()
    pacer.on_mark(twilio.marks()[0])
    segment.close()  # its end goes alone, with its own mark at the same offset
    playback.finish()
    await settle()
    await pacer.pause()
    pacer.resume()
    await settle()
    for name in twilio.marks()[1:]:
        pacer.on_mark(name)
    await settle()
    assert playback.done.is_set()
    assert playback.complete
