"""The per-process streaming call counter."""

from __future__ import annotations

import threading

import pytest

from calls.capacity import StreamingCapacity, streaming_capacity, streaming_capacity_reset


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_acquire_until_full_then_release() -> None:
    capacity = StreamingCapacity(2)
    assert capacity.acquire("CA1")
    assert capacity.acquire("CA2")
    assert not capacity.available()
    assert not capacity.acquire("CA3")
    capacity.release("CA1")
    assert capacity.available()
    assert capacity.acquire("CA3")
    assert capacity.live == 2


def test_same_call_counts_once_and_double_release_is_harmless() -> None:
    capacity = StreamingCapacity(2)
    assert capacity.acquire("CA1")
    assert capacity.acquire("CA1")
    assert capacity.live == 1
    capacity.release("CA1")
    capacity.release("CA1")
    capacity.release("CA-never-seen")
    assert capacity.in_use == 0


def test_reservation_counts_and_is_claimed_by_acquire() -> None:
    capacity = StreamingCapacity(1)
    assert capacity.reserve("CA1")
    assert not capacity.available()
    assert not capacity.reserve("CA2")
    assert not capacity.acquire("CA2")
    assert capacity.acquire("CA1")  # claims its own reservation even though "full"
    assert (capacity.live, capacity.in_use) == (1, 1)


def test_unclaimed_reservation_lapses() -> None:
    clock = ManualClock()
    capacity = StreamingCapacity(1, reservation_ttl_s=30, clock=clock)
    capacity.reserve("CA1")
    clock.now = 29.9
    assert not capacity.available()
    clock.now = 30.0
    assert capacity.available()


def test_zero_limit_never_streams() -> None:
    capacity = StreamingCapacity(0)
    assert not capacity.available()
    assert not capacity.reserve("CA1")


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        StreamingCapacity(-1)


def test_concurrent_acquires_never_exceed_the_limit() -> None:
    capacity = StreamingCapacity(50)
    granted: list[bool] = []
    lock = threading.Lock()

    def worker(start: int) -> None:
        for n in range(start, start + 40):
            ok = capacity.acquire(f"CA{n}")
            with lock:
                granted.append(ok)

    threads = [threading.Thread(target=worker, args=(i * 40,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 50
    assert capacity.live == 50


def test_process_counter_takes_its_limit_from_settings(settings) -> None:
    settings.VOICE = {**settings.VOICE, "max_streaming_calls": 3}
    streaming_capacity_reset()
    assert streaming_capacity().limit == 3
    assert streaming_capacity() is streaming_capacity()


def test_a_late_disconnect_of_the_old_socket_keeps_the_resumed_calls_slot() -> None:
    capacity = StreamingCapacity(1)
    assert capacity.acquire("CA1", holder="socket-1")
    assert capacity.acquire("CA1", holder="socket-2")  # the stream resumed on a new socket
    capacity.release("CA1", holder="socket-1")  # the old socket's disconnect arrives late
    assert capacity.live == 1
    assert not capacity.acquire("CA2", holder="socket-3")
    capacity.release("CA1", holder="socket-2")
    assert capacity.live == 0
    assert capacity.acquire("CA2", holder="socket-3")


def test_the_call_ending_frees_the_slot_whatever_sockets_hold_it() -> None:
    capacity = StreamingCapacity(1)
    capacity.acquire("CA1", holder="socket-1")
    capacity.acquire("CA1", holder="socket-2")
    capacity.release("CA1")  # Twilio's status callback: the call is over
    assert capacity.in_use == 0
    capacity.release("CA1", holder="socket-2")  # the socket's own release afterwards is harmless
    assert capacity.in_use == 0
