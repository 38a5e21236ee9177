"""ElevenLabsTextToSpeech: the elevenlabs SDK against a local server speaking its streaming API."""

from __future__ import annotations

import time

import pytest

from calls.providers.elevenlabs import ElevenLabsConfig, ElevenLabsTextToSpeech
from calls.voice.ports import ProviderError
from tests.fakes.servers.elevenlabs import FakeElevenLabsServer, speech_mulaw


def adapter(server: FakeElevenLabsServer, **options: object) -> ElevenLabsTextToSpeech:
    config = {"api_key": "k", "base_url": server.url, "backoff_s": 0.01, **options}
    return ElevenLabsTextToSpeech(ElevenLabsConfig(**config))  # type: ignore[arg-type]


async def speak(tts: ElevenLabsTextToSpeech, text: str) -> list[bytes]:
    return [chunk async for chunk in tts.synthesize(text)]


async def test_streams_the_mulaw_audio_the_server_sends(elevenlabs_server: FakeElevenLabsServer) -> None:
    tts = adapter(elevenlabs_server, voice_id="voice-1", chunk_bytes=800)
    text = "Hello, you have reached Acme Hair. How can I help?"
    chunks = await speak(tts, text)
    await tts.aclose()

    assert b"".join(chunks) == speech_mulaw(text)
    assert len(chunks) > 1, "audio should arrive as a stream, not in one piece"
    assert all(len(chunk) <= 800 for chunk in chunks)
    (request,) = elevenlabs_server.requests
    assert request.path == "/v1/text-to-speech/voice-1/stream"
    assert request.headers["xi-api-key"] == "k"
    assert request.query["output_format"] == "ulaw_8000"
    assert request.query["optimize_streaming_latency"] == "3"
    assert request.json == {"text": text, "model_id": "eleven_flash_v2_5"}


async def test_blank_text_yields_nothing_and_sends_nothing(elevenlabs_server: FakeElevenLabsServer) -> None:
    tts = adapter(elevenlabs_server)
    assert await speak(tts, "") == []
    assert await speak(tts, "   \n") == []
    await tts.aclose()

    assert elevenlabs_server.requests == []


async def test_server_error_is_retried(elevenlabs_server: FakeElevenLabsServer) -> None:
    elevenlabs_server.statuses = [500]
    tts = adapter(elevenlabs_server)
    chunks = await speak(tts, "See you tomorrow.")
    await tts.aclose()

    assert b"".join(chunks) == speech_mulaw("See you tomorrow.")
    assert len(elevenlabs_server.requests) == 2


async def test_persistent_server_errors_become_a_retryable_provider_error(
    elevenlabs_server: FakeElevenLabsServer,
) -> None:
    elevenlabs_server.statuses = [500, 503, 500]
    tts = adapter(elevenlabs_server, attempts=2)
    with pytest.raises(ProviderError) as caught:
        await speak(tts, "See you tomorrow.")
    await tts.aclose()

    assert caught.value.provider == "elevenlabs"
    assert caught.value.retryable is True
    assert "503" in str(caught.value)
    assert len(elevenlabs_server.requests) == 2


async def test_refused_key_is_not_retried(elevenlabs_server: FakeElevenLabsServer) -> None:
    elevenlabs_server.api_key = "another"
    tts = adapter(elevenlabs_server)
    with pytest.raises(ProviderError) as caught:
        await speak(tts, "Hello.")
    await tts.aclose()

    assert caught.value.retryable is False
    assert "401" in str(caught.value)
    assert len(elevenlabs_server.requests) == 1


async def test_no_first_chunk_in_time_is_a_provider_error(elevenlabs_server: FakeElevenLabsServer) -> None:
    elevenlabs_server.stall_before_audio = True
    tts = adapter(elevenlabs_server, first_chunk_timeout_s=0.2, attempts=2)
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        await speak(tts, "Hello.")
    elapsed = time.monotonic() - started
    await tts.aclose()

    assert caught.value.retryable is True
    assert len(elevenlabs_server.requests) == 2
    assert elapsed < 1.5


async def test_stall_mid_stream_is_a_provider_error_without_replay(
    elevenlabs_server: FakeElevenLabsServer,
) -> None:
    elevenlabs_server.stall_after_bytes = 1200
    tts = adapter(elevenlabs_server, chunk_timeout_s=0.2, chunk_bytes=400)
    received: list[bytes] = []

    async def listen() -> None:
        async for chunk in tts.synthesize("A long answer that stops half way through."):
            received.append(chunk)

    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        await listen()
    elapsed = time.monotonic() - started
    await tts.aclose()

    assert caught.value.retryable is True
    assert len(b"".join(received)) == 1200
    assert len(elevenlabs_server.requests) == 1, "audio already played must not be replayed"
    assert elapsed < 1.5


async def test_a_listener_can_stop_early_and_the_next_sentence_still_plays(
    elevenlabs_server: FakeElevenLabsServer,
) -> None:
    tts = adapter(elevenlabs_server, chunk_bytes=400)
    async for _ in tts.synthesize("An answer the caller talks over."):
        break
    chunks = await speak(tts, "Sorry, go ahead.")
    await tts.aclose()

    assert b"".join(chunks) == speech_mulaw("Sorry, go ahead.")


async def test_close_is_idempotent_and_a_shared_adapter_still_serves_the_next_call(
    elevenlabs_server: FakeElevenLabsServer,
) -> None:
    tts = adapter(elevenlabs_server)
    await speak(tts, "Goodbye.")
    await tts.aclose()
    await tts.aclose()

    assert b"".join(await speak(tts, "Hello.")) == speech_mulaw("Hello.")
    await tts.aclose()
