"""The Call admin page reads as a conversation, and call records are read-only for everyone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from bookings.models import Booking
from calls.models import Call, Turn
from tests import factories


@pytest.fixture
def call(demo_business) -> Call:
    call = factories.CallFactory(
        business=demo_business, path=Call.Path.STREAMING, route_reason="bucket 12 < 100% streaming"
    )
    caller = factories.TurnFactory(
        call=call, index=0, speaker=Turn.Speaker.CALLER, text="I'd like a haircut tomorrow at three", asr_ms=180.0
    )
    factories.IntentFactory(turn=caller, name="book", confidence=0.87, slots={"service": "Haircut", "time": "15:00"})
    factories.TurnFactory(
        call=call,
        index=1,
        speaker=Turn.Speaker.ASSISTANT,
        text="Sure, tomorrow at three for a haircut. Can I have",
        interrupted=True,
        llm_first_token_ms=240.0,
        tts_first_audio_ms=130.0,
        voice_to_voice_ms=612.4,
    )
    factories.TurnFactory(call=call, index=2, speaker=Turn.Speaker.CALLER, text="My name is Ada")
    factories.CallEventFactory(call=call, name="barge_in", detail={"heard_ms": 1400})
    factories.BookingFactory(
        business=demo_business,
        service=demo_business.services.get(name="Haircut"),
        customer=factories.CustomerFactory(business=demo_business, name="Ada"),
        source_call=call,
        start=dt.datetime(2030, 1, 8, 20, 0, tzinfo=dt.UTC),
        end=dt.datetime(2030, 1, 8, 20, 30, tzinfo=dt.UTC),
        status=Booking.Status.CONFIRMED,
    )
    factories.OutboundMessageFactory(business=demo_business, call=call, body="See you Tuesday at 3:00 PM")
    return call


@pytest.fixture
def owner_client(client, demo_business):
    client.force_login(factories.owner_create(demo_business, username="call-reader"))
    return client


def _page(client, call: Call) -> str:
    response = client.get(reverse("admin:calls_call_change", args=[call.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_the_transcript_reads_turn_by_turn(owner_client, call):
    page = _page(owner_client, call)
    texts = ["I&#x27;d like a haircut tomorrow at three", "Sure, tomorrow at three for a haircut", "My name is Ada"]
    positions = [page.index(text) for text in texts]
    assert positions == sorted(positions)
    assert page.count('class="turn caller"') == 2
    assert page.count('class="turn assistant"') == 1


@pytest.mark.django_db
def test_an_interrupted_turn_is_marked_and_latencies_are_shown(owner_client, call):
    page = _page(owner_client, call)
    assistant = page[page.index('class="turn assistant"') :]
    assistant = assistant[: assistant.index("</li>")]
    assert 'class="interrupted"' in assistant
    assert "agent 240 ms · TTS 130 ms · voice-to-voice 612 ms" in assistant
    caller = page[page.index('class="turn caller"') :]
    caller = caller[: caller.index("</li>")]
    assert 'class="interrupted"' not in caller
    assert "ASR 180 ms" in caller
    assert "voice-to-voice" not in caller  # only the stages this turn measured


@pytest.mark.django_db
def test_route_intents_events_bookings_and_messages_are_on_the_page(owner_client, call):
    page = _page(owner_client, call)
    assert "because bucket 12 &lt; 100% streaming" in page
    assert "<strong>book</strong> (0.87)" in page
    assert "barge_in" in page
    assert "heard_ms" in page
    assert "Tue 08 Jan 2030, 15:00" in page  # 20:00 UTC in the business's timezone
    assert "See you Tuesday at 3:00 PM" in page


@pytest.mark.django_db
def test_calls_are_read_only_for_owners_and_staff(client, owner_client, call):
    url = reverse("admin:calls_call_change", args=[call.pk])
    staff = get_user_model().objects.create_superuser("call-staff", "staff@example.com", "pw-for-tests-1")
    assert owner_client.post(url, {"route_reason": "edited"}).status_code == 403
    client.force_login(staff)
    assert client.post(url, {"route_reason": "edited"}).status_code == 403
    assert client.get(reverse("admin:calls_call_add")).status_code == 403
    assert (
        client.get(reverse("admin:calls_turn_change", args=[call.turns.first().pk])).context["has_change_permission"]
        is False
    )
    call.refresh_from_db()
    assert call.route_reason == "bucket 12 < 100% streaming"


@pytest.mark.django_db
def test_owners_cannot_delete_call_records(owner_client, call):
    assert owner_client.get(reverse("admin:calls_call_delete", args=[call.pk])).status_code == 403
    assert Call.objects.filter(pk=call.pk).exists()


@pytest.mark.django_db
def test_the_outbox_filters_by_status(owner_client, demo_business):
    factories.OutboundMessageFactory(business=demo_business, body="waiting in outbox")
    factories.OutboundMessageFactory(business=demo_business, body="already delivered", status="delivered")
    response = owner_client.get(reverse("admin:calls_outboundmessage_changelist"), {"status__exact": "outbox"})
    assert [message.body for message in response.context["cl"].result_list] == ["waiting in outbox"]


@pytest.mark.django_db
def test_call_list_query_count_does_not_grow_with_calls(owner_client, demo_business, django_assert_max_num_queries):
    for _ in range(30):
        call = factories.CallFactory(business=demo_business)
        factories.TurnFactory(call=call, index=0)
    with django_assert_max_num_queries(11):
        response = owner_client.get(reverse("admin:calls_call_changelist"))
    assert response.context["cl"].result_count == 30
