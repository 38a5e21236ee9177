"""Streaming speech recognition on pocketsphinx, offline, with a per-business model.

Per stream: 8 kHz mu-law in, ``pocketsphinx.Endpointer`` (20 ms frames at
8 kHz) decides where an utterance starts and ends; from the start (plus a
short pre-roll) every frame is upsampled to 16 kHz and decoded at once, so
when the endpointer declares the end the decoder has already seen every
frame and the final costs only ``end_utt``. Interim hypotheses are read
every ~50 ms of audio.

Decoding is CPU work and runs in a shared worker pool (pocketsphinx drops
the GIL while it decodes), one batch per stream at a time, so a busy call
never stalls the event loop or another call.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
from pocketsphinx import Decoder, Endpointer

from calls.audio import PHONE_RATE, Pcm, ulaw2lin
from calls.providers.domain_lm import DomainLanguageModel, OovPolicy, build_domain_lm
from calls.providers.pocketsphinx_decoders import (
    DIGITS_SEARCH,
    OPEN_SEARCH,
    DecoderPool,
    WidebandFrontEnd,
    shared_pool,
)
from calls.voice.ports import BusinessInfo, ProviderError, SpeechEvent, SpeechStarted, Transcript
from calls.voice.turns import BargeInPolicy

logger = logging.getLogger(__name__)

RecognitionMode = Literal["open", "digits"]
T = TypeVar("T")

FRAME_SAMPLES = 160  # 20 ms at 8 kHz
_FRAME_SECONDS = FRAME_SAMPLES / PHONE_RATE
# Decoding is CPU-bound: more workers than cores only adds contention.
_executor = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="sphinx")

# This recognizer's words for the first ~350 ms of an utterance are guesses ("okay" is
# "book" at 320 ms, "alright" is "for", "got it" is "the"), and a spoken "okay", "yeah"
# or "got it" lasts 200-380 ms. Over Zylin's voice it therefore takes 400 ms of speech,
# with a non-backchannel word in it, to interrupt: such a backchannel is over before
# then, whatever it was heard as. Zylin still goes quiet after the policy's shorter
# pause window and resumes if the sound was not an interruption. A recognizer whose
# early words can be trusted keeps the shorter default window.
POCKETSPHINX_BARGE_IN = BargeInPolicy(min_speech_ms=400)


async def run_in_decoder_pool(function: Callable[..., T], *args: object) -> T:
    """Run blocking decoder work on the recognizer's worker threads."""
    return await asyncio.get_running_loop().run_in_executor(_executor, function, *args)


@dataclass(frozen=True)
class PocketsphinxSettings:
    """Tuning of the embedded recognizer.

    Attributes:
        endpoint_window: seconds of audio the endpointer judges at once.
        endpoint_ratio: share of that window that must be (non-)speech to switch.
        interim_interval: seconds of decoded audio between interim results.
        preroll: seconds of audio before the detected start that are decoded
            too (the endpointer decides a little after speech begins).
        dither_dbfs: level of the noise added after upsampling.
        max_utterance: seconds after which an utterance is finalized anyway (the
            endpointer's noise estimate can lag a sudden change of line noise).
        max_idle_decoders: decoders kept per vocabulary for the next calls.
        oov_policy: words missing from the dictionary are spelled by rule or dropped.
    """

    endpoint_window: float = 0.3
    endpoint_ratio: float = 0.9
    interim_interval: float = 0.05
    preroll: float = 0.5
    dither_dbfs: float = -60.0
    max_utterance: float = 20.0
    max_idle_decoders: int = 4
    oov_policy: OovPolicy = "spell"


