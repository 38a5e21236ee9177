"""A recognizer that keeps failing: one sentence to the caller, then the call goes to the recording path."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from calls import wiring
from calls.capacity import streaming_capacity_reset
from calls.models import Call, CallEvent
from calls.voice.clock import MonotonicClock
from calls.voice.config import VoicePhrases
from calls.voice.ports import ProviderError
from tests.calls.media_stream_support import PUBLIC, STANDINS, communicator, started, streaming_call
from tests.fakes.scripted import FakeTTS

pytestmark = pytest.mark.django_db(transaction=True)


class BrokenRecognizer:
    """Every connection attempt fails, as when the ASR vendor is down."""

    name = "deepgram"

    def __init__(self) -> None:
        self.attempts = 0

    async def connect(self, *, hints: Sequence[str] = ()) -> Any:
        self.attempts += 1
        raise ProviderError("deepgram is down", provider="deepgram", retryable=False)


@pytest.fixture
def voice(settings: Any, monkeypatch: pytest.MonkeyPatch) -> FakeTTS:
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.TWILIO_SIGNING_TOKEN = "fallback-test-token"
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""  # call control records the redirect
    settings.VOICE = {**settings.VOICE, **STANDINS}
    streaming_capacity_reset(limit=5)
    tts = FakeTTS(MonotonicClock(), first_audio_s=0.0, ms_per_char=5.0)  # audio bytes name the text
    monkeypatch.setattr(wiring, "tts_build", lambda **_: tts)
    monkeypatch.setattr(wiring, "stt_build", lambda **_: BrokenRecognizer())
    monkeypatch.setattr(wiring, "_phrase_caches", {})
    yield tts
    streaming_capacity_reset()


async def test_repeated_provider_failures_say_one_sentence_and_redirect_to_recording(
    voice: FakeTTS, demo_business: Any
) -> None:
    call = await sync_to_async(streaming_call)(demo_business)
    socket = communicator()
    await socket.connect()
    stream = await started(socket, call)
    heard: list[str | None] = []
    while True:  # play everything at once: echo each mark as it comes
        output = await socket.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            break
        message = json.loads(output["text"])
        if message["event"] == "media":
            text = voice.text_for(base64.b64decode(message["media"]["payload"])[0])
            if not heard or heard[-1] != text:
                heard.append(text)
        elif message["event"] == "mark":
            await socket.send_to(text_data=stream.mark(message["mark"]["name"]))
    await socket.disconnect()

    assert heard[-1] == VoicePhrases().fallback
    assert heard.count(VoicePhrases().fallback) == 1
    # Before it: the greeting (perhaps cut short) and, if the first failure found Zylin idle, an apology.
    assert set(heard) <= {VoicePhrases().fallback, VoicePhrases().apology, demo_business.greeting_text}
    stored = await sync_to_async(Call.objects.get)(pk=call.pk)
    assert stored.end_reason == "fallback"
    assert "fell back to recording" in stored.route_reason
    events = await sync_to_async(list)(CallEvent.objects.filter(call=call).values_list("name", flat=True))
    assert events.count("provider_failure") == 3
    assert "fallback" in events
    assert "fallback-to-recording" in events  # CallControl.redirect_to_recording, recorded without credentials
