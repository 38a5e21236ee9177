"""``VoiceSession``: one phone call's voice loop, in plain asyncio.

Inside one ``asyncio.TaskGroup`` four tasks run for the whole call: ``receive``
(inbound events: audio to VAD and recognizer, marks to the pacer, DTMF),
``pacer`` (outbound audio, flow-controlled by marks), ``listen`` (recognizer
events, reconnecting on failure) and ``watch`` (silence and DTMF timers on the
injected clock). Everything Zylin says runs as its own task ``turn-{n}`` so a
barge-in can cancel it at any await.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from calls.audio import ulaw2lin
from calls.voice.config import VoiceConfig
from calls.voice.conversation import ActiveTurn, Conversation
from calls.voice.echo import EchoStats, run_echo
from calls.voice.events import ConnectedEvent, DtmfEvent, InboundEvent, MarkEvent, MediaEvent, StartEvent, StopEvent
from calls.voice.faults import ProviderFault, provider_fault_sink_reset, provider_fault_sink_set
from calls.voice.listening import Listener
from calls.voice.pacer import Pacer
from calls.voice.phrases import PhraseCache
from calls.voice.ports import (
    CallControl,
    CallStore,
    Clock,
    LanguageModel,
    ProviderError,
    SessionStore,
    SpeechToText,
    TextToSpeech,
    TurnRecord,
)
from calls.voice.turns import TurnDetector
from calls.voice.vad import VoiceActivityDetector

logger = logging.getLogger(__name__)


class TransportClosed(Exception):
    """Sending to Twilio failed: the socket is gone."""


# A sequence number this many frames (1 s) behind the last one restarts the count.
RESYNC_BEHIND = 50


class InboundStats:
    """Counts of what arrived on the socket, reported when the call ends."""

    def __init__(self) -> None:
        self.media_frames = 0
        self.lost = 0  # gaps in sequenceNumber
        self.out_of_order = 0
        self.unexpected = 0
        self.errors = 0
        self._last_sequence: int | None = None

    def in_order(self, sequence_number: int) -> bool:
        """Track one sequence number; False for a duplicate or late message."""
        last = self._last_sequence
        if last is not None and sequence_number <= last:
            self.out_of_order += 1
            if last - sequence_number < RESYNC_BEHIND:
                return False
            # One socket delivers in order, so a number this far behind is not a late
            # frame: the last number was bogus. Follow the stream's own numbering again
            # rather than drop every frame until it catches up (a deaf call).
            self._last_sequence = sequence_number
            return True
        if last is not None and sequence_number > last + 1:
            self.lost += sequence_number - last - 1
        self._last_sequence = sequence_number
        return True

    def as_dict(self) -> dict[str, int]:
        return {
            "media_frames": self.media_frames,
            "lost": self.lost,
            "out_of_order": self.out_of_order,
            "unexpected": self.unexpected,
            "errors": self.errors,
        }


class VoiceSession:
    """Owns one call: hears the caller, answers through the agent, speaks, and records.

    ``feed`` takes parsed inbound events (``start`` included: the session learns
    the streamSid from it and greets), ``run`` lives as long as the call, and
    ``aclose`` cancels it. Providers passed in are owned by the caller; the
    session closes only what it opens (the recognizer stream). ``call_ended``
    reasons: stream_stopped, agent_ended, transferred, fallback, silence,
    disconnected, closed, error.
    """

    def __init__(
        self,
        *,
        send: Callable[[str], Awaitable[None]],
        stt: SpeechToText,
        tts: TextToSpeech,
        agent: LanguageModel,
        store: CallStore,
        sessions: SessionStore,
        control: CallControl,
        clock: Clock,
        config: VoiceConfig,
        session_id: str,
        phrase_cache: PhraseCache | None = None,
        resume_state: dict[str, Any] | None = None,
        first_turn_index: int = 0,
        first_utterance: str = "",
    ) -> None:
        self._send = send
        self.agent = agent
        self.store = store
        self.control = control
        self.clock = clock
        self.config = config
        self._sessions = sessions
        self._session_id = session_id
        self._resume_state = resume_state
        # What the caller already said before the stream (hybrid routing's <Gather>): answered first.
        self._first_utterance = first_utterance.strip()
        self._inbox: asyncio.Queue[tuple[object, float]] = asyncio.Queue()
        self.stats = InboundStats()
        self.echo = EchoStats()
        self.pacer = Pacer(
            self.send_text,
            clock,
            window_ms=config.playback_window_ms,
            mark_interval_ms=config.mark_interval_ms,
            max_frames_per_message=config.max_frames_per_message,
        )
        self.detector = TurnDetector(speech_start_ms=config.speech_start_ms)
        self._vad = VoiceActivityDetector(aggressiveness=config.vad_aggressiveness, min_dbfs=config.vad_min_dbfs)
        self.listener = Listener(self, stt)
        self.conversation = Conversation(self, tts, phrase_cache or PhraseCache())
        self.records: list[TurnRecord] = []
        # A later stream of a call that already has turns (and no checkpoint to resume
        # from) numbers its turns after them, so it never overwrites the call's history.
        self.turn_index = first_turn_index
        self.failures = 0
        self.last_failed_provider = ""
        self.last_activity = clock.now()
        self.call_sid = ""
        self._wall_offset = time.time() - clock.now()
        self._group: asyncio.TaskGroup | None = None
        self._run_task: asyncio.Task[Any] | None = None
        self._done = asyncio.Event()
        self._winding_down = False
        self._provider_faults: list[ProviderFault] = []
        self._fault_reporter: asyncio.Task[None] | None = None
        self._started = False
        self._end_reason = "closed"
        self.wake = asyncio.Event()  # something the timers depend on changed

    # -- public API ------------------------------------------------------------

    def feed(self, event: InboundEvent) -> None:
        """Queue one parsed inbound event; never blocks, never raises."""
        try:
            self._inbox.put_nowait((event, time.perf_counter()))
        except Exception:  # an unbounded queue does not fail; this guards the contract
            logger.exception("could not queue inbound event")

    async def run(self) -> None:
        """Serve the call until it ends; never raises except on cancellation."""
        self._run_task = asyncio.current_task()
        # Faults the adapters handle themselves (retries, reconnects) are noted to this call.
        sink = provider_fault_sink_set(self._on_provider_fault)
        try:
            if self.config.echo:
                await run_echo(self._inbox, self.send_text, self.echo, self.stats)
                self.finish("stream_stopped")
            else:
                await self._serve()
        except* TransportClosed:
            self._end_reason = "disconnected"
        except* Exception as errors:
            logger.error("voice session failed", exc_info=errors.exceptions[0], extra={"call_sid": self.call_sid})
            self._end_reason = "error"
        finally:
            self._winding_down = True
            await self.listener.close()
            if not self.config.echo:
                await self._safely(self.conversation.save_unfinished())
            await self._report_faults()
            provider_fault_sink_reset(sink)
            if self.config.echo:
                await self.report("echo_latency", self.echo.summary())
            await self.report("inbound_stats", self.stats.as_dict())
            await self._safely(self.store.call_ended(reason=self._end_reason))

    async def _serve(self) -> None:
        self._restore()
        async with asyncio.TaskGroup() as group:
            self._group = group
            tasks = [
                group.create_task(self._receive(), name="receive"),
                group.create_task(self.pacer.run(), name="pacer"),
                group.create_task(self.listener.run(), name="listen"),
                group.create_task(self.conversation.watch(), name="watch"),
            ]
            await self._done.wait()
            for task in [*tasks, *self.conversation.turn_tasks()]:
                task.cancel()

    async def aclose(self, timeout_s: float = 2.0) -> None:
        """Cancel the session and wait (bounded) for it to wind down."""
        task = self._run_task
        if task is None or task.done():
            return
        if not self._done.is_set():
            self._end_reason = "closed"
        # Once the call has ended, ``run`` is writing its last records (stats, the end of
        # the Call); a cancel there would lose them, so let it finish instead.
        if not self._winding_down:
            task.cancel()
        await asyncio.wait({task}, timeout=timeout_s)

    def finish(self, reason: str) -> None:
        """End the call: ``run`` cancels its tasks and returns."""
        if not self._done.is_set():
            self._end_reason = reason
            self._done.set()

    @property
    def ended(self) -> bool:
        return self._done.is_set()

    # -- used by Listener and Speaker -------------------------------------------

    def spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None] | None:
        """Start a task in the call's TaskGroup (None once the call is ending)."""
        if self._group is None or self._done.is_set():
            coroutine.close()
            return None
        return self._group.create_task(coroutine, name=name)

    async def send_text(self, text: str) -> None:
        try:
            await self._send(text)
        except Exception as exc:
            self.finish("disconnected")
            raise TransportClosed(str(exc)) from exc

    def mark_activity(self, now: float | None = None) -> None:
        self.last_activity = self.clock.now() if now is None else now
        self.wake.set()

    def wall_time(self, clock_time: float | None) -> float:
        return self._wall_offset + (self.clock.now() if clock_time is None else clock_time)

    async def save_turn(self, record: TurnRecord) -> None:
        self.records.append(record)
        await self._safely(self.store.turn_saved(record))

    def next_turn_index(self) -> int:
        index = self.turn_index
        self.turn_index += 1
        return index

    async def checkpoint(self, last: ActiveTurn | None) -> None:
        """Save what a new stream needs to pick the conversation up (at each turn end)."""
        try:
            agent_state = self.agent.snapshot()
        except Exception:
            logger.exception("agent snapshot failed; checkpoint skipped", extra={"call_sid": self.call_sid})
            return
        state: dict[str, Any] = {
            "version": 1,
            "agent": agent_state,
            "turn_index": self.turn_index,
            "failures": self.failures,
            "marks_acked": self.pacer.marks_acked,
        }
        if last is not None:
            state["last_reply"] = {
                "text": last.playback.text(),
                "heard": last.playback.heard_text(),
                "complete": last.playback.complete,
            }
        await self._safely(self._sessions.save(self._session_id, state, ttl_seconds=self.config.resume_window_s))

    async def provider_failed(self, error: ProviderError) -> bool:
        """Count a failure that survived its retry; True when the call must fall back."""
        self.failures += 1
        self.last_failed_provider = error.provider
        logger.warning("provider failure %d: %s", self.failures, error, extra={"call_sid": self.call_sid})
        await self.report(
            "provider_failure",
            {"provider": error.provider, "retryable": error.retryable, "error": str(error), "count": self.failures},
        )
        return self.failures >= self.config.max_provider_failures

    async def hand_over(self, reason: str) -> None:
        """Leave the call to the recording path (or a person, per config) after one sentence."""
        await self.report("hand_over", {"reason": reason})
        await self.conversation.fall_back(reason=reason)

    async def end_call(self, reason: str, control_action: Callable[[], Awaitable[None]]) -> None:
        """Act on the live call (hang up, transfer, redirect), then end the session."""
        try:
            await control_action()
        except Exception:
            logger.exception("call control failed", extra={"call_sid": self.call_sid})
        self.finish(reason)

    def _on_provider_fault(self, fault: ProviderFault) -> None:
        self._provider_faults.append(fault)
        if self._fault_reporter is None or self._fault_reporter.done():
            self._fault_reporter = self.spawn(self._report_faults(), name="provider-faults")

    async def _report_faults(self) -> None:
        while self._provider_faults:
            fault = self._provider_faults.pop(0)
            await self.report(
                "provider_fault", {"provider": fault.provider, "error": fault.error, "handling": fault.handling}
            )

    async def report(self, name: str, detail: dict[str, Any] | None = None) -> None:
        await self._safely(self.store.event(name, detail))

    async def _safely(self, awaitable: Awaitable[Any]) -> None:
        """Reporting must never break the call."""
        try:
            await awaitable
        except Exception:
            logger.exception("session reporting failed", extra={"call_sid": self.call_sid})

    # -- inbound ---------------------------------------------------------------

    def _restore(self) -> None:
        state = self._resume_state
        if not state:
            return
        try:
            self.agent.restore(state["agent"])
            self.turn_index = int(state.get("turn_index", 0))
            self.failures = int(state.get("failures", 0))
        except Exception:
            logger.exception("could not restore the checkpoint; starting afresh")
            self._resume_state = None

    async def _receive(self) -> None:
        while True:
            event, _received_at = await self._inbox.get()
            try:
                await self._handle(event)
            except TransportClosed:
                raise
            except Exception:
                self.stats.errors += 1
                logger.exception("inbound event failed", extra={"call_sid": self.call_sid})

    async def _handle(self, event: object) -> None:
        if isinstance(event, MediaEvent):
            if self.stats.in_order(event.sequence_number) and event.track in ("inbound", "inbound_track"):
                await self._on_audio(event.payload)
        elif isinstance(event, MarkEvent):
            self.stats.in_order(event.sequence_number)
            self.pacer.on_mark(event.name)
        elif isinstance(event, DtmfEvent):
            if self.stats.in_order(event.sequence_number):
                await self.conversation.on_digit(event.digit)
        elif isinstance(event, StartEvent):
            self._on_start(event)
        elif isinstance(event, StopEvent):
            self.finish("stream_stopped")
        elif not isinstance(event, ConnectedEvent):
            self.stats.unexpected += 1

    def _on_start(self, event: StartEvent) -> None:
        if self._started:
            self.stats.unexpected += 1
            return
        self._started = True
        self.call_sid = event.call_sid
        self.stats.in_order(event.sequence_number)
        self.pacer.start(event.stream_sid)
        self.mark_activity()
        if self._resume_state:
            self.conversation.say(self.config.phrases.resumed, store=True)
        elif self._first_utterance:
            self.conversation.answer(self._first_utterance)
        elif self.config.play_greeting and (greeting := self.agent.greeting().strip()):
            self.conversation.say(greeting, store=True)

    async def _on_audio(self, mulaw: bytes) -> None:
        self.stats.media_frames += 1
        now = self.clock.now()
        await self.listener.send_audio(mulaw)
        for is_speech in self._vad.process(ulaw2lin(mulaw)):
            if self.detector.on_frame(is_speech, now):
                self.listener.on_speech_started()
                self.conversation.on_speech_started()
            if is_speech:
                self.mark_activity(now)
        await self.conversation.on_caller_audio(now)