class UtteranceRecognizer:
    """The synchronous core of one stream: endpointing and decoding, frame by frame.

    Not thread-safe; a stream drives it from one worker job at a time.

    Args:
        decoder: a pooled decoder, between utterances.
        settings: endpointer and interim tuning.
    """

    def __init__(self, decoder: Decoder, settings: PocketsphinxSettings) -> None:
        self.decoder = decoder
        self._settings = settings
        self._endpointer = self._new_endpointer()
        self._front_end = WidebandFrontEnd(dither_dbfs=settings.dither_dbfs)
        self._pending = np.zeros(0, dtype=np.int16)
        self._recent: collections.deque[np.ndarray] = collections.deque(
            maxlen=max(1, round(settings.preroll / _FRAME_SECONDS))
        )
        self._interim_frames = max(1, round(settings.interim_interval / _FRAME_SECONDS))
        self._max_utterance_frames = max(1, round(settings.max_utterance / _FRAME_SECONDS))
        self._utterance_frames = 0
        self._frames_since_interim = 0
        self._last_interim = ""
        self.in_utterance = False
        self.mode: RecognitionMode = "open"

    def _new_endpointer(self) -> Endpointer:
        endpointer = Endpointer(
            window=self._settings.endpoint_window,
            ratio=self._settings.endpoint_ratio,
            sample_rate=PHONE_RATE,
            frame_length=_FRAME_SECONDS,
        )
        if endpointer.frame_bytes != FRAME_SAMPLES * 2:
            raise ProviderError("unexpected endpointer frame size", provider="pocketsphinx", retryable=False)
        return endpointer

    def feed(self, mulaw: bytes) -> list[SpeechEvent]:
        """Process 8 kHz mu-law; return the events it produced, in order."""
        return self.feed_pcm(ulaw2lin(mulaw))

    def feed_pcm(self, pcm: Pcm) -> list[SpeechEvent]:
        """Process 8 kHz linear samples; return the events they produced, in order."""
        samples = np.concatenate((self._pending, pcm))
        whole = len(samples) - len(samples) % FRAME_SAMPLES
        self._pending = samples[whole:]
        events: list[SpeechEvent] = []
        for start in range(0, whole, FRAME_SAMPLES):
            self._feed_frame(samples[start : start + FRAME_SAMPLES], events)
        return events

    def _feed_frame(self, frame: np.ndarray, events: list[SpeechEvent]) -> None:
        self._recent.append(frame)
        was_in_speech = self._endpointer.in_speech
        speech = self._endpointer.process(frame.tobytes())
        if not self.in_utterance:
            if speech is not None and not was_in_speech:
                events.append(SpeechStarted())
                self._start_utterance()
                # The pre-roll includes this frame.
                self._decode(np.concatenate(self._recent))
            return
        self._decode(frame)
        self._utterance_frames += 1
        if self._utterance_frames >= self._max_utterance_frames:
            events.append(self.finalize())
            return
        self._frames_since_interim += 1
        if self._frames_since_interim >= self._interim_frames:
            self._frames_since_interim = 0
            text = self._hypothesis()
            if text and text != self._last_interim:
                self._last_interim = text
                events.append(Transcript(text=text, is_final=False))
        if speech is not None and not self._endpointer.in_speech:
            events.append(self._end_utterance())

    def finalize(self) -> Transcript:
        """A final for what was heard: the open utterance, or else the last moments
        of audio (a word too short for the endpointer to call it speech)."""
        if not self.in_utterance:
            self._start_utterance()
            if self._recent:
                self._decode(np.concatenate(self._recent))
        final = self._end_utterance()
        # The endpointer may still be inside the speech region just finalized.
        self._endpointer = self._new_endpointer()
        return final

    def close(self) -> None:
        """Leave the decoder between utterances with the open search active."""
        if self.in_utterance:
            self.decoder.end_utt()
            self.in_utterance = False
        if self.decoder.current_search() != OPEN_SEARCH:
            self.decoder.activate_search(OPEN_SEARCH)

    def _start_utterance(self) -> None:
        wanted = DIGITS_SEARCH if self.mode == "digits" else OPEN_SEARCH
        if self.decoder.current_search() != wanted:
            self.decoder.activate_search(wanted)
        self._front_end.reset()
        self.decoder.start_utt()
        self.in_utterance = True
        self._frames_since_interim = 0
        self._utterance_frames = 0
        self._last_interim = ""

    def _decode(self, samples: np.ndarray, *, last: bool = False) -> None:
        wide = self._front_end.convert(samples, last=last)
        if wide:
            self.decoder.process_raw(wide, False, False)

    def _end_utterance(self) -> Transcript:
        self._decode(np.zeros(0, dtype=np.int16), last=True)
        self.decoder.end_utt()
        self.in_utterance = False
        self._recent.clear()
        hypothesis = self.decoder.hyp()
        text = hypothesis.hypstr if hypothesis is not None else ""
        confidence = None
        if hypothesis is not None and text:
            confidence = float(min(1.0, max(0.0, self.decoder.get_logmath().exp(hypothesis.prob))))
        return Transcript(text=text, is_final=True, speech_final=True, confidence=confidence)

    def _hypothesis(self) -> str:
        hypothesis = self.decoder.hyp()
        return hypothesis.hypstr if hypothesis is not None else ""


_FINALIZE = object()


