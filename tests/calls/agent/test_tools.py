"""The tool set's guards: nothing booked unconfirmed, only the caller's own bookings, no invented times."""

from __future__ import annotations

import datetime as dt

from calls.agent.state import AgentState
from calls.agent.tools import AgentTools
from tests.calls.agent.memory_port import NY, MemoryBookingPort, bella_hair_studio

CALLER = "+15551230000"


def tools_for(port: MemoryBookingPort, caller: str = CALLER) -> AgentTools:
    return AgentTools(port=port, business=port.business, caller_phone=caller, state=AgentState())


async def test_confirm_in_the_same_turn_as_the_hold_is_refused() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    tools = tools_for(port)
    tools.state.turn_index = 1
    held = await tools.run("hold_slot", {"service": "Haircut", "date": "2030-01-08", "time": "15:00"})
    assert held["ok"]
    refused = await tools.run("confirm_booking", {"customer_name": "Maria Lopez"})
    assert refused == {"ok": False, "error": "not_confirmed", "message": refused["message"]}
    assert port.confirmed() == []
    tools.state.turn_index = 2  # the caller answered
    booked = await tools.run("confirm_booking", {"customer_name": "Maria Lopez"})
    assert booked["ok"]
    assert booked["change"] == "booked"
    assert [(b.start, b.customer_name, b.phone) for b in port.confirmed()] == [
        (dt.datetime(2030, 1, 8, 15, tzinfo=NY), "Maria Lopez", CALLER)
    ]


async def test_confirm_without_a_hold_books_nothing() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    result = await tools_for(port).run("confirm_booking", {"customer_name": "Maria"})
    assert result["error"] == "no_hold"
    assert port.confirmed() == []


async def test_offered_times_all_come_from_the_port() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    port.add_confirmed("Haircut", dt.datetime(2030, 1, 8, 15, tzinfo=NY), "+15550000001")
    tools = tools_for(port)
    result = await tools.run("check_availability", {"service": "haircut", "date": "2030-01-08", "time": "15:00"})
    slots = await port.check_availability(service="Haircut", day=dt.date(2030, 1, 8), limit=200)
    free = {s.start.isoformat() for s in slots}
    assert result["requested_time_free"] is False
    assert result["slots"]
    assert {s["start"] for s in result["slots"]} <= free
    assert "2030-01-08T15:00:00-05:00" not in {s["start"] for s in result["slots"]}
    # Nearest to the wished time, in order.
    assert [s["time"] for s in result["slots"]] == ["14:15", "14:30", "15:30"]


async def test_closed_day_offers_the_next_open_day() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    result = await tools_for(port).run("check_availability", {"service": "Beard trim", "date": "2030-01-13"})
    assert result["closed"] is True
    assert result["slots"] == []
    assert result["alternative_day"]["date"] == "2030-01-14"
    assert result["alternative_day"]["date_spoken"] == "Monday the fourteenth"


async def test_a_refused_hold_comes_with_nearby_alternatives() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    port.add_confirmed("Haircut", dt.datetime(2030, 1, 8, 15, tzinfo=NY), "+15550000001")
    result = await tools_for(port).run("hold_slot", {"service": "Haircut", "date": "2030-01-08", "time": "15:00"})
    assert result["ok"] is False
    assert result["error"] == "slot_taken"
    assert [s["time"] for s in result["alternatives"]["slots"]] == ["14:15", "14:30", "15:30"]


async def test_cancel_and_reschedule_touch_only_the_callers_told_bookings() -> None:
    port = MemoryBookingPort(bella_hair_studio())
    mine = port.add_confirmed("Haircut", dt.datetime(2030, 1, 8, 15, tzinfo=NY), CALLER)
    theirs = port.add_confirmed("Haircut", dt.datetime(2030, 1, 9, 15, tzinfo=NY), "+15550000001")
    tools = tools_for(port)
    tools.state.turn_index = 1
    assert (await tools.run("cancel", {"booking_id": mine}))["error"] == "not_confirmed"  # not told yet
    found = await tools.run("find_bookings", {})
    assert [b["booking_id"] for b in found["bookings"]] == [mine]
    assert (await tools.run("cancel", {}))["error"] == "not_confirmed"  # told in this very turn
    tools.state.turn_index = 2
    assert (await tools.run("cancel", {"booking_id": theirs}))["error"] == "not_found"
    moved = await tools.run("reschedule", {"date": "2030-01-10", "time": "16:00"})
    assert moved["ok"]
    assert moved["change"] == "moved"
    assert port.bookings[mine].start == dt.datetime(2030, 1, 10, 16, tzinfo=NY)
    assert port.bookings[theirs].status == "confirmed"


async def test_bad_calls_become_error_results() -> None:
    tools = tools_for(MemoryBookingPort(bella_hair_studio()))
    assert (await tools.run("launch_rocket", {}))["error"] == "unknown_tool"
    assert (await tools.run("hold_slot", {"when": "now"}))["error"] == "invalid"
    assert (await tools.run("check_availability", {"service": "massage", "date": "2030-01-08"}))["error"] == (
        "unknown_service"
    )


async def test_dates_and_times_may_be_spoken_phrases() -> None:
    tools = tools_for(MemoryBookingPort(bella_hair_studio()))
    result = await tools.run("check_availability", {"service": "Haircut", "date": "tomorrow", "time": "3 pm"})
    assert result["date"] == "2030-01-08"
    assert result["requested_time_free"] is True
