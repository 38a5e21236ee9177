"""Fixtures for the booking services: the demo business on a fixed Monday."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from businesses.models import Business, Service

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
MONDAY = dt.date(2030, 1, 7)


def at(hour: int, minute: int = 0, day: dt.date = MONDAY) -> dt.datetime:
    """An instant on the demo business's wall clock."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK)


@pytest.fixture
def now() -> dt.datetime:
    """Monday morning before opening."""
    return at(7)


@pytest.fixture
def haircut(demo_business: Business) -> Service:
    return demo_business.services.get(name="Haircut")
