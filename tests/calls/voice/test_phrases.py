"""PhraseCache: fixed phrases synthesized once per business and served from memory."""

from __future__ import annotations

from calls.voice.phrases import PhraseCache
from calls.voice.ports import ProviderError
from tests.fakes.clock import ManualClock
from tests.fakes.scripted import FakeTTS


async def test_warm_synthesizes_each_missing_phrase_once() -> None:
    tts = FakeTTS(ManualClock(), first_audio_s=0)
    cache = PhraseCache({"Hello there.": b"\x01" * 160})
    failed = await cache.warm(tts, ["Hello there.", "One moment.", "  ", "One moment."])
    assert failed == []
    assert tts.requests == ["One moment."]
    assert cache.get("One  moment.") == tts.audio_for("One moment.")  # whitespace-insensitive
    assert "Hello there." in cache
    assert len(cache) == 2


async def test_warm_reports_phrases_the_voice_could_not_say() -> None:
    tts = FakeTTS(ManualClock(), first_audio_s=0)
    tts.failures.append(ProviderError("down", provider="fake-tts", retryable=False))
    cache = PhraseCache()
    assert await cache.warm(tts, ["Goodbye!", "Thanks."]) == ["Goodbye!"]
    assert "Goodbye!" not in cache
    assert "Thanks." in cache


async def test_fetch_synthesizes_on_a_miss_and_keeps_the_clip() -> None:
    tts = FakeTTS(ManualClock(), first_audio_s=0)
    cache = PhraseCache()
    first = await cache.fetch("Welcome back.", tts)
    second = await cache.fetch("Welcome back.", tts)
    assert first == second == tts.audio_for("Welcome back.")
    assert tts.requests == ["Welcome back."]
    tts.failures.append(ProviderError("down", provider="fake-tts", retryable=False))
    assert await cache.fetch("Never said.", tts) is None
