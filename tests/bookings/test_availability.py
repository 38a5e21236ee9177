"""The availability engine: opening hours, closures, durations, bookings, holds, DST, the past."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from bookings.models import Booking
from bookings.selectors import slot_list_available
from bookings.services import booking_create, booking_hold
from businesses.models import Business, Service
from tests import factories

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
MONDAY = dt.date(2030, 1, 7)
SATURDAY = dt.date(2030, 1, 12)
SUNDAY = dt.date(2030, 1, 13)
LONG_AGO = dt.datetime(2029, 1, 1, tzinfo=dt.UTC)
SPRING_FORWARD = dt.date(2030, 3, 10)  # 02:00 EST jumps to 03:00 EDT
FALL_BACK = dt.date(2030, 11, 3)  # 02:00 EDT goes back to 01:00 EST


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK)


def _starts(slots: list[tuple[dt.datetime, dt.datetime]]) -> list[str]:
    return [f"{start:%H:%M}" for start, _ in slots]


@pytest.fixture
def haircut(demo_business: Business) -> Service:
    return demo_business.services.get(name="Haircut")


@pytest.mark.django_db
def test_a_weekday_runs_from_opening_to_the_last_start_that_fits(demo_business, haircut):
    slots = slot_list_available(business=demo_business, service=haircut, day=MONDAY, now=LONG_AGO)
    starts = _starts(slots)
    assert starts[0] == "09:00"
    assert starts[-1] == "17:30"  # 30 minutes before the 18:00 close
    assert len(starts) == 35  # every 15 minutes
    assert all(end - start == dt.timedelta(minutes=30) for start, end in slots)
    assert all(start.tzinfo == NEW_YORK for start, _ in slots)


@pytest.mark.django_db
def test_the_service_duration_sets_the_last_start(demo_business):
    color = demo_business.services.get(name="Hair color")
    beard = demo_business.services.get(name="Beard trim")
    assert _starts(slot_list_available(business=demo_business, service=color, day=MONDAY, now=LONG_AGO))[-1] == "16:30"
    assert _starts(slot_list_available(business=demo_business, service=beard, day=MONDAY, now=LONG_AGO))[-1] == "17:45"


@pytest.mark.django_db
def test_saturday_has_its_own_hours_and_sunday_is_closed(demo_business, haircut):
    saturday = _starts(slot_list_available(business=demo_business, service=haircut, day=SATURDAY, now=LONG_AGO))
    assert (saturday[0], saturday[-1]) == ("10:00", "15:30")
    assert slot_list_available(business=demo_business, service=haircut, day=SUNDAY, now=LONG_AGO) == []


@pytest.mark.django_db
def test_a_closure_closes_a_normally_open_day(demo_business, haircut):
    factories.ClosureFactory(business=demo_business, date=MONDAY, reason="Holiday")
    assert slot_list_available(business=demo_business, service=haircut, day=MONDAY, now=LONG_AGO) == []
    tuesday = MONDAY + dt.timedelta(days=1)
    assert slot_list_available(business=demo_business, service=haircut, day=tuesday, now=LONG_AGO)


@pytest.mark.django_db
def test_split_opening_hours_leave_the_lunch_break_free(haircut, demo_business):
    demo_business.opening_hours.filter(weekday=0).delete()
    factories.OpeningHoursFactory(business=demo_business, weekday=0, opens=dt.time(9), closes=dt.time(12))
    factories.OpeningHoursFactory(business=demo_business, weekday=0, opens=dt.time(13), closes=dt.time(15))
    starts = _starts(slot_list_available(business=demo_business, service=haircut, day=MONDAY, now=LONG_AGO))
    assert {"11:45", "12:00", "12:30"}.isdisjoint(starts)
    assert starts[starts.index("11:30") + 1] == "13:00"


@pytest.mark.django_db
def test_existing_bookings_take_their_time(demo_business, haircut):
    booking_create(
        business=demo_business, service=haircut, start=_local(MONDAY, 10), caller_phone="+12125550101", now=LONG_AGO
    )
    starts = _starts(slot_list_available(business=demo_business, service=haircut, day=MONDAY, now=LONG_AGO))
    assert "09:30" in starts  # ends exactly when the booking starts
    assert {"09:45", "10:00", "10:15"}.isdisjoint(starts)
    assert "10:30" in starts  # starts exactly when the booking ends


@pytest.mark.django_db
def test_a_long_service_avoids_a_booking_later_in_its_span(demo_business, haircut):
    booking_create(
        business=demo_business, service=haircut, start=_local(MONDAY, 12), caller_phone="+12125550102", now=LONG_AGO
    )
    color = demo_business.services.get(name="Hair color")
    starts = _starts(slot_list_available(business=demo_business, service=color, day=MONDAY, now=LONG_AGO))
    assert "10:30" in starts  # 10:30-12:00
    assert {"10:45", "11:00", "12:00"}.isdisjoint(starts)
    assert "12:30" in starts


@pytest.mark.django_db
def test_live_holds_block_and_expired_holds_do_not(demo_business, haircut):
    now = _local(MONDAY, 8)
    booking_hold(
        business=demo_business, service=haircut, start=_local(MONDAY, 11), caller_phone="+12125550103", now=now
    )
    while_held = _starts(slot_list_available(business=demo_business, service=haircut, day=MONDAY, now=now))
    assert "11:00" not in while_held
    after_expiry = now + dt.timedelta(minutes=6)
    later = _starts(slot_list_available(business=demo_business, service=haircut, day=MONDAY, now=after_expiry))
    assert "11:00" in later


@pytest.mark.django_db
def test_cancelled_bookings_free_their_time(demo_business, haircut):
    factories.BookingFactory(
        business=demo_business,
        service=haircut,
        start=_local(MONDAY, 14),
        end=_local(MONDAY, 14, 30),
        status=Booking.Status.CANCELLED,
    )
    assert "14:00" in _starts(slot_list_available(business=demo_business, service=haircut, day=MONDAY, now=LONG_AGO))


@pytest.mark.django_db
def test_other_businesses_bookings_do_not_count(demo_business, haircut):
    other = factories.BookingFactory(start=_local(MONDAY, 9), end=_local(MONDAY, 9, 30))
    assert other.business != demo_business
    assert "09:00" in _starts(slot_list_available(business=demo_business, service=haircut, day=MONDAY, now=LONG_AGO))


@pytest.mark.django_db
def test_the_past_is_not_offered(demo_business, haircut):
    now = _local(MONDAY, 12, 5)
    starts = _starts(slot_list_available(business=demo_business, service=haircut, day=MONDAY, now=now))
    assert starts[0] == "12:15"
    yesterday = MONDAY - dt.timedelta(days=1)
    assert slot_list_available(business=demo_business, service=haircut, day=yesterday, now=now) == []


# --- Daylight saving time (America/New_York) ---------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("before", "after", "offset_before", "offset_after"),
    [
        (dt.date(2030, 3, 8), dt.date(2030, 3, 11), -5, -4),  # Friday EST, Monday EDT
        (dt.date(2030, 11, 1), dt.date(2030, 11, 4), -4, -5),  # Friday EDT, Monday EST
    ],
)
def test_nine_oclock_stays_nine_oclock_across_a_clock_change(
    demo_business, haircut, before, after, offset_before, offset_after
):
    first_before = slot_list_available(business=demo_business, service=haircut, day=before, now=LONG_AGO)[0][0]
    first_after = slot_list_available(business=demo_business, service=haircut, day=after, now=LONG_AGO)[0][0]
    assert (f"{first_before:%H:%M}", f"{first_after:%H:%M}") == ("09:00", "09:00")
    assert first_before.utcoffset() == dt.timedelta(hours=offset_before)
    assert first_after.utcoffset() == dt.timedelta(hours=offset_after)
    assert first_before.astimezone(dt.UTC).hour != first_after.astimezone(dt.UTC).hour


@pytest.fixture
def night_shop() -> tuple[Business, Service]:
    """A shop open on Sunday nights across the 02:00 clock change, and on Sunday days."""
    business = factories.BusinessFactory(timezone="America/New_York")
    factories.OpeningHoursFactory(business=business, weekday=6, opens=dt.time(0), closes=dt.time(4))
    factories.OpeningHoursFactory(business=business, weekday=6, opens=dt.time(9), closes=dt.time(17))
    return business, factories.ServiceFactory(business=business, duration_minutes=30)


@pytest.mark.django_db
@pytest.mark.parametrize(("day", "night_hours"), [(SPRING_FORWARD, 3), (FALL_BACK, 5), (SUNDAY, 4)])
def test_slots_on_a_clock_change_night_last_their_real_duration(night_shop, day, night_hours):
    business, service = night_shop
    slots = slot_list_available(business=business, service=service, day=day, now=LONG_AGO)
    night = [(start, end) for start, end in slots if start.astimezone(NEW_YORK).hour < 5]
    # 00:00 to 04:00 on the wall clock is 3 real hours in spring and 5 in autumn.
    assert len(night) == (night_hours * 60 - 30) // 15 + 1
    instants = [start.astimezone(dt.UTC) for start, _ in night]
    assert len(set(instants)) == len(instants)
    assert all(end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(minutes=30) for start, end in night)
    assert all(b - a == dt.timedelta(minutes=15) for a, b in zip(instants, instants[1:], strict=False))
    day_slots = [start for start, _ in slots if start.astimezone(NEW_YORK).hour >= 9]
    assert f"{day_slots[0].astimezone(NEW_YORK):%H:%M}" == "09:00"


@pytest.mark.django_db
def test_a_booking_across_the_fall_back_hour_lasts_its_duration(night_shop):
    business, service = night_shop
    start = dt.datetime.combine(FALL_BACK, dt.time(1, 45), tzinfo=NEW_YORK)  # 01:45 EDT, the first 01:45
    booking = booking_create(business=business, service=service, start=start, caller_phone="+12125550104", now=LONG_AGO)
    booking.refresh_from_db()
    assert booking.end - booking.start == dt.timedelta(minutes=30)
