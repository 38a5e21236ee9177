"""Streaming versus recording, side by side: the figures that decide the rollout.

Definitions (over the calls *started* in the range):

* booking completion rate: calls with at least one booking made on the call
  (``Booking.source_call``) that is confirmed now, over all calls;
* transfer rate: calls handed to a human (``Call.transferred``), over all calls;
* hang-up-before-answer rate: calls that ended (any final status) without ever
  being answered (``answered_at`` empty), over all calls;
* voice-to-voice p50/p95: over every turn of those calls that measured it,
  linearly interpolated between the closest ranks (as numpy's default);
* average handle time: mean ``duration_seconds`` of the answered calls;
* cost per call: the sum of ``Call.cost_estimate`` over all calls.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet, Sum

from bookings.models import Booking
from businesses.models import Business
from calls.models import Call, Turn

FINAL_STATUSES = (
    Call.Status.COMPLETED,
    Call.Status.BUSY,
    Call.Status.FAILED,
    Call.Status.NO_ANSWER,
    Call.Status.CANCELED,
)


@dataclass(frozen=True)
class PathFigures:
    """One path's figures; rates are fractions (0..1), None when there were no calls."""

    path: str
    calls: int
    booked_calls: int
    transferred_calls: int
    unanswered_calls: int
    booking_completion_rate: float | None
    transfer_rate: float | None
    hangup_before_answer_rate: float | None
    voice_to_voice_p50_ms: float | None
    voice_to_voice_p95_ms: float | None
    latency_samples: int
    average_handle_seconds: float | None
    total_cost: Decimal
    cost_per_call: Decimal | None


@dataclass(frozen=True)
class Comparison:
    start: dt.date
    end: dt.date  # inclusive
    timezone: str
    streaming: PathFigures
    recording: PathFigures

    @property
    def paths(self) -> tuple[PathFigures, PathFigures]:
        return (self.streaming, self.recording)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) of ``values``, interpolating between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def day_bounds(start: dt.date, end: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """Aware datetimes from ``start`` 00:00 to the midnight after ``end``, in ``timezone``."""
    tz = zoneinfo.ZoneInfo(timezone)
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def _path_figures(path: str, calls: QuerySet[Call]) -> PathFigures:
    confirmed_booking = Booking.objects.filter(source_call=OuterRef("pk"), status=Booking.Status.CONFIRMED)
    totals = calls.aggregate(
        calls=Count("pk"),
        transferred=Count("pk", filter=Q(transferred=True)),
        unanswered=Count("pk", filter=Q(answered_at__isnull=True, status__in=FINAL_STATUSES)),
        handle=Avg("duration_seconds", filter=Q(answered_at__isnull=False, duration_seconds__isnull=False)),
        cost=Sum("cost_estimate"),
    )
    booked = calls.filter(Exists(confirmed_booking)).count()
    latencies = list(
        Turn.objects.filter(call__in=calls, voice_to_voice_ms__isnull=False).values_list("voice_to_voice_ms", flat=True)
    )
    count = totals["calls"]
    total_cost = totals["cost"] or Decimal(0)
    return PathFigures(
        path=path,
        calls=count,
        booked_calls=booked,
        transferred_calls=totals["transferred"],
        unanswered_calls=totals["unanswered"],
        booking_completion_rate=_rate(booked, count),
        transfer_rate=_rate(totals["transferred"], count),
        hangup_before_answer_rate=_rate(totals["unanswered"], count),
        voice_to_voice_p50_ms=percentile(latencies, 50),
        voice_to_voice_p95_ms=percentile(latencies, 95),
        latency_samples=len(latencies),
        average_handle_seconds=totals["handle"],
        total_cost=total_cost,
        cost_per_call=(total_cost / count).quantize(Decimal("0.0001")) if count else None,
    )


def comparison_get(
    *, businesses: Iterable[Business] | QuerySet[Business], start: dt.date, end: dt.date, timezone: str = "UTC"
) -> Comparison:
    """Streaming and recording figures for the calls of ``businesses`` started from ``start`` to ``end``."""
    since, until = day_bounds(start, end, timezone)
    calls = Call.objects.filter(business__in=businesses, started_at__gte=since, started_at__lt=until)
    return Comparison(
        start=start,
        end=end,
        timezone=timezone,
        streaming=_path_figures(Call.Path.STREAMING, calls.filter(path=Call.Path.STREAMING)),
        recording=_path_figures(Call.Path.RECORDING, calls.filter(path=Call.Path.RECORDING)),
    )
