"""Fixtures for the observability tests: a known set of calls, owners and staff, /metrics scraping,
and a call placed by the call simulator against Zylin on a real daphne server."""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from bookings.models import Booking
from businesses.access import STAFF_GROUP, owners_group_ensure
from businesses.models import Business
from calls.audio import tone_pcm, write_wav
from calls.capacity import streaming_capacity_reset
from calls.models import Call
from calls.simulator import CallOptions, CallResult, Target, calls_run, line_wav
from calls.simulator.server import in_process_server
from tests.calls.media_stream_support import FIXTURES, STANDINS
from tests.factories import BookingFactory, BusinessFactory, CallFactory, TurnFactory, UserFactory

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
RANGE_START = dt.date(2026, 3, 2)
RANGE_END = dt.date(2026, 3, 8)
PASSWORD = "pw-for-tests-1"  # UserFactory's

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: Client) -> Samples:
    """Every sample of ``/metrics`` keyed by (sample name, labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def metrics_client() -> Client:
    return Client()


SIMULATOR_PUBLIC_URL = "http://zylin.test:8000"


@dataclass
class PlacedCall:
    """A finished simulated call: what the simulator measured and the Call Zylin stored."""

    result: CallResult
    call: Call


@pytest.fixture
def zylin_url(settings: Any, tmp_path: Path, demo_business: Business) -> Iterator[str]:
    """Zylin on a real daphne server in this process, answering the demo business on the streaming path.

    Stand-in recognizer and voice (every reply sentence is a 0.4 s tone), the
    local agent. The server shares this process's settings, database (tests
    need ``django_db(transaction=True)``) and Prometheus registry.
    """
    clip = tmp_path / "reply.wav"
    write_wav(clip, tone_pcm(440, 400, dbfs=-12))
    settings.PUBLIC_BASE_URL = SIMULATOR_PUBLIC_URL
    settings.TWILIO_SIGNING_TOKEN = "observability-test-token"
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""
    settings.VOICE = {**settings.VOICE, **STANDINS, "standin_clip": str(clip)}
    streaming_capacity_reset(limit=5)
    demo_business.after_hours = Business.AfterHours.STREAM  # answer on the streaming path at any hour
    demo_business.save()
    yield in_process_server()
    streaming_capacity_reset()


@pytest.fixture
def place_simulated_call(zylin_url: str) -> Callable[[], PlacedCall]:
    """Places one call with the call simulator: two caller lines, each answered by Zylin."""

    def place() -> PlacedCall:
        lines = [line_wav(FIXTURES / "bella-2.wav"), line_wav(FIXTURES / "bella-3.wav")]
        options = CallOptions(settle_s=0.5, pause_s=0.2, reply_timeout_s=5.0)
        target = Target(base_url=zylin_url, public_url=SIMULATOR_PUBLIC_URL)
        [simulated] = asyncio.run(calls_run(target, lines, options))
        result = simulated.result
        assert (result.error, result.path, result.protocol_errors) == ("", "streaming", [])
        return PlacedCall(result=result, call=Call.objects.get(sid=result.call_sid))

    return place


@dataclass
class KnownCalls:
    business: Business
    other_business: Business
    owner: object
    other_owner: object
    staff: object
    calls: dict[str, Call]


def _call(business: Business, name: str, *, local_start: dt.datetime, **fields: object) -> Call:
    call = CallFactory(business=business, sid=f"CA{name.lower():0>32}", **fields)
    # started_at is auto_now_add: move it to the moment the scenario needs.
    Call.objects.filter(pk=call.pk).update(started_at=local_start.astimezone(dt.UTC))
    call.refresh_from_db()
    return call


def _turns(call: Call, voice_to_voice: list[float | None]) -> None:
    for index, milliseconds in enumerate(voice_to_voice):
        TurnFactory(
            call=call,
            index=index,
            speaker="assistant" if milliseconds is not None else "caller",
            text="Sure." if milliseconds is not None else "Hi there",
            voice_to_voice_ms=milliseconds,
            asr_ms=None if milliseconds is None else milliseconds / 4,
            llm_first_token_ms=None if milliseconds is None else milliseconds / 2,
            tts_first_audio_ms=None if milliseconds is None else milliseconds / 5,
        )


@pytest.fixture
def known_calls(db) -> KnownCalls:
    """Calls of 2 to 8 March 2026 (New York) whose figures the tests compute by hand.

    Streaming, business A: S1 booked (confirmed), S2 transferred, S3 hung up
    before answer, S4 booking later cancelled, S7 at 00:10 on the first day.
    Recording, business A: R1 booked, R2 never answered, R3 still in progress.
    Outside: S5 just after the range, S6 just before it (but inside it in UTC),
    and business B's call in range.
    """
    business = BusinessFactory(name="Alpha Salon", slug="alpha-salon", timezone="America/New_York")
    other = BusinessFactory(name="Beta Barbers", slug="beta-barbers", timezone="America/New_York")
    owners = owners_group_ensure()
    owner = UserFactory(username="alpha-owner")
    owner.groups.add(owners)
    business.owners.add(owner)
    other_owner = UserFactory(username="beta-owner")
    other_owner.groups.add(owners)
    other.owners.add(other_owner)
    staff = UserFactory(username="zylin-staff")
    staff_group = Group.objects.get_or_create(name=STAFF_GROUP)[0]
    staff_group.permissions.set(
        Permission.objects.filter(content_type__app_label__in=("businesses", "bookings", "calls"))
    )
    staff.groups.add(staff_group)

    day = dt.datetime(2026, 3, 4, 10, 0, tzinfo=NEW_YORK)
    answered = {"status": Call.Status.COMPLETED, "answered_at": day}
    streaming, recording = Call.Path.STREAMING, Call.Path.RECORDING
    calls = {
        "S1": _call(
            business,
            "S1",
            local_start=day,
            path=streaming,
            duration_seconds=120,
            cost_estimate=Decimal("0.0200"),
            **answered,
        ),
        "S2": _call(
            business,
            "S2",
            local_start=day,
            path=streaming,
            duration_seconds=60,
            transferred=True,
            cost_estimate=Decimal("0.0100"),
            **answered,
        ),
        "S3": _call(
            business,
            "S3",
            local_start=day,
            path=streaming,
            duration_seconds=5,
            status=Call.Status.CANCELED,
            cost_estimate=Decimal("0.0010"),
        ),
        "S4": _call(
            business,
            "S4",
            local_start=day,
            path=streaming,
            duration_seconds=180,
            cost_estimate=Decimal("0.0300"),
            **answered,
        ),
        "S7": _call(
            business,
            "S7",
            local_start=dt.datetime(2026, 3, 2, 0, 10, tzinfo=NEW_YORK),
            path=streaming,
            duration_seconds=30,
            cost_estimate=Decimal("0.0040"),
            **answered,
        ),
        "R1": _call(
            business,
            "R1",
            local_start=day,
            path=recording,
            duration_seconds=90,
            cost_estimate=Decimal("0.0150"),
            **answered,
        ),
        "R2": _call(business, "R2", local_start=day, path=recording, status=Call.Status.NO_ANSWER),
        "R3": _call(business, "R3", local_start=day, path=recording, status=Call.Status.IN_PROGRESS),
        "S5": _call(
            business,
            "S5",
            local_start=dt.datetime(2026, 3, 9, 0, 30, tzinfo=NEW_YORK),
            path=streaming,
            duration_seconds=40,
            transferred=True,
            cost_estimate=Decimal("1.0000"),
            **answered,
        ),
        "S6": _call(
            business,
            "S6",
            local_start=dt.datetime(2026, 3, 1, 23, 30, tzinfo=NEW_YORK),
            path=streaming,
            duration_seconds=40,
            transferred=True,
            cost_estimate=Decimal("1.0000"),
            **answered,
        ),
        "B1": _call(
            other,
            "B1",
            local_start=day,
            path=streaming,
            duration_seconds=300,
            transferred=True,
            cost_estimate=Decimal("2.0000"),
            **answered,
        ),
    }
    _turns(calls["S1"], [None, 800, None, 1200])
    _turns(calls["S2"], [None, 1000, 600])
    _turns(calls["S4"], [1400])
    _turns(calls["S7"], [None, 2000])
    _turns(calls["S5"], [5000])
    _turns(calls["B1"], [9000])
    _turns(calls["R1"], [None])
    BookingFactory(business=business, source_call=calls["S1"], status=Booking.Status.CONFIRMED)
    BookingFactory(
        business=business,
        source_call=calls["S4"],
        status=Booking.Status.CANCELLED,
        start=dt.datetime(2030, 1, 8, 15, tzinfo=dt.UTC),
    )
    BookingFactory(
        business=business,
        source_call=calls["R1"],
        status=Booking.Status.CONFIRMED,
        start=dt.datetime(2030, 1, 9, 15, tzinfo=dt.UTC),
    )
    BookingFactory(business=other, source_call=calls["B1"], status=Booking.Status.CONFIRMED)
    return KnownCalls(
        business=business, other_business=other, owner=owner, other_owner=other_owner, staff=staff, calls=calls
    )
