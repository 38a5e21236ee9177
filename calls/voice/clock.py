"""The real clock, and waiting with a timeout measured on an injected clock."""

from __future__ import annotations

import asyncio
import time

from calls.voice.ports import Clock


class MonotonicClock:
    """``Clock`` backed by ``time.monotonic`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


async def wait_event(event: asyncio.Event, clock: Clock, timeout_s: float) -> bool:
    """Wait until ``event`` is set or ``timeout_s`` has passed on ``clock``; True if set.

    ``asyncio.timeout`` reads the event loop's own time, which a test clock does
    not move, so timeouts that shape call behaviour go through here.
    """
    if event.is_set():
        return True
    if timeout_s <= 0:
        return False
    waiter = asyncio.ensure_future(event.wait())
    timer = asyncio.ensure_future(clock.sleep(timeout_s))
    try:
        await asyncio.wait({waiter, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiter, timer):
            task.cancel()
        await asyncio.gather(waiter, timer, return_exceptions=True)
    return event.is_set()
