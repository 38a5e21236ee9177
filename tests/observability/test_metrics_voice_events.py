"""Metrics fed by real Media Stream calls: each echoed frame, and the provider a call fell back from."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from businesses.models import Business
from calls import metrics, wiring
from calls.capacity import streaming_capacity_reset
from calls.models import CallEvent
from calls.voice.clock import MonotonicClock
from calls.voice.echo import EchoStats
from calls.voice.ports import ProviderError
from tests.calls.media_stream_support import (
    PUBLIC,
    STANDINS,
    communicator,
    next_message,
    started,
    streaming_call,
    until_closed,
)
from tests.fakes.scripted import FakeTTS
from tests.observability.conftest import Samples, sample, scrape

pytestmark = pytest.mark.django_db(transaction=True)


class DownRecognizer:
    """Every connection attempt fails, as when the ASR vendor is down."""

    name = "deepgram"

    async def connect(self, *, hints: Sequence[str] = ()) -> Any:
        raise ProviderError("deepgram is down", provider="deepgram", retryable=False)


@pytest.fixture
def media_settings(settings: Any) -> Iterator[Any]:
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.TWILIO_SIGNING_TOKEN = "metrics-test-token"
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""  # call control records its actions
    settings.VOICE = {**settings.VOICE, **STANDINS}
    streaming_capacity_reset(limit=5)
    yield settings
    streaming_capacity_reset()


async def _scrape() -> Samples:
    return await sync_to_async(scrape)(Client())


def test_each_echo_sample_is_an_observation():
    observed: list[float] = []
    stats = EchoStats(on_sample=observed.append)
    for latency in (1.5, 0.25, 4.0):
        stats.add(latency)
    assert observed == [1.5, 0.25, 4.0]
    assert stats.summary()["frames"] == 3


async def test_an_echo_call_observes_every_echoed_frame(media_settings: Any, demo_business: Business) -> None:
    await sync_to_async(Business.objects.filter(pk=demo_business.pk).update)(echo_mode=True)
    call = await sync_to_async(streaming_call)(demo_business)
    before = await _scrape()
    socket = communicator()
    await socket.connect()
    stream = await started(socket, call)
    frames = [bytes([value]) * 160 for value in range(0x10, 0x10 + 12)]
    for frame in frames:
        await socket.send_to(text_data=stream.media(frame))
    for _ in frames:
        await next_message(socket)
    await socket.send_to(text_data=stream.stop())
    await until_closed(socket)
    await socket.disconnect()
    after = await _scrape()

    count = sample(after, "zylin_echo_seconds_count") - sample(before, "zylin_echo_seconds_count")
    assert count == len(frames)
    summary = await sync_to_async(CallEvent.objects.get)(call=call, name="echo_latency")
    assert summary.detail["frames"] == len(frames)  # the stored summary and the histogram agree
    within_max = sample(after, "zylin_echo_seconds_bucket", le="+Inf") - sample(
        before, "zylin_echo_seconds_bucket", le="+Inf"
    )
    assert within_max == len(frames)


async def test_a_fallback_counts_against_the_provider_that_failed(
    media_settings: Any, demo_business: Business, monkeypatch: pytest.MonkeyPatch
) -> None:
    tts = FakeTTS(MonotonicClock(), first_audio_s=0.0, ms_per_char=5.0)
    monkeypatch.setattr(wiring, "tts_build", lambda **_: tts)
    monkeypatch.setattr(wiring, "stt_build", lambda **_: DownRecognizer())
    monkeypatch.setattr(wiring, "_phrase_caches", {})
    call = await sync_to_async(streaming_call)(demo_business)
    before = await _scrape()
    socket = communicator()
    await socket.connect()
    stream = await started(socket, call)
    while True:  # play everything at once: acknowledge each mark as it comes
        output = await socket.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            break
        message = json.loads(output["text"])
        if message["event"] == "mark":
            await socket.send_to(text_data=stream.mark(message["mark"]["name"]))
    await socket.disconnect()
    after = await _scrape()

    [fallback] = await sync_to_async(list)(CallEvent.objects.filter(call=call, name="fallback"))
    assert fallback.detail["provider"] == "deepgram"

    def delta(name: str, provider: str) -> float:
        return sample(after, name, provider=provider) - sample(before, name, provider=provider)

    assert delta("zylin_provider_fallbacks_total", "deepgram") == 1
    assert delta("zylin_provider_fallbacks_total", metrics.OTHER) == 0
    failures = await sync_to_async(CallEvent.objects.filter(call=call, name="provider_failure").count)()
    assert delta("zylin_provider_errors_total", "deepgram") == failures > 0
