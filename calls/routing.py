"""Which path a call takes: streaming (the real-time loop) or recording (take a message).

``path_choose`` is a pure function of the business's rollout policy and facts about
the call, so the same inputs always give the same decision. Percent mode buckets on
a SHA-256 of the CallSid (never ``random``): a retried webhook, or a second look at
the same call, lands in the same bucket, and over many calls the share of streaming
calls matches the configured percentage. Every decision carries a sentence that the
admin shows as the call's route reason.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Literal, Protocol

BUCKETS = 100
HYBRID_GATHER_REASON = "hybrid: listening for the caller's first sentence"


class RoutePath(enum.StrEnum):
    STREAMING = "streaming"
    RECORDING = "recording"
    # Hybrid mode before the caller has spoken: capture the first sentence, then route.
    GATHER = "gather"


IntentKind = Literal["simple", "complex"]


class PolicyLike(Protocol):
    """The fields of ``businesses.RolloutPolicy`` the router reads."""

    enabled: bool
    mode: str
    streaming_percent: int
    hybrid_simple_path: str
    hybrid_complex_path: str


@dataclass(frozen=True)
class FirstIntent:
    """The hybrid classifier's verdict on the caller's opening sentence."""

    kind: IntentKind
    topic: str


@dataclass(frozen=True)
class RouteDecision:
    path: RoutePath
    reason: str


def call_bucket(call_sid: str) -> int:
    """A stable bucket in [0, 100) for a CallSid."""
    digest = hashlib.sha256(call_sid.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def path_choose(
    *,
    policy: PolicyLike | None,
    call_sid: str,
    first_intent: FirstIntent | None = None,
    capacity_available: bool = True,
    business_open: bool = True,
    after_hours: Literal["record", "stream"] = "record",
) -> RouteDecision:
    """Decide the call's path; the reason is written for the admin.

    Order of rules: no or disabled policy, after-hours behaviour, streaming
    capacity, then the policy's mode (percent buckets or the hybrid intent).
    """
    if policy is None:
        return RouteDecision(RoutePath.RECORDING, "no rollout policy: recording")
    if not policy.enabled:
        return RouteDecision(RoutePath.RECORDING, "rollout disabled: recording")
    if not business_open:
        if after_hours == "record":
            return RouteDecision(RoutePath.RECORDING, "after hours: taking a message")
        if not capacity_available:
            return RouteDecision(RoutePath.RECORDING, "after hours, but streaming capacity full: recording")
        return RouteDecision(RoutePath.STREAMING, "after hours: answering on streaming")
    if not capacity_available:
        return RouteDecision(RoutePath.RECORDING, "streaming capacity full: recording")
    if policy.mode == "hybrid":
        return _hybrid(policy, first_intent)
    return _percent(policy, call_sid)


def _percent(policy: PolicyLike, call_sid: str) -> RouteDecision:
    percent = max(0, min(BUCKETS, int(policy.streaming_percent)))
    bucket = call_bucket(call_sid)
    if bucket < percent:
        return RouteDecision(RoutePath.STREAMING, f"bucket {bucket} < {percent}% streaming")
    return RouteDecision(RoutePath.RECORDING, f"bucket {bucket} ≥ {percent}% streaming: recording")


def _hybrid(policy: PolicyLike, first_intent: FirstIntent | None) -> RouteDecision:
    if first_intent is None:
        return RouteDecision(RoutePath.GATHER, HYBRID_GATHER_REASON)
    configured = policy.hybrid_simple_path if first_intent.kind == "simple" else policy.hybrid_complex_path
    path = RoutePath.STREAMING if configured == RoutePath.STREAMING else RoutePath.RECORDING
    return RouteDecision(path, f"hybrid: {first_intent.kind} intent ({first_intent.topic}) → {path.value}")
