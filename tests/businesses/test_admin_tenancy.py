"""Tenant isolation through real HTTP requests to the admin.

Business B ("Rival Barbers") has a row of every model, each carrying the word
"rival" or one of B's phone numbers. Owner A must get 403/404 for each of B's
pages and never see any of B's rows, whatever the URL tricks; staff see all.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.urls import reverse
from django.utils.http import urlencode

from bookings.models import Booking, Customer
from businesses.models import Business, RolloutPolicy, RolloutPolicyChange, Service
from businesses.services import rollout_policy_update
from calls.models import Call, Turn
from tests import factories

B_PHONE_NUMBERS = ("+14155559990", "+14155559991", "+14155559992")
TENANT_APPS = {"businesses", "bookings", "calls"}
# Words from B's rows other than "rival" itself (a search box echoes its term back).
SEARCH_TERMS = ("barbers", "cut", "customer", "hello", "_intent", "_event", "re-", "body", "message", "+1415555999")


def _b_rows(owner_b) -> dict[type[models.Model], models.Model]:
    business = factories.BusinessFactory(name="Rival Barbers", slug="rival-barbers", timezone="Europe/London")
    business.owners.add(owner_b)
    service = factories.ServiceFactory(business=business, name="Rival cut")
    customer = factories.CustomerFactory(business=business, name="Rival customer", phone=B_PHONE_NUMBERS[1])
    call = factories.CallFactory(business=business, from_number=B_PHONE_NUMBERS[2], route_reason="rival bucket")
    turn = factories.TurnFactory(call=call, index=0, text="Rival hello")
    policy = RolloutPolicy.objects.create(business=business, streaming_percent=10)
    rollout_policy_update(policy=policy, changed_by=None, streaming_percent=20)
    rows: dict[type[models.Model], models.Model] = {
        Business: business,
        Service: service,
        Customer: customer,
        Booking: factories.BookingFactory(business=business, service=service, customer=customer),
        RolloutPolicy: policy,
        RolloutPolicyChange: policy.changes.get(),
        Call: call,
        Turn: turn,
    }
    for row in (
        factories.PhoneNumberFactory(business=business, number=B_PHONE_NUMBERS[0]),
        factories.OpeningHoursFactory(business=business, weekday=6),
        factories.ClosureFactory(business=business, reason="Rival holiday"),
        factories.FAQFactory(business=business, question="Rival parking?"),
        factories.IntentFactory(turn=turn, name="rival_intent", slots={"note": "rival"}),
        factories.CallEventFactory(call=call, name="rival_event"),
        factories.RecordingFactory(call=call, sid="RE-rival-1", transcript="rival message"),
        factories.OutboundMessageFactory(business=business, to="whatsapp:+14155559993", body="Rival body"),
    ):
        rows[type(row)] = row
    return rows


@pytest.fixture
def world(demo_business):
    """Owner A of Bella Hair Studio (with a row of each kind), owner B with every kind of row, and staff."""
    owner_a = factories.owner_create(demo_business, username="owner-a")
    owner_b = factories.UserFactory(username="owner-b")
    b_rows = _b_rows(owner_b)
    owner_b.groups.add(*owner_a.groups.all())
    a_call = factories.CallFactory(business=demo_business)
    a_turn = factories.TurnFactory(call=a_call, index=0, text="Hello from A")
    factories.IntentFactory(turn=a_turn)
    factories.CallEventFactory(call=a_call)
    factories.RecordingFactory(call=a_call)
    factories.OutboundMessageFactory(business=demo_business)
    factories.BookingFactory(
        business=demo_business,
        service=demo_business.services.get(name="Haircut"),
        customer=factories.CustomerFactory(business=demo_business, name="Alice"),
    )
    rollout_policy_update(policy=demo_business.rollout_policy, changed_by=None, streaming_percent=50)
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw-for-tests-1")
    return {"a": demo_business, "owner_a": owner_a, "owner_b": owner_b, "b_rows": b_rows, "staff": staff}


def _registered_models() -> list[type[models.Model]]:
    return [model for model in admin.site._registry if model._meta.app_label in TENANT_APPS]


def _url(model: type[models.Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _leaks(content: bytes) -> list[str]:
    text = content.decode().lower()
    return [marker for marker in ("rival", *B_PHONE_NUMBERS) if marker in text]


@pytest.mark.django_db
def test_every_tenant_model_has_a_row_of_business_b_in_the_fixture(world):
    # The isolation tests below only mean something if B has a row of every registered model.
    missing = [model.__name__ for model in _registered_models() if model not in world["b_rows"]]
    assert missing == []


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_owner_gets_403_or_404_for_every_page_of_business_b(client, world, view):
    client.force_login(world["owner_a"])
    refused = {}
    for model in _registered_models():
        response = client.get(_url(model, view, world["b_rows"][model].pk))
        refused[model.__name__] = response.status_code
        assert _leaks(response.content) == [], model.__name__
    assert {name: code for name, code in refused.items() if code not in (403, 404)} == {}


@pytest.mark.django_db
def test_the_owner_of_business_b_does_see_those_pages(client, world):
    client.force_login(world["owner_b"])
    for model in _registered_models():
        response = client.get(_url(model, "change", world["b_rows"][model].pk))
        assert response.status_code == 200, model.__name__


@pytest.mark.django_db
def test_a_missing_id_and_another_business_id_answer_the_same(client, world):
    client.force_login(world["owner_a"])
    other = client.get(_url(Booking, "change", world["b_rows"][Booking].pk))
    missing = client.get(_url(Booking, "change", 999_999))
    assert other.status_code == missing.status_code == 404


@pytest.mark.django_db
def test_owner_posting_to_business_b_changes_nothing(client, world):
    client.force_login(world["owner_a"])
    service = world["b_rows"][Service]
    response = client.post(
        _url(Service, "change", service.pk),
        {
            "business": service.business_id,
            "name": "Taken over",
            "duration_minutes": 30,
            "price": "1",
            "currency": "USD",
        },
    )
    assert response.status_code in (403, 404)
    service.refresh_from_db()
    assert service.name == "Rival cut"


@pytest.mark.django_db
def test_changelists_and_searches_show_none_of_business_b(client, world):
    client.force_login(world["owner_a"])
    for model in _registered_models():
        for query in ("", "?_facets=True", *(f"?{urlencode({'q': term})}" for term in SEARCH_TERMS)):
            response = client.get(_url(model, "changelist") + query)
            assert response.status_code == 200, (model.__name__, query)
            assert _leaks(response.content) == [], (model.__name__, query)
            b_row = world["b_rows"][model]
            assert not response.context["cl"].queryset.filter(pk=b_row.pk).exists(), (model.__name__, query)


@pytest.mark.django_db
def test_owner_sees_their_own_rows(client, world):
    client.force_login(world["owner_a"])
    for model in _registered_models():
        response = client.get(_url(model, "changelist"))
        assert response.context["cl"].result_count >= 1, model.__name__


@pytest.mark.django_db
def test_staff_see_every_business(client, world):
    client.force_login(world["staff"])
    for model in _registered_models():
        response = client.get(_url(model, "changelist"))
        assert response.status_code == 200
        assert response.context["cl"].queryset.filter(pk=world["b_rows"][model].pk).exists(), model.__name__
        assert client.get(_url(model, "change", world["b_rows"][model].pk)).status_code == 200, model.__name__


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "query"),
    [
        (Booking, "?business__id__exact={b}"),
        (Booking, "?business={b}"),
        (Booking, "?service__id__exact={service}"),
        (Service, "?business__id__exact={b}"),
        (Customer, "?business__id__exact={b}"),
        (Booking, "?_to_field=id&_popup=1"),
        (Customer, "?_to_field=id&_popup=1&business__id__exact={b}"),
    ],
)
def test_url_tricks_do_not_reach_business_b(client, world, model, query):
    client.force_login(world["owner_a"])
    b_rows = world["b_rows"]
    url = _url(model, "changelist") + query.format(b=b_rows[Business].pk, service=b_rows[Service].pk)
    response = client.get(url)
    assert response.status_code in (200, 400)
    assert _leaks(response.content) == []
    if response.status_code == 200:
        assert not response.context["cl"].queryset.filter(pk=b_rows[model].pk).exists()


@pytest.mark.django_db
def test_change_page_with_to_field_still_refuses(client, world):
    client.force_login(world["owner_a"])
    business_b = world["b_rows"][Business]
    response = client.get(_url(Business, "change", business_b.pk) + "?_to_field=id&_popup=1")
    assert response.status_code in (400, 403, 404)


def _autocomplete_sources() -> list[tuple[type[models.Model], str, type[models.Model]]]:
    """Every (model, foreign key, target) the autocomplete endpoint would serve."""
    sources = []
    for model in _registered_models():
        for field in model._meta.get_fields():
            if not (field.is_relation and field.concrete and (field.many_to_one or field.one_to_one)):
                continue
            target = field.remote_field.model
            target_admin = admin.site._registry.get(target)
            if target._meta.app_label in TENANT_APPS and target_admin is not None and target_admin.search_fields:
                sources.append((model, field.name, target))
    return sources


@pytest.mark.django_db
def test_autocomplete_endpoint_lists_only_own_rows(client, world):
    sources = _autocomplete_sources()
    assert {(m.__name__, f) for m, f, _ in sources} >= {("Booking", "service"), ("Service", "business")}
    for user, sees_b in ((world["owner_a"], False), (world["staff"], True)):
        client.force_login(user)
        for model, field_name, target in sources:
            for term in ("", "barbers", "cut", "customer", "hello"):
                response = client.get(
                    reverse("admin:autocomplete"),
                    {
                        "app_label": model._meta.app_label,
                        "model_name": model._meta.model_name,
                        "field_name": field_name,
                        "term": term,
                    },
                )
                assert response.status_code == 200, (model.__name__, field_name)
                ids = {int(row["id"]) for row in response.json()["results"]}
                b_id = world["b_rows"][target].pk
                if sees_b:
                    assert term or b_id in ids, (model.__name__, field_name)
                else:
                    assert b_id not in ids, (model.__name__, field_name, term)
                    assert _leaks(response.content) == []


@pytest.mark.django_db
def test_autocomplete_of_users_is_refused_to_owners(client, world):
    client.force_login(world["owner_a"])
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "businesses", "model_name": "rolloutpolicychange", "field_name": "changed_by", "term": ""},
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_autocomplete_of_a_services_business_offers_only_the_owners(client, world):
    client.force_login(world["owner_a"])
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "businesses", "model_name": "service", "field_name": "business", "term": ""},
    )
    assert [row["text"] for row in response.json()["results"]] == ["Bella Hair Studio"]


@pytest.mark.django_db
def test_raw_id_label_does_not_name_another_business_row(client, world):
    client.force_login(world["owner_a"])
    call_b = world["b_rows"][Call]
    response = client.get(_url(Booking, "add") + f"?source_call={call_b.pk}")
    assert response.status_code == 200
    assert _leaks(response.content) == []


@pytest.mark.django_db
def test_form_choices_offer_only_the_owners_rows(client, world):
    client.force_login(world["owner_a"])
    form = client.get(_url(Service, "add")).context["adminform"].form
    assert list(form.fields["business"].queryset) == [world["a"]]
    assert form.initial["business"] == world["a"].pk


@pytest.mark.django_db
def test_owner_cannot_create_a_row_for_business_b(client, world):
    client.force_login(world["owner_a"])
    business_b = world["b_rows"][Business]
    response = client.post(
        _url(Service, "add"),
        {
            "business": business_b.pk,
            "name": "Sneaky",
            "duration_minutes": 30,
            "price": "10",
            "currency": "USD",
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert "business" in response.context["adminform"].form.errors
    assert not Service.objects.filter(name="Sneaky").exists()


@pytest.mark.django_db
def test_owner_creates_a_service_for_their_business(client, world):
    client.force_login(world["owner_a"])
    response = client.post(
        _url(Service, "add"),
        {
            "business": world["a"].pk,
            "name": "Shave",
            "duration_minutes": 20,
            "price": "15",
            "currency": "USD",
            "active": "on",
        },
    )
    assert response.status_code == 302
    assert Service.objects.get(name="Shave").business == world["a"]


@pytest.mark.django_db
def test_only_staff_create_businesses_or_change_owners(client, world):
    client.force_login(world["owner_a"])
    assert client.get(_url(Business, "add")).status_code == 403
    page = client.get(_url(Business, "change", world["a"].pk))
    assert "owners" not in page.context["adminform"].form.fields
    client.force_login(world["staff"])
    assert client.get(_url(Business, "add")).status_code == 200
    page = client.get(_url(Business, "change", world["a"].pk))
    assert "owners" in page.context["adminform"].form.fields


@pytest.mark.django_db
def test_owner_edits_their_business_but_not_its_owners(client, world):
    client.force_login(world["owner_a"])
    business = world["a"]
    page = client.get(_url(Business, "change", business.pk))
    data = _inline_form_data(page)
    data.update(name="Bella Hair & Beard", owners=[world["owner_b"].pk])
    response = client.post(_url(Business, "change", business.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    business.refresh_from_db()
    assert business.name == "Bella Hair & Beard"
    assert world["owner_a"] in business.owners.all()
    assert world["owner_b"] not in business.owners.all()


def _inline_form_data(page) -> dict[str, object]:
    """The POST body the change page would send back unchanged (main form and inline formsets)."""
    data: dict[str, object] = {}
    form = page.context["adminform"].form
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        data[name] = "" if value is None else value
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for sub in formset.forms:
            for name in sub.fields:
                value = sub.initial.get(name, sub.fields[name].initial)
                if isinstance(value, models.Model):
                    value = value.pk
                if isinstance(value, dt.time):
                    value = value.strftime("%H:%M:%S")
                if value is None or value is False:
                    continue
                data[sub.add_prefix(name)] = value
    return data


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client, world):
    for url in (
        _url(Booking, "changelist"),
        _url(Business, "change", world["a"].pk),
        reverse("admin:bookings_booking_day"),
        reverse("admin:autocomplete") + "?app_label=bookings&model_name=booking&field_name=service",
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_day_view_shows_only_the_owners_business(client, world):
    b_booking = world["b_rows"][Booking]
    client.force_login(world["owner_a"])
    day = b_booking.start.date().isoformat()
    response = client.get(reverse("admin:bookings_booking_day") + f"?date={day}")
    assert response.status_code == 200
    assert _leaks(response.content) == []
    forced = client.get(reverse("admin:bookings_booking_day") + f"?date={day}&business={b_booking.business_id}")
    assert forced.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "action"), [(Service, "delete_selected"), (Booking, "cancel_bookings")])
def test_actions_ignore_selected_ids_of_business_b(client, world, model, action):
    client.force_login(world["owner_a"])
    b_row = world["b_rows"][model]
    response = client.post(
        _url(model, "changelist"), {"action": action, "_selected_action": [b_row.pk], "post": "yes"}, follow=True
    )
    assert response.status_code == 200
    b_row.refresh_from_db()  # still there, and unchanged
    if model is Booking:
        assert b_row.status == Booking.Status.CONFIRMED
    assert _leaks(response.content) == []
