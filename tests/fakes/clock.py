"""A manual ``Clock``: time moves only when a test advances it, so nothing really sleeps."""

from __future__ import annotations

import asyncio
import heapq
import itertools

SETTLE_MAX_SPINS = 500


async def settle() -> None:
    """Let every task that can run do so before the clock moves on.

    Yields to the event loop until its ready queue stays empty (``_ready`` is
    private to asyncio, so a fixed number of spins is the fallback).
    """
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    quiet = 0
    for _ in range(SETTLE_MAX_SPINS):
        await asyncio.sleep(0)
        if ready is None:
            continue
        quiet = quiet + 1 if not ready else 0
        if quiet >= 3:
            return


class ManualClock:
    """``Clock`` whose ``sleep`` waits for ``advance`` to reach its deadline."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), waiter))
        await waiter

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking sleepers in deadline order and letting them run."""
        target = self._now + seconds
        await settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, waiter = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            if not waiter.done():
                waiter.set_result(None)
                await settle()
        self._now = target
        await settle()

    @property
    def pending_sleepers(self) -> int:
        return sum(1 for _, _, waiter in self._sleepers if not waiter.done())
