"""Callers racing for one slot: exactly one booking, a clear slot_taken for everyone else.

Each attempt runs in its own thread with its own database connection, so the
database (the PostgreSQL exclusion constraint, or SQLite's serialized
IMMEDIATE transactions) decides, not a lock in Python.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import zoneinfo
from collections import Counter
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction

from bookings.errors import BookingError
from bookings.models import Booking
from bookings.services import booking_create, booking_hold
from tests import factories

ATTEMPTS = 20
ROOT = Path(__file__).resolve().parents[2]
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
START = dt.datetime(2030, 1, 7, 10, 0, tzinfo=NEW_YORK)
NOW = dt.datetime(2030, 1, 7, 7, 0, tzinfo=NEW_YORK)

needs_real_concurrency = pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason=(
        "The SQLite test database lives in shared-cache memory, where a second writer fails at once "
        "with 'table is locked' instead of waiting; SQLite is raced on a database file instead "
        "(test_sqlite_file_serializes_racing_writers)."
    ),
)


def race(attempt, count: int = ATTEMPTS) -> Counter[str]:
    """Run ``attempt(index)`` in ``count`` threads at once; tally "booked" or the error code."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            attempt(index)
            outcome = "booked"
        except BookingError as exc:
            outcome = exc.code
        except Exception as exc:  # anything else is a failure the test must show
            outcome = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return Counter(outcomes)


@needs_real_concurrency
@pytest.mark.django_db(transaction=True)
def test_twenty_callers_for_one_slot_make_one_booking(demo_business):
    haircut = demo_business.services.get(name="Haircut")

    def attempt(index: int) -> None:
        booking_create(
            business=demo_business, service=haircut, start=START, caller_phone=f"+1212555{index:04d}", now=NOW
        )

    outcomes = race(attempt)
    assert outcomes == Counter({"booked": 1, "slot_taken": ATTEMPTS - 1})
    live = Booking.objects.filter(business=demo_business).exclude(status=Booking.Status.CANCELLED)
    assert live.count() == 1


@needs_real_concurrency
@pytest.mark.django_db(transaction=True)
def test_overlapping_starts_from_the_same_caller_make_one_booking(demo_business):
    color = demo_business.services.get(name="Hair color")  # 90 minutes: every start below overlaps every other

    def attempt(index: int) -> None:
        start = START + dt.timedelta(minutes=15 * (index % 4))
        booking_hold(business=demo_business, service=color, start=start, caller_phone="+12125550100", now=NOW)

    outcomes = race(attempt)
    assert outcomes == Counter({"booked": 1, "slot_taken": ATTEMPTS - 1})
    assert Booking.objects.filter(business=demo_business, status=Booking.Status.HELD).count() == 1


# On SQLite the race runs in a child process against a database file, where IMMEDIATE
# transactions make the second writer wait for the first instead of failing.
SQLITE_RACE = """
import collections, datetime as dt, json, threading, zoneinfo
import django
django.setup()
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from bookings.errors import BookingError
from bookings.services import booking_create
from bookings.models import Booking
from businesses.models import Business

call_command("migrate", verbosity=0)
call_command("seed_demo", stdout=open("/dev/null", "w"))
business = Business.objects.get(slug="bella-hair-studio")
haircut = business.services.get(name="Haircut")
zone = zoneinfo.ZoneInfo("America/New_York")
start = dt.datetime(2030, 1, 7, 10, tzinfo=zone)
now = dt.datetime(2030, 1, 7, 7, tzinfo=zone)
count = {count}
barrier = threading.Barrier(count)
outcomes = collections.Counter()
lock = threading.Lock()

def run(index):
    try:
        barrier.wait(timeout=30)
        booking_create(business=business, service=haircut, start=start, caller_phone=f"+1212555{{index:04d}}", now=now)
        outcome = "booked"
    except BookingError as exc:
        outcome = exc.code
    except Exception as exc:
        outcome = f"{{type(exc).__name__}}: {{exc}}"
    finally:
        connection.close()
    with lock:
        outcomes[outcome] += 1

threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
[t.start() for t in threads]
[t.join(timeout=60) for t in threads]
print(json.dumps({{"outcomes": outcomes, "live": Booking.objects.exclude(status="cancelled").count()}}))
"""


@pytest.mark.slow
def test_sqlite_file_serializes_racing_writers(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "zylin.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}",
        "ZYLIN_DEMO_PASSWORD": "race-pass-for-tests",
    }
    result = subprocess.run(
        [sys.executable, "-c", SQLITE_RACE.format(count=ATTEMPTS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"outcomes": {"booked": 1, "slot_taken": ATTEMPTS - 1}, "live": 1}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Exclusion constraints exist only on PostgreSQL.")
@pytest.mark.django_db
def test_the_database_itself_refuses_an_overlapping_live_booking(demo_business):
    # The exclusion constraint holds even for a writer that skips the booking services.
    haircut = demo_business.services.get(name="Haircut")
    customer = factories.CustomerFactory(business=demo_business)
    end = START + dt.timedelta(minutes=30)
    Booking.objects.create(
        business=demo_business,
        service=haircut,
        customer=customer,
        start=START,
        end=end,
        status=Booking.Status.CONFIRMED,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            business=demo_business,
            service=haircut,
            customer=customer,
            start=START + dt.timedelta(minutes=15),
            end=end + dt.timedelta(minutes=15),
            status=Booking.Status.HELD,
        )
    cancelled = Booking.objects.create(
        business=demo_business,
        service=haircut,
        customer=customer,
        start=START,
        end=end,
        status=Booking.Status.CANCELLED,
    )
    assert cancelled.pk
