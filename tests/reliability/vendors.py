"""Local fakes of Deepgram, OpenAI and ElevenLabs for a call, and a caller that talks to them.

The ``vendors`` fixture starts the three fakes and points Zylin's real
adapters at them; ``Caller`` places a call through the media socket and says
things the Deepgram fake then "recognizes".
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from prometheus_client import REGISTRY

from businesses.models import Business
from calls import wiring
from calls.models import Call, CallEvent
from calls.voice.config import VoicePhrases
from tests.fakes.servers.deepgram import FakeDeepgramServer, ScriptedUtterance
from tests.fakes.servers.elevenlabs import FakeElevenLabsServer
from tests.fakes.servers.openai_chat import FakeOpenAIChatServer
from tests.reliability.conftest import stream_parameters, streaming_call
from tests.reliability.phone import Phone, media_socket

HEARD_WITHIN_S = 2.0
PHRASES = VoicePhrases()
# The agent's deadlines, shortened from production's 8 s so a stalled model costs seconds here.
AGENT_TIMEOUT_S = 2.0


@dataclass
class Vendors:
    deepgram: FakeDeepgramServer
    openai: FakeOpenAIChatServer
    elevenlabs: FakeElevenLabsServer


@pytest.fixture
async def vendors(edge_settings: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Vendors]:
    """Deepgram, OpenAI and ElevenLabs fakes, with Zylin's adapters configured for them."""
    deepgram = await FakeDeepgramServer(api_key="dg-key").start()
    openai = FakeOpenAIChatServer(api_key="oa-key")
    await openai.start()
    elevenlabs = await FakeElevenLabsServer(api_key="el-key").start()
    edge_settings.DEEPGRAM_API_KEY = "dg-key"
    edge_settings.OPENAI_API_KEY = "oa-key"
    edge_settings.ELEVENLABS_API_KEY = "el-key"
    edge_settings.VOICE = {
        **edge_settings.VOICE,
        "asr": "deepgram",
        "agent": "openai",
        "tts": "elevenlabs",
        "deepgram_url": deepgram.url,
        "openai_base_url": openai.base_url,
        "openai_model": "gpt-fake",
        "elevenlabs_base_url": elevenlabs.url,
    }
    build = wiring.agent_build

    def agent_build(**kwargs: Any) -> Any:
        agent = build(**kwargs)
        agent.config = dataclasses.replace(agent.config, timeout_s=AGENT_TIMEOUT_S, idle_timeout_s=AGENT_TIMEOUT_S)
        return agent

    monkeypatch.setattr(wiring, "agent_build", agent_build)
    yield Vendors(deepgram, openai, elevenlabs)
    await elevenlabs.stop()
    await openai.stop()
    await deepgram.stop()


class Caller:
    """One call through the media socket: talks (the Deepgram fake recognizes it) and listens."""

    def __init__(self, phone: Phone, vendors: Vendors, call: Call) -> None:
        self.phone = phone
        self.vendors = vendors
        self.call = call

    @classmethod
    async def ring(cls, business: Business, vendors: Vendors) -> Caller:
        call = await sync_to_async(streaming_call)(business)
        socket = media_socket()
        assert (await socket.connect())[0]
        phone = await Phone(socket, call_sid=call.sid, parameters=stream_parameters(call)).start()
        caller = cls(phone, vendors, call)
        assert await phone.answer_after(0.0, timeout_s=5.0) is not None  # the greeting
        await phrases_ready(business)
        await phone.quiet(0.4)
        return caller

    async def says(self, text: str, *, seconds: float = 1.0, recognized: bool = True) -> float:
        """Speak; the recognizer fake hears ``text`` as the speech ends. Returns the end time."""
        if recognized:
            at = self.vendors.deepgram.total_audio + int(seconds * 8000)
            self.vendors.deepgram.script.append(ScriptedUtterance(text, at_bytes=at))
        return await self.phone.say(seconds)

    async def heard_after(self, end: float, *, timeout_s: float = 8.0) -> float | None:
        """Seconds from the end of the caller's speech to the first sound from Zylin."""
        first = await self.phone.answer_after(end, timeout_s=timeout_s)
        return None if first is None else first - end

    async def events(self, name: str) -> list[dict[str, Any]]:
        return await sync_to_async(
            lambda: list(CallEvent.objects.filter(call=self.call, name=name).values_list("detail", flat=True))
        )()

    async def until(self, condition: Any, timeout_s: float = 15.0) -> bool:
        """Poll an async ``condition()`` (a database check) until it holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not await condition():
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.1)
        return True

    async def answered(self, text: str, timeout_s: float = 15.0) -> bool:
        """Until Zylin's stored turns end with ``text`` (it was said in full)."""

        async def said() -> bool:
            turns = await self.assistant_turns()
            return bool(turns) and turns[-1] == text

        return await self.until(said, timeout_s)

    async def reported(self, name: str, timeout_s: float = 15.0) -> bool:
        async def present() -> bool:
            return bool(await self.events(name))

        return await self.until(present, timeout_s)

    async def assistant_turns(self) -> list[str]:
        return await sync_to_async(
            lambda: list(self.call.turns.filter(speaker="assistant").order_by("index").values_list("text", flat=True))
        )()

    async def hang_up(self) -> None:
        await self.phone.quiet(0.4)
        await self.phone.hang_up()
        assert self.phone.application_error() is None


async def phrases_ready(business: Business, timeout_s: float = 10.0) -> None:
    """Wait until the fixed phrases (filler, apology...) are synthesized, so faults hit only the call."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        caches = [cache for key, cache in wiring._phrase_caches.items() if key[0] == business.pk]
        if caches and all(phrase in caches[0] for phrase in PHRASES.all()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the fixed phrases were never synthesized")


def provider_errors(provider: str) -> float:
    return REGISTRY.get_sample_value("zylin_provider_errors_total", {"provider": provider}) or 0.0


def handled(events: list[dict[str, Any]], provider: str, handling: str) -> bool:
    return any(e["provider"] == provider and e["handling"] == handling for e in events)
