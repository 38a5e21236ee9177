"""Status callbacks: idempotent under retries, tolerant of events out of order."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from calls.models import Call, CallEvent, OutboundMessage, Recording
from tests.calls.twilio.conftest import CALLER, signed_post
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db

SID = "CA" + "a" * 32


@pytest.fixture
def call(demo_business) -> Call:
    return CallFactory(business=demo_business, sid=SID, from_number=CALLER)


def status(client: Client, call_status: str, **extra: str):
    response = signed_post(client, "/twilio/status", {"CallSid": SID, "CallStatus": call_status, **extra})
    assert response.status_code == 204
    return Call.objects.get(sid=SID)


class TestCallStatus:
    def test_progress_and_completion(self, call, client: Client) -> None:
        assert status(client, "in-progress").status == Call.Status.IN_PROGRESS
        done = status(client, "completed", CallDuration="42", Timestamp="Wed, 09 Jan 2030 16:05:00 +0000")
        assert done.status == Call.Status.COMPLETED
        assert done.duration_seconds == 42
        assert done.answered_at is not None
        assert done.ended_at.isoformat() == "2030-01-09T16:05:00+00:00"

    def test_late_earlier_status_never_moves_backwards(self, call, client: Client) -> None:
        status(client, "completed", CallDuration="42")
        for late in ("in-progress", "ringing", "queued"):
            assert status(client, late).status == Call.Status.COMPLETED

    def test_a_second_terminal_status_does_not_replace_the_first(self, call, client: Client) -> None:
        status(client, "no-answer")
        assert status(client, "completed", CallDuration="3").status == Call.Status.NO_ANSWER

    def test_retries_are_harmless(self, call, client: Client) -> None:
        first = status(client, "completed", CallDuration="42", Timestamp="Wed, 09 Jan 2030 16:05:00 +0000")
        again = status(client, "completed", CallDuration="99", Timestamp="Wed, 09 Jan 2030 17:00:00 +0000")
        assert (again.status, again.duration_seconds, again.ended_at) == (
            first.status,
            first.duration_seconds,
            first.ended_at,
        )

    @pytest.mark.parametrize("order", list(itertools.permutations(["ringing", "in-progress", "completed"])))
    def test_any_arrival_order_ends_completed(self, call, client: Client, order) -> None:
        for event in order:
            status(client, event, CallDuration="7" if event == "completed" else "")
        final = Call.objects.get(sid=SID)
        assert final.status == Call.Status.COMPLETED
        assert final.duration_seconds == 7
        assert final.ended_at is not None

    def test_unknown_call_and_unknown_status_are_ignored(self, call, client: Client) -> None:
        response = signed_post(client, "/twilio/status", {"CallSid": "CA" + "f" * 32, "CallStatus": "completed"})
        assert response.status_code == 204
        assert status(client, "teleported").status == Call.Status.RINGING


class TestStreamStatus:
    def test_each_stream_event_recorded_once(self, call, client: Client) -> None:
        params = {"CallSid": SID, "StreamSid": "MZ" + "1" * 32, "StreamEvent": "stream-started"}
        for _ in range(3):
            assert signed_post(client, "/twilio/stream-status", params).status_code == 204
        signed_post(client, "/twilio/stream-status", {**params, "StreamEvent": "stream-stopped"})
        events = list(CallEvent.objects.filter(call=call).values_list("name", flat=True))
        assert events == ["stream-started", "stream-stopped"]
        assert Call.objects.get(sid=SID).stream_sid == "MZ" + "1" * 32

    def test_stream_error_keeps_the_error(self, call, client: Client) -> None:
        signed_post(
            client,
            "/twilio/stream-status",
            {
                "CallSid": SID,
                "StreamSid": "MZ1",
                "StreamEvent": "stream-error",
                "StreamError": "31920 handshake failed",
            },
        )
        assert CallEvent.objects.get(call=call, name="stream-error").detail["error"] == "31920 handshake failed"


class TestRecordingStatus:
    def recording(self, client: Client, recording_status: str, sid: str = "RE" + "1" * 32, **extra: str):
        params = {
            "CallSid": SID,
            "RecordingSid": sid,
            "RecordingStatus": recording_status,
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{sid}",
            "RecordingDuration": "9",
            **extra,
        }
        assert signed_post(client, "/twilio/recording", params).status_code == 204

    def test_completed_recording_starts_processing_once(self, call, client: Client, monkeypatch) -> None:
        started: list[str] = []
        monkeypatch.setattr("calls.webhooks.recording_chain_enqueue", started.append)
        for _ in range(3):
            self.recording(client, "completed")
        assert started == ["RE" + "1" * 32]
        recording = Recording.objects.get()
        assert (recording.state, recording.duration_seconds) == (Recording.State.PENDING, 9)

    def test_absent_recording_is_failed_and_not_processed(self, call, client: Client, monkeypatch) -> None:
        started: list[str] = []
        monkeypatch.setattr("calls.webhooks.recording_chain_enqueue", started.append)
        self.recording(client, "absent", ErrorCode="0")
        self.recording(client, "completed")  # late and contradictory: ignored
        assert started == []
        assert Recording.objects.get().state == Recording.State.FAILED

    def test_in_progress_creates_nothing(self, call, client: Client) -> None:
        self.recording(client, "in-progress")
        assert not Recording.objects.exists()

    def test_record_action_thanks_the_caller_once(self, call, client: Client) -> None:
        params = {
            "CallSid": SID,
            "RecordingSid": "RE9",
            "RecordingUrl": "https://api.twilio.com/x",
            "RecordingDuration": "4",
        }
        for _ in range(2):
            response = signed_post(client, "/twilio/recording-done", params)
            assert response.status_code == 200
            assert b"<Hangup" in response.content
        assert CallEvent.objects.filter(call=call, name="message-recorded").count() == 1


class TestMessageStatus:
    @pytest.fixture
    def message(self, call) -> OutboundMessage:
        return OutboundMessage.objects.create(
            business=call.business,
            call=call,
            to=CALLER,
            body="hi",
            provider_sid="SM" + "1" * 32,
            status=OutboundMessage.Status.QUEUED,
            idempotency_key="k1",
        )

    def post(self, client: Client, message_status: str, **extra: str) -> OutboundMessage:
        params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": message_status, **extra}
        assert signed_post(client, "/twilio/message-status", params).status_code == 204
        return OutboundMessage.objects.get(idempotency_key="k1")

    def test_progress(self, message, client: Client) -> None:
        assert self.post(client, "sent").status == "sent"
        assert self.post(client, "delivered").status == "delivered"
        assert self.post(client, "read").status == "read"

    def test_out_of_order_never_moves_backwards(self, message, client: Client) -> None:
        assert self.post(client, "read").status == "read"
        for late in ("delivered", "sent", "queued", "sending"):
            assert self.post(client, late).status == "read"

    def test_failure_keeps_its_error_code(self, message, client: Client) -> None:
        failed = self.post(client, "failed", ErrorCode="63016")
        assert (failed.status, failed.error_code) == ("failed", "63016")
        assert self.post(client, "sent").status == "failed"

    def test_each_status_reached_is_counted_once(
        self, message, client: Client, django_capture_on_commit_callbacks
    ) -> None:
        def count(status: str) -> float:
            return REGISTRY.get_sample_value("zylin_messages_total", {"channel": "whatsapp", "status": status}) or 0

        before = {status: count(status) for status in ("delivered", "sent")}
        with django_capture_on_commit_callbacks(execute=True):
            self.post(client, "delivered")
            self.post(client, "delivered")
            self.post(client, "sent")  # late: not reached again
        assert count("delivered") == before["delivered"] + 1
        assert count("sent") == before["sent"]

    def test_unknown_message_is_ignored(self, message, client: Client) -> None:
        params = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered"}
        assert signed_post(client, "/twilio/message-status", params).status_code == 204
        assert OutboundMessage.objects.get().status == "queued"


class TestStreamClosedCallThenTwilioCompleted:
    """The voice loop closes a streaming call on ``stop``; Twilio's ``completed`` callback comes after."""

    def _ended_total(self) -> float:
        return sum(
            s.value
            for metric in REGISTRY.collect()
            if metric.name == "zylin_calls_ended"
            for s in metric.samples
            if s.name == "zylin_calls_ended_total" and s.labels.get("path") == "streaming"
        )

    def test_the_end_is_counted_and_confirmed_once(
        self, demo_business, client: Client, django_capture_on_commit_callbacks
    ) -> None:
        from asgiref.sync import async_to_sync

        from calls.adapters.call_store import DjangoCallStore
        from calls.services import call_answered
        from calls.wiring import StreamingCallStore

        call = CallFactory(business=demo_business, sid=SID, from_number=CALLER, path=Call.Path.STREAMING)
        call_answered(call_id=call.pk)
        store = StreamingCallStore(DjangoCallStore(call), business_slug=demo_business.slug)
        before = self._ended_total()
        with django_capture_on_commit_callbacks() as confirmations:
            async_to_sync(store.call_ended)(reason="stream_stopped")
            async_to_sync(store.call_ended)(reason="stream_stopped")  # a second end changes nothing
            status(client, "completed", CallDuration="30")  # nor does Twilio's callback after it
        assert self._ended_total() - before == 1
        assert len(confirmations) == 1  # the bookings it made are confirmed once
        stored = Call.objects.get(sid=SID)
        assert (stored.status, stored.end_reason, stored.duration_seconds) == (
            Call.Status.COMPLETED,
            "stream_stopped",
            30,
        )
        assert stored.answered_at is not None

    def test_twilio_first_then_the_stream_end_counts_once(
        self, demo_business, client: Client, django_capture_on_commit_callbacks
    ) -> None:
        from asgiref.sync import async_to_sync

        from calls.adapters.call_store import DjangoCallStore
        from calls.wiring import StreamingCallStore

        call = CallFactory(business=demo_business, sid=SID, from_number=CALLER, path=Call.Path.STREAMING)
        call.route_reason = "test: streaming"
        call.save(update_fields=["route_reason"])
        before = self._ended_total()
        with django_capture_on_commit_callbacks() as confirmations:
            status(client, "completed")  # the caller hung up; Twilio tells first
            async_to_sync(StreamingCallStore(DjangoCallStore(call), business_slug="x").call_ended)(
                reason="stream_stopped"
            )
        assert self._ended_total() - before == 1
        assert len(confirmations) == 1


def test_a_completed_recording_marks_the_call_answered(call, client: Client) -> None:
    from calls.services import recording_register

    recording_register(call=call, sid="RE" + "1" * 32, url="https://api.twilio.com/r", status="completed",
                       duration_seconds=12)  # fmt: skip
    assert Call.objects.get(sid=SID).answered_at is not None


def test_a_recording_that_never_happened_leaves_the_call_unanswered(call, client: Client) -> None:
    from calls.services import recording_register

    recording_register(call=call, sid="RE" + "2" * 32, url="", status="absent")
    assert Call.objects.get(sid=SID).answered_at is None
