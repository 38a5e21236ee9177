"""espeak-ng through ctypes, the fallback voice."""

from __future__ import annotations

import numpy as np

from calls.audio import rms_dbfs, ulaw2lin
from calls.providers.espeak_tts import EspeakSettings, EspeakTextToSpeech, split_sentences, synthesize_sentence


async def synthesize(tts: EspeakTextToSpeech, text: str) -> list[bytes]:
    return [chunk async for chunk in tts.synthesize(text)]


async def test_one_mulaw_chunk_per_sentence_of_plausible_length() -> None:
    chunks = await synthesize(EspeakTextToSpeech(), "Thanks for calling. How can I help you today?")
    assert len(chunks) == 2
    for chunk in chunks:
        assert 0.5 < len(chunk) / 8000 < 4.0
        pcm = ulaw2lin(chunk)
        assert rms_dbfs(pcm) > -30
        assert np.abs(pcm.astype(np.int32)).max() < 32000


async def test_speaking_rate_changes_duration() -> None:
    text = "Your haircut is booked for tomorrow at three."
    slow = b"".join(await synthesize(EspeakTextToSpeech(EspeakSettings(words_per_minute=120)), text))
    fast = b"".join(await synthesize(EspeakTextToSpeech(EspeakSettings(words_per_minute=240)), text))
    assert len(slow) > 1.5 * len(fast)


async def test_blank_text_yields_nothing() -> None:
    assert await synthesize(EspeakTextToSpeech(), " ") == []


def test_a_sentence_is_synthesized_synchronously_to_mulaw() -> None:
    first = synthesize_sentence("Goodbye.", EspeakSettings())
    second = synthesize_sentence("Goodbye.", EspeakSettings())
    # espeak varies its output slightly from run to run, never its length by much
    assert abs(len(first) - len(second)) < 0.05 * len(first)
    assert rms_dbfs(ulaw2lin(first)) > -30


def test_split_sentences_keeps_punctuation() -> None:
    assert split_sentences("Hi there! Is it 3 p.m.? Yes.  ") == ["Hi there!", "Is it 3 p.m.?", "Yes."]
    assert split_sentences("At 3 p.m. tomorrow. OK") == ["At 3 p.m. tomorrow.", "OK"]
