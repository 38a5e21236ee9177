"""One spoken answer: agent text streams through the chunker into TTS and onto the line.

The agent and TTS run as two tasks joined by a queue of text chunks, so the
first clause is being synthesized (and heard) while the agent is still writing
the rest. If nothing is audible ``filler_after_s`` after the caller stopped
speaking, a cached filler phrase covers the gap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from calls.voice.chunking import SentenceChunker
from calls.voice.config import VoiceConfig
from calls.voice.faults import provider_fault_note
from calls.voice.pacer import Playback, Segment
from calls.voice.phrases import PhraseCache
from calls.voice.ports import (
    CallAction,
    Clock,
    IntentUpdate,
    LanguageModel,
    ProviderError,
    TextDelta,
    TextToSpeech,
    ToolUsed,
)

logger = logging.getLogger(__name__)


async def close_stream(stream: AsyncIterator[Any]) -> None:
    """Close an async generator (or anything with ``aclose``) so its ``finally`` runs now."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


@dataclass
class ReplyTimings:
    """Clock times (seconds) of one turn's milestones; None when not reached."""

    speech_end: float | None = None
    transcript_at: float | None = None
    first_token_at: float | None = None
    first_tts_request_at: float | None = None
    first_audio_at: float | None = None

    @staticmethod
    def span_ms(start: float | None, end: float | None) -> float | None:
        return None if start is None or end is None else round((end - start) * 1000, 3)


@dataclass
class ReplyOutcome:
    chunks: list[str] = field(default_factory=list)
    action: CallAction | None = None
    intent: IntentUpdate | None = None
    tools: list[ToolUsed] = field(default_factory=list)
    failure: ProviderError | None = None

    @property
    def text(self) -> str:
        return " ".join(self.chunks)


class Reply:
    """Streams the agent's answer to ``caller_text`` into ``playback``.

    ``run`` returns once all audio is queued (not played); provider errors that
    survive one retry end up in ``ReplyOutcome.failure`` instead of raising.
    """

    def __init__(
        self,
        *,
        agent: LanguageModel,
        tts: TextToSpeech,
        playback: Playback,
        clock: Clock,
        config: VoiceConfig,
        phrase_cache: PhraseCache,
        timings: ReplyTimings,
    ) -> None:
        self._agent = agent
        self._tts = tts
        self._playback = playback
        self._clock = clock
        self._config = config
        self._phrases = phrase_cache
        self.timings = timings
        self.outcome = ReplyOutcome()
        self._filler: asyncio.Task[None] | None = None

    async def run(self, caller_text: str) -> ReplyOutcome:
        chunks: asyncio.Queue[str | None] = asyncio.Queue()
        try:
            async with asyncio.TaskGroup() as group:
                self._filler = group.create_task(self._cover_silence(), name="reply-filler")
                group.create_task(self._generate(caller_text, chunks), name="reply-agent")
                group.create_task(self._speak(chunks), name="reply-tts")
        except* ProviderError as failures:
            first = failures.exceptions[0]
            self.outcome.failure = first if isinstance(first, ProviderError) else None
        except* Exception as errors:
            # A bug in an adapter must cost one apology, not the whole call.
            logger.error("reply failed", exc_info=errors.exceptions[0])
            self.outcome.failure = ProviderError(repr(errors.exceptions[0]), provider="voice", retryable=False)
        return self.outcome

    async def _generate(self, caller_text: str, chunks: asyncio.Queue[str | None]) -> None:
        chunker = SentenceChunker(first_clause_min_words=self._config.first_clause_min_words)
        for attempt in range(2):
            produced = False
            started = self._clock.now()
            stream = self._agent.respond(caller_text)
            try:
                async for event in stream:
                    if isinstance(event, TextDelta) and event.text:
                        if self.timings.first_token_at is None:
                            self.timings.first_token_at = self._clock.now()
                        produced = True
                        for chunk in chunker.push(event.text):
                            self._queue_chunk(chunk, chunks)
                    elif isinstance(event, IntentUpdate):
                        self.outcome.intent = event
                    elif isinstance(event, CallAction):
                        self.outcome.action = event
                    elif isinstance(event, ToolUsed):
                        self.outcome.tools.append(event)
                break
            except ProviderError as exc:
                # Retrying is only safe before any words went to TTS, and only worth it after
                # a quick failure: after a slow one the caller has waited long enough.
                if not exc.retryable or produced or attempt or self._slow(started):
                    raise
                logger.warning("agent failed, retrying once: %s", exc)
                provider_fault_note(exc.provider, exc, handling="retried")
            finally:
                await close_stream(stream)
        for chunk in chunker.flush():
            self._queue_chunk(chunk, chunks)
        chunks.put_nowait(None)

    def _queue_chunk(self, chunk: str, chunks: asyncio.Queue[str | None]) -> None:
        self.outcome.chunks.append(chunk)
        chunks.put_nowait(chunk)

    async def _speak(self, chunks: asyncio.Queue[str | None]) -> None:
        try:
            while (text := await chunks.get()) is not None:
                await self._synthesize(text)
        finally:
            if self._filler is not None:
                self._filler.cancel()

    async def _synthesize(self, text: str) -> None:
        segment: Segment | None = None
        try:
            for attempt in range(2):
                if self.timings.first_tts_request_at is None:
                    self.timings.first_tts_request_at = self._clock.now()
                started = self._clock.now()
                stream = self._tts.synthesize(text)
                try:
                    async for audio in stream:
                        if not audio:
                            continue
                        if self.timings.first_audio_at is None:
                            self.timings.first_audio_at = self._clock.now()
                        if segment is None:
                            segment = self._playback.segment(text)
                        segment.append(audio)
                    return
                except ProviderError as exc:
                    if not exc.retryable or segment is not None or attempt or self._slow(started):
                        raise
                    logger.warning("TTS failed, retrying once: %s", exc)
                    provider_fault_note(exc.provider, exc, handling="retried")
                finally:
                    await close_stream(stream)
        finally:
            if segment is not None:
                segment.close()

    def _slow(self, started: float) -> bool:
        """A failure that took longer than the filler delay (the adapter already waited and retried)."""
        return self._clock.now() - started > self._config.filler_after_s

    async def _cover_silence(self) -> None:
        start = self.timings.speech_end
        if start is None:
            return
        now = self._clock.now()
        # After a long pause allowance (a phone number) the caller has already waited a while;
        # the reply still gets a moment of its own before a filler talks over its start.
        deadline = max(start + self._config.filler_after_s, now + self._config.filler_min_wait_s)
        delay = deadline - now
        if delay > 0:
            await self._clock.sleep(delay)
        filler = self._config.phrases.filler
        audio = self._phrases.get(filler)
        if audio and not self._playback.has_audio and not self._playback.cancelled:
            self._playback.say(filler, audio, spoken=False)
