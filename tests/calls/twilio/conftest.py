"""Fixtures for the Twilio edge: signed requests, a fake Twilio REST API, clean counters."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from calls.capacity import streaming_capacity_reset
from calls.twilio_signature import SIGNATURE_HEADER, signature_compute
from tests.fakes.servers.twilio_rest import FakeTwilioRest

PUBLIC = "https://zylin.example.com"
SIGNING_TOKEN = "test-signing-token"
CALLER = "+12125550100"
DEMO_NUMBER = "+15005550006"


def signed_post(
    client: Client, path: str, params: dict[str, Any], *, signature: str | None = None, **extra: Any
) -> Any:
    """POST form ``params`` to ``path`` signed as Twilio signs it (over the public URL)."""
    if signature is None:
        signature = signature_compute(url=f"{PUBLIC}{path}", params=params)
    headers = {f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": signature} if signature else {}
    return client.post(path, params, **headers, **extra)


@pytest.fixture(autouse=True)
def twilio_edge_settings(settings: Any) -> Any:
    """Embedded mode (no Twilio account) behind a public https origin."""
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.TWILIO_SIGNING_TOKEN = SIGNING_TOKEN
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = ""
    settings.TWILIO_API_BASE_URL = ""
    settings.TWILIO_WHATSAPP_REPLY_TEMPLATE_SID = ""
    settings.TWILIO_WHATSAPP_BOOKING_TEMPLATE_SID = ""
    settings.OPENAI_API_KEY = ""
    return settings


@pytest.fixture(autouse=True)
def fresh_capacity() -> Iterator[None]:
    streaming_capacity_reset(limit=10)
    cache.clear()
    yield
    streaming_capacity_reset()
    cache.clear()


@pytest.fixture
def fake_twilio(settings: Any) -> Iterator[FakeTwilioRest]:
    """A fake Twilio REST API with Zylin's credentials pointed at it."""
    with FakeTwilioRest() as fake:
        settings.TWILIO_ACCOUNT_SID = fake.account_sid
        settings.TWILIO_AUTH_TOKEN = fake.auth_token
        settings.TWILIO_API_BASE_URL = fake.url
        yield fake


class ThreadedAsyncServer:
    """Runs an aiohttp fake (``start()``/``stop()`` coroutines) on its own loop in a thread.

    Synchronous code under test (Celery tasks in eager mode) can then call it.
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-async-server", daemon=True)

    def __enter__(self) -> Any:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(timeout=5)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


# --- the recording path ---------------------------------------------------------

OPENAI_KEY = "sk-test"
REPLY_TEMPLATE = "HX" + "7" * 32


@dataclass
class OpenAIFakes:
    audio: Any
    chat: Any


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def openai_fakes(settings: Any) -> Iterator[OpenAIFakes]:
    """OpenAI transcription and chat fakes, with Zylin's OpenAI agent and transcriber pointed at them."""
    from tests.calls.twilio.recording_flow import CLIP_TEXT
    from tests.fakes.servers.openai_audio import FakeOpenAIAudioServer
    from tests.fakes.servers.openai_chat import FakeOpenAIChatServer, running_in_thread

    with (
        ThreadedAsyncServer(FakeOpenAIAudioServer(api_key=OPENAI_KEY)) as audio,
        running_in_thread(FakeOpenAIChatServer(api_key=OPENAI_KEY)) as chat,
    ):
        audio.transcript = CLIP_TEXT
        settings.OPENAI_API_KEY = OPENAI_KEY
        settings.VOICE = {
            **settings.VOICE,
            "agent": "openai",
            "tts": "piper",
            "openai_base_url": chat.base_url,
            "openai_transcribe_base_url": f"{audio.url}/v1",
        }
        yield OpenAIFakes(audio=audio, chat=chat)


@pytest.fixture
def recording_policy(demo_business: Any) -> None:
    """Every call of the demo business takes the recording path (after hours too)."""
    policy = demo_business.rollout_policy
    policy.streaming_percent = 0
    policy.save()
    demo_business.after_hours = demo_business.AfterHours.RECORD
    demo_business.save()


@pytest.fixture
def pipeline(
    media_root: Path, fake_twilio: FakeTwilioRest, openai_fakes: OpenAIFakes, recording_policy: None, settings: Any
) -> FakeTwilioRest:
    """The recording path wired to the fakes: Twilio REST, OpenAI audio and chat."""
    settings.TWILIO_WHATSAPP_REPLY_TEMPLATE_SID = REPLY_TEMPLATE
    return fake_twilio


@pytest.fixture
def agent(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The scripted agent in place of the configured one."""
    from calls import wiring
    from tests.calls.twilio.doubles import ScriptedAgent

    scripted = ScriptedAgent()
    monkeypatch.setattr(wiring, "agent_build", lambda **kwargs: scripted)
    return scripted


@pytest.fixture
def voice(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A tone in place of the configured voice."""
    from calls import wiring
    from tests.calls.twilio.doubles import ToneVoice

    tone = ToneVoice()
    monkeypatch.setattr(wiring, "tts_build", lambda **kwargs: tone)
    return tone
