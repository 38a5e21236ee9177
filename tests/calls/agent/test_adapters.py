"""The Django adapters: the booking port's plain data and errors, the call store's idempotent writes."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from asgiref.sync import async_to_sync

from bookings.models import Booking
from businesses.models import Business, Closure
from calls.adapters.booking_port import DjangoBookingPort, business_info_from
from calls.adapters.call_store import DjangoCallStore
from calls.models import Call, Intent, Turn
from calls.voice.ports import BookingError, IntentUpdate, TurnRecord
from calls.wiring import agent_build

pytestmark = pytest.mark.django_db


def monday_10am(business: Business) -> dt.datetime:
    return dt.datetime(2030, 1, 7, 10, tzinfo=business.tz)


def test_business_info_is_the_seeded_business_as_plain_data(demo_business: Business) -> None:
    Closure.objects.create(business=demo_business, date=dt.date(2030, 12, 25), reason="Christmas")
    info = business_info_from(demo_business, today=dt.date(2030, 1, 7))
    assert [(s.name, s.duration_minutes, s.price) for s in info.services] == [
        ("Beard trim", 15, "20.00"),
        ("Hair color", 90, "120.00"),
        ("Haircut", 30, "45.00"),
    ]
    assert "trim" in info.services[2].synonyms
    assert info.opening_hours[0] == ((dt.time(9), dt.time(18)),)
    assert info.opening_hours[5] == ((dt.time(10), dt.time(16)),)
    assert info.opening_hours[6] == ()
    assert info.closures == (dt.date(2030, 12, 25),)
    assert info.transfer_number == "+15005550007"
    assert len(info.faqs) == 4


def test_booking_port_speaks_plain_data_and_passes_booking_errors(demo_business: Business) -> None:
    port = DjangoBookingPort(demo_business, clock=lambda: monday_10am(demo_business))

    async def scenario() -> None:
        now = await port.now()
        assert now == monday_10am(demo_business)
        assert now.tzinfo == demo_business.tz
        slots = await port.check_availability(service="haircut", day=dt.date(2030, 1, 8), limit=3)
        assert [(s.service, s.start.time()) for s in slots] == [
            ("Haircut", dt.time(9)),
            ("Haircut", dt.time(9, 15)),
            ("Haircut", dt.time(9, 30)),
        ]
        start = dt.datetime(2030, 1, 8, 9, tzinfo=demo_business.tz)
        hold = await port.hold_slot(service="Haircut", start=start, caller_phone="(555) 123-0000")
        assert hold.expires_at == monday_10am(demo_business) + dt.timedelta(minutes=5)
        with pytest.raises(BookingError) as taken:
            await port.hold_slot(service="Haircut", start=start, caller_phone="+15550000001")
        assert taken.value.code == "slot_taken"
        with pytest.raises(BookingError) as closed:
            await port.hold_slot(service="Haircut", start=start.replace(day=13), caller_phone="+15550000001")
        assert closed.value.code == "closed"
        with pytest.raises(BookingError) as unknown:
            await port.check_availability(service="massage", day=dt.date(2030, 1, 8))
        assert unknown.value.code == "unknown_service"
        booked = await port.confirm_booking(hold_id=hold.hold_id, customer_name="Maria Lopez", phone="+15551230000")
        assert (booked.status, booked.customer_name, booked.phone) == ("confirmed", "Maria Lopez", "+15551230000")
        assert [b.booking_id for b in await port.find_bookings(phone="555-123-0000")] == [booked.booking_id]
        moved = await port.reschedule(booking_id=booked.booking_id, start=start + dt.timedelta(days=1))
        assert moved.start.date() == dt.date(2030, 1, 9)
        cancelled = await port.cancel(booking_id=booked.booking_id)
        assert cancelled.status == "cancelled"
        with pytest.raises(BookingError) as missing:
            await port.cancel(booking_id=9999)
        assert missing.value.code == "not_found"

    async_to_sync(scenario)()
    assert Booking.objects.get().cancel_reason == "cancelled by caller"


def test_call_store_is_idempotent_per_turn(demo_business: Business) -> None:
    call = Call.objects.create(sid="TALKstoretest", business=demo_business, from_number="+15551230000")
    store = DjangoCallStore(call)
    now = time.time()
    first = TurnRecord(
        index=1,
        speaker="caller",
        text="a haircut",
        started_at=now,
        ended_at=now,
        intent=IntentUpdate("book", 0.5, {"service": "Haircut"}),
    )
    retried = TurnRecord(
        index=1,
        speaker="caller",
        text="a haircut tomorrow",
        started_at=now,
        ended_at=now + 1,
        asr_ms=120.0,
        intent=IntentUpdate("book", 0.9, {"service": "Haircut", "date": "2030-01-08"}),
    )

    async def scenario() -> None:
        await store.turn_saved(first)
        await store.turn_saved(retried)
        await store.event("barge-in", {"heard": "a hair"})
        await store.call_ended(reason="transfer: caller_request")
        await store.call_ended(reason="hangup")

    async_to_sync(scenario)()
    turn = Turn.objects.get(call=call)
    assert (turn.text, turn.asr_ms) == ("a haircut tomorrow", 120.0)
    assert Intent.objects.count() == 1
    assert turn.intent.slots == {"service": "Haircut", "date": "2030-01-08"}
    call.refresh_from_db()
    assert (call.status, call.end_reason, call.transferred) == ("completed", "transfer: caller_request", True)
    assert call.events.get().detail == {"heard": "a hair"}


def test_agent_build_follows_the_agent_setting(demo_business: Business, settings) -> None:
    settings.VOICE = {**settings.VOICE, "agent": "local"}
    assert agent_build(business=demo_business, caller_phone="+15551230000", call=None).name == "local"
    settings.OPENAI_API_KEY = "k"
    settings.VOICE = {**settings.VOICE, "agent": "openai", "openai_base_url": "http://127.0.0.1:9/v1"}
    built = agent_build(business=demo_business, caller_phone="+15551230000", call=None)
    assert built.name == "openai"
    assert str(built.client.base_url) == "http://127.0.0.1:9/v1/"
    settings.VOICE = {**settings.VOICE, "agent": "standin"}
    assert agent_build(business=demo_business, caller_phone="+15551230000", call=None).name == "standin"
