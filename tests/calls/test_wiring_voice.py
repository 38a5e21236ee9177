"""Provider choice by settings, and everything a Media Stream's session is built from."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured

from businesses.models import Business
from calls import wiring
from calls.adapters.session_store import MemorySessionStore, RedisSessionStore
from calls.providers.deepgram import DeepgramSpeechToText
from calls.providers.elevenlabs import ElevenLabsTextToSpeech
from calls.providers.espeak_tts import EspeakTextToSpeech
from calls.providers.piper_tts import PiperTextToSpeech
from calls.providers.pocketsphinx_asr import PocketsphinxSpeechToText
from calls.providers.standin import StandInAgent, StandInSpeechToText, StandInTextToSpeech
from calls.simulator.messages import TwilioStream
from calls.twilio_media import parse_event
from calls.voice.config import VoiceConfig, VoicePhrases
from calls.voice.events import StartEvent
from tests.calls.media_stream_support import stream_parameters, streaming_call
from tests.fakes.clock import ManualClock
from tests.fakes.scripted import FakeTTS


def voice(settings: Any, **knobs: Any) -> None:
    settings.VOICE = {**settings.VOICE, **knobs}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("asr", "expected"),
    [("standin", StandInSpeechToText), ("pocketsphinx", PocketsphinxSpeechToText), ("deepgram", DeepgramSpeechToText)],
)
def test_the_recognizer_follows_zylin_asr(settings: Any, demo_business: Business, asr: str, expected: type) -> None:
    settings.DEEPGRAM_API_KEY = "dg-key"
    voice(settings, asr=asr)
    assert isinstance(wiring.stt_build(business=demo_business), expected)


@pytest.mark.parametrize(
    ("tts", "expected"),
    [("standin", StandInTextToSpeech), ("espeak", EspeakTextToSpeech), ("piper", PiperTextToSpeech),
     ("elevenlabs", ElevenLabsTextToSpeech)],
)  # fmt: skip
def test_the_voice_follows_zylin_tts(settings: Any, tts: str, expected: type) -> None:
    settings.ELEVENLABS_API_KEY = "el-key"
    voice(settings, tts=tts)
    built = wiring.tts_build(business=Business(name="X"))
    assert isinstance(built, expected)
    if tts != "elevenlabs":
        assert wiring.tts_build(business=Business(name="Y")) is built  # one per process


@pytest.mark.parametrize("role", ["asr", "tts"])
def test_an_unknown_provider_is_a_configuration_error(settings: Any, role: str) -> None:
    voice(settings, **{role: "whisper-on-a-toaster"})
    build = wiring.stt_build if role == "asr" else wiring.tts_build
    with pytest.raises(ImproperlyConfigured):
        build(business=Business(name="X"))


@pytest.mark.django_db
def test_voice_config_from_the_business_and_settings(settings: Any, demo_business: Business) -> None:
    voice(settings, asr="deepgram", agent="local", resume_window_s=45)
    config = wiring.voice_config_build(business=demo_business)
    assert (config.echo, config.play_greeting, config.resume_window_s) == (False, True, 45)
    assert {"Bella Hair Studio", "Haircut", "Beard trim", "highlights"} <= set(config.asr_hints)
    demo_business.echo_mode = True
    voice(settings, asr="standin", agent="standin")
    config = wiring.voice_config_build(business=demo_business)
    assert (config.echo, config.play_greeting, config.asr_hints) == (True, False, ())  # no greeting with stand-ins


def test_the_session_store_is_redis_when_configured(settings: Any) -> None:
    settings.REDIS_URL = ""
    memory = wiring.session_store_build()
    assert isinstance(memory, MemorySessionStore)
    assert wiring.session_store_build() is memory  # resume needs the same store across streams
    settings.REDIS_URL = "redis://127.0.0.1:6399/0"
    assert isinstance(wiring.session_store_build(), RedisSessionStore)


@pytest.mark.django_db
async def test_phrases_are_synthesized_once_per_business_greeting_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wiring, "_phrase_caches", {})
    monkeypatch.setattr(wiring, "_phrase_warmers", {})
    tts = FakeTTS(ManualClock(), first_audio_s=0.0)
    business = Business(pk=41, name="Shop")
    cache = await wiring.phrase_cache_ready(business=business, tts=tts, config=VoiceConfig(), greeting="Hi there!")
    assert tts.requests == ["Hi there!"]  # the greeting is ready before the call starts
    assert "Hi there!" in cache
    await next(iter(wiring._phrase_warmers.values()))
    assert set(tts.requests[1:]) == set(VoicePhrases().all())
    again = await wiring.phrase_cache_ready(business=business, tts=tts, config=VoiceConfig(), greeting="Hi there!")
    assert again is cache
    assert len(tts.requests) == 1 + len(VoicePhrases().all())  # nothing synthesized twice


@pytest.mark.django_db(transaction=True)
async def test_session_build_resumes_from_a_checkpoint(settings: Any, demo_business: Business) -> None:
    settings.REDIS_URL = ""
    voice(settings, asr="standin", agent="standin", tts="standin")
    call = await sync_to_async(streaming_call)(demo_business)
    call = await sync_to_async(type(call).objects.select_related("business").get)(pk=call.pk)
    start = parse_event(TwilioStream(call_sid=call.sid).start(stream_parameters(call)))
    assert isinstance(start, StartEvent)

    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    fresh = await wiring.session_build(call, start, send)
    assert isinstance(fresh.agent, StandInAgent)
    assert fresh.config.resume_window_s == settings.VOICE["resume_window_s"]
    await wiring.session_store_build().save(call.session_id, {"agent": {"turns": 4}, "turn_index": 9}, ttl_seconds=60)
    resumed = await wiring.session_build(call, start, send)
    running = asyncio.create_task(resumed.run())
    resumed.feed(start)
    while not sent:
        await asyncio.sleep(0.01)
    assert resumed.turn_index >= 9  # numbering goes on from the checkpoint
    assert resumed.agent.snapshot() == {"turns": 4}
    await resumed.aclose()
    await asyncio.wait({running}, timeout=2)
