"""The receptionist's tools over the booking port, shared by both agents.

Each tool takes plain arguments (what a model would send as JSON) and returns a
plain dict both agents speak from: machine fields plus ``*_spoken`` phrases
("Friday the fourteenth at three p.m."). Every offered time comes from
``BookingPort.check_availability``; nothing here invents availability.

Two guards make the agents honest whatever the model says:

* ``confirm_booking`` only confirms a hold placed in an earlier caller turn, so
  the caller has heard the details read back and answered before anything is
  booked;
* ``reschedule`` and ``cancel`` only touch the caller's own bookings (found by
  the number they call from) after the caller has been told about them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zoneinfo
from typing import Any

from calls.voice.ports import BookingError, BookingInfo, BookingPort, BusinessInfo, ServiceInfo, SlotInfo

from .intents import service_find
from .offers import PART_RANGES, TimeWindow, offer_pick
from .speech import (
    say_date,
    say_day_and_time,
    say_duration,
    say_opening_hours,
    say_price,
    say_time,
    say_when,
    with_article,
)
from .spoken_time import when_parse
from .state import AgentState
from .tool_schemas import TOOL_NAMES, TOOL_PARAMETERS

logger = logging.getLogger(__name__)

SEARCH_DAYS = 14


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "number": (int, float),
}


def arguments_problem(name: str, arguments: dict[str, Any]) -> str:
    """Why ``arguments`` do not fit the tool's declared types ('' when they do).

    The model is told the schema but may still send a number for a date or a
    list for a service; the handlers expect what the schema promises.
    """
    for key, value in arguments.items():
        declared = TOOL_PARAMETERS.get(name, {}).get(key, {}).get("type")
        expected = _JSON_TYPES.get(declared or "")
        if expected is None or value is None:
            continue
        if not isinstance(value, expected) or (declared == "integer" and isinstance(value, bool)):
            return f"{key} must be a {declared}"
    return ""


class AgentTools:
    """The tool set for one conversation, over one ``BookingPort``."""

    def __init__(self, *, port: BookingPort, business: BusinessInfo, caller_phone: str, state: AgentState) -> None:
        self.port = port
        self.business = business
        self.caller_phone = caller_phone
        self.state = state
        self.tz = zoneinfo.ZoneInfo(business.timezone)

    async def run(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run a tool by name with model-supplied arguments; never raises for bad input."""
        handler = getattr(self, name, None) if name in TOOL_NAMES else None
        if handler is None:
            return {"ok": False, "error": "unknown_tool", "message": f"There is no tool called {name}."}
        if problem := arguments_problem(name, arguments):
            return {"ok": False, "error": "invalid", "message": f"Bad arguments for {name}: {problem}"}
        try:
            result: dict[str, Any] = await handler(**arguments)
        except TypeError as exc:
            return {"ok": False, "error": "invalid", "message": f"Bad arguments for {name}: {exc}"}
        except BookingError as exc:
            return {"ok": False, "error": exc.code, "message": str(exc)}
        return result

    # ------------------------------------------------------------------ reading

    def service_named(self, name: str | None) -> ServiceInfo | None:
        if not name:
            return None
        for service in self.business.services:
            if service.name.lower() == name.strip().lower():
                return service
        return service_find(name, self.business.services)

    async def today(self) -> dt.date:
        return (await self.port.now()).astimezone(self.tz).date()

    async def business_info(self, topic: str = "all") -> dict[str, Any]:
        info = self.business
        result: dict[str, Any] = {"ok": True, "name": info.name}
        if topic in ("all", "hours"):
            result["hours_spoken"] = say_opening_hours(info.opening_hours)
            result["hours"] = [
                {"weekday": weekday, "open": [f"{o:%H:%M}-{c:%H:%M}" for o, c in intervals]}
                for weekday, intervals in enumerate(info.opening_hours)
            ]
        if topic in ("all", "address"):
            result["address"] = info.address
        if topic in ("all", "services"):
            result["services"] = [
                {
                    "name": s.name,
                    "duration_minutes": s.duration_minutes,
                    "price": s.price,
                    "currency": s.currency,
                    "price_spoken": say_price(s.price, s.currency),
                    "duration_spoken": say_duration(s.duration_minutes),
                }
                for s in info.services
            ]
        if topic in ("all", "faq"):
            result["faqs"] = [{"question": f.question, "answer": f.answer} for f in info.faqs]
        return result

    def is_closed(self, day: dt.date) -> bool:
        return day in self.business.closures or not self.business.opening_hours[day.weekday()]

    async def free_slots(self, service: ServiceInfo, day: dt.date) -> list[SlotInfo]:
        if self.is_closed(day):
            return []
        return await self.port.check_availability(service=service.name, day=day, limit=200)

    async def check_availability(
        self,
        service: str,
        date: str,
        time: str | None = None,
        part_of_day: str | None = None,
        after: str | None = None,
        before: str | None = None,
        earliest: bool = False,
    ) -> dict[str, Any]:
        found = self.service_named(service)
        if found is None:
            return self._unknown_service(service)
        now = await self.port.now()
        day = self._day(date, now)
        if day is None:
            return {"ok": False, "error": "invalid", "message": f"I could not read the date {date!r}."}
        preferred = self._time(time, now) if time else None
        window = TimeWindow(
            part=part_of_day if part_of_day in PART_RANGES else None,
            after=self._time(after, now) if after else None,
            before=self._time(before, now) if before else None,
            earliest=bool(earliest),
        )
        slots = await self.free_slots(found, day)
        result: dict[str, Any] = {
            "ok": True,
            "service": found.name,
            "date": day.isoformat(),
            "date_spoken": say_date(day, now.date()),
            "closed": self.is_closed(day),
            "slots": self._offer(slots, preferred=preferred, window=window, today=now.date()),
        }
        if preferred is not None:
            result["requested_time"] = f"{preferred:%H:%M}"
            result["requested_time_free"] = any(self._wall(s) == preferred for s in slots)
        if not result["slots"]:
            result["alternative_day"] = await self._next_day_offer(found, day, preferred=preferred, window=window)
        return result

    # ------------------------------------------------------------------ booking

    async def hold_slot(self, service: str, date: str, time: str) -> dict[str, Any]:
        found = self.service_named(service)
        if found is None:
            return self._unknown_service(service)
        now = await self.port.now()
        day, start_time = self._day(date, now), self._time(time, now)
        if day is None or start_time is None:
            return {"ok": False, "error": "invalid", "message": "I need a day and a time to hold."}
        start = dt.datetime.combine(day, start_time, tzinfo=self.tz)
        held = self.state.pending_hold
        if held and held["service"] == found.name and held["start"] == start.isoformat():
            return {"ok": True, **self._hold_view(held, now.date())}
        await self.release_hold()
        try:
            hold = await self.port.hold_slot(service=found.name, start=start, caller_phone=self.caller_phone)
        except BookingError as exc:
            return {
                "ok": False,
                "error": exc.code,
                "message": str(exc),
                "alternatives": await self._alternatives(found, start),
            }
        self.state.pending_hold = {
            "hold_id": hold.hold_id,
            "service": hold.service,
            "start": hold.start.astimezone(self.tz).isoformat(),
            "expires_at": hold.expires_at.isoformat(),
            "turn": self.state.turn_index,
        }
        return {"ok": True, **self._hold_view(self.state.pending_hold, now.date())}

    async def release_hold(self) -> None:
        held, self.state.pending_hold = self.state.pending_hold, None
        if held:
            try:
                await self.port.release_hold(hold_id=held["hold_id"])
            except BookingError:
                logger.info("hold %s was already gone", held["hold_id"])

    async def confirm_booking(self, customer_name: str, phone: str | None = None) -> dict[str, Any]:
        held = self.state.pending_hold
        if not held:
            return {"ok": False, "error": "no_hold", "message": "Hold a time with hold_slot first."}
        if held["turn"] >= self.state.turn_index:
            return {
                "ok": False,
                "error": "not_confirmed",
                "message": "Read the details back and wait for the caller's yes before confirming.",
            }
        name = " ".join(customer_name.split())
        if not name:
            return {"ok": False, "error": "name_missing", "message": "Ask the caller for their name."}
        number = phone or self.caller_phone
        if not number:
            return {"ok": False, "error": "phone_missing", "message": "Ask the caller for a phone number."}
        try:
            booking = await self.port.confirm_booking(hold_id=held["hold_id"], customer_name=name, phone=number)
        except BookingError as exc:
            self.state.pending_hold = None
            service = self.service_named(held["service"])
            start = dt.datetime.fromisoformat(held["start"])
            alternatives = await self._alternatives(service, start) if service else None
            return {"ok": False, "error": exc.code, "message": str(exc), "alternatives": alternatives}
        self.state.pending_hold = None
        return {"ok": True, "change": "booked", **self._booking_view(booking, await self.today())}

    async def find_bookings(self) -> dict[str, Any]:
        if not self.caller_phone:
            return {"ok": False, "error": "phone_missing", "message": "The caller's number is unknown."}
        bookings = await self.port.find_bookings(phone=self.caller_phone)
        today = await self.today()
        for booking in bookings:
            self.state.presented_bookings.setdefault(str(booking.booking_id), self.state.turn_index)
        return {"ok": True, "bookings": [self._booking_view(b, today) for b in bookings]}

    async def reschedule(self, date: str, time: str, booking_id: int | None = None) -> dict[str, Any]:
        owned = await self._owned_booking(booking_id)
        if isinstance(owned, dict):
            return owned
        now = await self.port.now()
        day, start_time = self._day(date, now), self._time(time, now)
        if day is None or start_time is None:
            return {"ok": False, "error": "invalid", "message": "I need a day and a time to move it to."}
        start = dt.datetime.combine(day, start_time, tzinfo=self.tz)
        try:
            moved = await self.port.reschedule(booking_id=owned.booking_id, start=start)
        except BookingError as exc:
            service = self.service_named(owned.service)
            alternatives = await self._alternatives(service, start) if service else None
            return {"ok": False, "error": exc.code, "message": str(exc), "alternatives": alternatives}
        today = now.date()
        return {
            "ok": True,
            "change": "moved",
            **self._booking_view(moved, today),
            "from": owned.start.astimezone(self.tz).isoformat(),
            "from_spoken": say_day_and_time(owned.start.astimezone(self.tz), today),
        }

    async def cancel(self, booking_id: int | None = None) -> dict[str, Any]:
        owned = await self._owned_booking(booking_id)
        if isinstance(owned, dict):
            return owned
        cancelled = await self.port.cancel(booking_id=owned.booking_id)
        return {"ok": True, "change": "cancelled", **self._booking_view(cancelled, await self.today())}

    async def transfer_to_human(self, reason: str = "") -> dict[str, Any]:
        return {"ok": True, "action": "transfer", "reason": reason, "take_message": not self.business.transfer_number}

    async def end_call(self, reason: str = "") -> dict[str, Any]:
        return {"ok": True, "action": "end", "reason": reason}

    # ------------------------------------------------------------------ helpers

    def _unknown_service(self, asked: str) -> dict[str, Any]:
        names = [s.name for s in self.business.services]
        return {"ok": False, "error": "unknown_service", "message": f"We don't offer {asked!r}.", "services": names}

    def _day(self, value: str | None, now: dt.datetime) -> dt.date | None:
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return when_parse(value, now).date

    def _time(self, value: str | None, now: dt.datetime) -> dt.time | None:
        if not value:
            return None
        if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", value.strip()):
            hour, minute = (int(part) for part in value.strip().split(":")[:2])
            return dt.time(hour, minute) if hour < 24 and minute < 60 else None
        return when_parse(value, now, bare_hour=True).time

    async def _owned_booking(self, booking_id: int | None) -> BookingInfo | dict[str, Any]:
        """The caller's booking to act on, or an error result for the model."""
        bookings = await self.port.find_bookings(phone=self.caller_phone) if self.caller_phone else []
        if booking_id is None:
            if len(bookings) != 1:
                return {
                    "ok": False,
                    "error": "which_booking" if bookings else "not_found",
                    "message": "Ask which booking." if bookings else "The caller has no upcoming bookings.",
                }
            chosen = bookings[0]
        else:
            matches = [b for b in bookings if b.booking_id == int(booking_id)]
            if not matches:
                return {"ok": False, "error": "not_found", "message": "That is not one of the caller's bookings."}
            chosen = matches[0]
        told = self.state.presented_bookings.get(str(chosen.booking_id))
        if told is None or told >= self.state.turn_index:
            return {
                "ok": False,
                "error": "not_confirmed",
                "message": "Tell the caller which booking you found and wait for their answer first.",
            }
        return chosen

    def _offer(
        self, slots: list[SlotInfo], *, preferred: dt.time | None, window: TimeWindow, today: dt.date
    ) -> list[dict[str, Any]]:
        picked = offer_pick(slots, tz=self.tz, preferred=preferred, window=window)
        return [self._slot_view(s, today) for s in picked]

    def _wall(self, slot: SlotInfo) -> dt.time:
        """The slot's start on the business's wall clock."""
        return slot.start.astimezone(self.tz).time()

    def _slot_view(self, slot: SlotInfo, today: dt.date) -> dict[str, Any]:
        start = slot.start.astimezone(self.tz)
        return {
            "start": start.isoformat(),
            "time": f"{start:%H:%M}",
            "spoken": say_time(start.time()),
            "day_spoken": say_date(start.date(), today),
        }

    async def _next_day_offer(
        self, service: ServiceInfo, after: dt.date, *, preferred: dt.time | None, window: TimeWindow | None = None
    ) -> dict[str, Any] | None:
        window = window or TimeWindow()
        today = await self.today()
        day = max(after, today)
        for _ in range(SEARCH_DAYS):
            day += dt.timedelta(days=1)
            offer = self._offer(await self.free_slots(service, day), preferred=preferred, window=window, today=today)
            if offer:
                return {"date": day.isoformat(), "date_spoken": say_date(day, today), "slots": offer}
        return None

    async def _alternatives(self, service: ServiceInfo, start: dt.datetime) -> dict[str, Any] | None:
        """Nearest free times to a refused ``start``: the same day first, else the next day with room."""
        local = start.astimezone(self.tz)
        today = await self.today()
        wished = local.time()
        if local.date() >= today:
            slots = await self.free_slots(service, local.date())
            if slots:
                return {
                    "date": local.date().isoformat(),
                    "date_spoken": say_date(local.date(), today),
                    "slots": self._offer(slots, preferred=wished, window=TimeWindow(), today=today),
                }
        return await self._next_day_offer(service, local.date(), preferred=wished)

    def _hold_view(self, held: dict[str, Any], today: dt.date) -> dict[str, Any]:
        start = dt.datetime.fromisoformat(held["start"]).astimezone(self.tz)
        service = self.service_named(held["service"])
        return {
            "hold_id": held["hold_id"],
            "service": held["service"],
            "start": start.isoformat(),
            "spoken": f"{with_article(held['service'])} {say_when(start, today, full=True)}",
            "price_spoken": say_price(service.price, service.currency) if service else "",
            "expires_at": held["expires_at"],
        }

    def _booking_view(self, booking: BookingInfo, today: dt.date) -> dict[str, Any]:
        start = booking.start.astimezone(self.tz)
        return {
            "booking_id": booking.booking_id,
            "service": booking.service,
            "start": start.isoformat(),
            "status": booking.status,
            "customer_name": booking.customer_name,
            "spoken": f"{with_article(booking.service)} {say_when(start, today)}",
        }
