"""OpenAI transcription and speech: the openai SDK against a local server speaking its audio API."""

from __future__ import annotations

import time

import numpy as np
import pytest

from calls.audio import ulaw2lin
from calls.providers.openai_speech import (
    OpenAISpeechConfig,
    OpenAITextToSpeech,
    OpenAITranscriber,
    hint_prompt,
)
from calls.voice.ports import ProviderError
from tests.fakes.servers.openai_audio import SECONDS_PER_CHARACTER, FakeOpenAIAudioServer

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)


def config(server: FakeOpenAIAudioServer, **options: object) -> OpenAISpeechConfig:
    values = {"api_key": "k", "base_url": f"{server.url}/v1", "backoff_s": 0.01, **options}
    return OpenAISpeechConfig(**values)  # type: ignore[arg-type]


def test_hint_prompt_lists_each_word_once() -> None:
    assert hint_prompt(["haircut", " Maria ", "", "haircut"]) == "Words that may come up: haircut, Maria."
    assert hint_prompt([]) == ""


async def test_transcribe_posts_the_wav_and_returns_the_text(openai_audio_server: FakeOpenAIAudioServer) -> None:
    openai_audio_server.transcript = "  Maria Lopez, tomorrow at 3.  "
    transcriber = OpenAITranscriber(config(openai_audio_server))
    text = await transcriber.transcribe(WAV, hints=["Maria Lopez", "haircut"])
    await transcriber.aclose()

    assert text == "Maria Lopez, tomorrow at 3."
    (request,) = openai_audio_server.requests
    assert request.path == "/v1/audio/transcriptions"
    assert request.headers["Authorization"] == "Bearer k"
    assert request.form["model"] == "gpt-4o-mini-transcribe"
    assert request.form["language"] == "en"
    assert request.form["prompt"] == "Words that may come up: Maria Lopez, haircut."
    assert request.files["file"] == ("call.wav", "audio/wav", WAV)


async def test_transcribe_without_hints_sends_no_prompt(openai_audio_server: FakeOpenAIAudioServer) -> None:
    transcriber = OpenAITranscriber(config(openai_audio_server, transcription_model="whisper-1"))
    await transcriber.transcribe(WAV)
    await transcriber.aclose()

    (request,) = openai_audio_server.requests
    assert request.form["model"] == "whisper-1"
    assert "prompt" not in request.form


async def test_transcribe_retries_a_server_error(openai_audio_server: FakeOpenAIAudioServer) -> None:
    openai_audio_server.statuses = [502]
    transcriber = OpenAITranscriber(config(openai_audio_server))
    assert await transcriber.transcribe(WAV) == openai_audio_server.transcript
    await transcriber.aclose()

    assert len(openai_audio_server.requests) == 2


async def test_transcribe_refused_key_is_not_retryable(openai_audio_server: FakeOpenAIAudioServer) -> None:
    openai_audio_server.api_key = "another"
    transcriber = OpenAITranscriber(config(openai_audio_server))
    with pytest.raises(ProviderError) as caught:
        await transcriber.transcribe(WAV)
    await transcriber.aclose()

    assert caught.value.provider == "openai"
    assert caught.value.retryable is False
    assert len(openai_audio_server.requests) == 1


async def test_transcribe_stall_is_a_retryable_error_within_the_timeout(
    openai_audio_server: FakeOpenAIAudioServer,
) -> None:
    openai_audio_server.stall_before_answer = True
    transcriber = OpenAITranscriber(config(openai_audio_server, transcription_timeout_s=0.2))
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        await transcriber.transcribe(WAV)
    elapsed = time.monotonic() - started
    await transcriber.aclose()

    assert caught.value.retryable is True
    assert len(openai_audio_server.requests) == 2
    assert elapsed < 1.5


async def test_speech_is_resampled_to_8khz_mulaw(openai_audio_server: FakeOpenAIAudioServer) -> None:
    tts = OpenAITextToSpeech(config(openai_audio_server, voice="nova"))
    text = "Your haircut is booked for Friday at 3 pm."
    chunks = [chunk async for chunk in tts.synthesize(text)]
    await tts.aclose()

    audio = b"".join(chunks)
    expected_samples = round(SECONDS_PER_CHARACTER * len(text) * 8000)
    assert len(chunks) > 1
    assert abs(len(audio) - expected_samples) <= 8
    # The fake speaks a 440 Hz tone: it must still be 440 Hz at the phone rate.
    samples = ulaw2lin(audio).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples))
    peak_hz = np.argmax(spectrum) * 8000 / len(samples)
    assert abs(peak_hz - 440) < 5
    (request,) = openai_audio_server.requests
    assert request.path == "/v1/audio/speech"
    assert request.json["response_format"] == "pcm"
    assert request.json["voice"] == "nova"
    assert request.json["model"] == "gpt-4o-mini-tts"
    assert request.json["input"] == text


async def test_speech_server_error_is_retried_then_reported(openai_audio_server: FakeOpenAIAudioServer) -> None:
    openai_audio_server.statuses = [500, 500]
    tts = OpenAITextToSpeech(config(openai_audio_server))
    with pytest.raises(ProviderError) as caught:
        _ = [chunk async for chunk in tts.synthesize("Hello.")]
    await tts.aclose()
    await tts.aclose()

    assert caught.value.retryable is True
    assert len(openai_audio_server.requests) == 2


async def test_closed_transcriber_reopens_for_the_next_recording(openai_audio_server: FakeOpenAIAudioServer) -> None:
    transcriber = OpenAITranscriber(config(openai_audio_server))
    await transcriber.transcribe(WAV)
    await transcriber.aclose()
    await transcriber.aclose()

    assert await transcriber.transcribe(WAV) == openai_audio_server.transcript
    await transcriber.aclose()
    assert len(openai_audio_server.requests) == 2
