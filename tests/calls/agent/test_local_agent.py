"""The offline agent on an in-memory booking port: flows, turn-taking hints, state, races, faults."""

from __future__ import annotations

import datetime as dt
import json

from calls.agent.local import LocalAgent
from calls.voice.ports import BookingError, CallAction, LanguageModel
from tests.calls.agent.conversation import say
from tests.calls.agent.memory_port import NY, MemoryBookingPort, bella_hair_studio

CALLER = "+15551230000"


def agent_for(port: MemoryBookingPort, caller: str = CALLER) -> LocalAgent:
    return LocalAgent(business=port.business, port=port, caller_phone=caller)


async def test_books_and_sets_expecting_for_each_step() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    agent = agent_for(port)
    assert isinstance(agent, LanguageModel)
    assert "Bella Hair Studio" in agent.greeting()
    assert agent.expecting == "open"
    steps = [
        ("i'd like to book a haircut", "date", "What day"),
        ("tomorrow afternoon", "date", "Which would suit you?"),
        ("two o'clock", "name", "Can I have your name"),
        ("maria lopez", "yes_no", "That's a haircut tomorrow, Tuesday the eighth, at two p.m. for Maria Lopez."),
        ("yes please", "open", "You're all set, Maria."),
    ]
    for line, expecting, said in steps:
        reply = await say(agent, line)
        assert said in reply.text
        assert agent.expecting == expecting
        assert reply.intent is not None
        assert reply.intent.name == "book"
    assert [(b.start, b.customer_name, b.phone) for b in port.confirmed()] == [
        (dt.datetime(2030, 1, 8, 14, tzinfo=NY), "Maria Lopez", CALLER)
    ]


async def test_saying_no_at_the_read_back_books_nothing() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    agent = agent_for(port)
    await say(agent, "a beard trim tomorrow at ten, my name is sam")
    reply = await say(agent, "no")
    assert "What would you like to change" in reply.text
    assert port.confirmed() == []
    reply = await say(agent, "the time")
    assert "Which would suit you?" in reply.text
    assert port.confirmed() == []


async def test_snapshot_and_restore_mid_booking_round_trip() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    first = agent_for(port)
    first.greeting()
    await say(first, "can i get a haircut friday at 3")
    assert first.expecting == "name"
    saved = json.loads(json.dumps(first.snapshot()))  # what a checkpoint store keeps

    second = agent_for(port)
    second.restore(saved)
    assert second.expecting == "name"
    reply = await say(second, "maria lopez")
    assert "That's a haircut on Friday the eleventh at three p.m. for Maria Lopez" in reply.text
    assert not reply.tools  # the hold placed before the reconnect is still ours
    await say(second, "yes")
    assert [b.start for b in port.confirmed()] == [dt.datetime(2030, 1, 11, 15, tzinfo=NY)]
    assert [b.status for b in port.bookings.values()] == ["confirmed"]


async def test_repeat_request_says_the_last_reply_again() -> None:
    agent = agent_for(MemoryBookingPort(bella_hair_studio()))
    asked = await say(agent, "i want a haircut")
    again = await say(agent, "sorry can you repeat that")
    assert again.text == f"Sure. {asked.text}"
    assert again.intent is not None
    assert again.intent.name == "repeat"


async def test_note_heard_keeps_only_what_the_caller_heard() -> None:
    agent = agent_for(MemoryBookingPort(bella_hair_studio()))
    await say(agent, "how much is a haircut")
    agent.note_heard("A haircut is forty-five dollars")
    last = agent.snapshot()["history"][-1]
    assert last == {"role": "assistant", "content": "A haircut is forty-five dollars", "interrupted": True}


async def test_questions_mid_booking_are_answered_then_the_step_is_asked_again() -> None:
    agent = agent_for(MemoryBookingPort(bella_hair_studio()))
    await say(agent, "i'd like a hair color")
    reply = await say(agent, "how much is it")
    assert reply.text == (
        "A hair color is a hundred and twenty dollars and takes about an hour and a half. "
        "What day would you like? You can say something like tomorrow, or Friday afternoon."
    )
    assert agent.expecting == "date"


async def test_hold_expired_while_confirming_offers_alternatives_and_never_double_books() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    slow, quick = agent_for(port, "+15550000001"), agent_for(port, "+15550000002")
    await say(slow, "a haircut tomorrow at 3 my name is ann")
    taken = await say(quick, "a haircut tomorrow at 3 my name is bob")
    assert "already taken" in taken.text  # the hold protects Ann's slot while she confirms
    port.clock += dt.timedelta(minutes=6)  # Ann's hold runs out
    await say(quick, "tomorrow at 3")
    await say(quick, "yes")
    late = await say(slow, "yes")
    assert "just taken" in late.text
    assert "Would one of those work?" in late.text
    booked = port.confirmed()
    assert [(b.start, b.customer_name) for b in booked] == [(dt.datetime(2030, 1, 8, 15, tzinfo=NY), "Bob")]


async def test_repeated_misunderstanding_hands_over() -> None:
    agent = agent_for(MemoryBookingPort(bella_hair_studio()))
    first = await say(agent, "blorp flibber zzz")
    assert first.text.startswith("Sorry, I didn't catch that.")
    assert first.action is None
    second = await say(agent, "wibble wobble")
    assert second.text.startswith("Sorry, I still didn't get that.")
    assert second.action is None
    third = await say(agent, "the cat sat on the mat")
    assert third.action == CallAction("transfer", reason="misunderstanding")
    assert "put you through" in third.text


