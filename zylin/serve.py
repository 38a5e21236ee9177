"""``python -m zylin.serve``: daphne's command line, on uvloop's event loop.

daphne runs Twisted on an asyncio loop it creates when ``daphne.server`` is
first imported, so the loop policy has to be set before that import. uvloop
(libuv) handles the many small WebSocket frames of live calls with less CPU
than the standard loop; with 200 concurrent calls on two cores that was the
difference between callers waiting longer for answers and not. Set
``ZYLIN_UVLOOP=0`` to run on the standard loop; without uvloop installed it is
used anyway.
"""

from __future__ import annotations

import asyncio
import os


def event_loop_choose() -> str:
    """Install uvloop's loop policy unless turned off or missing; return the loop's name."""
    if os.environ.get("ZYLIN_UVLOOP", "1") == "0":
        return "asyncio"
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def main() -> None:
    event_loop_choose()
    from daphne.cli import CommandLineInterface

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
