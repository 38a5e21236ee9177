"""POST /twilio/voice and /twilio/route: find the business, route the call, answer TwiML."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from businesses.models import Business, RolloutPolicy
from calls.capacity import streaming_capacity, streaming_capacity_reset
from calls.models import Call, CallEvent
from calls.routing import HYBRID_GATHER_REASON
from tests.calls.twilio.conftest import CALLER, DEMO_NUMBER, signed_post

pytestmark = pytest.mark.django_db

# Wednesday 2030-01-09 at 11:00 in New York: Bella Hair Studio is open (9-18).
OPEN_NOW = dt.datetime(2030, 1, 9, 16, 0, tzinfo=dt.UTC)
# Sunday: closed all day.
CLOSED_NOW = dt.datetime(2030, 1, 13, 16, 0, tzinfo=dt.UTC)


def voice(call_sid: str, to: str = DEMO_NUMBER) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "From": CALLER,
        "To": to,
        "CallStatus": "ringing",
        "Direction": "inbound",
    }


def sid(n: int) -> str:
    return f"CA{n:032x}"


@pytest.fixture
def at_open_hours(monkeypatch):
    monkeypatch.setattr("calls.webhooks.timezone.now", lambda: OPEN_NOW)


@pytest.fixture
def policy(demo_business: Business) -> RolloutPolicy:
    return demo_business.rollout_policy


def answer(response) -> ET.Element:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    return ET.fromstring(response.content)


def test_demo_number_streams_on_embedded_defaults(demo_business, client: Client, at_open_hours) -> None:
    root = answer(signed_post(client, "/twilio/voice", voice(sid(1))))
    stream = root.find("./Connect/Stream")
    assert stream is not None
    params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    call = Call.objects.get(sid=sid(1))
    assert call.business == demo_business
    assert call.path == Call.Path.STREAMING
    assert call.from_number == CALLER
    assert call.to_number == DEMO_NUMBER
    assert call.route_reason.endswith("< 100% streaming")
    assert params == {"sessionId": call.session_id, "callSid": sid(1), "business": str(demo_business.pk)}
    assert len(call.session_id) >= 16


def test_policy_at_zero_percent_records(demo_business, policy, client: Client, at_open_hours) -> None:
    policy.streaming_percent = 0
    policy.save()
    root = answer(signed_post(client, "/twilio/voice", voice(sid(2))))
    assert [child.tag for child in root] == ["Say", "Say", "Record", "Say", "Hangup"]
    assert root[0].text == demo_business.greeting_text
    call = Call.objects.get(sid=sid(2))
    assert call.path == Call.Path.RECORDING
    assert "≥ 0% streaming" in call.route_reason
    assert call.session_id == ""


def test_disabled_policy_records(demo_business, policy, client: Client, at_open_hours) -> None:
    policy.enabled = False
    policy.save()
    answer(signed_post(client, "/twilio/voice", voice(sid(3))))
    call = Call.objects.get(sid=sid(3))
    assert (call.path, call.route_reason) == (Call.Path.RECORDING, "rollout disabled: recording")


def test_unknown_number_apologizes_hangs_up_and_stores_nothing(demo_business, client: Client, caplog) -> None:
    root = answer(signed_post(client, "/twilio/voice", voice(sid(4), to="+14155550199")))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert not Call.objects.exists()
    assert "no business owns" in caplog.text


def test_retried_webhook_gets_the_same_answer_and_one_call(demo_business, client: Client, at_open_hours) -> None:
    first = signed_post(client, "/twilio/voice", voice(sid(5))).content
    again = signed_post(client, "/twilio/voice", voice(sid(5))).content
    assert first == again
    assert Call.objects.filter(sid=sid(5)).count() == 1
    assert streaming_capacity().in_use == 1


def test_full_capacity_sends_calls_to_recording(demo_business, client: Client, at_open_hours) -> None:
    streaming_capacity_reset(limit=1)
    answer(signed_post(client, "/twilio/voice", voice(sid(6))))
    root = answer(signed_post(client, "/twilio/voice", voice(sid(7))))
    assert root.find("Record") is not None
    call = Call.objects.get(sid=sid(7))
    assert (call.path, call.route_reason) == (Call.Path.RECORDING, "streaming capacity full: recording")


def test_capacity_frees_when_a_call_ends(demo_business, client: Client, at_open_hours) -> None:
    streaming_capacity_reset(limit=1)
    answer(signed_post(client, "/twilio/voice", voice(sid(8))))
    signed_post(client, "/twilio/status", {"CallSid": sid(8), "CallStatus": "completed", "CallDuration": "12"})
    answer(signed_post(client, "/twilio/voice", voice(sid(9))))
    assert Call.objects.get(sid=sid(9)).path == Call.Path.STREAMING


def test_after_hours_takes_a_message(demo_business, client: Client, monkeypatch) -> None:
    monkeypatch.setattr("calls.webhooks.timezone.now", lambda: CLOSED_NOW)
    demo_business.after_hours = Business.AfterHours.RECORD  # the demo itself streams at any hour
    demo_business.save()
    answer(signed_post(client, "/twilio/voice", voice(sid(10))))
    call = Call.objects.get(sid=sid(10))
    assert (call.path, call.route_reason) == (Call.Path.RECORDING, "after hours: taking a message")


def test_after_hours_can_answer_on_streaming(demo_business, policy, client: Client, monkeypatch) -> None:
    monkeypatch.setattr("calls.webhooks.timezone.now", lambda: CLOSED_NOW)
    demo_business.after_hours = Business.AfterHours.STREAM
    demo_business.save()
    policy.streaming_percent = 0
    policy.save()
    root = answer(signed_post(client, "/twilio/voice", voice(sid(11))))
    assert root.find("./Connect/Stream") is not None
    assert Call.objects.get(sid=sid(11)).route_reason == "after hours: answering on streaming"


class TestHybrid:
    @pytest.fixture(autouse=True)
    def hybrid(self, policy: RolloutPolicy, at_open_hours) -> None:
        policy.mode = RolloutPolicy.Mode.HYBRID
        policy.hybrid_simple_path = RolloutPolicy.Path.STREAMING
        policy.hybrid_complex_path = RolloutPolicy.Path.RECORDING
        policy.save()

    def test_first_asks_for_the_callers_sentence(self, demo_business, client: Client) -> None:
        root = answer(signed_post(client, "/twilio/voice", voice(sid(20))))
        gather = root.find("Gather")
        assert gather is not None
        assert gather.get("input") == "speech"
        assert gather.find("Say").text == demo_business.greeting_text
        assert Call.objects.get(sid=sid(20)).route_reason == HYBRID_GATHER_REASON

    def test_simple_question_streams_with_the_sentence(self, demo_business, client: Client) -> None:
        signed_post(client, "/twilio/voice", voice(sid(21)))
        root = answer(
            signed_post(
                client, "/twilio/route", {"CallSid": sid(21), "SpeechResult": "When do you open?", "Confidence": "0.91"}
            )
        )
        stream = root.find("./Connect/Stream")
        params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
        assert params["firstUtterance"] == "When do you open?"
        call = Call.objects.get(sid=sid(21))
        assert (call.path, call.route_reason) == (Call.Path.STREAMING, "hybrid: simple intent (hours) → streaming")
        assert params["sessionId"] == call.session_id
        event = CallEvent.objects.get(call=call, name="first-sentence")
        assert event.detail["text"] == "When do you open?"

    def test_booking_change_records(self, demo_business, client: Client) -> None:
        signed_post(client, "/twilio/voice", voice(sid(22)))
        root = answer(
            signed_post(client, "/twilio/route", {"CallSid": sid(22), "SpeechResult": "I need to move my appointment"})
        )
        assert root.find("Record") is not None
        assert root.find("Say").text.startswith("Thank you. Please tell me a little more")
        call = Call.objects.get(sid=sid(22))
        assert (call.path, call.route_reason) == (Call.Path.RECORDING, "hybrid: complex intent (booking) → recording")

    def test_silence_counts_as_unclear(self, demo_business, client: Client) -> None:
        signed_post(client, "/twilio/voice", voice(sid(23)))
        answer(signed_post(client, "/twilio/route", {"CallSid": sid(23)}))
        assert Call.objects.get(sid=sid(23)).route_reason == "hybrid: complex intent (unclear) → recording"

    def test_retried_route_does_not_reroute(self, demo_business, client: Client) -> None:
        signed_post(client, "/twilio/voice", voice(sid(24)))
        params = {"CallSid": sid(24), "SpeechResult": "What are your prices"}
        first = signed_post(client, "/twilio/route", params).content
        again = signed_post(client, "/twilio/route", params).content
        assert first == again
        assert CallEvent.objects.filter(call__sid=sid(24), name="first-sentence").count() == 1


def test_voice_webhook_query_count(demo_business, client: Client, at_open_hours, django_assert_max_num_queries) -> None:
    # Eight statements plus the savepoints of get_or_create and the locked update.
    with django_assert_max_num_queries(14):
        signed_post(client, "/twilio/voice", voice(sid(30)))


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_calls_are_counted_once_when_routed_and_when_they_end(demo_business, client: Client, at_open_hours) -> None:
    started = {"path": "streaming", "business": ""}
    ended = {"path": "streaming", "outcome": "completed", "business": ""}
    before_started = _sample("zylin_calls_started_total", **started)
    before_ended = _sample("zylin_calls_ended_total", **ended)
    for _ in range(2):  # a retried webhook is not a second call
        signed_post(client, "/twilio/voice", voice(sid(40)))
    signed_post(client, "/twilio/status", {"CallSid": sid(40), "CallStatus": "in-progress"})
    for _ in range(2):
        signed_post(client, "/twilio/status", {"CallSid": sid(40), "CallStatus": "completed", "CallDuration": "5"})
    assert _sample("zylin_calls_started_total", **started) == before_started + 1
    assert _sample("zylin_calls_ended_total", **ended) == before_ended + 1


def test_a_caller_hanging_up_during_hybrid_gather_was_never_started(
    demo_business, policy, client: Client, at_open_hours
) -> None:
    policy.mode = RolloutPolicy.Mode.HYBRID
    policy.save()
    labels = {"path": "recording", "outcome": "hangup_before_answer", "business": ""}
    before = {p: _sample("zylin_calls_started_total", path=p, business="") for p in ("streaming", "recording")}
    before_ended = _sample("zylin_calls_ended_total", **labels)
    signed_post(client, "/twilio/voice", voice(sid(41)))
    signed_post(client, "/twilio/status", {"CallSid": sid(41), "CallStatus": "completed"})
    after = {p: _sample("zylin_calls_started_total", path=p, business="") for p in ("streaming", "recording")}
    assert after == before
    assert _sample("zylin_calls_ended_total", **labels) == before_ended


def test_embedded_defaults_accept_a_request_signed_with_the_development_token(
    demo_business, client: Client, settings, at_open_hours
) -> None:
    """What the call simulator does against `make run`: sign with the dev token, local base URL."""
    from twilio.request_validator import RequestValidator

    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    settings.TWILIO_SIGNING_TOKEN = settings.TWILIO_DEV_AUTH_TOKEN
    params = voice(sid(50))
    signature = RequestValidator("zylin-dev-twilio-auth-token").compute_signature(
        "http://127.0.0.1:8000/twilio/voice", params
    )
    root = answer(signed_post(client, "/twilio/voice", params, signature=signature))
    stream = root.find("./Connect/Stream")
    assert stream is not None
    assert stream.get("url") == "ws://127.0.0.1:8000/media-stream"
