"""booking_create: a confirmed booking, or a BookingError with a clear code."""

from __future__ import annotations

import datetime as dt

import pytest

from bookings.errors import BookingError
from bookings.models import Booking, Customer
from bookings.services import booking_create
from tests import factories

from .conftest import MONDAY, at


@pytest.mark.django_db
def test_creates_a_confirmed_booking_for_the_service_duration(demo_business, haircut, now):
    booking = booking_create(
        business=demo_business, service=haircut, start=at(10), caller_phone="+12125550100", customer_name="Ada", now=now
    )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.hold_expires_at is None
    assert booking.end - booking.start == dt.timedelta(minutes=30)
    assert booking.start == at(10)
    assert (booking.customer.name, booking.customer.phone) == ("Ada", "+12125550100")


@pytest.mark.django_db
def test_the_caller_number_is_normalized_and_the_customer_reused(demo_business, haircut, now):
    first = booking_create(
        business=demo_business, service=haircut, start=at(10), caller_phone="(212) 555-0100", now=now
    )
    second = booking_create(
        business=demo_business,
        service=haircut,
        start=at(11),
        caller_phone="+1 212 555 0100",
        customer_name="Ada",
        now=now,
    )
    assert first.customer_id == second.customer_id
    assert Customer.objects.get(pk=first.customer_id).phone == "+12125550100"
    assert Customer.objects.get(pk=first.customer_id).name == "Ada"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("existing", "requested"),
    [((10, 0), (10, 0)), ((10, 0), (10, 15)), ((10, 15), (10, 0)), ((9, 45), (10, 0))],
)
def test_an_overlapping_time_is_slot_taken(demo_business, haircut, now, existing, requested):
    booking_create(business=demo_business, service=haircut, start=at(*existing), caller_phone="+12125550101", now=now)
    with pytest.raises(BookingError) as error:
        booking_create(
            business=demo_business, service=haircut, start=at(*requested), caller_phone="+12125550102", now=now
        )
    assert error.value.code == "slot_taken"
    assert Booking.objects.filter(business=demo_business).count() == 1


@pytest.mark.django_db
def test_back_to_back_bookings_are_fine(demo_business, haircut, now):
    booking_create(business=demo_business, service=haircut, start=at(10), caller_phone="+12125550101", now=now)
    booking_create(business=demo_business, service=haircut, start=at(10, 30), caller_phone="+12125550102", now=now)
    booking_create(business=demo_business, service=haircut, start=at(9, 30), caller_phone="+12125550103", now=now)
    assert Booking.objects.filter(business=demo_business, status=Booking.Status.CONFIRMED).count() == 3


@pytest.mark.django_db
def test_another_business_at_the_same_time_does_not_conflict(demo_business, haircut, now):
    factories.BookingFactory(start=at(10), end=at(10, 30))
    booking = booking_create(
        business=demo_business, service=haircut, start=at(10), caller_phone="+12125550101", now=now
    )
    assert booking.status == Booking.Status.CONFIRMED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "code"),
    [
        (at(10, day=MONDAY + dt.timedelta(days=6)), "closed"),  # Sunday
        (at(8, 30), "outside_hours"),
        (at(17, 45), "outside_hours"),  # would end after 18:00
        (at(6), "in_past"),
    ],
)
def test_times_the_business_cannot_take(demo_business, haircut, now, start, code):
    with pytest.raises(BookingError) as error:
        booking_create(business=demo_business, service=haircut, start=start, caller_phone="+12125550101", now=now)
    assert error.value.code == code
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_a_closure_day_is_closed(demo_business, haircut, now):
    factories.ClosureFactory(business=demo_business, date=MONDAY)
    with pytest.raises(BookingError) as error:
        booking_create(business=demo_business, service=haircut, start=at(10), caller_phone="+12125550101", now=now)
    assert error.value.code == "closed"


@pytest.mark.django_db
def test_another_business_service_or_an_inactive_one_is_unknown(demo_business, haircut, now):
    foreign = factories.ServiceFactory()
    with pytest.raises(BookingError) as error:
        booking_create(business=demo_business, service=foreign, start=at(10), caller_phone="+12125550101", now=now)
    assert error.value.code == "unknown_service"
    haircut.active = False
    haircut.save()
    with pytest.raises(BookingError) as error:
        booking_create(business=demo_business, service=haircut, start=at(10), caller_phone="+12125550101", now=now)
    assert error.value.code == "unknown_service"


@pytest.mark.django_db
def test_a_naive_time_is_refused(demo_business, haircut, now):
    with pytest.raises(BookingError) as error:
        booking_create(
            business=demo_business,
            service=haircut,
            start=dt.datetime(2030, 1, 7, 10),
            caller_phone="+12125550101",
            now=now,
        )
    assert error.value.code == "invalid"


@pytest.mark.django_db
def test_a_start_given_in_utc_means_the_same_instant(demo_business, haircut, now):
    booking = booking_create(
        business=demo_business, service=haircut, start=at(10).astimezone(dt.UTC), caller_phone="+12125550101", now=now
    )
    assert booking.start.astimezone(demo_business.tz).time() == dt.time(10)
