"""Outbound audio: 20 ms framing and mark-flow-controlled sending to Twilio.

Zylin never sleeps to pace audio. It keeps at most ``window_ms`` of audio that
Twilio has not yet confirmed playing, and sends a ``mark`` every
``mark_interval_ms`` and at the end of each segment (a sentence). Twilio echoes a
mark once the audio before it has played, which frees window space and records
what the caller heard. Because Twilio's buffer stays short, ``clear`` on barge-in
silences Zylin at once; after a clear Twilio echoes every pending mark, and those
echoes are ignored (that audio was never heard).

``pause`` is a ``clear`` that keeps the audio: what Twilio had not confirmed
playing goes back to the front of the queue, and ``resume`` plays on from the
last confirmed mark. The voice loop pauses as soon as the caller starts talking
over Zylin and decides afterwards whether that was an interruption.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from calls.audio import FRAME_BYTES, MULAW_SILENCE, PHONE_RATE
from calls.twilio_media import clear_message, mark_message, media_message
from calls.voice.ports import Clock

BYTES_PER_MS = PHONE_RATE // 1000


class Framer:
    """Cuts a stream of mu-law bytes into 20 ms frames, carrying the remainder."""

    def __init__(self, frame_bytes: int = FRAME_BYTES) -> None:
        self._frame_bytes = frame_bytes
        self._carry = b""

    def push(self, audio: bytes) -> list[bytes]:
        data = self._carry + audio
        whole = len(data) - len(data) % self._frame_bytes
        self._carry = data[whole:]
        return [data[start : start + self._frame_bytes] for start in range(0, whole, self._frame_bytes)]

    def flush(self) -> bytes | None:
        """The last partial frame padded with silence, or None."""
        if not self._carry:
            return None
        frame = self._carry + bytes([MULAW_SILENCE]) * (self._frame_bytes - len(self._carry))
        self._carry = b""
        return frame


class Segment:
    """The audio of one piece of text (a sentence, a phrase) inside a playback."""

    def __init__(self, playback: Playback, text: str, *, spoken: bool) -> None:
        self.playback = playback
        self.text = text
        self.spoken = spoken  # the agent's own words (a filler is not)
        self.total_bytes = 0
        self.heard_bytes = 0
        self.closed = False
        self.end_acked = False
        self.first_sent_at: float | None = None
        self._framer = Framer()

    def append(self, audio: bytes) -> None:
        if self.closed or self.playback.cancelled:
            return
        for frame in self._framer.push(audio):
            self._enqueue(frame)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.playback.cancelled:
            return
        if (last := self._framer.flush()) is not None:
            self._enqueue(last)
        self.playback.pacer._enqueue(_SegmentEnd(self))

    def _enqueue(self, frame: bytes) -> None:
        self.total_bytes += len(frame)
        self.playback.pacer._enqueue(_Frame(self, frame, self.total_bytes))


class Playback:
    """Everything Zylin says in one turn, and how much of it the caller heard."""

    def __init__(self, pacer: Pacer, label: str) -> None:
        self.pacer = pacer
        self.label = label
        self.segments: list[Segment] = []
        self.finished = False
        self.cancelled = False
        self._done = asyncio.Event()

    def segment(self, text: str, *, spoken: bool = True) -> Segment:
        segment = Segment(self, text, spoken=spoken)
        self.segments.append(segment)
        return segment

    def say(self, text: str, audio: bytes, *, spoken: bool = True) -> Segment:
        """Queue a whole, ready clip (a cached phrase)."""
        segment = self.segment(text, spoken=spoken)
        segment.append(audio)
        segment.close()
        return segment

    def finish(self) -> None:
        """No more segments will be added."""
        self.finished = True
        self._update()

    async def played(self) -> None:
        """Return once every segment has played (or the playback was cancelled)."""
        await self._done.wait()

    @property
    def done(self) -> asyncio.Event:
        return self._done

    @property
    def has_audio(self) -> bool:
        return any(segment.total_bytes for segment in self.segments)

    @property
    def complete(self) -> bool:
        """Finished and heard in full."""
        return self.finished and not self.cancelled and all(s.end_acked for s in self.segments)

    @property
    def unplayed_ms(self) -> float:
        return sum(s.total_bytes - s.heard_bytes for s in self.segments) / BYTES_PER_MS

    def first_sent_at(self, *, spoken_only: bool = True) -> float | None:
        times = [
            s.first_sent_at for s in self.segments if s.first_sent_at is not None and (s.spoken or not spoken_only)
        ]
        return min(times) if times else None

    def text(self) -> str:
        """All the agent's words queued in this playback."""
        return " ".join(s.text for s in self.segments if s.spoken and s.text)

    def heard_text(self) -> str:
        """The agent's words the caller heard: whole segments, then the heard share of the next."""
        parts: list[str] = []
        for segment in self.segments:
            if segment.end_acked:
                if segment.spoken and segment.text:
                    parts.append(segment.text)
                continue
            if segment.spoken and segment.heard_bytes and segment.total_bytes:
                words = segment.text.split()
                count = len(words) * segment.heard_bytes // segment.total_bytes
                if count:
                    parts.append(" ".join(words[:count]))
            break
        return " ".join(parts)

    def _cancel(self) -> None:
        self.cancelled = True
        self._done.set()

    def _update(self) -> None:
        if self.cancelled or (self.finished and all(s.end_acked for s in self.segments)):
            self._done.set()


