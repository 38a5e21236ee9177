"""Fake vendor servers as fixtures, each started on a free local port per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.servers.deepgram import FakeDeepgramServer
from tests.fakes.servers.elevenlabs import FakeElevenLabsServer
from tests.fakes.servers.openai_audio import FakeOpenAIAudioServer


@pytest.fixture
async def deepgram_server() -> AsyncIterator[FakeDeepgramServer]:
    server = await FakeDeepgramServer(api_key="k").start()
    yield server
    await server.stop()


@pytest.fixture
async def elevenlabs_server() -> AsyncIterator[FakeElevenLabsServer]:
    server = FakeElevenLabsServer(api_key="k")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def openai_audio_server() -> AsyncIterator[FakeOpenAIAudioServer]:
    server = FakeOpenAIAudioServer(api_key="k")
    await server.start()
    yield server
    await server.stop()
