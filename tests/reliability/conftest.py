"""Fixtures of the reliability suites, and the summary table printed at the end of the run."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from businesses.models import Business
from calls import wiring
from calls.audio import tone_pcm, write_wav
from calls.capacity import streaming_capacity_reset
from calls.models import Call
from calls.routing import RouteDecision, RoutePath
from calls.services import call_route_set, call_start
from calls.simulator.messages import sid
from calls.voice.ports import SpeechToText
from tests.factories import BusinessFactory, OpeningHoursFactory, ServiceFactory
from tests.reliability import summary
from tests.reliability.phone import PUBLIC_BASE_URL
from tests.reliability.recognizer import LinesRecognizer

SIGNING_TOKEN = "reliability-signing-token"
CALLER = "+15551230000"
DEMO_NUMBER = "+15005550006"
STANDINS = {"asr": "standin", "tts": "standin", "agent": "local", "standin_latency_ms": 0.0, "standin_clip": ""}

# Fuzzing explores: no example database on disk, no per-example deadline (sockets and threads are involved).
hypothesis_settings.register_profile(
    "reliability",
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)


FULL_RUN_ENV = "ZYLIN_RELIABILITY_FULL"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long suites of this directory (marked slow: load, SIGTERM) run under ``make reliability``.

    Elsewhere they are skipped, so the normal test run stays fast; ``-m slow`` asks for them too.
    """
    if os.environ.get(FULL_RUN_ENV) == "1" or "slow" in (config.getoption("markexpr") or "").replace("not slow", ""):
        return
    skip = pytest.mark.skip(reason=f"long: `make reliability` runs it ({FULL_RUN_ENV}=1)")
    for item in items:
        if item.get_closest_marker("slow") is not None and HERE in item.path.parents:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    summary.terminal_summary(terminalreporter)


@pytest.fixture
def ledger() -> summary.Ledger:
    return summary.LEDGER


SHORT_CLIP_MS = 400


@pytest.fixture(scope="session")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 0.4 s tone for the stand-in voice: every reply is short, so scenarios run quickly."""
    path = tmp_path_factory.mktemp("voice") / "short.wav"
    write_wav(path, tone_pcm(660.0, SHORT_CLIP_MS))
    return str(path)


def scale() -> int:
    """How hard to push: 1 in the normal test run, more under ``make reliability`` (ZYLIN_RELIABILITY_SCALE)."""
    return max(1, int(os.environ.get("ZYLIN_RELIABILITY_SCALE", "1")))


@pytest.fixture
def edge_settings(settings: Any, short_clip: str) -> Any:
    """Zylin behind a public https origin, signing with a known token, on stand-in speech and the local agent."""
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.TWILIO_SIGNING_TOKEN = SIGNING_TOKEN
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = ""
    settings.TWILIO_API_BASE_URL = ""
    settings.OPENAI_API_KEY = ""
    settings.VOICE = {**settings.VOICE, **STANDINS, "standin_clip": short_clip}
    return settings


@pytest.fixture
def capacity() -> Iterator[Callable[[int], Any]]:
    """A fresh per-process streaming limit (default 50); call it to choose another."""
    streaming_capacity_reset(limit=50)
    cache.clear()
    yield lambda limit: streaming_capacity_reset(limit=limit)
    streaming_capacity_reset()
    cache.clear()


def streaming_call(business: Business, *, session_id: str | None = None, caller: str = CALLER) -> Call:
    """A Call the voice webhook sent to the streaming path (sync)."""
    call, _ = call_start(sid=sid("CA"), business=business, from_number=caller, to_number=DEMO_NUMBER)
    decision = RouteDecision(RoutePath.STREAMING, "reliability: streaming")
    return call_route_set(call=call, decision=decision, session_id=session_id or secrets.token_urlsafe(12))


def stream_parameters(call: Call) -> dict[str, str]:
    return {"sessionId": call.session_id, "callSid": call.sid, "business": str(call.business_id)}


@pytest.fixture
def other_business(db: None) -> Business:
    """A second business with one service and weekday hours (the demo business's neighbour)."""
    business = BusinessFactory(name="Corner Barber", slug="corner-barber")
    ServiceFactory(business=business, name="Haircut", duration_minutes=30)
    for weekday in range(5):
        OpeningHoursFactory(business=business, weekday=weekday)
    return business


@pytest.fixture
def scripted_speech(monkeypatch: pytest.MonkeyPatch) -> Callable[[Business, list[str]], LinesRecognizer]:
    """Give one business's calls a recognizer that hears the given lines; other businesses keep the stand-in."""
    recognizers: dict[int, LinesRecognizer] = {}
    configured = wiring.stt_build

    def stt_build(*, business: Business) -> SpeechToText:
        recognizer = recognizers.get(business.pk)
        return recognizer if recognizer is not None else configured(business=business)

    monkeypatch.setattr(wiring, "stt_build", stt_build)

    def script(business: Business, lines: list[str]) -> LinesRecognizer:
        recognizers[business.pk] = LinesRecognizer(lines)
        return recognizers[business.pk]

    return script


# Vendor fakes for the provider-fault suite (imported last: the module uses the fixtures above).
from tests.reliability.vendors import vendors  # noqa: E402, F401
