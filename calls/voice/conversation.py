"""Turn-taking between the caller and Zylin: who has the floor, and what happens next.

Every time Zylin speaks (a reply, the greeting, a prompt) it runs as one task
``turn-{n}``. Caller speech over Zylin first pauses it (``clear``, the audio
kept); speech that then passes the ``BargeInPolicy`` interrupts it in this
order: cancel the turn (bounded wait), drop queued audio, reset the window, then
store only what the caller heard. A pause that does not become an interruption
(a backchannel, a cough) resumes once the caller is quiet again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal

from calls.voice.active_turn import ActiveTurn
from calls.voice.clock import wait_event
from calls.voice.keypad import DigitEntry
from calls.voice.overlap import Overlap, overlap_decide
from calls.voice.pacer import Playback
from calls.voice.phrases import PhraseCache
from calls.voice.ports import CallAction, TextToSpeech, TurnRecord
from calls.voice.reply import Reply, ReplyTimings

if TYPE_CHECKING:
    from calls.voice.session import VoiceSession

logger = logging.getLogger(__name__)

TextSource = Literal["vad", "asr", "dtmf", "before_stream"]


class Conversation:
    """Decides when Zylin speaks, listens, interrupts itself, prompts, or ends the call."""

    def __init__(self, session: VoiceSession, tts: TextToSpeech, phrases: PhraseCache) -> None:
        self._s = session
        self._tts = tts
        self.phrases = phrases
        self.turn: ActiveTurn | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._count = 0
        self._digits = DigitEntry(session.config.dtmf_timeout_s)
        self._asked_still_there = False
        self._falling_back = False
        self._fallback_reason = "provider_failures"
        self._paused_at: float | None = None  # when caller speech over Zylin paused it
        self._pause_cleared = False

    @property
    def zylin_has_floor(self) -> bool:
        return self.turn is not None and self.turn.holds_floor

    @property
    def paused(self) -> bool:
        """Caller speech over Zylin has paused it, and it is not yet decided what that was."""
        return self._paused_at is not None and self._s.pacer.paused

    @property
    def transcribing(self) -> bool:
        """A reply is waiting for the recognizer's final words (and answers for a recognizer failure)."""
        return self.turn is not None and self.turn.phase == "transcribing" and self.turn.holds_floor

    def turn_tasks(self) -> list[asyncio.Task[None]]:
        return [task for task in self._tasks if not task.done()]

    # -- caller signals ------------------------------------------------------------

    def on_speech_started(self) -> None:
        self._asked_still_there = False
        self._s.wake.set()

    async def on_caller_audio(self, now: float) -> None:
        """After each inbound frame: barge in, end the caller's turn, or keep listening."""
        session, detector = self._s, self._s.detector
        if not detector.in_utterance or self._falling_back:
            return  # the hand-over sentence plays to its end, and the call leaves, whatever is said
        ended = detector.silence_ms >= 1000 * session.config.silence.seconds(session.agent.expecting)
        if self.zylin_has_floor:
            overlap = overlap_decide(
                session.config.barge_in,
                detector,
                heard_text=session.listener.transcript.text(),
                turn_ended=ended,
                paused_at=self._paused_at if self.paused else None,
                now=now,
            )
            if overlap is Overlap.INTERRUPT:
                await self.barge_in(now)
            elif overlap is Overlap.OVER:
                self._discard_utterance()
            elif overlap is Overlap.PAUSE:
                self._paused_at = now
                self._pause_cleared = await session.pacer.pause()
            return
        if ended:
            self._caller_finished("vad")

    def on_recognizer_endpoint(self) -> None:
        session, detector = self._s, self._s.detector
        if not session.listener.transcript.text() or self._falling_back:
            return
        if self.turn is not None and self.turn.phase == "transcribing" and self.turn.holds_floor:
            return  # that turn is collecting these words
        if self.zylin_has_floor:
            if not detector.speaking:
                self._discard_utterance()
            return
        # VAD stays in charge while the caller is mid-number or still audibly talking.
        if detector.in_utterance and (
            detector.speaking or not session.config.silence.trusts_recognizer(session.agent.expecting)
        ):
            return
        self._caller_finished("asr")

    async def on_digit(self, digit: str) -> None:
        session = self._s
        now = session.clock.now()
        if self._falling_back:
            return
        if session.agent.expecting != "phone" and not self._digits.active:
            await session.report("dtmf_ignored", {"digit": digit})
            return
        session.mark_activity(now)
        if self.zylin_has_floor:
            await self.barge_in(now)
        if number := self._digits.press(digit, now):
            self._submit_digits(number)

    # -- Zylin speaking ------------------------------------------------------------

    def say(self, text: str, *, store: bool, then: Callable[[], Awaitable[None]] | None = None) -> None:
        """Speak a fixed phrase as its own turn (cached audio, else synthesized once)."""
        self._start("phrase", lambda turn: self._phrase_body(turn, text, store, then))

    def answer(self, text: str) -> None:
        """Answer words the caller said before the stream began (the greeting has been played)."""
        self._caller_finished("before_stream", text)

    def apologize_if_idle(self) -> None:
        if not self.zylin_has_floor:
            self.say(self._s.config.phrases.apology, store=False)

    async def fall_back(self, *, reason: str = "provider_failures") -> None:
        """Too many failures (or a shutdown): one sentence, then the recording path (or a person)."""
        if self._falling_back:
            return
        self._falling_back = True
        self._fallback_reason = reason
        turn = self.turn
        if turn is not None and turn.task is not None and turn.holds_floor:
            await self._cancel(turn)
            await self._s.pacer.interrupt()
            await self.save_unfinished()  # what the caller heard of the cut-off answer stays on the Call
        self.say(self._s.config.phrases.fallback, store=False, then=self._redirect)

    def _resume(self) -> None:
        """The sound that paused Zylin was not an interruption: play on."""
        was_paused, self._paused_at = self.paused, None
        if not was_paused:
            return
        self._s.pacer.resume()
        self._s.spawn(self._s.report("false_barge_in", {"clear_sent": self._pause_cleared}), name="report")

    async def barge_in(self, now: float) -> None:
        turn, session = self.turn, self._s
        if turn is None or turn.task is None:
            return
        started = session.detector.started_at
        reacted_at, paused_cleared = (self._paused_at, self._pause_cleared) if self.paused else (now, False)
        self._paused_at = None
        await self._cancel(turn)
        cleared = await session.pacer.interrupt() or paused_cleared
        heard = turn.playback.heard_text()
        if turn.kind == "reply" and turn.agent_started:
            try:
                session.agent.note_heard(heard)
            except Exception:
                logger.exception("agent.note_heard failed")
        turn.phase = "done"
        self.turn = None
        await self._save_assistant(turn, interrupted=True)
        await session.report(
            "barge_in",
            {
                "turn": turn.number,
                "heard": heard,
                "clear_sent": cleared,
                "reaction_ms": None if started is None else round((reacted_at - started) * 1000, 1),
            },
        )
        await session.checkpoint(turn)

    # -- timers ------------------------------------------------------------------------

    async def watch(self) -> None:
        """DTMF entry timeout, then silence: ask once, then say goodbye and hang up."""
        session = self._s
        while True:
            session.wake.clear()
            timer = self._next_timer()
            if timer is None:
                await session.wake.wait()
                continue
            deadline, action = timer
            remaining = deadline - session.clock.now()
            if remaining > 0:
                await wait_event(session.wake, session.clock, remaining)
                continue
            await action()

    def _next_timer(self) -> tuple[float, Callable[[], Awaitable[None]]] | None:
        session = self._s
        if self._digits.deadline is not None:
            return self._digits.deadline, self._digits_timed_out
        if self._falling_back or self.zylin_has_floor or session.detector.in_utterance or session.ended:
            return None
        config = session.config
        wait = config.silence_hangup_after_s if self._asked_still_there else config.silence_prompt_after_s
        return session.last_activity + wait, self._on_silence

    async def _digits_timed_out(self) -> None:
        self._submit_digits(self._digits.take())

    async def _on_silence(self) -> None:
        phrases = self._s.config.phrases
        if not self._asked_still_there:
            self._asked_still_there = True
            self.say(phrases.still_there, store=True)
        else:
            self.say(phrases.goodbye, store=True, then=self._hang_up_after_silence)

    # -- turn bodies -----------------------------------------------------------------

    def _start(
        self,
        kind: Literal["reply", "phrase"],
        body: Callable[[ActiveTurn], Awaitable[None]],
        *,
        timings: ReplyTimings | None = None,
        caller_started_at: float | None = None,
    ) -> ActiveTurn | None:
        session = self._s
        self._count += 1
        playback = session.pacer.open(f"t{self._count}")
        turn = ActiveTurn(self._count, kind, playback, timings or ReplyTimings(), caller_started_at)
        task = session.spawn(self._run_turn(turn, body), name=f"turn-{self._count}")
        if task is None:
            return None
        turn.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.turn = turn
        session.wake.set()
        return turn

    async def _run_turn(self, turn: ActiveTurn, body: Callable[[ActiveTurn], Awaitable[None]]) -> None:
        try:
            await body(turn)
        except Exception:
            # A turn's failure must not take the call's TaskGroup down with it.
            logger.exception("turn %d failed", turn.number, extra={"call_sid": self._s.call_sid})
        finally:
            turn.phase = "done"
            self._s.mark_activity()

    def _caller_finished(self, source: TextSource, text: str | None = None) -> None:
        detector = self._s.detector
        timings = ReplyTimings(speech_end=detector.last_speech_at or self._s.clock.now())
        started = detector.started_at
        detector.reset()
        self._start(
            "reply", lambda turn: self._reply_body(turn, source, text), timings=timings, caller_started_at=started
        )

    def _submit_digits(self, number: str) -> None:
        self._s.detector.reset()
        self._caller_finished("dtmf", number)

    def _discard_utterance(self) -> None:
        self._s.detector.reset()
        self._resume()
        if self.turn is None or self.turn.phase != "transcribing":
            self._s.listener.discard()

    async def _reply_body(self, turn: ActiveTurn, source: TextSource, text: str | None) -> None:
        session, listener, timings = self._s, self._s.listener, turn.timings
        if source == "vad":
            turn.phase = "transcribing"
            await listener.final_text()
        if text is None:
            text = listener.take_text()
        timings.transcript_at = session.clock.now()
        turn.phase = "thinking"
        if not text.strip():
            if listener.stall_pending:
                # The caller spoke but the recognizer stalled: ask again now, not after a silence.
                listener.stall_pending = False
                await self._say_in(turn, session.config.phrases.apology)
            return  # a noise, not words
        await session.save_turn(
            TurnRecord(
                index=session.next_turn_index(),
                speaker="caller",
                text=text,
                started_at=session.wall_time(turn.caller_started_at or timings.speech_end),
                ended_at=session.wall_time(timings.speech_end),
                asr_ms=timings.span_ms(timings.speech_end, timings.transcript_at),
            )
        )
        # Checkpoint now and again once the agent has answered, not only at the turn's end:
        # a socket that drops mid-turn must not resume with an old turn index (the next
        # turn would overwrite this one) nor lose what the agent did (a hold, the slots).
        await session.checkpoint(None)
        turn.agent_started = True
        reply = Reply(
            agent=session.agent,
            tts=self._tts,
            playback=turn.playback,
            clock=session.clock,
            config=session.config,
            phrase_cache=self.phrases,
            timings=timings,
        )
        turn.outcome = outcome = await reply.run(text)
        await session.checkpoint(None)
        turn.phase = "speaking"
        listener.expect(session.agent.expecting)
        fall_back = False
        if outcome.failure is not None:
            fall_back = await session.provider_failed(outcome.failure)
            self._falling_back = self._falling_back or fall_back
            phrase = session.config.phrases.fallback if fall_back else session.config.phrases.apology
            if audio := self.phrases.get(phrase):
                turn.playback.say(phrase, audio, spoken=False)
        turn.playback.finish()
        await self._until_played(turn.playback)
        turn.phase = "done"
        await self._save_assistant(turn, interrupted=False)
        await session.checkpoint(turn)
        if fall_back:
            await self._redirect()
        elif outcome.action is not None:
            await self._act(outcome.action)

    async def _phrase_body(
        self, turn: ActiveTurn, text: str, store: bool, then: Callable[[], Awaitable[None]] | None
    ) -> None:
        if audio := await self.phrases.fetch(text, self._tts):
            turn.playback.say(text, audio)
        turn.playback.finish()
        turn.phase = "speaking"
        await self._until_played(turn.playback)
        turn.phase = "done"
        if store:
            await self._save_assistant(turn, interrupted=False)
            await self._s.checkpoint(turn)
        if then is not None:
            await then()

    async def _say_in(self, turn: ActiveTurn, phrase: str) -> None:
        """Play a cached phrase as the whole of ``turn`` (it holds the floor while it plays)."""
        if audio := self.phrases.get(phrase):
            turn.playback.say(phrase, audio, spoken=False)
        turn.playback.finish()
        turn.phase = "speaking"
        await self._until_played(turn.playback)

    async def _until_played(self, playback: Playback) -> None:
        grace, clock = self._s.config.playback_ack_grace_s, self._s.clock
        while not await wait_event(playback.done, clock, playback.unplayed_ms / 1000 + grace):
            if not self.paused:  # time paused by the caller's speech does not count
                logger.warning("Twilio did not acknowledge playback in time", extra={"call_sid": self._s.call_sid})
                return

    async def _cancel(self, turn: ActiveTurn) -> None:
        assert turn.task is not None
        turn.task.cancel()
        await asyncio.wait({turn.task}, timeout=self._s.config.cancel_timeout_s)

    async def save_unfinished(self) -> None:
        """The call ended while Zylin was answering: keep what the caller heard of the reply."""
        turn = self.turn
        if turn is None or turn.kind != "reply" or not turn.agent_started or turn.saved:
            return
        try:
            self._s.agent.note_heard(turn.playback.heard_text())
        except Exception:
            logger.exception("agent.note_heard failed")
        await self._save_assistant(turn, interrupted=True)
        await self._s.checkpoint(turn)  # a resumed stream goes on from what the caller heard

    async def _save_assistant(self, turn: ActiveTurn, *, interrupted: bool) -> None:
        session = self._s
        text = turn.spoken_text(interrupted=interrupted)
        if not text or turn.saved:
            return
        turn.saved = True
        index = session.next_turn_index()
        await session.save_turn(
            turn.assistant_record(text, index=index, interrupted=interrupted, wall_time=session.wall_time)
        )

    # -- ending the call -------------------------------------------------------------

    async def _act(self, action: CallAction) -> None:
        session = self._s
        await session.report("call_action", {"kind": action.kind, "reason": action.reason})
        if action.kind == "end":
            await session.end_call("agent_ended", session.control.hang_up)
        else:
            await session.end_call("transferred", session.control.transfer_to_human)

    async def _redirect(self) -> None:
        session = self._s
        to = session.config.fallback
        await session.report(
            "fallback",
            {"to": to, "failures": session.failures, "reason": self._fallback_reason,
             "provider": session.last_failed_provider},
        )  # fmt: skip
        control = session.control
        await session.end_call(
            "fallback", control.transfer_to_human if to == "transfer" else control.redirect_to_recording
        )

    async def _hang_up_after_silence(self) -> None:
        await self._s.end_call("silence", self._s.control.hang_up)
