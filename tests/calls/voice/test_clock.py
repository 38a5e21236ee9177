"""Clocks: the real monotonic clock, the manual test clock, and timeouts measured on either."""

from __future__ import annotations

import asyncio

from calls.voice.clock import MonotonicClock, wait_event
from tests.fakes.clock import ManualClock


async def test_monotonic_clock_moves_forward() -> None:
    clock = MonotonicClock()
    before = clock.now()
    await clock.sleep(0.001)
    assert clock.now() > before


async def test_manual_clock_wakes_sleepers_in_deadline_order() -> None:
    clock = ManualClock(start=10.0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))

    tasks = [asyncio.create_task(sleeper("late", 2.0)), asyncio.create_task(sleeper("early", 0.5))]
    await clock.advance(1.0)
    assert woke == [("early", 10.5)]
    await clock.advance(1.0)
    assert woke == [("early", 10.5), ("late", 12.0)]
    assert clock.now() == 12.0
    await asyncio.gather(*tasks)


async def test_wait_event_times_out_on_the_injected_clock() -> None:
    clock = ManualClock()
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_event(event, clock, 1.0))
    await clock.advance(0.9)
    assert not waiter.done()
    await clock.advance(0.2)
    assert waiter.done()
    assert waiter.result() is False
    assert clock.pending_sleepers == 0


async def test_wait_event_returns_as_soon_as_the_event_is_set() -> None:
    clock = ManualClock()
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_event(event, clock, 5.0))
    await clock.advance(0.1)
    event.set()
    await clock.advance(0)
    assert waiter.result() is True
    assert clock.pending_sleepers == 0  # the timer was cancelled, not left behind
