"""Whole-recording transcription on pocketsphinx, for the recording path.

A recording (WAV of any rate, linear PCM or G.711 mu-law) is brought to 8 kHz,
cut into utterances by the same endpointer as the live path, and each
utterance is decoded with the business's domain model; the texts are joined.
"""

from __future__ import annotations

import asyncio
import struct
import wave
from collections.abc import Sequence

from calls.audio import PHONE_RATE, Pcm, read_wav, resample, to_int16, ulaw2lin
from calls.providers.pocketsphinx_asr import (
    PocketsphinxSettings,
    PocketsphinxSpeechToText,
    UtteranceRecognizer,
    run_in_decoder_pool,
)
from calls.voice.ports import BusinessInfo, ProviderError, Transcript

_WAVE_FORMAT_MULAW = 7


def read_recording(wav: bytes) -> Pcm:
    """A WAV recording as 8 kHz int16 samples (PCM WAV, or mu-law WAV as phones store it)."""
    if _format_tag(wav) == _WAVE_FORMAT_MULAW:
        return ulaw2lin(_data_chunk(wav))
    try:
        pcm, rate = read_wav(wav)
    except (EOFError, ValueError, wave.Error) as error:
        raise ProviderError(f"unreadable recording: {error}", provider="pocketsphinx", retryable=False) from error
    return pcm if rate == PHONE_RATE else to_int16(resample(pcm, rate, PHONE_RATE))


class PocketsphinxTranscriber:
    """``BatchSpeechToText`` on pocketsphinx with the business's domain model.

    Args:
        business: whose vocabulary the model is built from.
        settings: recognizer tuning (shared with the live path).
    """

    name = "pocketsphinx"

    def __init__(self, business: BusinessInfo, settings: PocketsphinxSettings | None = None) -> None:
        self._settings = settings or PocketsphinxSettings()
        # The live recognizer owns the per-vocabulary models and decoder pools.
        self._models = PocketsphinxSpeechToText(business, self._settings)

    async def transcribe(self, wav: bytes, *, hints: Sequence[str] = ()) -> str:
        samples = await asyncio.to_thread(read_recording, wav)
        pool = await asyncio.to_thread(self._models.pool, hints)
        decoder = await run_in_decoder_pool(pool.acquire)
        recognizer = UtteranceRecognizer(decoder, self._settings)
        try:
            events = await run_in_decoder_pool(recognizer.feed_pcm, samples)
            if recognizer.in_utterance:
                events.append(await run_in_decoder_pool(recognizer.finalize))
            await run_in_decoder_pool(recognizer.close)
        except RuntimeError as error:
            raise ProviderError(f"pocketsphinx failed: {error}", provider=self.name, retryable=True) from error
        pool.release(decoder)
        texts = [event.text for event in events if isinstance(event, Transcript) and event.is_final and event.text]
        return " ".join(texts)


def _format_tag(wav: bytes) -> int | None:
    chunk = _find_chunk(wav, b"fmt ")
    return struct.unpack_from("<H", chunk)[0] if chunk is not None and len(chunk) >= 2 else None


def _data_chunk(wav: bytes) -> bytes:
    chunk = _find_chunk(wav, b"data")
    if chunk is None:
        raise ProviderError("recording has no data chunk", provider="pocketsphinx", retryable=False)
    return chunk


def _find_chunk(wav: bytes, name: bytes) -> bytes | None:
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        return None
    offset = 12
    while offset + 8 <= len(wav):
        chunk_name, size = wav[offset : offset + 4], struct.unpack_from("<I", wav, offset + 4)[0]
        if chunk_name == name:
            return wav[offset + 8 : offset + 8 + size]
        offset += 8 + size + (size & 1)
    return None
