"""Multi-turn dialogues with the offline agent through ``manage.py talk``; each checks the database."""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from django.core.management import CommandError

from bookings.models import Booking
from bookings.services import booking_create
from businesses.models import Business
from calls.adapters.booking_port import DjangoBookingPort, business_info_from
from calls.agent.local import LocalAgent
from calls.models import Call, Turn
from tests.calls.agent.conversation import say
from tests.calls.agent.talking import talk

pytestmark = pytest.mark.django_db

CALLER = "+15551230000"


def at(business: Business, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2030, 1, day, hour, minute, tzinfo=business.tz)


def confirmed(business: Business) -> list[tuple[dt.datetime, str, str, str]]:
    rows = Booking.objects.filter(business=business, status=Booking.Status.CONFIRMED).select_related(
        "service", "customer"
    )
    return [(b.start.astimezone(business.tz), b.service.name, b.customer.name, b.customer.phone) for b in rows]


def existing(business: Business, day: int, hour: int, *, phone: str = CALLER, name: str = "Maria Lopez") -> Booking:
    service = business.services.get(name="Haircut")
    now = at(business, 7, 10)
    return booking_create(
        business=business,
        service=service,
        start=at(business, day, hour),
        caller_phone=phone,
        customer_name=name,
        now=now,
    )


def test_book(demo_business: Business) -> None:
    result = talk(
        "hi i'd like to book a haircut", "tomorrow afternoon", "two o'clock", "maria lopez", "yes", "no thanks bye"
    )
    assert result.greeting == "Thank you for calling Bella Hair Studio, this is Zylin. How can I help you today?"
    assert result.reply_to(1) == "Sure, a haircut. What day would you like to come in?"
    assert result.reply_to(2) == "Tomorrow I have noon, two or four thirty p.m. Which would suit you?"
    assert result.reply_to(4) == (
        "That's a haircut tomorrow, Tuesday the eighth, at two p.m. for Maria Lopez. Shall I book it?"
    )
    assert result.reply_to(5).startswith("You're all set, Maria.")
    assert confirmed(demo_business) == [(at(demo_business, 8, 14), "Haircut", "Maria Lopez", CALLER)]
    booking = Booking.objects.get()
    assert result.summary[0] == f"# booked #{booking.pk}: Haircut on Tue 08 Jan 2030 at 14:00 for Maria Lopez"
    assert booking.source_call == result.call
    call = Call.objects.get(pk=result.call.pk)
    assert (call.path, call.status, call.from_number) == ("streaming", "completed", CALLER)
    assert call.end_reason == "end: caller_goodbye"
    assert call.ended_at is not None
    turns = list(call.turns.order_by("index").values_list("speaker", "text"))
    assert len(turns) == 1 + 2 * 6
    assert turns[1] == ("caller", "hi i'd like to book a haircut")
    assert [t.intent.name for t in call.turns.filter(speaker=Turn.Speaker.CALLER).order_by("index")] == [
        "book",
        "book",
        "book",
        "book",
        "book",
        "goodbye",
    ]
    assert "[tool] hold_slot" in result.stderr


def test_book_with_a_correction(demo_business: Business) -> None:
    result = talk("can i get a haircut on friday at 3 please", "maria lopez", "no thursday instead", "yes")
    assert (
        result.reply_to(3) == "That's a haircut on Thursday the tenth at three p.m. for Maria Lopez. Shall I book it?"
    )
    assert confirmed(demo_business) == [(at(demo_business, 10, 15), "Haircut", "Maria Lopez", CALLER)]
    # The Friday hold was released, not left to block the slot.
    assert not Booking.objects.filter(start=at(demo_business, 11, 15)).exclude(status=Booking.Status.CANCELLED)


def test_closed_day_offers_the_next_open_day(demo_business: Business) -> None:
    result = talk("i want a beard trim on sunday", "the first one", "john smith", "yes")
    assert result.reply_to(1) == (
        "Sorry, we're closed on Sunday the thirteenth. The next day I have free is Monday the fourteenth, "
        "at nine a.m., one or five thirty p.m. Would one of those work?"
    )
    assert confirmed(demo_business) == [(at(demo_business, 14, 9), "Beard trim", "John Smith", CALLER)]


def test_taken_slot_offers_the_nearest_times(demo_business: Business) -> None:
    existing(demo_business, 8, 15, phone="+15550000001", name="Pat Doe")
    result = talk("a haircut tomorrow at 3", "the second one", "ann lee", "yes")
    assert result.reply_to(1) == (
        "Sorry, three p.m. tomorrow is already taken. The closest times I have are two fifteen, two thirty or "
        "three thirty p.m. Would one of those work?"
    )
    assert sorted(confirmed(demo_business)) == [
        (at(demo_business, 8, 14, 30), "Haircut", "Ann Lee", CALLER),
        (at(demo_business, 8, 15), "Haircut", "Pat Doe", "+15550000001"),
    ]


