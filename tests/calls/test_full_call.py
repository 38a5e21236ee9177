"""A whole phone call on the embedded engines: greeting, a booking in three turns, stored.

``manage.py simulate_call`` plays the committed Bella Hair Studio recordings
to Zylin on a real daphne server; pocketsphinx hears them, the local agent
books, piper answers. "Now" is fixed on a Wednesday morning so "tomorrow at
three pm" is always an open slot.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import wave
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from bookings.models import Booking
from businesses.models import Business
from calls import wiring
from calls.capacity import streaming_capacity_reset
from calls.models import Call
from calls.simulator.server import in_process_server
from tests.calls.media_stream_support import FIXTURES

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
WEDNESDAY_MORNING = dt.datetime(2030, 1, 9, 10, 0, tzinfo=NEW_YORK)


@pytest.fixture
def embedded_engines(settings: Any, monkeypatch: pytest.MonkeyPatch, demo_business: Business) -> Business:
    settings.VOICE = {**settings.VOICE, "asr": "pocketsphinx", "agent": "local", "tts": "piper"}
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""
    streaming_capacity_reset(limit=5)
    demo_business.after_hours = Business.AfterHours.STREAM
    demo_business.save()
    build = wiring.agent_build
    monkeypatch.setattr(wiring, "agent_build", lambda **kwargs: build(**kwargs, clock=lambda: WEDNESDAY_MORNING))
    return demo_business


def test_a_caller_books_a_haircut_by_phone(embedded_engines: Business, tmp_path: Path) -> None:
    url = in_process_server()
    report, audio, output = tmp_path / "call.json", tmp_path / "call.wav", io.StringIO()
    call_command(
        "simulate_call", "--url", url,
        "--wav", str(FIXTURES / "bella-1.wav"), "--wav", str(FIXTURES / "bella-2.wav"),
        "--wav", str(FIXTURES / "bella-3.wav"),
        "--caller", "+15551230000", "--report", str(report), "--save-audio", str(audio),
        stdout=output,
    )  # fmt: skip

    [result] = json.loads(report.read_text())["calls"]
    assert (result["path"], result["error"], result["protocol_errors"]) == ("streaming", "", [])
    call = Call.objects.get(sid=result["call_sid"])
    turns = list(call.turns.order_by("index").values_list("speaker", "text"))
    assert turns[0] == ("assistant", embedded_engines.greeting_text)
    caller = [text for speaker, text in turns if speaker == "caller"]
    assert len(caller) == 3
    assert "haircut" in caller[0]
    assert "tomorrow" in caller[0]
    assert "three" in caller[0]
    assert caller[1:] == ["maria lopez", "yes"]
    assert [speaker for speaker, _ in turns] == ["assistant", "caller"] * 3 + ["assistant"]
    assert "Maria Lopez" in turns[4][1]  # the read-back before booking

    [booking] = Booking.objects.filter(source_call=call).select_related("service", "customer")
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.service.name == "Haircut"
    assert booking.customer.name == "Maria Lopez"
    assert booking.customer.phone == "+15551230000"
    assert booking.start.astimezone(NEW_YORK) == dt.datetime(2030, 1, 10, 15, 0, tzinfo=NEW_YORK)
    assert call.end_reason == "stream_stopped"

    assert all(turn["voice_to_voice_ms"] is not None for turn in result["turns"])
    printed = output.getvalue()
    assert "Caller: maria lopez" in printed
    assert "booked: Haircut on Thu 10 Jan 2030 at 15:00" in printed
    with wave.open(str(audio)) as both_sides:
        assert both_sides.getnchannels() == 2
        assert both_sides.getframerate() == 8000
        assert both_sides.getnframes() / 8000 > 10
