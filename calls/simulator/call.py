"""One simulated phone call: Twilio's side of the voice webhook and the Media Stream.

The call POSTs the signed voice webhook, follows the TwiML to the media
socket (a signed upgrade), sends ``connected`` and ``start``, then runs in
real time: every 20 ms it sends one caller frame (speech from the script, or
line silence) and plays one frame of Zylin's audio, echoing marks as Twilio
does. The script waits for Zylin to finish speaking before each line, unless
the line is meant to be spoken over Zylin's reply (barge-in).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from calls.audio import FRAME_BYTES, MULAW_SILENCE
from calls.simulator.earpiece import FRAME_S, Earpiece
from calls.simulator.messages import TwilioStream, outbound_audio, outbound_event, sid
from calls.simulator.report import CallResult, TurnResult
from calls.simulator.script import CallerLine
from calls.simulator.webhooks import StreamInstruction, Target, TwilioWebhooks
from calls.twilio_signature import SIGNATURE_HEADER, signature_compute

logger = logging.getLogger(__name__)

SILENT_FRAME = bytes([MULAW_SILENCE]) * FRAME_BYTES
DTMF_GAP_S = 0.3
STOP_WAIT_S = 3.0


@dataclass(frozen=True)
class CallOptions:
    """How the simulated caller behaves.

    Attributes:
        settle_s: Zylin silent this long (nothing playing, no mark pending) has finished speaking.
        pause_s: the caller's pause after Zylin finished, before the next line.
        greeting_timeout_s: how long to wait for a greeting (none with stand-ins).
        reply_timeout_s: how long to wait for Zylin to answer a line.
        max_reply_s: the longest the caller lets Zylin talk before going on anyway
            (echo mode plays back everything, silence included).
        duration_s: repeat the script until the call has lasted this long (load tests).
        keep_audio: keep both sides' audio for ``--save-audio``.
        drop: end by dropping the socket (no ``stop``, no status callbacks), as a
            network failure would, so the stream can be resumed.
    """

    caller: str = "+15551230000"
    to: str = "+15005550006"
    settle_s: float = 0.6
    pause_s: float = 0.3
    greeting_timeout_s: float = 4.0
    reply_timeout_s: float = 12.0
    max_reply_s: float = 60.0
    duration_s: float | None = None
    keep_audio: bool = False
    drop: bool = False


class SimulatedCall:
    """Plays Twilio for one call against ``target``; ``run`` returns what it measured.

    ``call_sid`` continues an existing call (a stream reconnecting after a drop).
    """

    def __init__(
        self,
        target: Target,
        lines: Sequence[CallerLine],
        options: CallOptions,
        http: httpx.AsyncClient,
        *,
        call_sid: str | None = None,
    ) -> None:
        self.target = target
        self.lines = list(lines)
        self.options = options
        self.webhooks = TwilioWebhooks(target, http)
        self.stream = TwilioStream(call_sid=call_sid or sid("CA"))
        self.instruction: StreamInstruction | None = None
        self.result = CallResult(call_sid=self.stream.call_sid)
        self.earpiece = Earpiece(keep_audio=options.keep_audio)
        self.caller_audio = bytearray() if options.keep_audio else None
        self._ws: ClientConnection | None = None
        self._t0 = 0.0
        self._line: CallerLine | None = None
        self._line_position = 0
        self._line_sent_at: list[float] = []
        self._line_done = asyncio.Event()
        self._activity = asyncio.Event()
        self._closed = asyncio.Event()

    def now(self) -> float:
        return asyncio.get_running_loop().time() - self._t0

    async def run(self, stream: StreamInstruction | None = None) -> CallResult:
        """Place the call; with ``stream``, skip the webhook and (re)open that Media Stream."""
        result = self.result
        try:
            if stream is None:
                answer = await self.webhooks.voice(
                    call_sid=self.stream.call_sid, account_sid=self.stream.account_sid, caller=self.options.caller,
                    to=self.options.to,
                )  # fmt: skip
                result.path, result.route_said, stream = answer.path, answer.said, answer.stream
            else:
                result.path = "streaming"
            self.instruction = stream
            if stream is not None:
                await self._stream(stream)
        except Exception as error:  # the report says what went wrong; the other calls go on
            logger.debug("simulated call failed", exc_info=True)
            result.error = f"{type(error).__name__}: {error}"
        return result

    # -- the media stream ----------------------------------------------------------------

    async def _stream(self, instruction: StreamInstruction) -> None:
        signature = signature_compute(url=instruction.url, params={})
        async with connect(
            self.target.ws_url(instruction.url),
            additional_headers={SIGNATURE_HEADER: signature},
            proxy=None,
            compression=None,
            open_timeout=10,
        ) as ws:
            self._ws = ws
            self._t0 = asyncio.get_running_loop().time()
            self.result.stream_sid = self.stream.stream_sid
            await ws.send(self.stream.connected())
            await ws.send(self.stream.start(instruction.parameters))
            # Twilio posts the status callback on its own; the stream does not wait for it.
            started = asyncio.create_task(self._stream_status(instruction, "stream-started"), name="sim-started")
            receiver = asyncio.create_task(self._receive(ws), name="sim-receive")
            ticker = asyncio.create_task(self._tick(ws), name="sim-tick")
            try:
                await self._converse()
                if not self._closed.is_set() and not self.options.drop:
                    await ws.send(self.stream.stop())
                    # Zylin closes the socket once the call is wound down; the status
                    # callbacks that follow then find it finished, as with Twilio.
                    await self._until(self._closed, timeout_s=STOP_WAIT_S)
            except ConnectionClosed:
                pass
            finally:
                ticker.cancel()
                await ws.close()
                await asyncio.gather(receiver, ticker, return_exceptions=True)
                await started
            self.result.close_code = ws.close_code
        self.result.duration_s = self.now()
        self._collect()
        if self.options.drop:
            return
        await self._stream_status(instruction, "stream-stopped")
        await self.webhooks.call_completed(
            call_sid=self.stream.call_sid, account_sid=self.stream.account_sid, duration_s=self.result.duration_s
        )

    async def _stream_status(self, instruction: StreamInstruction, event: str) -> None:
        await self.webhooks.stream_status(
            instruction, call_sid=self.stream.call_sid, account_sid=self.stream.account_sid,
            stream_sid=self.stream.stream_sid, event=event,
        )  # fmt: skip

    async def _receive(self, ws: ClientConnection) -> None:
        earpiece, errors = self.earpiece, self.result.protocol_errors
        try:
            async for frame in ws:
                if not isinstance(frame, str):
                    errors.append("binary frame")
                    continue
                try:
                    event, message = outbound_event(frame)
                    if message.get("streamSid") != self.stream.stream_sid:
                        errors.append(f"{event} for another streamSid")
                    if event == "media":
                        earpiece.media(outbound_audio(message), self.now())
                    elif event == "mark":
                        await self._echo(earpiece.mark(str(message["mark"]["name"])))
                    elif event == "clear":
                        await self._echo(earpiece.clear(self.now()))
                    else:
                        errors.append(f"unknown event {event!r}")
                except (ValueError, KeyError, TypeError) as error:
                    errors.append(f"bad frame: {error}")
                self._activity.set()
        except ConnectionClosed:
            pass
        finally:
            self._closed.set()
            self._activity.set()

    async def _tick(self, ws: ClientConnection) -> None:
        """Real time: one caller frame out and one of Zylin's frames played every 20 ms."""
        loop = asyncio.get_running_loop()
        ticks = 0
        while True:
            ticks += 1
            deadline = self._t0 + ticks * FRAME_S
            lag = loop.time() - deadline
            if lag < 0:
                await asyncio.sleep(-lag)
            elif lag > FRAME_S:
                self.result.late_ticks += 1
                self.result.max_tick_lag_ms = max(self.result.max_tick_lag_ms, lag * 1000)
            frame = self._next_caller_frame()
            await ws.send(self.stream.media(frame))
            if self.caller_audio is not None:
                self.caller_audio += frame
            await self._echo(self.earpiece.play(self.now()))

    def _next_caller_frame(self) -> bytes:
        line = self._line
        if line is None:
            return SILENT_FRAME
        frame = line.audio[self._line_position : self._line_position + FRAME_BYTES]
        self._line_position += FRAME_BYTES
        self._line_sent_at.append(self.now())
        if self._line_position >= len(line.audio):
            self._line = None
            self._line_done.set()
        return frame + SILENT_FRAME[len(frame) :]

    async def _echo(self, names: list[str]) -> None:
        for name in names:
            if self._ws is not None and not self._closed.is_set():
                await self._ws.send(self.stream.mark(name))

    # -- the conversation ------------------------------------------------------------------

    async def _converse(self) -> None:
        options = self.options
        greeting = await self._audio_after(0.0, options.greeting_timeout_s)
        if greeting is not None:
            self.result.greeting_ms = round(greeting * 1000, 1)
            await self._quiet()
        index = 0
        while not self._closed.is_set():
            if index >= len(self.lines):
                if options.duration_s is None or self.now() >= options.duration_s or not self.lines:
                    return
                index = 0
            line = self.lines[index]
            previous = self.result.turns[-1] if self.result.turns else None
            reply_at = previous.first_reply_at if previous is not None else None
            over_reply = False
            if line.over_reply_s is not None and reply_at is not None:
                await self._sleep_until(reply_at + line.over_reply_s)
                over_reply = self.earpiece.busy  # only over Zylin if Zylin is still talking
            if not over_reply:
                await self._quiet()
                await asyncio.sleep(options.pause_s)
            turn = await self._say(line, over_reply=over_reply)
            self.result.turns.append(turn)
            following = self.lines[index + 1] if index + 1 < len(self.lines) else None
            await self._answer(turn, wait_for_end=following is None or following.over_reply_s is None)
            index += 1

    async def _say(self, line: CallerLine, *, over_reply: bool) -> TurnResult:
        turn = TurnResult(index=len(self.result.turns), label=line.label, text=line.text, over_reply=over_reply)
        clears_before = len(self.earpiece.clears)
        if line.digits:
            for position, digit in enumerate(line.digits):
                if position:
                    await asyncio.sleep(DTMF_GAP_S)
                assert self._ws is not None
                await self._ws.send(self.stream.dtmf(digit))
                turn.speech_start = turn.speech_start if turn.speech_start is not None else self.now()
            turn.speech_end = self.now()
        else:
            self._line_sent_at = []
            self._line_position = 0
            self._line_done.clear()
            self._line = line
            await self._until(self._line_done)
            sent = self._line_sent_at
            first = min(len(sent) - 1, round(line.speech_start_s / FRAME_S))
            last = min(len(sent) - 1, max(0, round(line.speech_end_s / FRAME_S) - 1))
            turn.speech_start = sent[first] - FRAME_S if sent else None
            turn.speech_end = sent[last] if sent else None
        if over_reply and turn.speech_start is not None:
            clears = self.earpiece.clears[clears_before:]
            if not clears:
                await self._wait_activity(1.5, lambda: len(self.earpiece.clears) > clears_before)
                clears = self.earpiece.clears[clears_before:]
            if clears:
                turn.clear_after_ms = round((clears[0] - turn.speech_start) * 1000, 1)
        return turn

    async def _answer(self, turn: TurnResult, *, wait_for_end: bool) -> None:
        """Wait for Zylin's answer to ``turn``: its first audio, then (usually) its end."""
        assert turn.speech_end is not None
        received_before = self.earpiece.received
        first = self.earpiece.first_audio_after(turn.speech_end)
        if first is None:
            first = await self._audio_after(turn.speech_end, self.options.reply_timeout_s)
        if first is not None:
            turn.first_reply_at = first
            turn.voice_to_voice_ms = round((first - turn.speech_end) * 1000, 1)
        if wait_for_end and first is not None:
            await self._quiet()
        turn.reply_audio_ms = (self.earpiece.received - received_before) / 8

    # -- waiting -----------------------------------------------------------------------------

    async def _audio_after(self, at: float, timeout_s: float) -> float | None:
        """When Zylin's first audio after ``at`` arrived, waiting up to ``timeout_s``."""
        await self._wait_activity(timeout_s, lambda: self.earpiece.first_audio_after(at) is not None)
        return self.earpiece.first_audio_after(at)

    async def _quiet(self) -> None:
        """Until Zylin has said nothing for ``settle_s`` (or the stream closed)."""
        settle = self.options.settle_s
        give_up = self.now() + self.options.max_reply_s
        while not self._closed.is_set() and self.now() < give_up:
            last = self.earpiece.arrivals[-1][0] if self.earpiece.arrivals else 0.0
            if not self.earpiece.busy and self.now() - last >= settle:
                return
            await asyncio.sleep(FRAME_S)

    async def _wait_activity(self, timeout_s: float, done: Callable[[], bool]) -> None:
        deadline = self.now() + timeout_s
        while not done() and not self._closed.is_set():
            remaining = deadline - self.now()
            if remaining <= 0:
                return
            self._activity.clear()
            try:
                await asyncio.wait_for(self._activity.wait(), timeout=remaining)
            except TimeoutError:
                return

    async def _until(self, event: asyncio.Event, *, timeout_s: float | None = None) -> None:
        """Until ``event`` is set, the stream closes, or ``timeout_s`` passes."""
        closed = asyncio.ensure_future(self._closed.wait())
        waiter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({closed, waiter}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            waiter.cancel()

    async def _sleep_until(self, at: float) -> None:
        if (delay := at - self.now()) > 0:
            await asyncio.sleep(delay)

    def _collect(self) -> None:
        earpiece, result = self.earpiece, self.result
        result.gaps = earpiece.gaps()
        result.media_messages = earpiece.media_messages
        result.marks = len(earpiece.marks)
        result.marks_acked = earpiece.acked
        result.clears = len(earpiece.clears)
