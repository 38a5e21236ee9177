"""booking_hold and booking_confirm: a short hold while the caller confirms."""

from __future__ import annotations

import datetime as dt

import pytest

from bookings.errors import BookingError
from bookings.models import Booking
from bookings.services import HOLD_MINUTES, booking_confirm, booking_hold, holds_release_expired

from .conftest import at


@pytest.mark.django_db
def test_a_hold_keeps_the_slot_for_a_few_minutes(demo_business, haircut, now):
    hold = booking_hold(business=demo_business, service=haircut, start=at(10), caller_phone="+12125550101", now=now)
    assert hold.status == Booking.Status.HELD
    assert hold.hold_expires_at == now + dt.timedelta(minutes=HOLD_MINUTES)
    with pytest.raises(BookingError) as error:
        booking_hold(business=demo_business, service=haircut, start=at(10, 15), caller_phone="+12125550102", now=now)
    assert error.value.code == "slot_taken"


@pytest.mark.django_db
def test_confirming_in_time_books_it_with_the_callers_name(demo_business, haircut, now):
    hold = booking_hold(business=demo_business, service=haircut, start=at(10), caller_phone="+12125550101", now=now)
    booking = booking_confirm(booking=hold, customer_name="Grace", now=now + dt.timedelta(minutes=2))
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.hold_expires_at is None
    assert booking.customer.name == "Grace"


@pytest.mark.django_db
def test_confirming_twice_is_harmless(demo_business, haircut, now):
    hold = booking_hold(business=demo_business, service=haircut, start=at(10), caller_phone="+12125550101", now=now)
    booking_confirm(booking=hold, now=now)
    again = booking_confirm(booking=hold, now=now + dt.timedelta(hours=1))
    assert again.status == Booking.Status.CONFIRMED
    assert Booking.objects.count() == 1


@pytest.mark.django_db
def test_confirming_after_the_hold_ran_out_is_hold_expired(demo_business, haircut, now):
    hold = booking_hold(business=demo_business, service=haircut, start=at(10), caller_phone="+12125550101", now=now)
    with pytest.raises(BookingError) as error:
        booking_confirm(booking=hold, now=now + dt.timedelta(minutes=HOLD_MINUTES))
    assert error.value.code == "hold_expired"
    hold.refresh_from_db()
    assert hold.status == Booking.Status.HELD


@pytest.mark.django_db
def test_an_expired_hold_gives_way_to_the_next_caller(demo_business, haircut, now):
    first = booking_hold(business=demo_business, service=haircut, start=at(10), caller_phone="+12125550101", now=now)
    later = now + dt.timedelta(minutes=HOLD_MINUTES + 1)
    second = booking_hold(business=demo_business, service=haircut, start=at(10), caller_phone="+12125550102", now=later)
    first.refresh_from_db()
    assert (first.status, first.cancel_reason) == (Booking.Status.CANCELLED, "hold expired")
    assert second.status == Booking.Status.HELD
    with pytest.raises(BookingError) as error:
        booking_confirm(booking=first, now=later)
    assert error.value.code == "hold_expired"


@pytest.mark.django_db
def test_confirming_with_another_number_moves_the_booking_to_that_customer(demo_business, haircut, now):
    hold = booking_hold(business=demo_business, service=haircut, start=at(10), caller_phone="+12125550101", now=now)
    booking = booking_confirm(booking=hold, customer_name="Lin", phone="+12125550199", now=now)
    booking.refresh_from_db()
    assert (booking.customer.phone, booking.customer.name) == ("+12125550199", "Lin")


@pytest.mark.django_db
def test_releasing_expired_holds_counts_only_expired_ones(demo_business, haircut, now):
    booking_hold(business=demo_business, service=haircut, start=at(10), caller_phone="+12125550101", now=now)
    booking_hold(
        business=demo_business,
        service=haircut,
        start=at(11),
        caller_phone="+12125550102",
        now=now + dt.timedelta(minutes=4),
    )
    released = holds_release_expired(now=now + dt.timedelta(minutes=HOLD_MINUTES + 1))
    assert released == 1
    assert Booking.objects.filter(status=Booking.Status.HELD).count() == 1
