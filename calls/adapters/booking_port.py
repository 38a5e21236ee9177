"""``BookingPort`` over the booking services, for agents running in an event loop.

The agent is plain asyncio; every ORM call here runs through
``sync_to_async`` (thread-sensitive, so it shares Django's one connection per
thread) and comes back as the plain dataclasses of ``calls/voice/ports.py``.
Refusals from the services arrive as ``BookingError`` and pass through as they
are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.utils import timezone

from bookings.models import Booking
from bookings.selectors import booking_list_upcoming, slot_list_available
from bookings.services import booking_cancel, booking_confirm, booking_hold, booking_reschedule
from businesses.models import Business, Service
from businesses.validators import e164_normalize
from calls import metrics
from calls.services import BOOKING_CHANGE_EVENT, call_event_record
from calls.voice.ports import BookingError, BookingInfo, BusinessInfo, FaqInfo, HoldInfo, ServiceInfo, SlotInfo

if TYPE_CHECKING:
    from calls.models import Call

P = ParamSpec("P")
T = TypeVar("T")
Now = Callable[[], dt.datetime]


def business_info_from(business: Business, *, today: dt.date | None = None) -> BusinessInfo:
    """The business as plain data: services, weekly hours, coming closures, FAQ."""
    today = today or timezone.now().astimezone(business.tz).date()
    hours: list[list[tuple[dt.time, dt.time]]] = [[] for _ in range(7)]
    for row in business.opening_hours.order_by("weekday", "opens"):
        hours[row.weekday].append((row.opens, row.closes))
    services = tuple(
        ServiceInfo(
            name=s.name,
            duration_minutes=s.duration_minutes,
            price=f"{s.price:.2f}",
            currency=s.currency,
            synonyms=tuple(s.synonym_list),
        )
        for s in business.services.filter(active=True).order_by("name")
    )
    return BusinessInfo(
        name=business.name,
        timezone=business.timezone,
        address=business.address,
        greeting=business.greeting_text,
        transfer_number=business.transfer_number,
        services=services,
        opening_hours=tuple(tuple(day) for day in hours),
        closures=tuple(business.closures.filter(date__gte=today).values_list("date", flat=True)),
        faqs=tuple(FaqInfo(question=f.question, answer=f.answer) for f in business.faqs.order_by("pk")),
    )


def _booking_info(booking: Booking, tz: dt.tzinfo) -> BookingInfo:
    return BookingInfo(
        booking_id=booking.pk,
        service=booking.service.name,
        start=booking.start.astimezone(tz),
        end=booking.end.astimezone(tz),
        status=booking.status,
        customer_name=booking.customer.name,
        phone=booking.customer.phone,
    )


def _phone(raw: str) -> str:
    try:
        return e164_normalize(raw)
    except ValidationError as exc:
        raise BookingError("That phone number doesn't look right.", code="invalid") from exc


class DjangoBookingPort:
    """The booking domain of one business, as the agent sees it.

    Args:
        business: Whose bookings.
        call: The call bookings are made on (stored as ``Booking.source_call``).
        clock: Current time (aware); tests pass a fixed one.
    """

    def __init__(self, business: Business, call: Call | None = None, *, clock: Now | None = None) -> None:
        self.business = business
        self.call = call
        self._clock = clock or timezone.now

    def _changed(self, booking: Booking, change: str) -> None:
        """Record a booking change on the call: the confirmation message and metrics follow it."""
        path = self.call.path if self.call else "other"
        metrics.booking_changed(change, path, business=self.business.slug)
        if self.call is not None:
            detail = {"booking_id": booking.pk, "change": change}
            call_event_record(call=self.call, name=BOOKING_CHANGE_EVENT, detail=detail)

    @staticmethod
    async def _run(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await sync_to_async(fn, thread_sensitive=True)(*args, **kwargs)

    def _service(self, name: str) -> Service:
        service = self.business.services.filter(name__iexact=name.strip(), active=True).first()
        if service is None:
            raise BookingError(f"We don't offer {name}.", code="unknown_service")
        return service

    def _booking(self, booking_id: int) -> Booking:
        booking = (
            Booking.objects.select_related("service", "customer", "business")
            .filter(pk=booking_id, business=self.business)
            .first()
        )
        if booking is None:
            raise BookingError("I can't find that booking.", code="not_found")
        return booking

    async def business_info(self) -> BusinessInfo:
        return await self._run(business_info_from, self.business)

    async def now(self) -> dt.datetime:
        return self._clock().astimezone(self.business.tz)

    async def check_availability(self, *, service: str, day: dt.date, limit: int = 20) -> list[SlotInfo]:
        def work() -> list[SlotInfo]:
            found = self._service(service)
            slots = slot_list_available(business=self.business, service=found, day=day, now=self._clock())
            return [SlotInfo(service=found.name, start=start, end=end) for start, end in slots[:limit]]

        return await self._run(work)

    async def hold_slot(self, *, service: str, start: dt.datetime, caller_phone: str) -> HoldInfo:
        def work() -> HoldInfo:
            found = self._service(service)
            booking = booking_hold(
                business=self.business,
                service=found,
                start=start,
                caller_phone=_phone(caller_phone),
                call=self.call,
                now=self._clock(),
            )
            tz = self.business.tz
            assert booking.hold_expires_at is not None
            return HoldInfo(
                hold_id=booking.pk,
                service=found.name,
                start=booking.start.astimezone(tz),
                end=booking.end.astimezone(tz),
                expires_at=booking.hold_expires_at.astimezone(tz),
            )

        return await self._run(work)

    async def release_hold(self, *, hold_id: int) -> None:
        def work() -> None:
            booking = self._booking(hold_id)
            if booking.status == Booking.Status.HELD:
                booking_cancel(booking=booking, reason="hold released", now=self._clock())

        await self._run(work)

    async def confirm_booking(self, *, hold_id: int, customer_name: str, phone: str) -> BookingInfo:
        def work() -> BookingInfo:
            booking = booking_confirm(
                booking=self._booking(hold_id), customer_name=customer_name, phone=_phone(phone), now=self._clock()
            )
            self._changed(booking, "created")
            return _booking_info(self._booking(booking.pk), self.business.tz)

        return await self._run(work)

    async def find_bookings(self, *, phone: str) -> list[BookingInfo]:
        def work() -> list[BookingInfo]:
            upcoming = booking_list_upcoming(business=self.business, phone=_phone(phone), now=self._clock())
            return [_booking_info(b, self.business.tz) for b in upcoming]

        return await self._run(work)

    async def reschedule(self, *, booking_id: int, start: dt.datetime) -> BookingInfo:
        def work() -> BookingInfo:
            moved = booking_reschedule(booking=self._booking(booking_id), start=start, now=self._clock())
            self._changed(moved, "moved")
            return _booking_info(self._booking(moved.pk), self.business.tz)

        return await self._run(work)

    async def cancel(self, *, booking_id: int) -> BookingInfo:
        def work() -> BookingInfo:
            cancelled = booking_cancel(
                booking=self._booking(booking_id), reason="cancelled by caller", now=self._clock()
            )
            self._changed(cancelled, "cancelled")
            return _booking_info(self._booking(cancelled.pk), self.business.tz)

        return await self._run(work)
