"""The recognizer side of a call: one live stream, its transcripts, reconnection on failure."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

from calls.voice.clock import wait_event
from calls.voice.ports import Expecting, ProviderError, SpeechStream, SpeechToText, Transcript, UtteranceEnd
from calls.voice.turns import TranscriptCollector

if TYPE_CHECKING:
    from calls.voice.session import VoiceSession

logger = logging.getLogger(__name__)

# Audio that arrives while the recognizer connects is kept (1 s) and sent once it is up.
PENDING_FRAMES = 50
# When stable finals exist and no interim is pending, the final after finalize() is a formality.
SETTLED_FINAL_WAIT_S = 0.2
# A recognizer that left a finalize unanswered and has sent nothing for this long is stalled
# (a live one sends interim results while the caller speaks, and answers every finalize).
STALLED_AFTER_S = 1.2


class Listener:
    """Feeds caller audio to the recognizer and keeps the words of the utterance in progress."""

    def __init__(self, session: VoiceSession, stt: SpeechToText) -> None:
        self._session = session
        self._stt = stt
        self.stream: SpeechStream | None = None
        self.transcript = TranscriptCollector()
        self._final_arrived = asyncio.Event()
        self._pending: deque[bytes] = deque(maxlen=PENDING_FRAMES)
        # Late words of an utterance already answered or discarded are dropped until new speech.
        self._ignore_until_speech = False
        self._mode = "open"  # a fresh recognizer stream starts in its open mode
        self._last_heard_at: float | None = None  # clock time of the recognizer's last sign of life
        # Set when a finalize found the recognizer stalled; the turn that asked apologizes for it.
        self.stall_pending = False
        self._closed_for_stall = False

    async def run(self) -> None:
        session = self._session
        while not session.ended:
            try:
                stream = self.stream = await self._connect()
            except ProviderError as exc:
                if await self._failed(exc):
                    return
                continue
            self._last_heard_at = session.clock.now()
            if self._mode != "open":
                self._apply_mode()
            while self._pending and self.stream is stream:
                await self.send_audio(self._pending.popleft())
            try:
                async for event in stream.events():
                    self._on_event(event)
                if session.ended:
                    return
                raise ProviderError("recognizer stream ended", provider=self._stt.name, retryable=True)
            except ProviderError as exc:
                await self.close()
                # A turn waiting for the final words apologizes itself (see final_text).
                stalled, self._closed_for_stall = self._closed_for_stall, False
                apologize = not stalled and not self._session.conversation.transcribing
                if await self._failed(exc, apologize=apologize):
                    return

    async def send_audio(self, mulaw: bytes) -> None:
        stream = self.stream
        if stream is None:
            self._pending.append(mulaw)
            return
        try:
            await stream.send_audio(mulaw)
        except ProviderError as exc:
            # Closing ends the events() loop in run(), which counts the failure and reconnects.
            logger.warning("recognizer refused audio: %s", exc, extra={"call_sid": self._session.call_sid})
            await self.close()

    async def close(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                await stream.aclose()
            except Exception:
                logger.exception("closing the recognizer stream failed")

    def expect(self, expecting: Expecting) -> None:
        """Tell a recognizer that has modes (pocketsphinx's digit grammar) what comes next."""
        mode = "digits" if expecting == "phone" else "open"
        if mode != self._mode:
            self._mode = mode
            self._apply_mode()

    def _apply_mode(self) -> None:
        set_mode = getattr(self.stream, "set_mode", None)
        if set_mode is not None:
            try:
                set_mode(self._mode)
            except Exception:
                logger.exception("recognizer mode switch failed")

    def on_speech_started(self) -> None:
        self._ignore_until_speech = False

    async def final_text(self) -> str:
        """Ask the recognizer to finalize and wait (bounded) for its final words."""
        collector, stream = self.transcript, self.stream
        self.stall_pending = False
        if stream is None:
            return collector.text()
        seen = collector.final_count
        self._final_arrived.clear()
        try:
            await stream.finalize()
        except ProviderError as exc:
            logger.warning("recognizer finalize failed: %s", exc)
            return collector.text()
        clock = self._session.clock
        timeout = self._session.config.asr_final_timeout_s
        if collector.finals and not collector.interim:
            timeout = min(timeout, SETTLED_FINAL_WAIT_S)
        deadline = clock.now() + timeout
        while collector.final_count == seen:
            remaining = deadline - clock.now()
            if remaining <= 0 or not await wait_event(self._final_arrived, clock, remaining):
                break
            self._final_arrived.clear()
        if collector.final_count != seen:
            return collector.text()
        if self.stream is not stream:
            self.stall_pending = True  # the stream failed while we waited: the turn apologizes
        elif self._last_heard_at is not None and clock.now() - self._last_heard_at >= STALLED_AFTER_S:
            # Silent through the caller's words and deaf to finalize: waiting for the stream's
            # own stall timeout would leave the caller in dead air. Reconnect now.
            logger.warning("the recognizer stalled; reconnecting", extra={"call_sid": self._session.call_sid})
            self.stall_pending = True
            self._closed_for_stall = True
            # Closed in the background: a stalled server may not answer the close either.
            self._session.spawn(self.close(), name="recognizer-close")
        return collector.text()

    def take_text(self) -> str:
        """The utterance's words, handed to a reply; later words wait for new speech."""
        text = self.transcript.text()
        self.discard()
        return text

    def discard(self) -> None:
        self.transcript.clear()
        self._ignore_until_speech = True

    async def _connect(self) -> SpeechStream:
        hints = self._session.config.asr_hints
        try:
            return await self._stt.connect(hints=hints)
        except ProviderError as exc:
            if not exc.retryable:
                raise
            logger.warning("recognizer connect failed, retrying once: %s", exc)
            return await self._stt.connect(hints=hints)

    async def _failed(self, error: ProviderError, *, apologize: bool = True) -> bool:
        """Count the failure; True when the call falls back and listening stops."""
        conversation = self._session.conversation
        if await self._session.provider_failed(error):
            await conversation.fall_back()
            return True
        if apologize:
            conversation.apologize_if_idle()
        return False

    def _on_event(self, event: object) -> None:
        self._last_heard_at = self._session.clock.now()
        conversation = self._session.conversation
        if isinstance(event, Transcript):
            if self._ignore_until_speech and not self._session.detector.in_utterance:
                return
            self.transcript.add(event)
            if event.is_final:
                self._final_arrived.set()
            if event.speech_final:
                conversation.on_recognizer_endpoint()
        elif isinstance(event, UtteranceEnd):
            conversation.on_recognizer_endpoint()
