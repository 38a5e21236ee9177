"""Scripted stand-ins for the agent and the voice in recording-path tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from calls.audio import tone_mulaw
from calls.voice.ports import IntentUpdate, ProviderError, TextDelta

SCRIPTED_REPLY = "A haircut is forty-five dollars. Would you like to book one?"


class ScriptedAgent:
    """Answers every caller turn with the same two sentences and a price intent."""

    name = "scripted"

    def __init__(self) -> None:
        self.heard: list[str] = []

    def greeting(self) -> str:
        return "Hello."

    async def respond(self, caller_text: str) -> AsyncIterator[Any]:
        self.heard.append(caller_text)
        yield IntentUpdate(name="ask_price", confidence=0.9, slots={"service": "Haircut"})
        yield TextDelta("A haircut is forty-five dollars. ")
        yield TextDelta("Would you like to book one?")


class ToneVoice:
    """A voice that says one second of tone, or fails when told to."""

    name = "tone"

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.closed = False

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        if self.fail:
            raise ProviderError("voice down", provider="tone", retryable=True)
        for _ in range(5):
            yield tone_mulaw(440, 200)

    async def aclose(self) -> None:
        self.closed = True