@dataclass(frozen=True)
class _Frame:
    segment: Segment
    data: bytes
    end_offset: int  # bytes of the segment up to and including this frame


@dataclass(frozen=True)
class _SegmentEnd:
    segment: Segment


@dataclass(frozen=True)
class _Mark:
    segment: Segment
    segment_offset: int
    stream_offset: int  # total bytes sent on the stream when the mark was sent
    segment_end: bool


class Pacer:
    """Sends queued playback audio to Twilio, flow-controlled by marks.

    Args:
        send: sends one JSON text frame to Twilio.
        clock: stamps when each segment's first frame went out.
        window_ms: most unacknowledged audio allowed at Twilio.
        mark_interval_ms: audio between marks inside a segment.
        max_frames_per_message: 20 ms frames sent together when already queued.
    """

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        clock: Clock,
        *,
        window_ms: int = 300,
        mark_interval_ms: int = 100,
        max_frames_per_message: int = 5,
    ) -> None:
        self._send = send
        self._clock = clock
        self._window_bytes = window_ms * BYTES_PER_MS
        self._mark_interval_bytes = mark_interval_ms * BYTES_PER_MS
        self._max_frames = max_frames_per_message
        self.stream_sid: str | None = None
        self._queue: deque[_Frame | _SegmentEnd] = deque()
        self._wake = asyncio.Event()
        # Held while a media+mark pair goes out, so a clear never lands between them.
        self._lock = asyncio.Lock()
        self._sent_bytes = 0
        self._acked_bytes = 0
        self._since_mark_bytes = 0
        self._mark_count = 0
        self._outstanding: OrderedDict[str, _Mark] = OrderedDict()
        # Sent items Twilio has not confirmed playing, with the stream offset after each.
        self._inflight: deque[tuple[_Frame | _SegmentEnd, int]] = deque()
        self._discarded: set[str] = set()
        self.paused = False
        self._playbacks: list[Playback] = []
        self.unknown_marks = 0
        self.marks_acked = 0

    def open(self, label: str) -> Playback:
        playback = Playback(self, label)
        self._playbacks = [p for p in self._playbacks if not p.done.is_set()]
        self._playbacks.append(playback)
        return playback

    def start(self, stream_sid: str) -> None:
        self.stream_sid = stream_sid
        self._wake.set()

    @property
    def unacked_ms(self) -> float:
        return (self._sent_bytes - self._acked_bytes) / BYTES_PER_MS

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing waiting for Twilio to play."""
        return not self._queue and not self._outstanding and self._sent_bytes == self._acked_bytes

    async def run(self) -> None:
        while True:
            while not self._can_send():
                self._wake.clear()
                await self._wake.wait()
            async with self._lock:
                if self._can_send():
                    await self._send_batch()

    def on_mark(self, name: str) -> None:
        """Twilio echoed a mark: everything before it has played (or was cleared)."""
        if name in self._discarded:
            self._discarded.discard(name)
            return
        if name not in self._outstanding:
            self.unknown_marks += 1
            return
        # Marks echo in order; one lost on the way is implied by a later one.
        while self._outstanding:
            mark_name, mark = self._outstanding.popitem(last=False)
            segment = mark.segment
            segment.heard_bytes = max(segment.heard_bytes, mark.segment_offset)
            if mark.segment_end:
                segment.end_acked = True
                segment.playback._update()
            self._acked_bytes = max(self._acked_bytes, mark.stream_offset)
            self._forget_played(mark)
            self.marks_acked += 1
            if mark_name == name:
                break
        self._wake.set()

    async def interrupt(self) -> bool:
        """Drop queued audio, send ``clear`` if Twilio holds any, reset the window.

        Returns whether a ``clear`` was sent.
        """
        async with self._lock:
            self._queue.clear()
            pending = await self._clear()
            self._inflight.clear()
            self._acked_bytes = self._sent_bytes
            self.paused = False
            for playback in self._playbacks:
                if not playback.done.is_set():
                    playback._cancel()
            self._playbacks.clear()
            self._wake.set()
            return pending

    async def pause(self) -> bool:
        """Silence Zylin now but keep the audio: the unconfirmed part will play again.

        Returns whether a ``clear`` was sent.
        """
        if self.paused:
            return False
        self.paused = True  # at once: nothing more is sent while a batch finishes going out
        async with self._lock:
            if not self.paused:
                return False  # resumed or interrupted while the batch went out
            pending = await self._clear()
            # Back to the queue's front, in order, from the last mark Twilio confirmed.
            self._queue.extendleft(item for item, _ in reversed(self._inflight))
            self._inflight.clear()
            self._sent_bytes = self._acked_bytes
            return pending

    def resume(self) -> None:
        """Play on after a pause (a no-op when not paused)."""
        if self.paused:
            self.paused = False
            self._wake.set()

    def _forget_played(self, mark: _Mark) -> None:
        """Drop the sent items a confirmed mark covers (a segment's end only with its own mark)."""
        while self._inflight:
            item, offset = self._inflight[0]
            if offset > mark.stream_offset:
                return
            ended_by_other_mark = not (mark.segment_end and mark.segment is item.segment)
            if isinstance(item, _SegmentEnd) and ended_by_other_mark and offset == mark.stream_offset:
                return
            self._inflight.popleft()

    async def _clear(self) -> bool:
        """Send ``clear`` if Twilio holds audio; forget the marks it will echo for it."""
        pending = bool(self._outstanding) or self._sent_bytes > self._acked_bytes
        if pending and self.stream_sid is not None:
            await self._send(clear_message(self.stream_sid))
        self._discarded.update(self._outstanding)
        self._outstanding.clear()
        self._since_mark_bytes = 0
        return pending

    def _enqueue(self, item: _Frame | _SegmentEnd) -> None:
        self._queue.append(item)
        self._wake.set()

    def _can_send(self) -> bool:
        if self.stream_sid is None or not self._queue or self.paused:
            return False
        head = self._queue[0]
        return isinstance(head, _SegmentEnd) or self._sent_bytes - self._acked_bytes < self._window_bytes

    async def _send_batch(self) -> None:
        assert self.stream_sid is not None
        frames: list[bytes] = []
        segment: Segment | None = None
        mark: _Mark | None = None
        batch_bytes = 0
        popped: list[_Frame | _SegmentEnd] = []
        unacked = self._sent_bytes - self._acked_bytes
        while self._queue and mark is None:
            item = self._queue[0]
            if segment is not None and item.segment is not segment:
                break
            if isinstance(item, _SegmentEnd):
                self._queue.popleft()
                popped.append(item)
                mark = _Mark(item.segment, item.segment.total_bytes, self._sent_bytes + batch_bytes, True)
                break
            if len(frames) == self._max_frames or (
                frames and unacked + batch_bytes + len(item.data) > self._window_bytes
            ):
                break
            self._queue.popleft()
            popped.append(item)
            frames.append(item.data)
            segment = item.segment
            batch_bytes += len(item.data)
            if self._since_mark_bytes + batch_bytes >= self._mark_interval_bytes:
                # An interval mark on a segment's last frame doubles as its end mark.
                ends = (
                    bool(self._queue) and isinstance(self._queue[0], _SegmentEnd) and self._queue[0].segment is segment
                )
                if ends:
                    popped.append(self._queue.popleft())
                mark = _Mark(item.segment, item.end_offset, self._sent_bytes + batch_bytes, ends)
        offset = self._sent_bytes
        for item in popped:
            if isinstance(item, _Frame):
                offset += len(item.data)
            self._inflight.append((item, offset))
        if frames:
            assert segment is not None
            if segment.first_sent_at is None:
                segment.first_sent_at = self._clock.now()
            self._sent_bytes += batch_bytes
            self._since_mark_bytes += batch_bytes
            await self._send(media_message(self.stream_sid, b"".join(frames)))
        if mark is not None:
            self._mark_count += 1
            name = f"{mark.segment.playback.label}.{self._mark_count}"
            self._outstanding[name] = mark
            self._since_mark_bytes = 0
            await self._send(mark_message(self.stream_sid, name))
