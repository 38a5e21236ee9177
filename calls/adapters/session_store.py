"""``SessionStore``: call checkpoints for resuming after a dropped socket.

A checkpoint is kept for the resume window (its TTL) and no longer. With
``REDIS_URL`` set it lives in Redis, so a stream that reconnects to another
daphne process still finds it; otherwise in this process's memory, which is
enough for one process (``make run``).

Checkpoints are stored as JSON text: a state that does not serialize is
refused at ``save`` rather than discovered at resume.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

KEY_PREFIX = "zylin:voice-session:"


def _encode(state: dict[str, Any]) -> str:
    return json.dumps(state, separators=(",", ":"), sort_keys=True)


def _decode(text: str | bytes | None, session_id: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        state = json.loads(text)
    except ValueError:
        logger.warning("discarded an unreadable checkpoint", extra={"session_id": session_id})
        return None
    return state if isinstance(state, dict) else None


class MemorySessionStore:
    """Checkpoints in this process's memory, each dropped when its TTL runs out.

    Args:
        clock: seconds, monotonic; injected by tests.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._states: dict[str, tuple[float, str]] = {}  # session id -> (expires at, JSON)
        # Calls on several event loops (tests, a threaded server) may share the store.
        self._lock = threading.Lock()

    async def save(self, session_id: str, state: dict[str, Any], *, ttl_seconds: int) -> None:
        text = _encode(state)
        now = self._clock()
        with self._lock:
            for key in [key for key, (expires, _) in self._states.items() if expires <= now]:
                del self._states[key]
            if ttl_seconds > 0:
                self._states[session_id] = (now + ttl_seconds, text)
            else:
                self._states.pop(session_id, None)

    async def load(self, session_id: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._states.get(session_id)
            if entry is None:
                return None
            expires, text = entry
            if expires <= self._clock():
                del self._states[session_id]
                return None
        return _decode(text, session_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._states)


class RedisSessionStore:
    """Checkpoints in Redis (``SET key value EX ttl``), shared by every Zylin process.

    A Redis client belongs to the event loop it first ran on, so one is kept
    per loop. A Redis that is down loses the checkpoint (logged), never the call.

    Args:
        url: ``redis://host:port/db``.
        prefix: key prefix, so several deployments can share one Redis.
    """

    def __init__(self, url: str, *, prefix: str = KEY_PREFIX) -> None:
        self._url = url
        self._prefix = prefix
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = aioredis.Redis.from_url(self._url, socket_connect_timeout=2, socket_timeout=2)
            self._clients[loop] = client
        return client

    def key(self, session_id: str) -> str:
        return self._prefix + session_id

    async def save(self, session_id: str, state: dict[str, Any], *, ttl_seconds: int) -> None:
        text = _encode(state)
        try:
            if ttl_seconds > 0:
                await self._client().set(self.key(session_id), text, ex=ttl_seconds)
            else:
                await self._client().delete(self.key(session_id))
        except RedisError:
            logger.exception("could not save a checkpoint to Redis", extra={"session_id": session_id})

    async def load(self, session_id: str) -> dict[str, Any] | None:
        try:
            text = await self._client().get(self.key(session_id))
        except RedisError:
            logger.exception("could not load a checkpoint from Redis", extra={"session_id": session_id})
            return None
        return _decode(text, session_id)

    async def aclose(self) -> None:
        """Close this loop's client (the others close with their loops)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
