"""The vendor adapters against the real services. Off by default: run with ``pytest -m live``.

Each test needs its vendor's key in the environment and is skipped without it.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from calls.audio import ulaw2lin, wav_bytes
from calls.providers.deepgram import DeepgramConfig, DeepgramSpeechToText
from calls.providers.elevenlabs import ElevenLabsConfig, ElevenLabsTextToSpeech
from calls.providers.openai_speech import OpenAISpeechConfig, OpenAITextToSpeech, OpenAITranscriber
from calls.voice.ports import Transcript

pytestmark = pytest.mark.live

SENTENCE = "I would like to book a haircut tomorrow at three."


def key(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.skip(f"{name} is not set")
    return value


async def spoken_sentence() -> bytes:
    """The sentence as 8 kHz mu-law, spoken by ElevenLabs (or OpenAI when only that key is set)."""
    if os.environ.get("ELEVENLABS_API_KEY"):
        tts: ElevenLabsTextToSpeech | OpenAITextToSpeech = ElevenLabsTextToSpeech(
            ElevenLabsConfig(api_key=key("ELEVENLABS_API_KEY"))
        )
    else:
        tts = OpenAITextToSpeech(OpenAISpeechConfig(api_key=key("OPENAI_API_KEY")))
    audio = b"".join([chunk async for chunk in tts.synthesize(SENTENCE)])
    await tts.aclose()
    return audio


async def test_elevenlabs_speaks_mulaw() -> None:
    tts = ElevenLabsTextToSpeech(ElevenLabsConfig(api_key=key("ELEVENLABS_API_KEY")))
    audio = b"".join([chunk async for chunk in tts.synthesize("Hello, this is Zylin.")])
    await tts.aclose()

    assert len(audio) > 8000


async def test_deepgram_transcribes_a_spoken_sentence() -> None:
    stt = DeepgramSpeechToText(DeepgramConfig(api_key=key("DEEPGRAM_API_KEY")))
    audio = await spoken_sentence() + b"\xff" * 8000
    stream = await stt.connect(hints=["haircut"])
    finals: list[str] = []

    async def read() -> None:
        async for event in stream.events():
            if isinstance(event, Transcript) and event.is_final and event.text:
                finals.append(event.text)

    reader = asyncio.create_task(read())
    for start in range(0, len(audio), 160):
        await stream.send_audio(audio[start : start + 160])
        await asyncio.sleep(0.02)
    await stream.finalize()
    await asyncio.sleep(1.0)
    await stream.aclose()
    await reader

    assert "haircut" in " ".join(finals).lower()


async def test_openai_transcribes_a_wav() -> None:
    transcriber = OpenAITranscriber(OpenAISpeechConfig(api_key=key("OPENAI_API_KEY")))
    wav = wav_bytes(ulaw2lin(await spoken_sentence()))
    text = await transcriber.transcribe(wav, hints=["haircut"])
    await transcriber.aclose()

    assert "haircut" in text.lower()
