"""An in-memory ``BookingPort`` with the booking domain's rules, for agent tests without a database.

Availability is opening hours minus live bookings on a 15-minute grid, holds
expire, two live bookings never overlap, and refusals are ``BookingError``s
with the same codes the Django services use.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, replace

from calls.voice.ports import BookingError, BookingInfo, BusinessInfo, FaqInfo, HoldInfo, ServiceInfo, SlotInfo

NY = zoneinfo.ZoneInfo("America/New_York")
# Monday 7 January 2030, 10:00 in New York.
MONDAY_10AM = dt.datetime(2030, 1, 7, 10, 0, tzinfo=NY)


def bella_hair_studio(*, transfer_number: str = "+15005550007") -> BusinessInfo:
    """The demo business as plain data (what seed_demo creates)."""
    weekday = ((dt.time(9), dt.time(18)),)
    return BusinessInfo(
        name="Bella Hair Studio",
        timezone="America/New_York",
        address="12 Main Street",
        greeting="Thank you for calling Bella Hair Studio, this is Zylin. How can I help you today?",
        transfer_number=transfer_number,
        services=(
            ServiceInfo("Beard trim", 15, "20.00", synonyms=("beard", "shave", "beard shape")),
            ServiceInfo("Hair color", 90, "120.00", synonyms=("color", "colour", "dye", "highlights", "coloring")),
            ServiceInfo("Haircut", 30, "45.00", synonyms=("cut", "trim", "hair cut", "men's cut", "women's cut")),
        ),
        opening_hours=(weekday, weekday, weekday, weekday, weekday, ((dt.time(10), dt.time(16)),), ()),
        faqs=(
            FaqInfo("Is there parking?", "Yes, there is free parking behind the building."),
            FaqInfo("How can I pay?", "We take cash, all major credit cards, Apple Pay and Google Pay."),
        ),
    )


@dataclass
class _Booking:
    booking_id: int
    service: str
    start: dt.datetime
    end: dt.datetime
    status: str
    phone: str
    customer_name: str = ""
    hold_expires_at: dt.datetime | None = None


class MemoryBookingPort:
    def __init__(self, business: BusinessInfo, *, now: dt.datetime = MONDAY_10AM, hold_minutes: int = 5) -> None:
        self.business = business
        self.tz = zoneinfo.ZoneInfo(business.timezone)
        self.clock = now
        self.hold_minutes = hold_minutes
        self.bookings: dict[int, _Booking] = {}
        self.calls: list[str] = []

    # -- helpers for tests
    def confirmed(self) -> list[_Booking]:
        return [b for b in self.bookings.values() if b.status == "confirmed"]

    def add_confirmed(self, service: str, start: dt.datetime, phone: str, name: str = "Pat Doe") -> int:
        minutes = self._service(service).duration_minutes
        booking_id = len(self.bookings) + 1
        self.bookings[booking_id] = _Booking(
            booking_id, service, start, start + dt.timedelta(minutes=minutes), "confirmed", phone, name
        )
        return booking_id

    # -- rules
    def _service(self, name: str) -> ServiceInfo:
        for service in self.business.services:
            if service.name.lower() == name.lower():
                return service
        raise BookingError(f"We don't offer {name}.", code="unknown_service")

    def _live(self, booking: _Booking) -> bool:
        return booking.status == "confirmed" or (
            booking.status == "held" and booking.hold_expires_at is not None and booking.hold_expires_at > self.clock
        )

    def _intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        if day in self.business.closures:
            return []
        return [
            (dt.datetime.combine(day, o, tzinfo=self.tz), dt.datetime.combine(day, c, tzinfo=self.tz))
            for o, c in self.business.opening_hours[day.weekday()]
        ]

    def _check(self, service: ServiceInfo, start: dt.datetime, *, ignore: int | None = None) -> dt.datetime:
        end = start + dt.timedelta(minutes=service.duration_minutes)
        if start <= self.clock:
            raise BookingError("That time has already passed.", code="in_past")
        intervals = self._intervals(start.astimezone(self.tz).date())
        if not intervals:
            raise BookingError("We are closed that day.", code="closed")
        if not any(o <= start and end <= c for o, c in intervals):
            raise BookingError("That time is outside our opening hours.", code="outside_hours")
        for other in self.bookings.values():
            if other.booking_id != ignore and self._live(other) and other.start < end and start < other.end:
                raise BookingError("That time has just been taken.", code="slot_taken")
        return end

    def _info(self, booking: _Booking) -> BookingInfo:
        return BookingInfo(
            booking.booking_id,
            booking.service,
            booking.start,
            booking.end,
            booking.status,
            booking.customer_name,
            booking.phone,
        )

    def _get(self, booking_id: int) -> _Booking:
        if booking_id not in self.bookings:
            raise BookingError("I can't find that booking.", code="not_found")
        return self.bookings[booking_id]

    # -- BookingPort
    async def business_info(self) -> BusinessInfo:
        return self.business

    async def now(self) -> dt.datetime:
        return self.clock

    async def check_availability(self, *, service: str, day: dt.date, limit: int = 20) -> list[SlotInfo]:
        self.calls.append("check_availability")
        found = self._service(service)
        slots = []
        for opens, closes in self._intervals(day):
            start = opens
            while start + dt.timedelta(minutes=found.duration_minutes) <= closes:
                try:
                    end = self._check(found, start)
                except BookingError:
                    pass
                else:
                    slots.append(SlotInfo(found.name, start, end))
                start += dt.timedelta(minutes=15)
        return slots[:limit]

    async def hold_slot(self, *, service: str, start: dt.datetime, caller_phone: str) -> HoldInfo:
        self.calls.append("hold_slot")
        found = self._service(service)
        end = self._check(found, start)
        booking_id = len(self.bookings) + 1
        expires = self.clock + dt.timedelta(minutes=self.hold_minutes)
        self.bookings[booking_id] = _Booking(
            booking_id, found.name, start, end, "held", caller_phone, hold_expires_at=expires
        )
        return HoldInfo(booking_id, found.name, start, end, expires)

    async def release_hold(self, *, hold_id: int) -> None:
        booking = self._get(hold_id)
        if booking.status == "held":
            booking.status = "cancelled"

    async def confirm_booking(self, *, hold_id: int, customer_name: str, phone: str) -> BookingInfo:
        self.calls.append("confirm_booking")
        booking = self._get(hold_id)
        if booking.status == "confirmed":
            return self._info(booking)
        if booking.status != "held" or not self._live(booking):
            raise BookingError("The hold on that time has expired.", code="hold_expired")
        booking.status, booking.customer_name, booking.phone = "confirmed", customer_name, phone
        booking.hold_expires_at = None
        return self._info(booking)

    async def find_bookings(self, *, phone: str) -> list[BookingInfo]:
        found = [
            b for b in self.bookings.values() if b.phone == phone and b.status == "confirmed" and b.start > self.clock
        ]
        return [self._info(b) for b in sorted(found, key=lambda b: b.start)]

    async def reschedule(self, *, booking_id: int, start: dt.datetime) -> BookingInfo:
        self.calls.append("reschedule")
        booking = self._get(booking_id)
        if booking.status != "confirmed":
            raise BookingError("Only a confirmed booking can be moved.", code="not_found")
        end = self._check(self._service(booking.service), start, ignore=booking_id)
        self.bookings[booking_id] = replace(booking, start=start, end=end)
        return self._info(self.bookings[booking_id])

    async def cancel(self, *, booking_id: int) -> BookingInfo:
        self.calls.append("cancel")
        booking = self._get(booking_id)
        booking.status = "cancelled"
        return self._info(booking)
