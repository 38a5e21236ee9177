"""Checkpoints for resuming a call: kept for the resume window, in memory or in Redis."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from calls.adapters.session_store import MemorySessionStore, RedisSessionStore

STATE = {"version": 1, "agent": {"history": [["assistant", "Hello"]], "slots": {"service": "Haircut"}}, "turn_index": 3}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_memory_checkpoints_last_for_their_ttl() -> None:
    clock = Clock()
    store = MemorySessionStore(clock=clock)
    await store.save("s1", STATE, ttl_seconds=120)
    loaded = await store.load("s1")
    assert loaded == STATE
    assert loaded is not STATE  # a copy: later changes to the session's state do not leak in
    clock.now += 119
    assert await store.load("s1") == STATE
    clock.now += 2
    assert await store.load("s1") is None
    assert len(store) == 0


async def test_memory_store_refuses_state_that_is_not_json_and_drops_expired_entries() -> None:
    clock = Clock()
    store = MemorySessionStore(clock=clock)
    with pytest.raises(TypeError):
        await store.save("s1", {"when": object()}, ttl_seconds=60)
    await store.save("old", STATE, ttl_seconds=10)
    clock.now += 11
    await store.save("new", STATE, ttl_seconds=10)
    assert len(store) == 1
    assert await store.load("missing") is None


@pytest.fixture(scope="module")
def redis_server(redis_url: str | None) -> Iterator[str]:
    """REDIS_URL when one answers, else a throw-away redis-server on a free port, else skip."""
    if redis_url:
        yield redis_url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no Redis: set REDIS_URL or install redis-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/15"
    deadline = time.monotonic() + 5
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.skip("redis-server did not start")
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=5)


async def test_redis_checkpoints_expire_with_the_resume_window(redis_server: str) -> None:
    store = RedisSessionStore(redis_server, prefix="zylin-test:")
    await store.save("s1", STATE, ttl_seconds=120)
    assert await store.load("s1") == STATE
    ttl = redis.Redis.from_url(redis_server).ttl("zylin-test:s1")
    assert 110 < ttl <= 120
    await store.save("s2", STATE, ttl_seconds=1)
    await asyncio.sleep(1.2)
    assert await store.load("s2") is None
    await store.save("s1", STATE, ttl_seconds=0)  # a zero window forgets the call
    assert await store.load("s1") is None
    await store.aclose()


async def test_a_redis_that_is_down_loses_the_checkpoint_not_the_call() -> None:
    store = RedisSessionStore("redis://127.0.0.1:1/0")
    await store.save("s1", STATE, ttl_seconds=60)
    assert await store.load("s1") is None
    await store.aclose()
