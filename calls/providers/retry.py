"""The one retry and timeout policy shared by every vendor adapter.

Adapters hand in a ``classify`` function that turns their SDK's exceptions
into ``ProviderError``; this module decides what to do with them: retry a
retryable failure a bounded number of times with a short backoff, give up at
once on a non-retryable one, and turn any timeout into a retryable failure.

Streams are retried only until they have produced their first item. Once audio
has reached the caller, replaying a stream from the start would repeat words,
so a failure after the first item is raised to the voice loop instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from calls.voice.faults import provider_fault_note
from calls.voice.ports import ProviderError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A vendor error mapper: returns a ProviderError for failures it recognizes and
# None for anything else, which is then re-raised unchanged (a bug, not an outage).
Classifier = Callable[[BaseException], ProviderError | None]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard an adapter tries before giving up.

    Attributes:
        attempts: Total tries, including the first (1 means no retry).
        timeout_s: Deadline for one try of a call, or for a stream's first item.
        backoff_s: Pause before the second try; doubled before each later one.
        idle_timeout_s: For streams: the longest gap allowed between two items
            after the first. None means no limit.
    """

    attempts: int = 2
    timeout_s: float = 10.0
    backoff_s: float = 0.2
    idle_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")


def retryable_status(status: int | None) -> bool:
    """Whether an HTTP status is worth retrying: timeouts, rate limits and server errors."""
    if status is None:
        return True
    return status in (408, 409, 425, 429) or status >= 500


def status_error(provider: str, status: int | None, detail: object = "") -> ProviderError:
    """A ProviderError for an HTTP (or WebSocket handshake) status code."""
    text = f"{provider} answered HTTP {status}"
    if detail:
        text = f"{text}: {str(detail)[:200]}"
    return ProviderError(text, provider=provider, retryable=retryable_status(status))


def _as_provider_error(
    exc: BaseException, *, provider: str, classify: Classifier, timeout_s: float
) -> ProviderError | None:
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, TimeoutError):
        return ProviderError(f"{provider} did not answer within {timeout_s:g} s", provider=provider, retryable=True)
    return classify(exc)


async def with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    provider: str,
    policy: RetryPolicy,
    classify: Classifier,
) -> T:
    """Await ``fn()`` under ``policy``, retrying retryable failures.

    Raises:
        ProviderError: the last failure once attempts are spent, or the first
            non-retryable one.
    """
    delay = policy.backoff_s
    for attempt in range(1, policy.attempts + 1):
        try:
            async with asyncio.timeout(policy.timeout_s):
                return await fn()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = _as_provider_error(exc, provider=provider, classify=classify, timeout_s=policy.timeout_s)
            if error is None:
                raise
            if not error.retryable or attempt == policy.attempts:
                if error is exc:
                    raise
                raise error from exc
            logger.warning(
                "%s failed (attempt %d of %d), retrying: %s",
                provider,
                attempt,
                policy.attempts,
                error,
                extra={"provider": provider},
            )
            provider_fault_note(provider, error, handling="retried")
        await asyncio.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable: the loop returns or raises")


async def stream_with_retries(
    open_stream: Callable[[], AsyncIterator[T]],
    *,
    provider: str,
    policy: RetryPolicy,
    classify: Classifier,
) -> AsyncGenerator[T, None]:
    """Yield the items of ``open_stream()``, retrying until the first item arrives.

    The first item must come within ``policy.timeout_s`` and each later one
    within ``policy.idle_timeout_s``, so a stalled vendor becomes a
    ``ProviderError`` quickly instead of silence on the line. The underlying
    iterator is always closed, also when the consumer stops early.
    """
    delay = policy.backoff_s
    for attempt in range(1, policy.attempts + 1):
        source = open_stream()
        started = False
        try:
            async with asyncio.timeout(policy.timeout_s):
                first = await anext(source)
            started = True
            yield first
            while True:
                async with asyncio.timeout(policy.idle_timeout_s):
                    item = await anext(source)
                yield item
        except StopAsyncIteration:
            return
        except asyncio.CancelledError:
            raise
        except GeneratorExit:
            raise
        except Exception as exc:
            limit = policy.idle_timeout_s if started else policy.timeout_s
            error = _as_provider_error(exc, provider=provider, classify=classify, timeout_s=limit or 0.0)
            if error is None:
                raise
            if started or not error.retryable or attempt == policy.attempts:
                if error is exc:
                    raise
                raise error from exc
            logger.warning(
                "%s stream failed before its first item (attempt %d of %d), retrying: %s",
                provider,
                attempt,
                policy.attempts,
                error,
                extra={"provider": provider},
            )
            provider_fault_note(provider, error, handling="retried")
        finally:
            await _close_quietly(source)
        await asyncio.sleep(delay)
        delay *= 2


async def _close_quietly(source: AsyncIterator[object]) -> None:
    close = getattr(source, "aclose", None)
    if close is None:
        return
    try:
        await close()
    except asyncio.CancelledError:
        raise
    except Exception:  # the stream already failed; its cleanup error adds nothing
        logger.debug("closing a failed stream raised", exc_info=True)
