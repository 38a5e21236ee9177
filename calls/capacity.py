"""How many streaming calls this process may carry at once.

Each daphne process runs its calls' voice loops on its own cores, so the limit
is per process (``settings.VOICE["max_streaming_calls"]``). The voice webhook
reserves a slot when it sends a call to streaming; the media socket turns the
reservation into a live slot on ``acquire`` and frees it on ``release``. A
reservation that is never claimed (the caller hung up before the stream opened,
or the socket landed on another process) lapses after ``reservation_ttl_s``.

Slots are keyed by CallSid, so a retried webhook never counts a call twice.
While a dropped stream resumes, two sockets of one call can overlap: each
socket holds the slot under its own ``holder``, and the slot frees when the
last of them lets go (the old socket's late disconnect does not free the
resumed call's slot). A ``release`` without a holder means the call is over.
The webhook runs in a worker thread and the socket in the event loop, hence
the lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

from django.conf import settings

from calls.shutdown import draining

DEFAULT_RESERVATION_TTL_S = 30.0
_WHOLE_CALL = object()


class StreamingCapacity:
    """A counter of live and reserved streaming calls with a fixed limit."""

    def __init__(
        self,
        limit: int,
        *,
        reservation_ttl_s: float = DEFAULT_RESERVATION_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 0:
            raise ValueError("limit must not be negative")
        self.limit = limit
        self._reservation_ttl_s = reservation_ttl_s
        self._clock = clock
        self._live: dict[str, set[Hashable]] = {}  # CallSid -> the sockets holding it
        self._reserved: dict[str, float] = {}  # CallSid -> expiry (clock time)
        self._lock = threading.Lock()

    def _expire_reservations(self) -> None:
        now = self._clock()
        for key in [key for key, expires in self._reserved.items() if expires <= now]:
            del self._reserved[key]

    def _in_use(self) -> int:
        return len(self._live) + len(self._reserved)

    def available(self) -> bool:
        """Whether one more streaming call fits (never while the process shuts down)."""
        if draining():
            return False
        with self._lock:
            self._expire_reservations()
            return self._in_use() < self.limit

    def reserve(self, key: str) -> bool:
        """Hold a slot for a call about to open its stream; False when full or shutting down."""
        if draining():
            return False
        with self._lock:
            self._expire_reservations()
            if key in self._live:
                return True
            if key not in self._reserved and self._in_use() >= self.limit:
                return False
            self._reserved[key] = self._clock() + self._reservation_ttl_s
            return True

    def acquire(self, key: str, holder: Hashable = None) -> bool:
        """Count a stream as live, claiming its reservation if any; False when full or shutting down."""
        if draining():
            return False
        with self._lock:
            self._expire_reservations()
            if key in self._live:
                self._live[key].add(holder)
                return True
            if self._reserved.pop(key, None) is None and self._in_use() >= self.limit:
                return False
            self._live[key] = {holder}
            return True

    def release(self, key: str, holder: Hashable = _WHOLE_CALL) -> None:
        """One socket lets go of the call's slot; without ``holder`` the call is over.

        Harmless when the call holds nothing.
        """
        with self._lock:
            if holder is _WHOLE_CALL:
                self._live.pop(key, None)
                self._reserved.pop(key, None)
                return
            holders = self._live.get(key)
            if holders is not None:
                holders.discard(holder)
                if not holders:
                    del self._live[key]

    @property
    def live(self) -> int:
        with self._lock:
            return len(self._live)

    @property
    def in_use(self) -> int:
        with self._lock:
            self._expire_reservations()
            return self._in_use()


_process_capacity: StreamingCapacity | None = None
_process_lock = threading.Lock()


def streaming_capacity() -> StreamingCapacity:
    """This process's counter, created on first use from settings."""
    global _process_capacity
    with _process_lock:
        if _process_capacity is None:
            _process_capacity = StreamingCapacity(int(settings.VOICE["max_streaming_calls"]))
        return _process_capacity


def streaming_capacity_reset(limit: int | None = None) -> StreamingCapacity:
    """Start a fresh counter (settings changed, or a test wants a clean slate)."""
    global _process_capacity
    with _process_lock:
        _process_capacity = StreamingCapacity(int(settings.VOICE["max_streaming_calls"]) if limit is None else limit)
        return _process_capacity
