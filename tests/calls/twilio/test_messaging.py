"""WhatsApp messages: once per idempotency key, the 24-hour window, the outbox."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from calls.messaging import (
    MessageSendRetryable,
    WhatsAppTemplate,
    booking_confirmation_send,
    message_send,
    whatsapp_inbound_record,
    whatsapp_window_open,
)
from calls.models import CallEvent, OutboundMessage
from calls.recording_pipeline import BOOKING_CHANGE_EVENT, booking_changes
from calls.voice.ports import ToolUsed
from tests.calls.twilio.conftest import CALLER, PUBLIC, signed_post
from tests.factories import BookingFactory, CallFactory, CustomerFactory

pytestmark = pytest.mark.django_db

TEMPLATE = WhatsAppTemplate(content_sid="HX" + "1" * 32, variables={"1": "Bella", "2": "See you soon"})


def send(business, *, key: str = "k1", body: str = "Hello", template=None, media_url: str = "") -> OutboundMessage:
    return message_send(
        business=business, call=None, to=CALLER, body=body, idempotency_key=key, template=template, media_url=media_url
    )


class TestOutbox:
    def test_without_credentials_messages_stay_in_the_outbox(self, demo_business) -> None:
        message = send(demo_business)
        assert message.status == OutboundMessage.Status.OUTBOX
        assert (message.to, message.from_number, message.body) == (CALLER, "+14155238886", "Hello")
        assert message.provider_sid == ""

    def test_outbox_records_the_template_outside_the_window(self, demo_business) -> None:
        message = send(demo_business, template=TEMPLATE)
        assert (message.status, message.content_sid, message.content_variables) == (
            OutboundMessage.Status.OUTBOX,
            TEMPLATE.content_sid,
            TEMPLATE.variables,
        )

    def test_same_key_makes_one_row(self, demo_business) -> None:
        first, again = send(demo_business), send(demo_business, body="Different")
        assert first.pk == again.pk
        assert OutboundMessage.objects.count() == 1


class TestTwilio:
    def test_inside_the_window_sends_free_form_text_and_media(self, demo_business, fake_twilio) -> None:
        whatsapp_inbound_record(business=demo_business, phone=CALLER)
        message = send(demo_business, template=TEMPLATE, media_url=f"{PUBLIC}/voice-notes/x.ogg")
        (request,) = fake_twilio.messages
        assert request.authorized
        assert request.value("From") == "whatsapp:+14155238886"
        assert request.value("To") == f"whatsapp:{CALLER}"
        assert request.value("Body") == "Hello"
        assert request.form["MediaUrl"] == [f"{PUBLIC}/voice-notes/x.ogg"]
        assert request.value("ContentSid") is None
        assert request.value("StatusCallback") == f"{PUBLIC}/twilio/message-status"
        assert message.status == OutboundMessage.Status.QUEUED
        assert message.provider_sid.startswith("SM")

    def test_outside_the_window_uses_the_template_without_body_or_media(self, demo_business, fake_twilio) -> None:
        send(demo_business, template=TEMPLATE, media_url=f"{PUBLIC}/voice-notes/x.ogg")
        (request,) = fake_twilio.messages
        assert request.value("ContentSid") == TEMPLATE.content_sid
        assert json.loads(request.value("ContentVariables")) == TEMPLATE.variables
        assert request.value("Body") is None
        assert request.value("MediaUrl") is None

    def test_outside_the_window_without_a_template_is_failed_not_sent(self, demo_business, fake_twilio) -> None:
        message = send(demo_business)
        assert (message.status, message.error_code) == (OutboundMessage.Status.FAILED, "no-template")
        assert fake_twilio.of_kind("message") == []

    def test_a_retry_never_sends_twice(self, demo_business, fake_twilio) -> None:
        whatsapp_inbound_record(business=demo_business, phone=CALLER)
        for _ in range(3):
            send(demo_business)
        assert len(fake_twilio.messages) == 1

    def test_5xx_is_retryable_and_the_retry_sends_once(self, demo_business, fake_twilio) -> None:
        whatsapp_inbound_record(business=demo_business, phone=CALLER)
        fake_twilio.fail_next("message", 503)
        with pytest.raises(MessageSendRetryable):
            send(demo_business)
        assert OutboundMessage.objects.get().provider_sid == ""  # unclaimed again
        message = send(demo_business)
        assert message.provider_sid.startswith("SM")
        assert len(fake_twilio.messages) == 1

    def test_4xx_is_final(self, demo_business, fake_twilio) -> None:
        whatsapp_inbound_record(business=demo_business, phone=CALLER)
        fake_twilio.fail_next("message", 400)
        message = send(demo_business)
        assert (message.status, message.error_code) == (OutboundMessage.Status.FAILED, "20001")
        send(demo_business)
        assert len(fake_twilio.of_kind("message")) == 1

    def test_a_claimed_message_is_not_sent_by_another_worker(self, demo_business, fake_twilio) -> None:
        whatsapp_inbound_record(business=demo_business, phone=CALLER)
        OutboundMessage.objects.create(
            business=demo_business,
            to=CALLER,
            from_number="+14155238886",
            body="x",
            idempotency_key="k1",
            provider_sid="claim-elsewhere",
        )
        send(demo_business)
        assert fake_twilio.of_kind("message") == []

    def test_a_withheld_caller_number_fails_without_sending(self, demo_business, fake_twilio) -> None:
        message = message_send(business=demo_business, call=None, to="anonymous", body="x", idempotency_key="k")
        assert (message.status, message.error_code) == (OutboundMessage.Status.FAILED, "bad-recipient")
        assert fake_twilio.requests == []


def test_inbound_whatsapp_webhook_opens_the_window(demo_business, client: Client) -> None:
    assert not whatsapp_window_open(business=demo_business, phone=CALLER)
    response = signed_post(
        client,
        "/twilio/whatsapp",
        {"From": f"whatsapp:{CALLER}", "To": "whatsapp:+14155238886", "Body": "hi", "MessageSid": "SM1"},
    )
    assert response.status_code == 200
    assert whatsapp_window_open(business=demo_business, phone=CALLER)


class TestBookingConfirmation:
    @pytest.fixture
    def booking(self, demo_business):
        customer = CustomerFactory(business=demo_business, phone=CALLER, name="Maria")
        service = demo_business.services.get(name="Haircut")
        # 19:30 UTC in January is 14:30 in New York.
        start = dt.datetime(2030, 1, 9, 19, 30, tzinfo=dt.UTC)
        return BookingFactory(
            business=demo_business,
            customer=customer,
            service=service,
            start=start,
            end=start + dt.timedelta(minutes=30),
        )

    def test_text_names_service_day_local_time_and_address(self, booking) -> None:
        call = CallFactory(business=booking.business)
        message = booking_confirmation_send(booking=booking, call=call, change="created")
        assert message.body == (
            "Bella Hair Studio: your Haircut is booked. Wednesday, January 9 at 2:30 PM. 12 Main Street"
        )
        assert message.call == call
        assert message.to == CALLER

    def test_template_variables(self, booking, settings) -> None:
        settings.TWILIO_WHATSAPP_BOOKING_TEMPLATE_SID = "HX" + "b" * 32
        message = booking_confirmation_send(booking=booking, call=None, change="moved")
        assert message.content_sid == "HX" + "b" * 32
        assert message.content_variables == {
            "1": "Haircut",
            "2": "Wednesday, January 9",
            "3": "2:30 PM",
            "4": "12 Main Street",
            "5": "moved",
        }

    def test_once_per_change_and_time(self, booking) -> None:
        booking_confirmation_send(booking=booking, call=None, change="created")
        booking_confirmation_send(booking=booking, call=None, change="created")
        booking.start += dt.timedelta(hours=1)
        booking.end += dt.timedelta(hours=1)
        booking.save()
        booking_confirmation_send(booking=booking, call=None, change="moved")
        booking_confirmation_send(booking=booking, call=None, change="moved")
        booking_confirmation_send(booking=booking, call=None, change="cancelled")
        bodies = list(OutboundMessage.objects.order_by("pk").values_list("body", flat=True))
        assert len(bodies) == 3
        assert "has moved" in bodies[1]
        assert "3:30 PM" in bodies[1]
        assert "is cancelled" in bodies[2]


class TestConfirmationsAfterACall:
    def test_call_end_confirms_each_booking_change_once(
        self, demo_business, client: Client, django_capture_on_commit_callbacks
    ) -> None:
        call = CallFactory(business=demo_business, sid="CA" + "b" * 32, from_number=CALLER)
        customer = CustomerFactory(business=demo_business, phone=CALLER)
        haircut = demo_business.services.get(name="Haircut")
        start = dt.datetime(2030, 1, 9, 19, 30, tzinfo=dt.UTC)
        made = BookingFactory(
            business=demo_business,
            customer=customer,
            service=haircut,
            start=start,
            end=start + dt.timedelta(minutes=30),
            source_call=call,
        )
        later = start + dt.timedelta(hours=2)
        moved = BookingFactory(
            business=demo_business,
            customer=customer,
            service=haircut,
            start=later,
            end=later + dt.timedelta(minutes=30),
        )
        CallEvent.objects.create(
            call=call,
            name=BOOKING_CHANGE_EVENT,
            detail={"booking_id": moved.pk, "change": "moved", "tool": "reschedule"},
        )
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(2):
                signed_post(client, "/twilio/status", {"CallSid": call.sid, "CallStatus": "completed"})
        messages = {m.idempotency_key: m for m in OutboundMessage.objects.all()}
        assert set(messages) == {
            f"booking:{made.pk}:created:20300109T1930",
            f"booking:{moved.pk}:moved:20300109T2130",
        }
        assert all(m.status == OutboundMessage.Status.OUTBOX and m.call == call for m in messages.values())


def test_booking_changes_come_from_successful_agent_tools() -> None:
    tools = [
        ToolUsed(name="confirm_booking", arguments={}, result={"ok": True, "change": "booked", "booking_id": 7}),
        ToolUsed(name="reschedule", arguments={}, result={"ok": False, "error": "slot_taken"}),
        ToolUsed(name="cancel", arguments={}, result={"ok": True, "change": "cancelled", "booking_id": 8}),
        ToolUsed(name="check_availability", arguments={}, result={"ok": True, "slots": []}),
    ]
    assert booking_changes(tools) == [
        {"booking_id": 7, "change": "created", "tool": "confirm_booking"},
        {"booking_id": 8, "change": "cancelled", "tool": "cancel"},
    ]
