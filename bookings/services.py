"""All writes to bookings. Callers: admin, agent tools (through the booking port), tasks."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from businesses.models import Business, Service
from businesses.validators import e164_normalize

from .errors import BookingError
from .models import Booking, Customer
from .selectors import booking_list_overlapping, opening_intervals

HOLD_MINUTES = 5


def _check_bookable(*, business: Business, service: Service, start: dt.datetime, now: dt.datetime) -> dt.datetime:
    """Validate a requested start; return its end. Raises BookingError."""
    if timezone.is_naive(start):
        raise BookingError("The start time needs a timezone.", code="invalid")
    if service.business_id != business.pk or not service.active:
        raise BookingError(f"{service.name} is not offered here.", code="unknown_service")
    if start <= now:
        raise BookingError("That time has already passed.", code="in_past")
    # Add the duration in UTC: aware arithmetic in the local zone is wall-clock
    # arithmetic, which makes a booking across a DST change an hour too long or short.
    end = start.astimezone(dt.UTC) + dt.timedelta(minutes=service.duration_minutes)
    local_start = start.astimezone(business.tz)
    intervals = opening_intervals(business=business, day=local_start.date())
    if not intervals:
        raise BookingError("We are closed that day.", code="closed")
    if not any(opens <= start and end <= closes for opens, closes in intervals):
        raise BookingError("That time is outside our opening hours.", code="outside_hours")
    return end


def _lock_business_bookings(*, business_id: int) -> None:
    """Queue this transaction behind any other booking writer of the same business.

    Without it, two PostgreSQL transactions inserting overlapping bookings can each
    wait for the other inside the exclusion constraint's check (one of them then
    updates its own row, as booking_create does), which ends in "deadlock detected"
    instead of a clean slot_taken. Behind the lock, the overlap check sees the
    winner's committed booking. A no-op on SQLite, whose IMMEDIATE transactions
    already serialize writers.
    """
    list(Business.objects.select_for_update().filter(pk=business_id).values_list("pk", flat=True))


def _release_expired_overlapping(*, business: Business, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> None:
    Booking.objects.filter(
        business=business,
        status=Booking.Status.HELD,
        hold_expires_at__lte=now,
        start__lt=end,
        end__gt=start,
    ).update(status=Booking.Status.CANCELLED, cancel_reason="hold expired", updated_at=now)


def _save_without_overlap(booking: Booking, *, now: dt.datetime) -> None:
    """Save a live booking; a concurrent overlapping one becomes BookingError(slot_taken)."""
    if booking_list_overlapping(
        business=booking.business, start=booking.start, end=booking.end, now=now, exclude_pk=booking.pk
    ).exists():
        raise BookingError("That time has just been taken.", code="slot_taken")
    try:
        with transaction.atomic():
            booking.save()
    except IntegrityError as exc:  # the PostgreSQL exclusion constraint caught a racing writer
        raise BookingError("That time has just been taken.", code="slot_taken") from exc


def customer_upsert(*, business: Business, phone: str, name: str = "") -> Customer:
    """Find the business's customer by phone, creating it; fill in a name we did not have."""
    phone = e164_normalize(phone)
    customer, created = Customer.objects.get_or_create(business=business, phone=phone, defaults={"name": name})
    if name and not created and customer.name != name:
        customer.name = name
        customer.save(update_fields=["name"])
    return customer


@transaction.atomic
def booking_hold(
    *,
    business: Business,
    service: Service,
    start: dt.datetime,
    caller_phone: str,
    call=None,
    hold_minutes: int = HOLD_MINUTES,
    now: dt.datetime | None = None,
) -> Booking:
    """Hold a slot for a few minutes while the caller confirms."""
    now = now or timezone.now()
    end = _check_bookable(business=business, service=service, start=start, now=now)
    _lock_business_bookings(business_id=business.pk)
    _release_expired_overlapping(business=business, start=start, end=end, now=now)
    customer = customer_upsert(business=business, phone=caller_phone)
    booking = Booking(
        business=business,
        service=service,
        customer=customer,
        start=start,
        end=end,
        status=Booking.Status.HELD,
        hold_expires_at=now + dt.timedelta(minutes=hold_minutes),
        source_call=call,
    )
    _save_without_overlap(booking, now=now)
    return booking


@transaction.atomic
def booking_confirm(
    *, booking: Booking, customer_name: str = "", phone: str = "", now: dt.datetime | None = None
) -> Booking:
    """Turn a hold into a confirmed booking."""
    now = now or timezone.now()
    booking = Booking.objects.select_for_update().select_related("customer", "business").get(pk=booking.pk)
    if booking.status == Booking.Status.CONFIRMED:
        return booking
    if booking.status != Booking.Status.HELD or (booking.hold_expires_at and booking.hold_expires_at <= now):
        raise BookingError("The hold on that time has expired.", code="hold_expired")
    if phone and e164_normalize(phone) != booking.customer.phone:
        booking.customer = customer_upsert(business=booking.business, phone=phone, name=customer_name)
    elif customer_name:
        customer_upsert(business=booking.business, phone=booking.customer.phone, name=customer_name)
    booking.status = Booking.Status.CONFIRMED
    booking.hold_expires_at = None
    booking.save(update_fields=["status", "hold_expires_at", "customer", "updated_at"])
    return booking


@transaction.atomic
def booking_create(
    *,
    business: Business,
    service: Service,
    start: dt.datetime,
    caller_phone: str,
    customer_name: str = "",
    call=None,
    now: dt.datetime | None = None,
) -> Booking:
    """Book a slot outright (hold and confirm in one transaction)."""
    held = booking_hold(business=business, service=service, start=start, caller_phone=caller_phone, call=call, now=now)
    return booking_confirm(booking=held, customer_name=customer_name, now=now)


@transaction.atomic
def booking_reschedule(*, booking: Booking, start: dt.datetime, now: dt.datetime | None = None) -> Booking:
    """Move a confirmed booking to a new start time."""
    now = now or timezone.now()
    _lock_business_bookings(business_id=booking.business_id)
    booking = Booking.objects.select_for_update().select_related("business", "service").get(pk=booking.pk)
    if booking.status != Booking.Status.CONFIRMED:
        raise BookingError("Only a confirmed booking can be moved.", code="not_found")
    end = _check_bookable(business=booking.business, service=booking.service, start=start, now=now)
    _release_expired_overlapping(business=booking.business, start=start, end=end, now=now)
    booking.start, booking.end = start, end
    _save_without_overlap(booking, now=now)
    return booking


@transaction.atomic
def booking_cancel(*, booking: Booking, reason: str = "", now: dt.datetime | None = None) -> Booking:
    """Cancel a booking or release a hold. Cancelling twice is harmless."""
    now = now or timezone.now()
    booking = Booking.objects.select_for_update().get(pk=booking.pk)
    if booking.status != Booking.Status.CANCELLED:
        booking.status = Booking.Status.CANCELLED
        booking.cancel_reason = reason[:80]
        booking.hold_expires_at = None
        booking.save(update_fields=["status", "cancel_reason", "hold_expires_at", "updated_at"])
    return booking


def holds_release_expired(*, now: dt.datetime | None = None) -> int:
    """Cancel every hold whose time ran out; returns how many."""
    now = now or timezone.now()
    return Booking.objects.filter(status=Booking.Status.HELD, hold_expires_at__lte=now).update(
        status=Booking.Status.CANCELLED, cancel_reason="hold expired", updated_at=now
    )