def test_faq_and_price(demo_business: Business) -> None:
    result = talk("how much is a haircut", "no", "is there parking", "what time do you close on saturday", "bye")
    assert result.reply_to(1) == (
        "A haircut is forty-five dollars and takes about thirty minutes. Would you like to book an appointment?"
    )
    assert result.reply_to(3).startswith("Yes, there is free parking behind the building")
    assert result.reply_to(4) == (
        "On Saturday we're open from ten a.m. to four p.m. Would you like to book an appointment?"
    )
    assert confirmed(demo_business) == []
    intents = list(
        Turn.objects.filter(call=result.call, speaker="caller").order_by("index").values_list("intent__name", flat=True)
    )
    assert intents == ["price", "deny", "faq", "hours", "goodbye"]
    assert result.summary[0] == "# no bookings changed"


def test_cancel(demo_business: Business) -> None:
    booking = existing(demo_business, 9, 11)
    result = talk("i need to cancel my appointment", "yes", "no", "bye")
    assert (
        result.reply_to(1) == "I see your haircut on Wednesday the ninth at eleven a.m. Would you like me to cancel it?"
    )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert result.summary[0] == f"# cancelled #{booking.pk}: Haircut on Wed 09 Jan 2030 at 11:00 for Maria Lopez"


def test_reschedule(demo_business: Business) -> None:
    booking = existing(demo_business, 8, 14)
    result = talk("i need to move my appointment", "thursday at 4", "yes", "bye")
    assert (
        result.reply_to(2)
        == "I'll move your haircut tomorrow at two p.m. to Thursday the tenth at four p.m. Is that right?"
    )
    booking.refresh_from_db()
    assert (booking.status, booking.start.astimezone(demo_business.tz)) == ("confirmed", at(demo_business, 10, 16))
    assert result.summary[0].startswith(f"# moved #{booking.pk}: Haircut from Tue 08 Jan 2030 at 14:00 to Thu 10 Jan")


def test_transfer_request(demo_business: Business) -> None:
    result = talk("can i speak to a real person please", "this line is never read")
    assert result.replies[1:] == ["Of course. Let me put you through to someone from the team, one moment please."]
    call = Call.objects.get(pk=result.call.pk)
    assert call.transferred
    assert call.end_reason == "transfer: caller_request"
    assert call.events.filter(name="transfer").exists()
    assert Booking.objects.count() == 0


def test_gibberish_then_a_booking(demo_business: Business) -> None:
    result = talk("blorp flibber zzz", "a haircut tomorrow at noon my name is sam", "yes")
    assert result.reply_to(1).startswith("Sorry, I didn't catch that. I can book, move or cancel an appointment")
    assert confirmed(demo_business) == [(at(demo_business, 8, 12), "Haircut", "Sam", CALLER)]
    first = Turn.objects.get(call=result.call, index=1)
    assert (first.intent.name, first.intent.confidence) == ("unknown", 0.2)


def test_repeated_gibberish_hands_over(demo_business: Business) -> None:
    result = talk("blorp flibber zzz", "wibble wobble", "the cat sat on the mat", "never read")
    assert result.reply_to(3).startswith("I'm sorry, I'm having trouble understanding.")
    call = Call.objects.get(pk=result.call.pk)
    assert call.transferred
    assert call.end_reason == "transfer: misunderstanding"
    assert Booking.objects.count() == 0


def test_no_booking_without_confirmation(demo_business: Business) -> None:
    result = talk("a haircut tomorrow at 3, my name is maria lopez")
    assert result.reply_to(1).endswith("Shall I book it?")
    assert confirmed(demo_business) == []
    assert Booking.objects.get().status == Booking.Status.HELD  # expires on its own
    assert Call.objects.get(pk=result.call.pk).end_reason == "hangup"


def test_two_conversations_confirming_the_same_slot_book_it_once(demo_business: Business) -> None:
    clock = {"now": at(demo_business, 7, 10)}
    info = business_info_from(demo_business, today=clock["now"].date())

    def agent(phone: str) -> LocalAgent:
        port = DjangoBookingPort(demo_business, clock=lambda: clock["now"])
        return LocalAgent(business=info, port=port, caller_phone=phone)

    async def race() -> tuple[str, str]:
        ann, bob = agent("+15550000001"), agent("+15550000002")
        await say(ann, "a haircut tomorrow at 3 my name is ann")
        taken = await say(bob, "a haircut tomorrow at 3 my name is bob")
        clock["now"] += dt.timedelta(minutes=6)  # Ann's hold runs out while she hesitates
        await say(bob, "tomorrow at 3")
        await say(bob, "yes")
        late = await say(ann, "yes")
        return taken.text, late.text

    taken, late = async_to_sync(race)()
    assert "already taken" in taken
    assert late.startswith("I'm sorry, that time was just taken.")
    assert confirmed(demo_business) == [(at(demo_business, 8, 15), "Haircut", "Bob", "+15550000002")]


def test_unknown_business_is_a_command_error(demo_business: Business) -> None:
    with pytest.raises(CommandError, match="No business"):
        talk("hello", business="nobody-here")


def test_business_by_phone_number(demo_business: Business) -> None:
    result = talk("bye", business="+15005550006")
    assert result.call.business == demo_business
    assert result.call.to_number == "+15005550006"
