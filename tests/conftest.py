"""Shared fixtures: the demo business, owners, a caller number."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command

from businesses.models import Business


@pytest.fixture
def demo_business(db) -> Business:
    """Bella Hair Studio, exactly as `manage.py seed_demo` creates it."""
    os.environ.setdefault("ZYLIN_DEMO_PASSWORD", "demo-pass-for-tests")
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return Business.objects.get(slug="bella-hair-studio")


@pytest.fixture
def caller() -> str:
    return "+15551230000"


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    """REDIS_URL when a Redis answers there, else None (tests needing it skip)."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return None
    return url
