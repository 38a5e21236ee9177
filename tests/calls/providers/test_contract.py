"""One contract for every speech adapter in ``calls.providers``.

Vendor adapters run their real SDKs against the local fake servers; embedded
engines run for real. An adapter whose module is not in the tree is skipped,
so the suite covers whatever exists.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from types import ModuleType
from typing import Any

import pytest

from calls.audio import rms_dbfs, ulaw2lin, wav_bytes
from calls.voice.ports import (
    BatchSpeechToText,
    BusinessInfo,
    ServiceInfo,
    SpeechStarted,
    SpeechToText,
    TextToSpeech,
    Transcript,
    UtteranceEnd,
)
from tests.fakes.servers.audio import tone_mulaw
from tests.fakes.servers.deepgram import FakeDeepgramServer, ScriptedUtterance
from tests.fakes.servers.elevenlabs import FakeElevenLabsServer
from tests.fakes.servers.openai_audio import FakeOpenAIAudioServer

FRAME = 160
CALLER_SENTENCE = "I would like to book a haircut tomorrow."
SPOKEN_SENTENCE = "Your haircut is booked for Friday at three in the afternoon."


def provider_module(name: str) -> ModuleType:
    """The adapter module, or a skip when it is not in the tree."""
    return pytest.importorskip(f"calls.providers.{name}")


def standin_class(method: str) -> type[Any]:
    """The stand-in adapter class that has ``method`` (``connect`` or ``synthesize``)."""
    module = provider_module("standin")
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ == module.__name__ and callable(getattr(cls, method, None)) and hasattr(cls, "name"):
            return cls
    pytest.skip(f"calls.providers.standin has no class with {method}()")


def sample_business() -> BusinessInfo:
    day = ((dt.time(9), dt.time(17)),)
    return BusinessInfo(
        name="Acme Hair",
        timezone="Europe/London",
        address="1 High Street",
        greeting="Hello, Acme Hair.",
        transfer_number="+442071234567",
        services=(ServiceInfo("haircut", 30, "25.00"), ServiceInfo("beard trim", 15, "10.00")),
        opening_hours=(day, day, day, day, day, (), ()),
    )


_caller_audio: dict[str, bytes] = {}


async def caller_speech() -> bytes:
    """A caller's sentence as 8 kHz mu-law: spoken by piper when it is installed."""
    if "speech" not in _caller_audio:
        try:
            piper = importlib.import_module("calls.providers.piper_tts")
        except ImportError:
            _caller_audio["speech"] = tone_mulaw(1.5)
        else:
            voice = piper.PiperTextToSpeech()
            chunks = [chunk async for chunk in voice.synthesize(CALLER_SENTENCE)]
            _caller_audio["speech"] = b"\xff" * 2400 + b"".join(chunks) + b"\xff" * 4800
    return _caller_audio["speech"]


# --------------------------------------------------------------------------- builders


