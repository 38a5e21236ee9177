"""Local servers that speak vendors' wire protocols, so the real SDKs run in tests.

Each fake binds 127.0.0.1 on a free port, records what it received, and can be
told to fail in the ways the vendor does (refused key, 5xx, dropped socket, stall).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_until(predicate: Callable[[], bool], *, within_s: float = 2.0) -> None:
    """Poll ``predicate()`` until it holds, for asserting on what a fake received."""
    async with asyncio.timeout(within_s):
        while not predicate():
            await asyncio.sleep(0.005)
