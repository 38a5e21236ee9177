"""booking_reschedule and booking_cancel."""

from __future__ import annotations

import datetime as dt

import pytest

from bookings.errors import BookingError
from bookings.models import Booking
from bookings.services import booking_cancel, booking_create, booking_hold, booking_reschedule

from .conftest import MONDAY, at


@pytest.fixture
def booking(demo_business, haircut, now) -> Booking:
    return booking_create(business=demo_business, service=haircut, start=at(10), caller_phone="+12125550101", now=now)


@pytest.mark.django_db
def test_reschedule_moves_start_and_end(booking, now):
    moved = booking_reschedule(booking=booking, start=at(15), now=now)
    moved.refresh_from_db()
    assert (moved.start, moved.end) == (at(15), at(15, 30))


@pytest.mark.django_db
def test_reschedule_may_overlap_its_own_old_time(booking, now):
    moved = booking_reschedule(booking=booking, start=at(10, 15), now=now)
    assert moved.start == at(10, 15)


@pytest.mark.django_db
def test_reschedule_onto_a_taken_time_is_slot_taken_and_changes_nothing(demo_business, haircut, booking, now):
    booking_create(business=demo_business, service=haircut, start=at(14), caller_phone="+12125550102", now=now)
    with pytest.raises(BookingError) as error:
        booking_reschedule(booking=booking, start=at(14, 15), now=now)
    assert error.value.code == "slot_taken"
    booking.refresh_from_db()
    assert booking.start == at(10)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "code"),
    [(at(10, day=MONDAY + dt.timedelta(days=6)), "closed"), (at(19), "outside_hours"), (at(6), "in_past")],
)
def test_reschedule_refuses_what_create_refuses(booking, now, start, code):
    with pytest.raises(BookingError) as error:
        booking_reschedule(booking=booking, start=start, now=now)
    assert error.value.code == code


@pytest.mark.django_db
def test_only_a_confirmed_booking_can_be_moved(demo_business, haircut, booking, now):
    booking_cancel(booking=booking, now=now)
    with pytest.raises(BookingError) as error:
        booking_reschedule(booking=booking, start=at(15), now=now)
    assert error.value.code == "not_found"
    hold = booking_hold(business=demo_business, service=haircut, start=at(12), caller_phone="+12125550103", now=now)
    with pytest.raises(BookingError):
        booking_reschedule(booking=hold, start=at(13), now=now)


@pytest.mark.django_db
def test_cancel_records_the_reason_and_frees_the_slot(demo_business, haircut, booking, now):
    cancelled = booking_cancel(booking=booking, reason="caller is ill", now=now)
    cancelled.refresh_from_db()
    assert (cancelled.status, cancelled.cancel_reason) == (Booking.Status.CANCELLED, "caller is ill")
    again = booking_create(business=demo_business, service=haircut, start=at(10), caller_phone="+12125550102", now=now)
    assert again.status == Booking.Status.CONFIRMED


@pytest.mark.django_db
def test_cancelling_twice_is_harmless(booking, now):
    booking_cancel(booking=booking, reason="first", now=now)
    again = booking_cancel(booking=booking, reason="second", now=now)
    assert (again.status, again.cancel_reason) == (Booking.Status.CANCELLED, "first")


@pytest.mark.django_db
def test_cancel_releases_a_hold(demo_business, haircut, now):
    hold = booking_hold(business=demo_business, service=haircut, start=at(12), caller_phone="+12125550103", now=now)
    released = booking_cancel(booking=hold, now=now)
    assert released.status == Booking.Status.CANCELLED
    assert released.hold_expires_at is None
