"""``manage.py talk`` with ZYLIN_AGENT=openai against the fake OpenAI server: the bookings land."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import LazySettings

from bookings.models import Booking
from bookings.services import booking_create
from businesses.models import Business
from calls.models import Call
from tests.calls.agent.talking import talk
from tests.fakes.servers.openai_chat import ChatReply, FakeOpenAIChatServer, ToolCallScript

pytestmark = pytest.mark.django_db

CALLER = "+15551230000"


@pytest.fixture
def openai_agent_settings(settings: LazySettings, openai_server_thread: FakeOpenAIChatServer) -> FakeOpenAIChatServer:
    settings.OPENAI_API_KEY = "test-key"
    settings.VOICE = {**settings.VOICE, "agent": "openai", "openai_base_url": openai_server_thread.base_url}
    return openai_server_thread


def call(name: str, **arguments: object) -> ChatReply:
    return ChatReply(tool_calls=(ToolCallScript(name, dict(arguments)),), argument_pieces=5)


def test_books_through_the_openai_agent(demo_business: Business, openai_agent_settings: FakeOpenAIChatServer) -> None:
    server = openai_agent_settings
    server.add(
        call("check_availability", service="Haircut", date="2030-01-08", time="15:00"),
        call("hold_slot", service="Haircut", date="2030-01-08", time="15:00"),
        ChatReply(
            text="Three p.m. tomorrow is free. That's a haircut tomorrow at three p.m. for Maria Lopez. "
            "Shall I book it?"
        ),
        call("confirm_booking", customer_name="Maria Lopez"),
        ChatReply(text="You're all set, Maria. Anything else?"),
        call("end_call", reason="caller said goodbye"),
        ChatReply(text="Thanks for calling, goodbye!"),
    )
    result = talk("hi, a haircut tomorrow at three please, I'm Maria Lopez", "yes", "no that's all, bye")
    assert result.replies == [
        "Thank you for calling Bella Hair Studio, this is Zylin. How can I help you today?",
        "Three p.m. tomorrow is free. That's a haircut tomorrow at three p.m. for Maria Lopez. Shall I book it?",
        "You're all set, Maria. Anything else?",
        "Thanks for calling, goodbye!",
    ]
    booking = Booking.objects.select_related("customer").get()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.start == dt.datetime(2030, 1, 8, 15, tzinfo=demo_business.tz)
    assert (booking.customer.name, booking.customer.phone) == ("Maria Lopez", CALLER)
    assert result.summary[0] == f"# booked #{booking.pk}: Haircut on Tue 08 Jan 2030 at 15:00 for Maria Lopez"
    call_row = Call.objects.get(pk=result.call.pk)
    assert call_row.end_reason == "end: caller said goodbye"
    assert list(call_row.turns.filter(speaker="caller").order_by("index").values_list("intent__name", flat=True)) == [
        "book",
        "book",
        "goodbye",
    ]
    assert len(server.requests) == 7
    assert "The caller is calling from +15551230000" in server.requests[0].body["messages"][0]["content"]


def test_moves_and_cancels_through_the_openai_agent(
    demo_business: Business, openai_agent_settings: FakeOpenAIChatServer
) -> None:
    booking = booking_create(
        business=demo_business,
        service=demo_business.services.get(name="Haircut"),
        start=dt.datetime(2030, 1, 8, 14, tzinfo=demo_business.tz),
        caller_phone=CALLER,
        customer_name="Maria Lopez",
        now=dt.datetime(2030, 1, 7, 10, tzinfo=demo_business.tz),
    )
    openai_agent_settings.add(
        call("find_bookings"),
        ChatReply(text="I see your haircut tomorrow at two p.m. Shall I move it to Thursday at four p.m.?"),
        call("reschedule", date="2030-01-10", time="16:00"),
        ChatReply(text="Done, it's now Thursday at four p.m."),
        call("cancel"),
        ChatReply(text="All right, it's cancelled."),
    )
    result = talk("can you move my appointment to thursday at four", "yes", "actually just cancel it")
    assert result.replies[-1] == "All right, it's cancelled."
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.start == dt.datetime(2030, 1, 10, 16, tzinfo=demo_business.tz)
    assert result.summary[:2] == [
        f"# moved #{booking.pk}: Haircut from Tue 08 Jan 2030 at 14:00 to Thu 10 Jan 2030 at 16:00 for Maria Lopez",
        f"# cancelled #{booking.pk}: Haircut on Thu 10 Jan 2030 at 16:00 for Maria Lopez",
    ]
