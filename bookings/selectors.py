"""Read-only queries: availability and booking look-ups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils import timezone

from businesses.models import Business, Service

from .models import Booking

SLOT_STEP_MINUTES = 15


def booking_live_q(*, now: dt.datetime) -> Q:
    """Bookings that occupy their time: confirmed ones, and holds not yet expired."""
    return Q(status=Booking.Status.CONFIRMED) | Q(status=Booking.Status.HELD, hold_expires_at__gt=now)


def opening_intervals(*, business: Business, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The day's opening hours as aware datetimes in the business's timezone."""
    if business.closures.filter(date=day).exists():
        return []
    tz = business.tz
    return [
        (dt.datetime.combine(day, hours.opens, tzinfo=tz), dt.datetime.combine(day, hours.closes, tzinfo=tz))
        for hours in business.opening_hours.filter(weekday=day.weekday()).order_by("opens")
    ]


def booking_list_overlapping(
    *, business: Business, start: dt.datetime, end: dt.datetime, now: dt.datetime, exclude_pk: int | None = None
) -> QuerySet[Booking]:
    qs = Booking.objects.filter(business=business, start__lt=end, end__gt=start).filter(booking_live_q(now=now))
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs


def _overlaps(start: dt.datetime, end: dt.datetime, busy: Iterable[tuple[dt.datetime, dt.datetime]]) -> bool:
    return any(start < b_end and end > b_start for b_start, b_end in busy)


def slot_list_available(
    *,
    business: Business,
    service: Service,
    day: dt.date,
    now: dt.datetime | None = None,
    step_minutes: int = SLOT_STEP_MINUTES,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Free (start, end) slots for ``service`` on ``day``, in the business's timezone.

    Slots start on a ``step_minutes`` grid from opening time, end before closing,
    skip the past and avoid live bookings and holds. Wall-clock arithmetic in the
    business's zone keeps a 9:00 slot at 9:00 on DST-change days.
    """
    now = now or timezone.now()
    intervals = opening_intervals(business=business, day=day)
    if not intervals:
        return []
    duration = dt.timedelta(minutes=service.duration_minutes)
    step = dt.timedelta(minutes=step_minutes)
    day_start, day_end = intervals[0][0], intervals[-1][1]
    busy = list(
        Booking.objects.filter(business=business, start__lt=day_end, end__gt=day_start)
        .filter(booking_live_q(now=now))
        .values_list("start", "end")
    )
    tz = business.tz
    slots: list[tuple[dt.datetime, dt.datetime]] = []
    for opens, closes in intervals:
        # Step in UTC: wall-clock steps would repeat the skipped spring hour and
        # lose the repeated autumn one on DST-change days.
        start, closes = opens.astimezone(dt.UTC), closes.astimezone(dt.UTC)
        while start + duration <= closes:
            end = start + duration
            if start > now and not _overlaps(start, end, busy):
                slots.append((start.astimezone(tz), end.astimezone(tz)))
            start += step
    return slots


def booking_list_upcoming(*, business: Business, phone: str, now: dt.datetime | None = None) -> QuerySet[Booking]:
    now = now or timezone.now()
    return (
        Booking.objects.filter(business=business, customer__phone=phone, status=Booking.Status.CONFIRMED, start__gt=now)
        .select_related("service", "customer")
        .order_by("start")
    )
