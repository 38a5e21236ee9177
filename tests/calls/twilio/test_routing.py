"""The router as a decision table, and its percent buckets as a distribution."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from calls.routing import HYBRID_GATHER_REASON, FirstIntent, RoutePath, call_bucket, path_choose


@dataclass
class Policy:
    enabled: bool = True
    mode: str = "percent"
    streaming_percent: int = 50
    hybrid_simple_path: str = "streaming"
    hybrid_complex_path: str = "recording"


def sid_in_bucket(bucket: int) -> str:
    """A CallSid whose bucket is ``bucket`` (found by search, so the test owns no hash)."""
    for n in range(100_000):
        sid = f"CA{n:032x}"
        if call_bucket(sid) == bucket:
            return sid
    raise AssertionError("no sid found")


LOW = sid_in_bucket(5)  # streams at any percent above 5
HIGH = sid_in_bucket(95)  # streams only above 95
SIMPLE = FirstIntent(kind="simple", topic="hours")
COMPLEX = FirstIntent(kind="complex", topic="booking")

S, R, G = RoutePath.STREAMING, RoutePath.RECORDING, RoutePath.GATHER

DECISION_TABLE = [
    # policy, call, first intent, capacity, open, after-hours -> path, reason
    (None, LOW, None, True, True, "record", R, "no rollout policy: recording"),
    (Policy(enabled=False, streaming_percent=100), LOW, None, True, True, "record", R, "rollout disabled: recording"),
    (Policy(streaming_percent=50), LOW, None, True, True, "record", S, "bucket 5 < 50% streaming"),
    (Policy(streaming_percent=50), HIGH, None, True, True, "record", R, "bucket 95 ≥ 50% streaming: recording"),
    (Policy(streaming_percent=0), LOW, None, True, True, "record", R, "bucket 5 ≥ 0% streaming: recording"),
    (Policy(streaming_percent=100), HIGH, None, True, True, "record", S, "bucket 95 < 100% streaming"),
    (Policy(streaming_percent=100), LOW, None, False, True, "record", R, "streaming capacity full: recording"),
    (Policy(streaming_percent=100), LOW, None, True, False, "record", R, "after hours: taking a message"),
    (Policy(streaming_percent=0), HIGH, None, True, False, "stream", S, "after hours: answering on streaming"),
    (
        Policy(streaming_percent=100),
        LOW,
        None,
        False,
        False,
        "stream",
        R,
        "after hours, but streaming capacity full: recording",
    ),
    (Policy(enabled=False), LOW, None, True, False, "stream", R, "rollout disabled: recording"),
    (Policy(mode="hybrid"), LOW, None, True, True, "record", G, HYBRID_GATHER_REASON),
    (Policy(mode="hybrid"), LOW, SIMPLE, True, True, "record", S, "hybrid: simple intent (hours) → streaming"),
    (Policy(mode="hybrid"), LOW, COMPLEX, True, True, "record", R, "hybrid: complex intent (booking) → recording"),
    (
        Policy(mode="hybrid", hybrid_simple_path="recording", hybrid_complex_path="streaming"),
        LOW,
        SIMPLE,
        True,
        True,
        "record",
        R,
        "hybrid: simple intent (hours) → recording",
    ),
    (
        Policy(mode="hybrid", hybrid_simple_path="recording", hybrid_complex_path="streaming"),
        LOW,
        COMPLEX,
        True,
        True,
        "record",
        S,
        "hybrid: complex intent (booking) → streaming",
    ),
    (Policy(mode="hybrid"), LOW, SIMPLE, False, True, "record", R, "streaming capacity full: recording"),
    (Policy(mode="hybrid"), LOW, None, False, True, "record", R, "streaming capacity full: recording"),
]


@pytest.mark.parametrize(
    ("policy", "sid", "intent", "capacity", "is_open", "after_hours", "path", "reason"), DECISION_TABLE
)
def test_decision_table(policy, sid, intent, capacity, is_open, after_hours, path, reason) -> None:
    decision = path_choose(
        policy=policy,
        call_sid=sid,
        first_intent=intent,
        capacity_available=capacity,
        business_open=is_open,
        after_hours=after_hours,
    )
    assert (decision.path, decision.reason) == (path, reason)


def test_bucket_is_sha256_of_the_sid_mod_100() -> None:
    sid = "CA0123456789abcdef0123456789abcdef"
    expected = int.from_bytes(hashlib.sha256(sid.encode()).digest()[:8], "big") % 100
    assert call_bucket(sid) == expected
    assert call_bucket(sid) == call_bucket(sid)


def test_same_call_always_takes_the_same_path() -> None:
    policy = Policy(streaming_percent=37)
    for n in range(200):
        sid = f"CA{n:032x}"
        first = path_choose(policy=policy, call_sid=sid)
        assert all(path_choose(policy=policy, call_sid=sid) == first for _ in range(3))


@pytest.mark.parametrize("percent", [0, 10, 50, 100])
def test_distribution_over_10000_call_sids(percent: int) -> None:
    policy = Policy(streaming_percent=percent)
    sids = [f"CA{hashlib.md5(str(n).encode()).hexdigest()}" for n in range(10_000)]
    streaming = sum(path_choose(policy=policy, call_sid=sid).path == S for sid in sids)
    share = streaming / len(sids)
    if percent in (0, 100):
        assert streaming == len(sids) * percent // 100
    else:
        # Binomial standard deviation at n=10,000 is at most 0.5 points; allow 4 sigma.
        assert abs(share - percent / 100) < 0.02, share


def test_raising_the_percentage_only_adds_streaming_calls() -> None:
    """A call streaming at 10% still streams at 50%: rollouts grow without flipping calls back."""
    sids = [f"CA{n:032x}" for n in range(2000)]
    at_10 = {s for s in sids if path_choose(policy=Policy(streaming_percent=10), call_sid=s).path == S}
    at_50 = {s for s in sids if path_choose(policy=Policy(streaming_percent=50), call_sid=s).path == S}
    assert at_10
    assert at_10 < at_50


def test_percent_outside_range_is_clamped() -> None:
    assert path_choose(policy=Policy(streaming_percent=150), call_sid=HIGH).path == S
    assert path_choose(policy=Policy(streaming_percent=-5), call_sid=LOW).path == R
