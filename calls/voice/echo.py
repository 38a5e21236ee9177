"""Echo mode: the caller's audio goes straight back, for line checks and latency baselines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from calls.twilio_media import media_message
from calls.voice.events import MediaEvent, StartEvent, StopEvent

MAX_SAMPLES = 100_000  # about 33 minutes of 20 ms frames


class SequenceTracker(Protocol):
    def in_order(self, sequence_number: int) -> bool: ...


class EchoStats:
    """Server-side echo latency: from ``feed`` to the echoed frame handed to ``send``.

    Attributes:
        on_sample: called with every latency measured, beyond ``MAX_SAMPLES`` too
            (the wiring points it at the metrics histogram).
    """

    def __init__(self, on_sample: Callable[[float], None] | None = None) -> None:
        self.latencies_ms: list[float] = []
        self.on_sample = on_sample

    def add(self, latency_ms: float) -> None:
        if self.on_sample is not None:
            self.on_sample(latency_ms)
        if len(self.latencies_ms) < MAX_SAMPLES:
            self.latencies_ms.append(latency_ms)

    def percentile(self, fraction: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def summary(self) -> dict[str, float | int | None]:
        return {
            "frames": len(self.latencies_ms),
            "p50_ms": self.percentile(0.50),
            "p99_ms": self.percentile(0.99),
            "max_ms": max(self.latencies_ms, default=None),
        }


async def run_echo(
    inbox: asyncio.Queue[tuple[object, float]],
    send: Callable[[str], Awaitable[None]],
    stats: EchoStats,
    sequence: SequenceTracker,
) -> None:
    """Echo every inbound media frame until the stream stops."""
    stream_sid: str | None = None
    while True:
        event, received_at = await inbox.get()
        if isinstance(event, MediaEvent):
            if stream_sid is not None and sequence.in_order(event.sequence_number):
                await send(media_message(stream_sid, event.payload))
                stats.add((time.perf_counter() - received_at) * 1000)
        elif isinstance(event, StartEvent):
            stream_sid = event.stream_sid
        elif isinstance(event, StopEvent):
            return
