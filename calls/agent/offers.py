"""Which free times to offer a caller: the first, the nearest to a wish, or a spread.

A receptionist names two or three times, not thirty: the earliest when asked
for it, the closest to the time the caller wanted, or else a morning, a
midday and a late time, preferring round times because they read better aloud.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from calls.voice.ports import SlotInfo

OFFER_COUNT = 3
PART_RANGES: dict[str, tuple[dt.time, dt.time]] = {
    "morning": (dt.time(0), dt.time(12)),
    "afternoon": (dt.time(12), dt.time(17)),
    "evening": (dt.time(17), dt.time(23, 59)),
}


@dataclass(frozen=True)
class TimeWindow:
    """Which times of a day the caller will take: part of day, after/before bounds, or just the first."""

    part: str | None = None
    after: dt.time | None = None
    before: dt.time | None = None
    earliest: bool = False

    def bounds(self) -> tuple[dt.time, dt.time]:
        low, high = PART_RANGES[self.part] if self.part else (dt.time(0), dt.time(23, 59))
        return max(low, self.after or low), min(high, self.before or high)

    def strict(self) -> bool:
        """After/before bounds are the caller's limits: nothing outside them is offered."""
        return self.after is not None or self.before is not None


def offer_pick(
    slots: list[SlotInfo], *, tz: dt.tzinfo, preferred: dt.time | None = None, window: TimeWindow | None = None
) -> list[SlotInfo]:
    """The few slots to offer, in time order. A part of day with nothing free falls back to the whole day."""
    window = window or TimeWindow()

    def wall(slot: SlotInfo) -> dt.time:
        return slot.start.astimezone(tz).time()

    low, high = window.bounds()
    within = [s for s in slots if low <= wall(s) < high]
    slots = within if within or window.strict() else slots
    if window.earliest:
        return slots[:1]
    if preferred is not None:
        wished = dt.datetime.combine(dt.date.min, preferred)

        def distance(slot: SlotInfo) -> float:
            return abs((dt.datetime.combine(dt.date.min, wall(slot)) - wished).total_seconds())

        return sorted(sorted(slots, key=distance)[:OFFER_COUNT], key=lambda s: s.start)
    round_times = [s for s in slots if wall(s).minute in (0, 30)]
    pool = round_times if len(round_times) >= OFFER_COUNT else slots
    if len(pool) <= OFFER_COUNT:
        return pool
    step = (len(pool) - 1) / (OFFER_COUNT - 1)
    return [pool[round(i * step)] for i in range(OFFER_COUNT)]
