"""Piper with the bundled joe voice: phone-ready audio, one chunk per sentence."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from calls.audio import rms_dbfs, ulaw2lin
from calls.providers.piper_tts import PiperSettings, PiperTextToSpeech, load_voice


@pytest.fixture(scope="module")
def tts() -> PiperTextToSpeech:
    return PiperTextToSpeech()


async def synthesize(tts: PiperTextToSpeech, text: str) -> list[bytes]:
    return [chunk async for chunk in tts.synthesize(text)]


async def test_one_mulaw_chunk_per_sentence_of_plausible_length(tts: PiperTextToSpeech) -> None:
    chunks = await synthesize(tts, "Thanks for calling Bella Hair Studio. How can I help you today?")
    assert len(chunks) == 2
    for chunk in chunks:
        seconds = len(chunk) / 8000  # one byte per sample at 8 kHz
        assert 0.8 < seconds < 4.0
        pcm = ulaw2lin(chunk)
        assert rms_dbfs(pcm) > -30  # speech, not silence
        assert np.abs(pcm.astype(np.int32)).max() < 32000  # headroom: no clipping


async def test_longer_text_gives_longer_audio(tts: PiperTextToSpeech) -> None:
    short = b"".join(await synthesize(tts, "Yes."))
    long = b"".join(await synthesize(tts, "Your haircut is booked for tomorrow at three in the afternoon."))
    assert len(long) > 2 * len(short)


async def test_first_sentence_arrives_before_the_rest_is_synthesized(tts: PiperTextToSpeech) -> None:
    stream = tts.synthesize("Sure. " + "We are open from nine in the morning until six in the evening. " * 4)
    first = await anext(stream)
    assert len(first) < 8000  # "Sure." alone: well under a second of audio
    rest = [chunk async for chunk in stream]
    assert len(rest) == 4


async def test_blank_text_yields_nothing(tts: PiperTextToSpeech) -> None:
    assert await synthesize(tts, "  ") == []


async def test_closing_the_stream_early_is_clean(tts: PiperTextToSpeech) -> None:
    stream = tts.synthesize("One. Two. Three. Four.")
    await anext(stream)
    await stream.aclose()
    assert await synthesize(tts, "Still working.")  # the shared voice is fine afterwards


def test_voice_is_loaded_once_per_process_on_one_thread() -> None:
    first = load_voice(PiperSettings())
    assert load_voice(PiperSettings()) is first
    assert first.session.get_session_options().intra_op_num_threads == 1


async def test_concurrent_replies_do_not_mix(tts: PiperTextToSpeech) -> None:
    texts = ["Yes.", "Your appointment is confirmed for Friday at two thirty in the afternoon."]
    results = await asyncio.gather(*(synthesize(tts, text) for text in texts))
    assert len(b"".join(results[1])) > 3 * len(b"".join(results[0]))
