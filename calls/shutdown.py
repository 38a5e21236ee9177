"""Graceful shutdown of a Zylin process: take no new calls, let live ones finish, lose nothing.

A deploy or a scale-down sends daphne SIGTERM. Twisted's own handler would stop
the reactor at once and cancel every live call mid-sentence. Instead, the first
SIGTERM starts a drain:

1. the process stops taking calls: new media streams are refused and the voice
   webhook sends new calls to the recording path (``streaming_capacity`` reports
   no room);
2. live calls get ``grace_s`` seconds to end on their own;
3. calls still talking after that are handed to the recording path, as after
   repeated provider failures: one sentence, then Twilio's REST API moves the
   call; their turns are already stored (each turn is written as it ends);
4. after at most ``wind_down_s`` more seconds Twisted's handler runs and the
   process exits as usual.

A second SIGTERM during the drain stops the process at once.

Only a daphne process installs this (``zylin.asgi`` calls :func:`install`): the
handler is put in place once Twisted has installed its own, in the main thread.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
import weakref
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calls.voice.session import VoiceSession

logger = logging.getLogger(__name__)

POLL_S = 0.1

_draining = False
_live: weakref.WeakSet[VoiceSession] = weakref.WeakSet()
_drain_task: asyncio.Task[None] | None = None


def draining() -> bool:
    """Whether this process has been asked to stop (it takes no new calls)."""
    return _draining


def session_started(session: VoiceSession) -> None:
    _live.add(session)


def session_ended(session: VoiceSession) -> None:
    _live.discard(session)


def live_sessions() -> list[VoiceSession]:
    return [session for session in _live if not session.ended]


async def drain(*, grace_s: float, wind_down_s: float) -> None:
    """Stop taking calls, wait up to ``grace_s`` for live calls, hand over the rest, wait for them."""
    global _draining
    _draining = True
    logger.warning("shutting down: taking no new calls, %d live", len(live_sessions()))
    if not await _until_idle(grace_s):
        remaining = live_sessions()
        logger.warning("grace period over: handing %d calls to the recording path", len(remaining))
        await asyncio.gather(*(session.hand_over("shutdown") for session in remaining), return_exceptions=True)
        if not await _until_idle(wind_down_s):
            logger.warning("%d calls still live at shutdown", len(live_sessions()))
    logger.warning("shutdown drain complete")


async def _until_idle(timeout_s: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while live_sessions():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


def reset() -> None:
    """Forget the drain (tests, or a process that was told to stop and then kept)."""
    global _draining, _drain_task
    _draining = False
    _drain_task = None


# -- daphne's SIGTERM ------------------------------------------------------------


def install(*, grace_s: float, wind_down_s: float = 15.0) -> bool:
    """Take over SIGTERM once a daphne (Twisted) reactor runs in this process; False elsewhere."""
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is None or threading.current_thread() is not threading.main_thread():
        return False  # not daphne (tests, runserver, Celery), or not where signals can be handled
    reactor.callWhenRunning(_take_over_sigterm, grace_s, wind_down_s)
    return True


def _take_over_sigterm(grace_s: float, wind_down_s: float) -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # a reactor running in a thread (the in-process test server) cannot own signals
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return  # Twisted was told not to handle signals; leave the process as it is

    def stop_now() -> None:
        previous(signal.SIGTERM, None)

    def on_sigterm(number: int, frame: FrameType | None) -> None:
        global _drain_task
        loop = asyncio.get_event_loop()
        if _drain_task is not None:
            logger.warning("second SIGTERM: stopping now")
            loop.call_soon_threadsafe(stop_now)
            return
        loop.call_soon_threadsafe(_start_drain, grace_s, wind_down_s, stop_now)

    signal.signal(signal.SIGTERM, on_sigterm)
    logger.info("graceful shutdown installed: %g s grace for live calls", grace_s)


def _start_drain(grace_s: float, wind_down_s: float, then: Callable[[], Any]) -> None:
    global _drain_task
    _drain_task = asyncio.get_event_loop().create_task(
        drain(grace_s=grace_s, wind_down_s=wind_down_s), name="shutdown-drain"
    )
    _drain_task.add_done_callback(lambda _task: then())