class PocketsphinxSpeechStream:
    """One call's recognition stream (``SpeechStream``), plus ``set_mode``.

    Audio and commands are queued in order; a pump task hands them in batches
    to a worker thread, and puts the resulting events on the events queue.
    Empty finals are emitted too (a noise, or ``finalize`` in silence): they
    tell the listener the recognizer heard no words. ``SpeechStarted`` comes
    when the endpointer is sure (about 0.3 s into speech), so it is a
    confirmation rather than the fastest barge-in signal.
    """

    def __init__(self, pool: DecoderPool, decoder: Decoder, settings: PocketsphinxSettings) -> None:
        self._pool = pool
        self._recognizer = UtteranceRecognizer(decoder, settings)
        self._commands: collections.deque[bytes | object | RecognitionMode] = collections.deque()
        self._wake = asyncio.Event()
        self._events: asyncio.Queue[SpeechEvent | None] = asyncio.Queue()
        self._failure: ProviderError | None = None
        self._closed = False
        self._pump = asyncio.create_task(self._run(), name="pocketsphinx-stream")

    async def send_audio(self, mulaw: bytes) -> None:
        if self._closed or not mulaw:
            return
        self._commands.append(mulaw)
        self._wake.set()

    async def finalize(self) -> None:
        if not self._closed:
            self._commands.append(_FINALIZE)
            self._wake.set()

    def set_mode(self, mode: RecognitionMode) -> None:
        """Switch between the open domain model and the digit grammar.

        Takes effect at the next utterance (a decoder cannot change search
        mid-utterance), in order with the audio already sent.
        """
        if mode not in ("open", "digits"):
            raise ValueError(f"unknown recognition mode {mode!r}")
        self._commands.append(mode)
        self._wake.set()

    async def events(self) -> AsyncIterator[SpeechEvent]:
        while True:
            event = await self._events.get()
            if event is None:
                self._events.put_nowait(None)  # any other reader ends too
                if self._failure is not None:
                    raise self._failure
                return
            yield event

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        try:
            # Shielded: a cancelled close must still hand the decoder back.
            await asyncio.shield(self._pump)
        finally:
            self._events.put_nowait(None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                batch = list(self._commands)
                self._commands.clear()
                if batch:
                    for event in await loop.run_in_executor(_executor, self._process, batch):
                        self._events.put_nowait(event)
                if self._closed and not self._commands:
                    break
            await loop.run_in_executor(_executor, self._recognizer.close)
            # Only a decoder that got here cleanly is reused: after a failure or
            # a cancellation (the worker thread may still be using it) it is dropped.
            self._pool.release(self._recognizer.decoder)
        except Exception as error:  # pocketsphinx reports failures as RuntimeError/ValueError
            self._failure = ProviderError(f"pocketsphinx failed: {error}", provider="pocketsphinx", retryable=True)
            logger.exception("pocketsphinx stream failed")
            self._closed = True  # further audio is dropped, not queued forever
            self._events.put_nowait(None)

    def _process(self, batch: list[bytes | object | RecognitionMode]) -> list[SpeechEvent]:
        events: list[SpeechEvent] = []
        audio = bytearray()
        for command in batch:
            if isinstance(command, bytes):
                audio += command
                continue
            if audio:
                events += self._recognizer.feed(bytes(audio))
                audio.clear()
            if command is _FINALIZE:
                events.append(self._recognizer.finalize())
            elif command in ("open", "digits"):
                self._recognizer.mode = command  # type: ignore[assignment]
        if audio:
            events += self._recognizer.feed(bytes(audio))
        return events


@functools.lru_cache(maxsize=32)
def _domain_model(business: BusinessInfo, hints: tuple[str, ...], oov_policy: OovPolicy) -> DomainLanguageModel:
    # Cached per process: the voice wiring may build a recognizer per call, and
    # the same business should not pay for its model again.
    return build_domain_lm(business, extra_words=hints, oov_policy=oov_policy)


class PocketsphinxSpeechToText:
    """``SpeechToText`` on pocketsphinx with a model built from the business's vocabulary.

    The language model is built once per vocabulary (business plus hints) and
    decoders are pooled per model, so a new call usually gets a ready decoder.

    Args:
        business: whose services, FAQ and name the model is built from.
        settings: recognizer tuning.
    """

    name = "pocketsphinx"

    def __init__(self, business: BusinessInfo, settings: PocketsphinxSettings | None = None) -> None:
        self._business = business
        self._settings = settings or PocketsphinxSettings()

    def model(self, hints: Sequence[str] = ()) -> DomainLanguageModel:
        """The language model for this business and ``hints`` (built on first use)."""
        words = tuple(sorted({hint.strip().lower() for hint in hints if hint.strip()}))
        return _domain_model(self._business, words, self._settings.oov_policy)

    async def warm_up(self) -> None:
        """Build the model and one decoder ahead of the first call."""
        pool = await asyncio.to_thread(self.pool, ())
        pool.release(await run_in_decoder_pool(pool.acquire))

    async def connect(self, *, hints: Sequence[str] = ()) -> PocketsphinxSpeechStream:
        try:
            pool = await asyncio.to_thread(self.pool, hints)
            decoder = await run_in_decoder_pool(pool.acquire)
        except (RuntimeError, ValueError, OSError) as error:
            raise ProviderError(f"pocketsphinx did not start: {error}", provider=self.name, retryable=False) from error
        return PocketsphinxSpeechStream(pool, decoder, self._settings)

    def pool(self, hints: Sequence[str] = ()) -> DecoderPool:
        """The shared decoder pool for this business and ``hints`` (blocking on first use)."""
        return shared_pool(self.model(hints), max_idle=self._settings.max_idle_decoders)
