"""Pocketsphinx decoders built from a domain language model, and their pools.

A decoder holds the acoustic model, the business's trigram model and the
digit grammar; building one takes tens of milliseconds and some megabytes,
so decoders are pooled per language model and handed from call to call. A
decoder serves one stream at a time (it is not thread-safe).

Also here: the 8 kHz -> 16 kHz front end. The bundled acoustic model is
wideband and its ``feat.params`` pins a 6.8 kHz filter bank, so phone audio
is upsampled rather than decoded at 8 kHz (which more than doubles errors).
A -60 dBFS dither is added because the recognizer misbehaves on stretches of
exact digital silence.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pocketsphinx import Decoder, get_model_path

from calls.audio import PHONE_RATE, Pcm, StreamResampler, resample, to_int16
from calls.providers.domain_lm import DomainLanguageModel

logger = logging.getLogger(__name__)

DECODER_RATE = 16000
OPEN_SEARCH = "open"
DIGITS_SEARCH = "digits"


def create_decoder(model: DomainLanguageModel) -> Decoder:
    """A decoder with the open-vocabulary domain LM active and the digit grammar ready."""
    with tempfile.TemporaryDirectory(prefix="zylin-lm-") as directory:
        lm_path = Path(directory) / "domain.arpa"
        dict_path = Path(directory) / "domain.dict"
        lm_path.write_text(model.arpa)
        dict_path.write_text(model.dictionary_text())
        decoder = Decoder(
            hmm=get_model_path("en-us/en-us"),
            lm=None,
            dict=str(dict_path),
            samprate=DECODER_RATE,
            loglevel="FATAL",
        )
        decoder.add_lm_file(OPEN_SEARCH, str(lm_path))
    decoder.add_jsgf_string(DIGITS_SEARCH, model.digits_grammar)
    decoder.activate_search(OPEN_SEARCH)
    return decoder


class DecoderPool:
    """Idle decoders for one language model; ``acquire`` builds one when none is idle.

    Args:
        model: the language model every decoder of this pool carries.
        max_idle: decoders kept for reuse; more are dropped on release.
    """

    def __init__(self, model: DomainLanguageModel, *, max_idle: int = 4) -> None:
        self.model = model
        self._max_idle = max_idle
        self._idle: list[Decoder] = []
        self._lock = threading.Lock()
        self.created = 0

    def acquire(self) -> Decoder:
        """An idle decoder, or a new one (blocking: call from a worker thread)."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.created += 1
        return create_decoder(self.model)

    def release(self, decoder: Decoder) -> None:
        """Return a decoder that is between utterances with the open search active."""
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(decoder)

    @property
    def idle_count(self) -> int:
        with self._lock:
            return len(self._idle)


_pools: dict[str, DecoderPool] = {}
_pools_lock = threading.Lock()


def shared_pool(model: DomainLanguageModel, *, max_idle: int = 4) -> DecoderPool:
    """The process-wide pool for ``model`` (same vocabulary -> same pool)."""
    with _pools_lock:
        pool = _pools.get(model.key)
        if pool is None:
            pool = _pools[model.key] = DecoderPool(model, max_idle=max_idle)
        return pool


class WidebandFrontEnd:
    """Streaming 8 kHz int16 -> dithered 16 kHz int16 bytes for the decoder.

    Args:
        dither_dbfs: RMS of the added noise, relative to full scale.
        seed: dither noise seed, so a stream decodes the same way every time.
    """

    def __init__(self, *, dither_dbfs: float = -60.0, seed: int = 0) -> None:
        self._dither_rms = 32768.0 * 10 ** (dither_dbfs / 20)
        self._rng = np.random.default_rng(seed)
        self._resampler = StreamResampler(PHONE_RATE, DECODER_RATE)

    def convert(self, samples: Pcm, *, last: bool = False) -> bytes:
        wide = self._resampler.process(samples, last=last)
        if wide.size == 0:
            return b""
        return to_int16(wide + self._rng.normal(0.0, self._dither_rms, wide.size)).tobytes()

    def reset(self) -> None:
        self._resampler = StreamResampler(PHONE_RATE, DECODER_RATE)


def upsample_whole(samples: npt.NDArray[np.generic], sample_rate: int, *, dither_dbfs: float = -60.0) -> bytes:
    """A whole recording at any rate -> dithered 16 kHz int16 bytes."""
    wide = resample(samples, sample_rate, DECODER_RATE)
    rng = np.random.default_rng(0)
    return to_int16(wide + rng.normal(0.0, 32768.0 * 10 ** (dither_dbfs / 20), wide.size)).tobytes()
