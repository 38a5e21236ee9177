"""The shared retry and timeout policy, on plain coroutines and generators."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from calls.providers.retry import (
    RetryPolicy,
    retryable_status,
    status_error,
    stream_with_retries,
    with_retries,
)
from calls.voice.ports import ProviderError


class VendorDown(Exception):
    pass


class VendorRefused(Exception):
    pass


def classify(exc: BaseException) -> ProviderError | None:
    if isinstance(exc, VendorDown):
        return ProviderError("down", provider="acme", retryable=True)
    if isinstance(exc, VendorRefused):
        return ProviderError("refused", provider="acme", retryable=False)
    return None


FAST = RetryPolicy(attempts=3, timeout_s=0.2, backoff_s=0.001)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(None, True), (400, False), (401, False), (404, False), (408, True), (429, True), (500, True), (503, True)],
)
def test_status_classification(status: int | None, retryable: bool) -> None:
    assert retryable_status(status) is retryable
    error = status_error("acme", status, {"detail": "x"})
    assert error.provider == "acme"
    assert error.retryable is retryable
    assert str(status) in str(error)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(timeout_s=0)


async def test_retryable_failure_is_retried_until_success() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise VendorDown
        return "ok"

    assert await with_retries(flaky, provider="acme", policy=FAST, classify=classify) == "ok"
    assert calls == 3


async def test_retryable_failure_gives_up_after_the_attempts() -> None:
    calls = 0

    async def down() -> str:
        nonlocal calls
        calls += 1
        raise VendorDown

    with pytest.raises(ProviderError) as caught:
        await with_retries(down, provider="acme", policy=FAST, classify=classify)
    assert caught.value.retryable is True
    assert isinstance(caught.value.__cause__, VendorDown)
    assert calls == 3


async def test_non_retryable_failure_is_raised_at_once() -> None:
    calls = 0

    async def refused() -> str:
        nonlocal calls
        calls += 1
        raise VendorRefused

    with pytest.raises(ProviderError) as caught:
        await with_retries(refused, provider="acme", policy=FAST, classify=classify)
    assert caught.value.retryable is False
    assert calls == 1


async def test_timeout_becomes_retryable_provider_error() -> None:
    calls = 0

    async def hangs() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(10)
        return "never"

    policy = RetryPolicy(attempts=2, timeout_s=0.05, backoff_s=0.001)
    with pytest.raises(ProviderError) as caught:
        await with_retries(hangs, provider="acme", policy=policy, classify=classify)
    assert caught.value.retryable is True
    assert "0.05" in str(caught.value)
    assert calls == 2


async def test_unknown_exceptions_are_bugs_and_pass_through() -> None:
    async def broken() -> str:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await with_retries(broken, provider="acme", policy=FAST, classify=classify)


async def _items(
    values: list[bytes], *, fail_after: int | None = None, hang_after: int | None = None
) -> AsyncIterator[bytes]:
    for index, value in enumerate(values):
        if fail_after == index:
            raise VendorDown
        if hang_after == index:
            await asyncio.sleep(10)
        yield value


async def collect(stream: AsyncIterator[bytes]) -> list[bytes]:
    return [item async for item in stream]


async def test_stream_is_retried_when_it_fails_before_its_first_item() -> None:
    opened = 0

    def open_stream() -> AsyncIterator[bytes]:
        nonlocal opened
        opened += 1
        return _items([b"a", b"b"], fail_after=0 if opened == 1 else None)

    items = await collect(stream_with_retries(open_stream, provider="acme", policy=FAST, classify=classify))
    assert items == [b"a", b"b"]
    assert opened == 2


async def test_stream_failure_after_first_item_is_not_retried() -> None:
    opened = 0

    def open_stream() -> AsyncIterator[bytes]:
        nonlocal opened
        opened += 1
        return _items([b"a", b"b", b"c"], fail_after=2)

    received: list[bytes] = []

    async def consume() -> None:
        async for item in stream_with_retries(open_stream, provider="acme", policy=FAST, classify=classify):
            received.append(item)

    with pytest.raises(ProviderError):
        await consume()
    assert received == [b"a", b"b"]
    assert opened == 1


async def test_stream_stall_after_first_item_hits_the_idle_timeout() -> None:
    policy = RetryPolicy(attempts=2, timeout_s=1.0, backoff_s=0.001, idle_timeout_s=0.05)
    received: list[bytes] = []

    async def consume() -> None:
        async for item in stream_with_retries(
            lambda: _items([b"a", b"b"], hang_after=1), provider="acme", policy=policy, classify=classify
        ):
            received.append(item)

    with pytest.raises(ProviderError) as caught:
        await consume()
    assert received == [b"a"]
    assert caught.value.retryable is True


async def test_stream_with_no_first_item_in_time_fails_after_the_attempts() -> None:
    opened = 0

    def open_stream() -> AsyncIterator[bytes]:
        nonlocal opened
        opened += 1
        return _items([b"a"], hang_after=0)

    policy = RetryPolicy(attempts=2, timeout_s=0.05, backoff_s=0.001)
    with pytest.raises(ProviderError):
        await collect(stream_with_retries(open_stream, provider="acme", policy=policy, classify=classify))
    assert opened == 2


async def test_stream_source_is_closed_when_the_consumer_stops_early() -> None:
    closed = asyncio.Event()

    async def source() -> AsyncIterator[bytes]:
        try:
            for value in (b"a", b"b", b"c"):
                yield value
        finally:
            closed.set()

    stream = stream_with_retries(source, provider="acme", policy=FAST, classify=classify)
    assert await anext(stream) == b"a"
    await stream.aclose()
    assert closed.is_set()


async def test_cancelling_a_stream_consumer_closes_the_source() -> None:
    closed = asyncio.Event()
    first = asyncio.Event()

    async def source() -> AsyncIterator[bytes]:
        try:
            yield b"a"
            await asyncio.sleep(10)
            yield b"b"
        finally:
            closed.set()

    async def consume() -> None:
        async for _ in stream_with_retries(source, provider="acme", policy=FAST, classify=classify):
            first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed.is_set()