async def test_without_a_transfer_number_the_hand_over_takes_a_message() -> None:
    agent = agent_for(MemoryBookingPort(bella_hair_studio(transfer_number="")))
    reply = await say(agent, "can i talk to a real person")
    assert reply.action == CallAction("transfer", reason="take_message")
    assert "take a message" in reply.text


async def test_a_failing_port_gets_a_calm_sentence_and_a_hand_over() -> None:
    class BrokenPort(MemoryBookingPort):
        async def check_availability(self, *, service: str, day: dt.date, limit: int = 20) -> list:
            raise ConnectionError("database is down")

    agent = agent_for(BrokenPort(bella_hair_studio()))
    reply = await say(agent, "a haircut tomorrow")
    assert reply.text == "I'm sorry, I'm having trouble on my end. Let me put you through to someone from the team."
    assert reply.action == CallAction("transfer", reason="agent_error")


async def test_cancel_asks_first_then_cancels() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    booking = port.add_confirmed("Haircut", dt.datetime(2030, 1, 9, 11, tzinfo=NY), CALLER, "Maria Lopez")
    agent = agent_for(port)
    asked = await say(agent, "i need to cancel my appointment")
    assert asked.text == "I see your haircut on Wednesday the ninth at eleven a.m. Would you like me to cancel it?"
    assert agent.expecting == "yes_no"
    assert port.bookings[booking].status == "confirmed"
    done = await say(agent, "yes")
    assert port.bookings[booking].status == "cancelled"
    assert done.intent is not None
    assert done.intent.name == "cancel"


async def test_choosing_between_two_bookings_to_move() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    port.add_confirmed("Haircut", dt.datetime(2030, 1, 9, 11, tzinfo=NY), CALLER)
    trim = port.add_confirmed("Beard trim", dt.datetime(2030, 1, 10, 11, tzinfo=NY), CALLER)
    agent = agent_for(port)
    listed = await say(agent, "i need to reschedule")
    assert "I see two appointments" in listed.text
    assert "Which one would you like to move?" in listed.text
    await say(agent, "the beard trim")
    await say(agent, "friday at noon")
    await say(agent, "yes")
    assert port.bookings[trim].start == dt.datetime(2030, 1, 11, 12, tzinfo=NY)


async def test_booking_error_from_the_port_never_escapes() -> None:
    class RefusingPort(MemoryBookingPort):
        async def hold_slot(self, **kwargs: object) -> object:
            raise BookingError("nope", code="invalid")

    agent = agent_for(RefusingPort(bella_hair_studio()))
    reply = await say(agent, "a haircut tomorrow at 3")
    assert "couldn't hold that time" in reply.text
    assert reply.action is None


async def test_a_window_like_after_five_limits_the_offered_times() -> None:
    agent = agent_for(MemoryBookingPort(bella_hair_studio()))
    await say(agent, "a haircut on thursday")
    reply = await say(agent, "anything after five")
    assert reply.text == "On Thursday the tenth I have five, five fifteen or five thirty p.m. Which would suit you?"


async def test_earliest_offers_the_first_free_time() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    port.add_confirmed("Beard trim", dt.datetime(2030, 1, 7, 10, 15, tzinfo=NY), "+15550000001")
    agent = agent_for(port)
    reply = await say(agent, "what's the earliest i can get a beard trim")
    assert reply.text == "The earliest I have is today at ten thirty a.m. Would that work?"
    await say(agent, "that works")
    await say(agent, "tim")
    await say(agent, "yes")
    assert [b.start for b in port.confirmed()][-1] == dt.datetime(2030, 1, 7, 10, 30, tzinfo=NY)


async def test_follow_up_day_after_an_hours_answer_is_an_hours_question() -> None:
    agent = agent_for(MemoryBookingPort(bella_hair_studio()))
    await say(agent, "when are you open")
    reply = await say(agent, "and on sunday")
    assert reply.text == "We're closed on Sundays. Would you like to book an appointment?"
    assert reply.intent is not None
    assert reply.intent.name == "hours"


async def test_hello_opens_and_mid_booking_is_reassured() -> None:
    agent = agent_for(MemoryBookingPort(bella_hair_studio()))
    hello = await say(agent, "hello")
    assert hello.text.startswith("Hi there!")
    assert agent.state.misunderstandings == 0
    await say(agent, "a haircut please")
    still = await say(agent, "hello")
    assert still.text.startswith("Yes, I'm still here. What day would you like?")


async def test_after_a_move_the_caller_can_still_cancel_and_leave() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    booking = port.add_confirmed("Haircut", dt.datetime(2030, 1, 8, 12, tzinfo=NY), CALLER)
    agent = agent_for(port)
    for line in ("hello, i need to move my appointment", "saturday at 11", "yes"):
        await say(agent, line)
    asked = await say(agent, "actually, can you cancel it instead")
    assert asked.text == "I see your haircut on Saturday the twelfth at eleven a.m. Would you like me to cancel it?"
    await say(agent, "yes")
    bye = await say(agent, "no that's all")
    assert bye.action == CallAction("end", reason="caller_goodbye")
    assert port.bookings[booking].status == "cancelled"


async def test_a_corrected_weekday_stays_in_the_week_being_discussed() -> None:
    port = MemoryBookingPort(bella_hair_studio())  # Monday 7 January 2030
    agent = agent_for(port)
    await say(agent, "a haircut next tuesday at four")  # Tuesday the 15th
    await say(agent, "maria lopez")
    reply = await say(agent, "no, make it wednesday instead")
    assert "Wednesday the sixteenth" in reply.text
    await say(agent, "yes")
    assert [b.start for b in port.confirmed()] == [dt.datetime(2030, 1, 16, 16, tzinfo=NY)]
