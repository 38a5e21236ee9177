"""Twilio retries and reorders its callbacks: each one, replayed three times at once, changes state once.

Every request runs in its own thread with its own database connection, all
released together, so the database decides the races. SQLite's shared-cache
test database cannot take concurrent writers (a second one fails with "table is
locked" instead of waiting), so there the replays run one after another; CI
runs this suite on PostgreSQL, where they really race.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client

from bookings.models import Booking
from bookings.services import booking_create
from businesses.models import Business
from calls import wiring
from calls.capacity import streaming_capacity
from calls.models import Call, CallEvent, OutboundMessage, Recording
from calls.twilio_signature import SIGNATURE_HEADER, signature_compute
from tests.calls.twilio.doubles import ScriptedAgent, ToneVoice
from tests.fakes.servers.twilio_rest import FakeTwilioRest
from tests.reliability.conftest import CALLER, DEMO_NUMBER
from tests.reliability.phone import PUBLIC_BASE_URL
from tests.reliability.scenarios import weekday_ahead

pytestmark = pytest.mark.django_db(transaction=True)

REPLAYS = 3
CONCURRENT = connection.vendor != "sqlite"
ACCOUNT_SID = "AC" + "0" * 32
TEMPLATE_SID = "HX" + "5" * 32
RECORDING_WAV = b"RIFF" + bytes(40)


def post(path: str, params: dict[str, str], bodies: list[str] | None = None) -> int:
    """One signed POST, as Twilio sends it, on a fresh client; returns the status code (and keeps the body)."""
    signature = signature_compute(url=f"{PUBLIC_BASE_URL}{path}", params=params)
    headers = {f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": signature}
    response = Client().post(path, params, **headers)
    if bodies is not None:
        bodies.append(response.content.decode())
    return response.status_code


def deliver(requests: Sequence[tuple[str, dict[str, str]]], bodies: list[str] | None = None) -> list[int]:
    """Post every request: all at once from their own threads (PostgreSQL), else one by one."""
    if not CONCURRENT:
        return [post(path, params, bodies) for path, params in requests]
    barrier = threading.Barrier(len(requests))
    results: list[int | BaseException] = [0] * len(requests)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = post(*requests[index], bodies)
        except BaseException as error:  # shown by the assertion below
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    errors = [result for result in results if isinstance(result, BaseException)]
    assert not errors, errors
    return [result for result in results if isinstance(result, int)]


def replayed(requests: Sequence[tuple[str, dict[str, str]]], *, seed: int) -> list[tuple[str, dict[str, str]]]:
    """Each request ``REPLAYS`` times, in a shuffled (out of) order."""
    batch = [request for request in requests for _ in range(REPLAYS)]
    random.Random(seed).shuffle(batch)
    return batch


@pytest.fixture
def twilio(edge_settings: Any, capacity: Any) -> Iterator[FakeTwilioRest]:
    """Zylin with Twilio credentials, pointed at a fake Twilio REST API (which counts the messages)."""
    with FakeTwilioRest(account_sid=ACCOUNT_SID) as fake:
        edge_settings.TWILIO_ACCOUNT_SID = fake.account_sid
        edge_settings.TWILIO_AUTH_TOKEN = fake.auth_token
        edge_settings.TWILIO_SIGNING_TOKEN = fake.auth_token
        edge_settings.TWILIO_API_BASE_URL = fake.url
        edge_settings.TWILIO_WHATSAPP_BOOKING_TEMPLATE_SID = TEMPLATE_SID
        edge_settings.TWILIO_WHATSAPP_REPLY_TEMPLATE_SID = TEMPLATE_SID
        yield fake


def voice_params(call_sid: str) -> dict[str, str]:
    return {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "From": CALLER, "To": DEMO_NUMBER,
            "CallStatus": "ringing", "Direction": "inbound"}  # fmt: skip


def test_a_replayed_voice_webhook_creates_one_call_and_answers_the_same(
    demo_business: Business, twilio: FakeTwilioRest, ledger: Any
) -> None:
    demo_business.after_hours = Business.AfterHours.STREAM
    demo_business.save()
    call_sid = "CA" + "1" * 32
    answers: list[str] = []
    statuses = deliver([("/twilio/voice", voice_params(call_sid))] * REPLAYS, answers)
    ledger.bad_input("webhook replay", REPLAYS - 1)
    assert statuses == [200] * REPLAYS
    assert Call.objects.filter(sid=call_sid).count() == 1
    call = Call.objects.get(sid=call_sid)
    assert call.path == Call.Path.STREAMING
    assert call.session_id
    # Every retry got the same stream (same sessionId), and the call holds one streaming slot.
    assert post("/twilio/voice", voice_params(call_sid), answers) == 200
    assert len(answers) == REPLAYS + 1
    assert all(f'value="{call.session_id}"' in answer and "<Stream" in answer for answer in answers)
    assert streaming_capacity().in_use == 1


def test_call_and_stream_callbacks_replayed_out_of_order_close_the_call_once_and_confirm_once(
    demo_business: Business, twilio: FakeTwilioRest, ledger: Any
) -> None:
    call_sid, stream_sid = "CA" + "2" * 32, "MZ" + "2" * 32
    assert post("/twilio/voice", voice_params(call_sid)) == 200
    call = Call.objects.get(sid=call_sid)
    day, _ = weekday_ahead(demo_business.tz)
    booking_create(
        business=demo_business,
        service=demo_business.services.get(name="Haircut"),
        start=dt.datetime.combine(day, dt.time(11), tzinfo=demo_business.tz),
        caller_phone=CALLER,
        customer_name="Maria Lopez",
        call=call,
    )

    def status(value: str, **extra: str) -> tuple[str, dict[str, str]]:
        return "/twilio/status", {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "CallStatus": value, **extra}

    def stream(event: str) -> tuple[str, dict[str, str]]:
        return "/twilio/stream-status", {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "StreamSid": stream_sid,
                                         "StreamEvent": event}  # fmt: skip

    callbacks = [status("ringing"), status("in-progress"), stream("stream-started"), stream("stream-stopped"),
                 status("completed", CallDuration="61")]  # fmt: skip
    batch = replayed(callbacks, seed=7)
    ledger.bad_input("webhook replay or reorder", len(batch) - len(callbacks))
    assert deliver(batch) == [204] * len(batch)

    call.refresh_from_db()
    messages = twilio.messages
    ledger.messages(expected=1, sent=len(messages))
    ledger.bookings(expected=1, found=Booking.objects.filter(source_call=call, status="confirmed").count())
    assert (call.status, call.duration_seconds, call.end_reason) == ("completed", 61, "completed")
    assert call.ended_at is not None
    events = list(CallEvent.objects.filter(call=call).values_list("name", flat=True))
    assert sorted(events) == ["stream-started", "stream-stopped"]
    assert len(messages) == 1  # the booking confirmation, once
    assert OutboundMessage.objects.filter(call=call).count() == 1
    assert streaming_capacity().in_use == 0


def test_recording_callbacks_replayed_at_once_reply_on_whatsapp_once(
    demo_business: Business, twilio: FakeTwilioRest, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, ledger: Any
) -> None:
    policy = demo_business.rollout_policy
    policy.streaming_percent = 0
    policy.save()
    twilio_settings = pytest.importorskip("django.conf").settings
    monkeypatch.setattr(twilio_settings, "MEDIA_ROOT", tmp_path)
    transcriber = LinesTranscriber("How much is a haircut?")
    agent = ScriptedAgent()
    monkeypatch.setattr(wiring, "batch_stt_build", lambda **kwargs: transcriber)
    monkeypatch.setattr(wiring, "agent_build", lambda **kwargs: agent)
    monkeypatch.setattr(wiring, "tts_build", lambda **kwargs: ToneVoice())
    call_sid, recording_sid = "CA" + "3" * 32, "RE" + "3" * 32
    assert post("/twilio/voice", voice_params(call_sid)) == 200
    url = twilio.add_recording(recording_sid, RECORDING_WAV)
    recording = {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "RecordingSid": recording_sid, "RecordingUrl": url,
                 "RecordingStatus": "completed", "RecordingDuration": "3"}  # fmt: skip
    done = {key: value for key, value in recording.items() if key != "RecordingStatus"}
    batch = replayed([("/twilio/recording", recording), ("/twilio/recording-done", done)], seed=3)
    ledger.bad_input("webhook replay or reorder", len(batch) - 2)
    statuses = deliver(batch)

    messages = twilio.messages
    ledger.messages(expected=1, sent=len(messages))
    assert sorted(statuses) == [200] * REPLAYS + [204] * REPLAYS
    assert Recording.objects.filter(sid=recording_sid).count() == 1
    assert Recording.objects.get(sid=recording_sid).state == Recording.State.SENT
    assert transcriber.calls == 1  # the chain ran once
    assert len(twilio.of_kind("recording")) == 1
    assert len(messages) == 1
    assert CallEvent.objects.filter(call__sid=call_sid, name="message-recorded").count() == 1


def test_message_status_callbacks_out_of_order_never_move_backwards(
    demo_business: Business, twilio: FakeTwilioRest, ledger: Any
) -> None:
    message = OutboundMessage.objects.create(
        business=demo_business, to=CALLER, body="Booked.", idempotency_key="race-1", provider_sid="SM" + "4" * 32,
        status=OutboundMessage.Status.QUEUED,
    )  # fmt: skip

    def status(value: str) -> tuple[str, dict[str, str]]:
        return "/twilio/message-status", {"MessageSid": message.provider_sid, "MessageStatus": value,
                                          "AccountSid": ACCOUNT_SID}  # fmt: skip

    batch = replayed([status("sent"), status("delivered"), status("read"), status("queued")], seed=11)
    ledger.bad_input("webhook replay or reorder", len(batch) - 4)
    assert deliver(batch) == [204] * len(batch)
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.READ


def test_a_replayed_transfer_outcome_is_recorded_once(
    demo_business: Business, twilio: FakeTwilioRest, ledger: Any
) -> None:
    call_sid = "CA" + "5" * 32
    assert post("/twilio/voice", voice_params(call_sid)) == 200
    params = {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "DialCallSid": "CA" + "6" * 32,
              "DialCallStatus": "completed", "DialCallDuration": "30"}  # fmt: skip
    ledger.bad_input("webhook replay", REPLAYS - 1)
    assert deliver([("/twilio/dial-done", params)] * REPLAYS) == [200] * REPLAYS
    assert CallEvent.objects.filter(call__sid=call_sid, name="transfer-outcome").count() == 1


class LinesTranscriber:
    """``BatchSpeechToText`` that hears one sentence and counts how often it was asked."""

    name = "scripted"

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls = 0
        self._lock = threading.Lock()

    async def transcribe(self, wav: bytes, *, hints: Sequence[str] = ()) -> str:
        with self._lock:
            self.calls += 1
        return self.text
