"""The fallback voice: espeak-ng through ctypes, from the espeakng-loader wheel.

espeak-ng is a formant synthesizer: robotic, but it needs no model, starts in
milliseconds and synthesizes a sentence in about 3 ms. The library ships in
the ``espeakng-loader`` wheel (no apt package needed). The ``espeakng`` PyPI
package only shells out to a CLI that is not installed, hence ctypes.

The library keeps global state (one voice, one callback), so every synthesis
in the process takes one lock; at a few milliseconds per sentence that costs
nothing noticeable.
"""

from __future__ import annotations

import asyncio
import ctypes
import re
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

import espeakng_loader
import numpy as np

from calls.audio import PHONE_RATE, lin2ulaw, resample, to_int16
from calls.voice.ports import ProviderError

# Values from espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000
_PARAM_RATE = 1
_PARAM_PITCH = 3

# A sentence ends at . ! ? ; followed by a capital or digit ("3 p.m. tomorrow" stays whole).
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9\"'])")

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True)
class EspeakSettings:
    """Voice settings for espeak-ng.

    Attributes:
        voice: an espeak-ng voice name (``en-us``, ``en-us+f3`` for a variant...).
        words_per_minute: speaking rate; 160 is clear on a phone line.
        pitch: base pitch, 0 to 99.
        peak_level: output peak as a fraction of full scale.
    """

    voice: str = "en-us"
    words_per_minute: int = 160
    pitch: int = 50
    peak_level: float = 0.7


class _EspeakLibrary:
    """The process-wide espeak-ng instance; all calls hold ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._library = ctypes.CDLL(espeakng_loader.get_library_path())
        self._library.espeak_Initialize.restype = ctypes.c_int
        self._library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self._library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._library.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        data_path = espeakng_loader.get_data_path().encode()
        self.sample_rate = self._library.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, 0)
        if self.sample_rate <= 0:
            raise ProviderError("espeak-ng failed to initialize", provider="espeak", retryable=False)
        self._pieces: list[np.ndarray] = []
        # Keep a reference: ctypes callbacks are freed when collected.
        self._callback = _SynthCallback(self._collect)
        self._library.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
        if wav and count > 0:
            self._pieces.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # 0 = go on synthesizing

    def synthesize(self, text: str, settings: EspeakSettings) -> np.ndarray:
        """16-bit samples at ``sample_rate`` for ``text``; the caller holds ``lock``."""
        if self._library.espeak_SetVoiceByName(settings.voice.encode()) != 0:
            raise ProviderError(f"unknown espeak voice {settings.voice!r}", provider="espeak", retryable=False)
        self._library.espeak_SetParameter(_PARAM_RATE, settings.words_per_minute, 0)
        self._library.espeak_SetParameter(_PARAM_PITCH, settings.pitch, 0)
        self._pieces = []
        encoded = text.encode("utf-8") + b"\0"
        status = self._library.espeak_Synth(
            encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE, None, None
        )
        if status != 0:
            raise ProviderError(f"espeak_Synth returned {status}", provider="espeak", retryable=True)
        if not self._pieces:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._pieces).astype(np.int16)


_library: _EspeakLibrary | None = None
_library_lock = threading.Lock()


def _shared_library() -> _EspeakLibrary:
    global _library
    with _library_lock:
        if _library is None:
            _library = _EspeakLibrary()
        return _library


def split_sentences(text: str) -> list[str]:
    """Split on sentence punctuation, keeping the punctuation for intonation."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def synthesize_sentence(text: str, settings: EspeakSettings) -> bytes:
    """One sentence to 8 kHz mu-law (blocking; a few milliseconds)."""
    library = _shared_library()
    with library.lock:
        samples = library.synthesize(text, settings)
        rate = library.sample_rate
    if samples.size == 0:
        return b""
    peak = float(np.max(np.abs(samples.astype(np.int32)))) or 1.0
    narrow = resample(samples.astype(np.float32) / peak, rate, PHONE_RATE)
    return lin2ulaw(to_int16(narrow * (settings.peak_level * 32767.0)))


class EspeakTextToSpeech:
    """``TextToSpeech`` on espeak-ng: the voice of last resort, one chunk per sentence.

    Args:
        settings: voice, rate and pitch.
    """

    name = "espeak"

    def __init__(self, settings: EspeakSettings | None = None) -> None:
        self._settings = settings or EspeakSettings()

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        for sentence in split_sentences(text):
            try:
                mulaw = await asyncio.to_thread(synthesize_sentence, sentence, self._settings)
            except ProviderError:
                raise
            except (OSError, ValueError) as error:
                raise ProviderError(f"espeak failed: {error}", provider=self.name, retryable=False) from error
            if mulaw:
                yield mulaw

    async def aclose(self) -> None:
        """Nothing per instance: the library is shared by the process."""
