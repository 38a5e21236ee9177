"""Rollout policies: staff changes are audited and visible; owners may look but not change."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from businesses.models import RolloutPolicy, RolloutPolicyChange
from tests import factories


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("rollout-staff", "staff@example.com", "pw-for-tests-1")


@pytest.fixture
def owner(demo_business):
    return factories.owner_create(demo_business, username="rollout-owner")


def _form(policy: RolloutPolicy, **changes: object) -> dict[str, object]:
    data = {
        "enabled": "on" if policy.enabled else "",
        "mode": policy.mode,
        "streaming_percent": policy.streaming_percent,
        "hybrid_simple_path": policy.hybrid_simple_path,
        "hybrid_complex_path": policy.hybrid_complex_path,
        # The change history inline is read-only, but its management form is still posted.
        "changes-TOTAL_FORMS": policy.changes.count(),
        "changes-INITIAL_FORMS": policy.changes.count(),
        "changes-MIN_NUM_FORMS": 0,
        "changes-MAX_NUM_FORMS": 1000,
    }
    for index, change in enumerate(policy.changes.all()):
        data[f"changes-{index}-id"] = change.pk
        data[f"changes-{index}-policy"] = policy.pk
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def _change_url(policy: RolloutPolicy) -> str:
    return reverse("admin:businesses_rolloutpolicy_change", args=[policy.pk])


@pytest.mark.django_db
def test_staff_change_is_audited_with_who_when_old_and_new(client, demo_business, staff):
    policy = demo_business.rollout_policy
    client.force_login(staff)
    before = timezone.now()
    response = client.post(_change_url(policy), _form(policy, streaming_percent=25, mode="hybrid"))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""

    policy.refresh_from_db()
    assert (policy.streaming_percent, policy.mode) == (25, "hybrid")
    change = RolloutPolicyChange.objects.get(policy=policy)
    assert change.changed_by == staff
    assert before <= change.changed_at <= timezone.now()
    assert change.old_values["streaming_percent"] == 100
    assert change.old_values["mode"] == "percent"
    assert change.new_values["streaming_percent"] == 25
    assert change.new_values["mode"] == "hybrid"


@pytest.mark.django_db
def test_the_change_history_is_visible_on_the_policy_and_in_its_own_list(client, demo_business, staff, owner):
    policy = demo_business.rollout_policy
    client.force_login(staff)
    client.post(_change_url(policy), _form(policy, streaming_percent=40))

    for user in (staff, owner):
        client.force_login(user)
        page = client.get(_change_url(policy)).content.decode()
        assert "streaming_percent: 100 → 40" in page
        assert "rollout-staff" in page
        listing = client.get(reverse("admin:businesses_rolloutpolicychange_changelist")).content.decode()
        assert "streaming_percent: 100 → 40" in listing


@pytest.mark.django_db
def test_a_save_without_changes_records_nothing(client, demo_business, staff):
    policy = demo_business.rollout_policy
    client.force_login(staff)
    assert client.post(_change_url(policy), _form(policy)).status_code == 302
    assert not RolloutPolicyChange.objects.filter(policy=policy).exists()


@pytest.mark.django_db
def test_owner_change_is_refused_and_not_stored(client, demo_business, owner):
    policy = demo_business.rollout_policy
    client.force_login(owner)
    response = client.post(_change_url(policy), _form(policy, streaming_percent=0))
    assert response.status_code == 403
    policy.refresh_from_db()
    assert policy.streaming_percent == 100
    assert not RolloutPolicyChange.objects.exists()


@pytest.mark.django_db
def test_owner_sees_the_policy_read_only(client, demo_business, owner):
    client.force_login(owner)
    response = client.get(_change_url(demo_business.rollout_policy))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert 'name="streaming_percent"' not in response.content.decode()
    assert client.get(reverse("admin:businesses_rolloutpolicy_add")).status_code == 403


@pytest.mark.django_db
def test_out_of_range_percent_is_a_form_error_and_not_stored(client, demo_business, staff):
    policy = demo_business.rollout_policy
    client.force_login(staff)
    response = client.post(_change_url(policy), _form(policy, streaming_percent=150))
    assert response.status_code == 200
    assert "streaming_percent" in response.context["adminform"].form.errors
    policy.refresh_from_db()
    assert policy.streaming_percent == 100
    assert not RolloutPolicyChange.objects.exists()


@pytest.mark.django_db
def test_staff_creating_a_policy_is_audited_from_nothing(client, staff):
    business = factories.BusinessFactory()
    client.force_login(staff)
    data = {
        "business": business.pk,
        "enabled": "on",
        "mode": "percent",
        "streaming_percent": 30,
        "hybrid_simple_path": "streaming",
        "hybrid_complex_path": "recording",
        "changes-TOTAL_FORMS": 0,
        "changes-INITIAL_FORMS": 0,
        "changes-MIN_NUM_FORMS": 0,
        "changes-MAX_NUM_FORMS": 1000,
    }
    response = client.post(reverse("admin:businesses_rolloutpolicy_add"), data)
    assert response.status_code == 302
    change = RolloutPolicyChange.objects.get(policy__business=business)
    assert change.old_values == {}
    assert change.new_values["streaming_percent"] == 30
    assert change.changed_by == staff
    assert change.changed_at > timezone.now() - dt.timedelta(minutes=1)
