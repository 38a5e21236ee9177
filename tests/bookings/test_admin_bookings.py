"""The bookings admin: day view, filters, cancel through the service, and form errors instead of 500s."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from types import SimpleNamespace

import pytest
from django.db import connection
from django.urls import reverse

from bookings import admin as bookings_admin
from bookings.models import Booking
from bookings.services import booking_cancel
from tests import factories

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
LONDON = zoneinfo.ZoneInfo("Europe/London")
WEDNESDAY = dt.date(2030, 1, 9)
NOW = dt.datetime(2030, 1, 9, 10, 0, tzinfo=NEW_YORK)  # 15:00 in London
CHANGELIST = reverse("admin:bookings_booking_changelist")
DAY_VIEW = reverse("admin:bookings_booking_day")


def local(day: dt.date, hour: int, minute: int = 0, zone: zoneinfo.ZoneInfo = NEW_YORK) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def book(business, start: dt.datetime, *, name: str, status: str = Booking.Status.CONFIRMED) -> Booking:
    """A booking row as test data (the services refuse the past, and these days are fixed)."""
    service = business.services.filter(name="Haircut").first() or factories.ServiceFactory(business=business)
    customer = factories.CustomerFactory(business=business, name=name)
    return factories.BookingFactory(
        business=business,
        service=service,
        customer=customer,
        start=start,
        end=start + dt.timedelta(minutes=service.duration_minutes),
        status=status,
    )


@pytest.fixture
def frozen_now(monkeypatch):
    """Fix "now" as the bookings admin sees it (sessions and logins keep the real clock)."""
    monkeypatch.setattr(bookings_admin, "timezone", SimpleNamespace(now=lambda: NOW.astimezone(dt.UTC)))
    return NOW


@pytest.fixture
def owner(demo_business):
    return factories.owner_create(demo_business, username="desk-owner")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def _names(response) -> list[str]:
    return [booking.customer.name for booking in response.context["cl"].result_list]


# --- the day view -----------------------------------------------------------------


@pytest.mark.django_db
def test_day_view_lists_the_local_day_in_time_order(owner_client, demo_business):
    book(demo_business, local(WEDNESDAY, 15), name="Afternoon")
    book(demo_business, local(WEDNESDAY, 9, 30), name="Morning")
    book(demo_business, local(WEDNESDAY, 17, 30), name="Evening")  # 22:30 UTC, still Wednesday locally
    book(demo_business, local(WEDNESDAY + dt.timedelta(days=1), 0, 30), name="Thursday night")  # Thursday 05:30 UTC
    book(demo_business, local(WEDNESDAY - dt.timedelta(days=1), 23), name="Tuesday night")  # Wednesday 04:00 UTC
    book(demo_business, local(WEDNESDAY, 12), name="Called off", status=Booking.Status.CANCELLED)

    response = owner_client.get(DAY_VIEW, {"date": WEDNESDAY.isoformat()})
    assert response.status_code == 200
    page = response.content.decode()
    positions = [page.index(name) for name in ("Morning", "Afternoon", "Evening")]
    assert positions == sorted(positions)
    for absent in ("Thursday night", "Tuesday night", "Called off"):
        assert absent not in page
    assert "09:30–10:00" in page  # local wall-clock times
    assert "17:30–18:00" in page

    with_cancelled = owner_client.get(DAY_VIEW, {"date": WEDNESDAY.isoformat(), "cancelled": "1"})
    assert "Called off" in with_cancelled.content.decode()


@pytest.mark.django_db
def test_day_view_uses_local_midnights_on_a_clock_change_day(owner_client, demo_business):
    spring = dt.date(2030, 3, 9)  # Saturday before the change: open 10-16
    book(demo_business, local(spring, 15, 30), name="Last of Saturday")
    book(demo_business, local(dt.date(2030, 3, 11), 9), name="Monday after")
    page = owner_client.get(DAY_VIEW, {"date": spring.isoformat()}).content.decode()
    assert "Last of Saturday" in page
    assert "Monday after" not in page
    monday = owner_client.get(DAY_VIEW, {"date": "2030-03-11"}).content.decode()
    assert "09:00–09:30" in monday


@pytest.mark.django_db
def test_day_view_defaults_to_today_and_links_the_neighbours(owner_client, demo_business, frozen_now):
    book(demo_business, local(WEDNESDAY, 11), name="Client of today")
    response = owner_client.get(DAY_VIEW)
    assert response.context["day"] == WEDNESDAY
    assert "Client of today" in response.content.decode()
    assert response.context["previous_url"].endswith("date=2030-01-08")
    assert response.context["next_url"].endswith("date=2030-01-10")


@pytest.mark.django_db
def test_day_view_rejects_a_malformed_date(owner_client):
    assert owner_client.get(DAY_VIEW, {"date": "next tuesday"}).status_code == 404


@pytest.mark.django_db
def test_the_changelist_links_to_the_day_view(owner_client):
    assert f'href="{DAY_VIEW}"' in owner_client.get(CHANGELIST).content.decode()


# --- list filters and search --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("today", {"Wednesday", "Wednesday late"}),
        ("tomorrow", {"Thursday", "London Thursday"}),
        ("week", {"Monday", "Wednesday", "Wednesday late", "Thursday", "Sunday", "London Thursday"}),
    ],
)
def test_day_filter_uses_each_business_local_day(client, demo_business, frozen_now, day, expected):
    book(demo_business, local(dt.date(2030, 1, 7), 10), name="Monday")
    book(demo_business, local(WEDNESDAY, 11), name="Wednesday")
    book(demo_business, local(WEDNESDAY, 23, 30), name="Wednesday late")  # Thursday in UTC
    book(demo_business, local(dt.date(2030, 1, 10), 10), name="Thursday")
    book(demo_business, local(dt.date(2030, 1, 13), 10), name="Sunday")
    book(demo_business, local(dt.date(2030, 1, 14), 10), name="Next Monday")
    london = factories.BusinessFactory(timezone="Europe/London")
    # 00:30 Thursday in London is still Wednesday evening in New York.
    book(london, local(dt.date(2030, 1, 10), 0, 30, zone=LONDON), name="London Thursday")

    client.force_login(factories.UserFactory(is_superuser=True))
    response = client.get(CHANGELIST, {"day": day})
    assert set(_names(response)) == expected


@pytest.mark.django_db
def test_status_and_service_filters(owner_client, demo_business):
    haircut = demo_business.services.get(name="Haircut")
    color = demo_business.services.get(name="Hair color")
    factories.BookingFactory(business=demo_business, service=haircut, customer__name="Cut")
    factories.BookingFactory(
        business=demo_business,
        service=color,
        customer__name="Color",
        start=local(WEDNESDAY, 12),
        end=local(WEDNESDAY, 13, 30),
        status=Booking.Status.CANCELLED,
    )
    assert _names(owner_client.get(CHANGELIST, {"status__exact": "cancelled"})) == ["Color"]
    assert _names(owner_client.get(CHANGELIST, {"service__id__exact": haircut.pk})) == ["Cut"]
    filters = owner_client.get(CHANGELIST).content.decode()
    assert "Beard trim" in filters  # the owner's services are offered even without bookings


@pytest.mark.django_db
def test_search_by_customer_name_or_phone(owner_client, demo_business):
    book(demo_business, local(WEDNESDAY, 9), name="Zoe Quist")
    book(demo_business, local(WEDNESDAY, 10), name="Other Person")
    assert _names(owner_client.get(CHANGELIST, {"q": "quist"})) == ["Zoe Quist"]
    phone = Booking.objects.get(customer__name="Other Person").customer.phone
    assert _names(owner_client.get(CHANGELIST, {"q": phone[-7:]})) == ["Other Person"]


@pytest.mark.django_db
def test_the_busy_changelist_stays_within_a_fixed_number_of_queries(
    owner_client, demo_business, django_assert_max_num_queries
):
    for index in range(40):
        book(demo_business, local(WEDNESDAY, 9) + dt.timedelta(days=index), name=f"Client {index}")
    with django_assert_max_num_queries(13):
        response = owner_client.get(CHANGELIST, {"day": "week", "status__exact": "confirmed"})
    assert response.status_code == 200
    with django_assert_max_num_queries(13):
        assert len(owner_client.get(CHANGELIST).context["cl"].result_list) == 40


# --- writes through the services ----------------------------------------------------


@pytest.mark.django_db
def test_cancel_action_goes_through_the_booking_service(owner_client, demo_business, monkeypatch):
    calls = []

    def spy(**kwargs):
        calls.append(kwargs)
        return booking_cancel(**kwargs)

    monkeypatch.setattr(bookings_admin, "booking_cancel", spy)
    first = book(demo_business, local(WEDNESDAY, 9), name="First")
    second = book(demo_business, local(WEDNESDAY, 10), name="Second")
    kept = book(demo_business, local(WEDNESDAY, 11), name="Kept")
    response = owner_client.post(
        CHANGELIST, {"action": "cancel_bookings", "_selected_action": [first.pk, second.pk]}, follow=True
    )
    assert response.status_code == 200
    assert {call["booking"].pk for call in calls} == {first.pk, second.pk}
    for booking in (first, second):
        booking.refresh_from_db()
        assert booking.status == Booking.Status.CANCELLED
        assert booking.cancel_reason == "cancelled in the admin by desk-owner"
    kept.refresh_from_db()
    assert kept.status == Booking.Status.CONFIRMED
    assert "Cancelled 2 booking(s)." in response.content.decode()


@pytest.mark.django_db
def test_bookings_cannot_be_deleted_from_the_admin(owner_client, client, demo_business):
    booking = book(demo_business, local(WEDNESDAY, 9), name="Stays")
    assert owner_client.get(reverse("admin:bookings_booking_delete", args=[booking.pk])).status_code == 403
    assert Booking.objects.filter(pk=booking.pk).exists()


def _add(client, business, service, day: dt.date, time: str, phone: str = "+12125550140", name: str = "Walk In"):
    return client.post(
        reverse("admin:bookings_booking_add"),
        {
            "business": business.pk,
            "service": service.pk,
            "day": day.isoformat(),
            "time": time,
            "customer_name": name,
            "customer_phone": phone,
        },
    )


FUTURE_MONDAY = dt.date(2030, 1, 7)


@pytest.mark.django_db
def test_adding_a_booking_creates_a_confirmed_one_in_local_time(owner_client, demo_business):
    haircut = demo_business.services.get(name="Haircut")
    response = _add(owner_client, demo_business, haircut, FUTURE_MONDAY, "10:00", phone="(212) 555-0140")
    assert response.status_code == 302
    booking = Booking.objects.get(business=demo_business)
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.start == local(FUTURE_MONDAY, 10)
    assert booking.end == local(FUTURE_MONDAY, 10, 30)
    assert (booking.customer.name, booking.customer.phone) == ("Walk In", "+12125550140")


@pytest.mark.django_db
def test_an_overlapping_booking_is_a_form_error(owner_client, demo_business):
    haircut = demo_business.services.get(name="Haircut")
    assert _add(owner_client, demo_business, haircut, FUTURE_MONDAY, "10:00").status_code == 302
    response = _add(owner_client, demo_business, haircut, FUTURE_MONDAY, "10:15", phone="+12125550141")
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert [error.code for error in form.non_field_errors().as_data()] == ["slot_taken"]
    assert Booking.objects.filter(business=demo_business).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("day", "time", "field", "code"),
    [
        (dt.date(2030, 1, 13), "10:00", None, "closed"),
        (FUTURE_MONDAY, "08:00", None, "outside_hours"),
        (dt.date(2020, 1, 6), "10:00", None, "in_past"),
    ],
)
def test_refusals_from_the_service_are_form_errors(owner_client, demo_business, day, time, field, code):
    haircut = demo_business.services.get(name="Haircut")
    response = _add(owner_client, demo_business, haircut, day, time)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    assert [error.code for error in errors[field or "__all__"]] == [code]
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_a_time_skipped_by_the_clock_change_is_refused(client, demo_business):
    shop = factories.BusinessFactory(timezone="America/New_York")
    factories.OpeningHoursFactory(business=shop, weekday=6, opens=dt.time(0), closes=dt.time(6))
    service = factories.ServiceFactory(business=shop)
    client.force_login(factories.UserFactory(is_superuser=True))
    response = _add(client, shop, service, dt.date(2030, 3, 10), "02:30")
    assert "does not exist" in str(response.context["adminform"].form.errors["time"])
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_a_service_of_another_business_is_refused(client, demo_business):
    other = factories.ServiceFactory()
    client.force_login(factories.UserFactory(is_superuser=True))
    response = _add(client, demo_business, other, FUTURE_MONDAY, "10:00")
    assert [e.code for e in response.context["adminform"].form.errors.as_data()["service"]] == ["unknown_service"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Only PostgreSQL has the exclusion constraint.")
@pytest.mark.django_db
def test_a_racing_writer_caught_by_the_database_is_a_form_error_not_a_500(owner_client, demo_business, monkeypatch):
    haircut = demo_business.services.get(name="Haircut")
    assert _add(owner_client, demo_business, haircut, FUTURE_MONDAY, "10:00").status_code == 302
    # Pretend the overlap check ran before the other booking committed.
    monkeypatch.setattr("bookings.services.booking_list_overlapping", lambda **_: Booking.objects.none())
    response = _add(owner_client, demo_business, haircut, FUTURE_MONDAY, "10:15", phone="+12125550142")
    assert response.status_code == 200
    assert [e.code for e in response.context["adminform"].form.non_field_errors().as_data()] == ["slot_taken"]
    assert Booking.objects.filter(business=demo_business).count() == 1


@pytest.mark.django_db
def test_moving_a_booking_reschedules_it(owner_client, demo_business):
    haircut = demo_business.services.get(name="Haircut")
    _add(owner_client, demo_business, haircut, FUTURE_MONDAY, "10:00")
    booking = Booking.objects.get()
    url = reverse("admin:bookings_booking_change", args=[booking.pk])
    form = owner_client.get(url).context["adminform"].form
    assert (form.initial["day"], form.initial["time"]) == (FUTURE_MONDAY, dt.time(10))
    response = owner_client.post(url, {"day": "2030-01-08", "time": "15:00"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.start, booking.end) == (local(dt.date(2030, 1, 8), 15), local(dt.date(2030, 1, 8), 15, 30))


@pytest.mark.django_db
def test_moving_onto_a_taken_time_is_a_form_error(owner_client, demo_business):
    haircut = demo_business.services.get(name="Haircut")
    _add(owner_client, demo_business, haircut, FUTURE_MONDAY, "10:00")
    _add(owner_client, demo_business, haircut, FUTURE_MONDAY, "11:00", phone="+12125550143")
    booking = Booking.objects.get(start=local(FUTURE_MONDAY, 10))
    url = reverse("admin:bookings_booking_change", args=[booking.pk])
    response = owner_client.post(url, {"day": FUTURE_MONDAY.isoformat(), "time": "11:15"})
    assert response.status_code == 200
    assert [e.code for e in response.context["adminform"].form.non_field_errors().as_data()] == ["slot_taken"]
    booking.refresh_from_db()
    assert booking.start == local(FUTURE_MONDAY, 10)
