"""Disconnects: a socket that drops mid-turn and comes back, and one that never does.

Coming back with the same ``sessionId`` within the resume window, the call
keeps its history, its booking slots and the slot it was holding; Zylin does
not repeat itself and the booking is made once. A socket that never comes
back leaves the Call open until Twilio reports the end of the phone call, and
its hold is released once it expires.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from bookings import services as booking_services
from bookings.models import Booking
from bookings.selectors import slot_list_available
from bookings.tasks import holds_release_expired_task
from businesses.models import Business
from calls.models import Call, CallEvent
from calls.twilio_signature import signature_compute
from calls.voice.config import VoicePhrases
from tests.reliability.conftest import stream_parameters, streaming_call
from tests.reliability.phone import PUBLIC_BASE_URL, Phone, media_socket
from tests.reliability.scenarios import booking_lines, converse, weekday_ahead

pytestmark = pytest.mark.django_db(transaction=True)


def bookings_of(call: Call) -> list[tuple[str, str]]:
    return [(b.status, b.customer.name) for b in Booking.objects.filter(source_call=call).select_related("customer")]


def turns_of(call: Call) -> list[tuple[int, str, str]]:
    return list(call.turns.order_by("index").values_list("index", "speaker", "text"))


def interrupted_of(call: Call) -> list[int]:
    return list(call.turns.filter(interrupted=True).values_list("index", flat=True))


def events_of(call: Call, name: str) -> list[dict[str, Any]]:
    return list(CallEvent.objects.filter(call=call, name=name).values_list("detail", flat=True))


async def connect(call: Call) -> Phone:
    socket = media_socket()
    assert (await socket.connect())[0]
    return await Phone(socket, call_sid=call.sid, parameters=stream_parameters(call)).start()


async def drop_while_zylin_answers(call: Call) -> Phone:
    """Greeting, then the booking request; the socket drops while Zylin is still answering it."""
    phone = await connect(call)
    await phone.answer_after(0.0, timeout_s=4.0)
    await phone.quiet(0.4)
    end = await phone.say(1.0)
    assert await phone.answer_after(end, timeout_s=4.0) is not None
    await asyncio.sleep(0.6)
    await phone.drop()  # mid-reply: the hold is placed, the caller has heard part of the answer
    return phone


async def test_a_call_that_drops_mid_turn_resumes_with_its_hold_and_books_once(
    demo_business: Business, edge_settings: Any, capacity: Any, scripted_speech: Any, ledger: Any
) -> None:
    _, day_name = weekday_ahead(demo_business.tz)
    lines = booking_lines(day_name)
    recognizer = scripted_speech(demo_business, lines)
    call = await sync_to_async(streaming_call)(demo_business)

    await drop_while_zylin_answers(call)
    held = await sync_to_async(bookings_of)(call)
    before = await sync_to_async(turns_of)(call)
    assert held == [("held", "")]  # the slot is held for the caller
    assert (await sync_to_async(Call.objects.get)(pk=call.pk)).ended_at is None

    # Twilio reconnects the same call: same CallSid and sessionId, a new stream.
    resumed = await connect(call)
    report = await converse(resumed, len(lines) - 1, greeting=True)
    booked = await sync_to_async(bookings_of)(call)
    ledger.fault("media socket dropped mid-turn", survived=booked == [("confirmed", "Maria Lopez")])
    ledger.bookings(expected=1, found=sum(status == "confirmed" for status, _ in booked))

    assert report.problems() == []
    assert booked == [("confirmed", "Maria Lopez")]  # the held slot became the booking: no second row
    assert recognizer.heard == lines  # every line heard once, none asked again
    after = await sync_to_async(turns_of)(call)
    assert after[: len(before)] == before  # history intact
    assert [index for index, _, _ in after] == list(range(len(after)))
    said_before = {text for _, speaker, text in before if speaker == "assistant"}
    said_after = [text for _, speaker, text in after[len(before) :] if speaker == "assistant"]
    assert await sync_to_async(interrupted_of)(call) == [2]  # what the caller heard of the cut-off answer
    assert said_after[0] == VoicePhrases().resumed
    assert demo_business.greeting_text not in said_after
    assert not said_before & set(said_after)  # nothing said twice
    assert await sync_to_async(events_of)(call, "stream_dropped")
    final = await sync_to_async(Call.objects.get)(pk=call.pk)
    assert (final.status, final.end_reason) == ("completed", "agent_ended")


async def test_a_socket_that_never_comes_back_releases_its_hold_and_twilio_closes_the_call(
    demo_business: Business,
    edge_settings: Any,
    capacity: Any,
    scripted_speech: Any,
    monkeypatch: pytest.MonkeyPatch,
    ledger: Any,
) -> None:
    day, day_name = weekday_ahead(demo_business.tz)
    scripted_speech(demo_business, booking_lines(day_name))
    call = await sync_to_async(streaming_call)(demo_business)
    haircut = await sync_to_async(demo_business.services.get)(name="Haircut")
    three_pm = dt.datetime.combine(day, dt.time(15), tzinfo=demo_business.tz)

    def free_at_three() -> bool:
        return three_pm in [start for start, _ in slot_list_available(business=demo_business, day=day,
                                                                      service=haircut)]  # fmt: skip

    await drop_while_zylin_answers(call)
    assert await sync_to_async(bookings_of)(call) == [("held", "")]
    assert not await sync_to_async(free_at_three)()

    # Nothing comes back. Once the hold has expired, the periodic task releases it.
    assert await sync_to_async(holds_release_expired_task)() == 0  # not yet: the hold is still running
    later = timezone.now() + dt.timedelta(minutes=booking_services.HOLD_MINUTES, seconds=5)
    monkeypatch.setattr(booking_services.timezone, "now", lambda: later)
    assert await sync_to_async(holds_release_expired_task)() == 1
    monkeypatch.undo()
    released = await sync_to_async(lambda: Booking.objects.get(source_call=call))()
    assert (released.status, released.cancel_reason) == ("cancelled", "hold expired")
    assert await sync_to_async(free_at_three)()

    # The Call stays open (the phone call may go on) until Twilio reports its end.
    assert (await sync_to_async(Call.objects.get)(pk=call.pk)).ended_at is None
    params = {"CallSid": call.sid, "AccountSid": "AC" + "0" * 32, "CallStatus": "completed", "CallDuration": "42"}
    signature = signature_compute(url=f"{PUBLIC_BASE_URL}/twilio/status", params=params)
    response = await sync_to_async(Client().post)("/twilio/status", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 204
    final = await sync_to_async(Call.objects.get)(pk=call.pk)
    ledger.fault("media socket dropped for good", survived=final.status == "completed")
    ledger.bookings(expected=0, found=await sync_to_async(Booking.objects.filter(status="confirmed").count)())
    assert (final.status, final.duration_seconds) == ("completed", 42)
    assert final.ended_at is not None
    assert await sync_to_async(events_of)(call, "stream_dropped")


async def test_a_stream_back_after_the_resume_window_starts_afresh(
    demo_business: Business, edge_settings: Any, capacity: Any, scripted_speech: Any
) -> None:
    edge_settings.VOICE = {**edge_settings.VOICE, "resume_window_s": 1}
    _, day_name = weekday_ahead(demo_business.tz)
    scripted_speech(demo_business, booking_lines(day_name))
    call = await sync_to_async(streaming_call)(demo_business)
    phone = await connect(call)
    await phone.answer_after(0.0, timeout_s=4.0)
    await phone.quiet(0.4)
    await phone.drop()
    await asyncio.sleep(1.5)
    again = await connect(call)
    await again.answer_after(0.0, timeout_s=4.0)
    await again.quiet(0.4)
    await again.hang_up()
    said = [text for _, speaker, text in await sync_to_async(turns_of)(call) if speaker == "assistant"]
    assert said == [demo_business.greeting_text, demo_business.greeting_text]