@asynccontextmanager
async def deepgram_stt(audio_bytes: int) -> AsyncIterator[SpeechToText]:
    module = provider_module("deepgram")
    server = await FakeDeepgramServer(api_key="k").start()
    server.script = [ScriptedUtterance(CALLER_SENTENCE, at_bytes=audio_bytes // 2, finalize_only=True)]
    try:
        yield module.DeepgramSpeechToText(module.DeepgramConfig(api_key="k", base_url=server.url))
    finally:
        await server.stop()


@asynccontextmanager
async def pocketsphinx_stt(audio_bytes: int) -> AsyncIterator[SpeechToText]:
    module = provider_module("pocketsphinx_asr")
    yield module.PocketsphinxSpeechToText(sample_business())


@asynccontextmanager
async def standin_stt(audio_bytes: int) -> AsyncIterator[SpeechToText]:
    yield standin_class("connect")()


STT_BUILDERS: dict[str, Callable[[int], Any]] = {
    "deepgram": deepgram_stt,
    "pocketsphinx": pocketsphinx_stt,
    "standin": standin_stt,
}


@asynccontextmanager
async def elevenlabs_tts() -> AsyncIterator[TextToSpeech]:
    module = provider_module("elevenlabs")
    server = FakeElevenLabsServer(api_key="k")
    await server.start()
    try:
        yield module.ElevenLabsTextToSpeech(module.ElevenLabsConfig(api_key="k", base_url=server.url))
    finally:
        await server.stop()


@asynccontextmanager
async def openai_tts() -> AsyncIterator[TextToSpeech]:
    module = provider_module("openai_speech")
    server = FakeOpenAIAudioServer(api_key="k")
    await server.start()
    try:
        yield module.OpenAITextToSpeech(module.OpenAISpeechConfig(api_key="k", base_url=f"{server.url}/v1"))
    finally:
        await server.stop()


@asynccontextmanager
async def piper_tts() -> AsyncIterator[TextToSpeech]:
    yield provider_module("piper_tts").PiperTextToSpeech()


@asynccontextmanager
async def espeak_tts() -> AsyncIterator[TextToSpeech]:
    yield provider_module("espeak_tts").EspeakTextToSpeech()


@asynccontextmanager
async def standin_tts() -> AsyncIterator[TextToSpeech]:
    yield standin_class("synthesize")()


TTS_BUILDERS: dict[str, Callable[[], Any]] = {
    "elevenlabs": elevenlabs_tts,
    "openai": openai_tts,
    "piper": piper_tts,
    "espeak": espeak_tts,
    "standin": standin_tts,
}

# --------------------------------------------------------------------------- speech to text


@pytest.mark.parametrize("adapter", STT_BUILDERS)
async def test_stt_stream_yields_a_final_transcript_and_closes_cleanly(adapter: str) -> None:
    audio = await caller_speech()
    async with AsyncExitStack() as stack:
        stt = await stack.enter_async_context(STT_BUILDERS[adapter](len(audio)))
        assert isinstance(stt.name, str)
        assert stt.name
        stream = await stt.connect(hints=["haircut", "tomorrow"])
        events: list[object] = []
        final = asyncio.Event()

        async def read() -> None:
            async for event in stream.events():
                events.append(event)
                if isinstance(event, Transcript) and event.is_final and event.text:
                    final.set()

        reader = asyncio.create_task(read())
        for start in range(0, len(audio), FRAME):
            await stream.send_audio(audio[start : start + FRAME])
            if start % (FRAME * 10) == 0:
                await asyncio.sleep(0)  # let the stream work, as 20 ms pacing would
        await stream.finalize()
        await asyncio.wait_for(final.wait(), 15.0)

        await stream.aclose()
        await asyncio.wait_for(reader, 5.0)  # events() ends once the stream is closed
        await stream.aclose()

    assert all(isinstance(event, Transcript | SpeechStarted | UtteranceEnd) for event in events)
    assert any(isinstance(event, Transcript) and event.is_final and event.text.strip() for event in events)


@pytest.mark.parametrize("adapter", STT_BUILDERS)
async def test_stt_close_without_audio_ends_events(adapter: str) -> None:
    async with AsyncExitStack() as stack:
        stt = await stack.enter_async_context(STT_BUILDERS[adapter](FRAME * 50))
        stream = await stt.connect()
        reader = asyncio.create_task(_drain(stream.events()))
        await asyncio.sleep(0)
        await stream.aclose()
        await stream.aclose()
        events = await asyncio.wait_for(reader, 5.0)

    assert not any(isinstance(event, Transcript) and event.text for event in events)


async def _drain(events: AsyncIterator[object]) -> list[object]:
    return [event async for event in events]


# --------------------------------------------------------------------------- batch speech to text


@asynccontextmanager
async def openai_batch() -> AsyncIterator[BatchSpeechToText]:
    module = provider_module("openai_speech")
    server = FakeOpenAIAudioServer(api_key="k")
    server.transcript = CALLER_SENTENCE
    await server.start()
    try:
        transcriber = module.OpenAITranscriber(module.OpenAISpeechConfig(api_key="k", base_url=f"{server.url}/v1"))
        yield transcriber
        await transcriber.aclose()
    finally:
        await server.stop()


@asynccontextmanager
async def pocketsphinx_batch() -> AsyncIterator[BatchSpeechToText]:
    yield provider_module("pocketsphinx_batch").PocketsphinxTranscriber(sample_business())


BATCH_BUILDERS: dict[str, Callable[[], Any]] = {
    "openai": openai_batch,
    "pocketsphinx": pocketsphinx_batch,
}


@pytest.mark.parametrize("adapter", BATCH_BUILDERS)
async def test_batch_transcribes_a_recorded_wav(adapter: str) -> None:
    wav = wav_bytes(ulaw2lin(await caller_speech()))
    async with BATCH_BUILDERS[adapter]() as transcriber:
        assert transcriber.name
        text = await transcriber.transcribe(wav, hints=["haircut"])

    assert isinstance(text, str)
    assert text.strip()
    assert text == text.strip()


# --------------------------------------------------------------------------- text to speech


@pytest.mark.parametrize("adapter", TTS_BUILDERS)
async def test_tts_speaks_a_sentence_as_mulaw(adapter: str) -> None:
    async with TTS_BUILDERS[adapter]() as tts:
        assert isinstance(tts.name, str)
        assert tts.name
        chunks = [chunk async for chunk in tts.synthesize(SPOKEN_SENTENCE)]
        await tts.aclose()

    assert chunks
    assert all(isinstance(chunk, bytes) and chunk for chunk in chunks)
    audio = b"".join(chunks)
    assert len(audio) >= 8000 * 0.5, "a sentence lasts more than half a second at 8 kHz"
    assert rms_dbfs(ulaw2lin(audio)) > -45, "the audio is not silence"


@pytest.mark.parametrize("adapter", TTS_BUILDERS)
async def test_tts_says_nothing_for_blank_text(adapter: str) -> None:
    async with TTS_BUILDERS[adapter]() as tts:
        assert [chunk async for chunk in tts.synthesize("")] == []
        assert [chunk async for chunk in tts.synthesize("  \n ")] == []
        await tts.aclose()
        await tts.aclose()
