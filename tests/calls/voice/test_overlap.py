"""Caller speech over Zylin: pause at once, then interrupt, or play on once it was only a sound."""

from __future__ import annotations

import pytest

from calls.voice.overlap import Overlap, overlap_decide
from calls.voice.turns import BargeInPolicy, TurnDetector

POLICY = BargeInPolicy(min_speech_ms=400, pause_after_ms=220, resume_after_silence_ms=400, max_pause_s=3.0)


def detector_after(frames: str) -> TurnDetector:
    """A detector fed one 20 ms decision per character: ``s`` speech, ``.`` silence."""
    detector = TurnDetector(speech_start_ms=60)
    for index, frame in enumerate(frames):
        detector.on_frame(frame == "s", index * 0.02)
    return detector


def decide(frames: str, heard: str = "", *, paused_at: float | None = None, now: float = 10.0) -> Overlap:
    return overlap_decide(
        POLICY, detector_after(frames), heard_text=heard, turn_ended=False, paused_at=paused_at, now=now
    )


@pytest.mark.parametrize(
    ("frames", "heard", "paused_at", "expected"),
    [
        ("s" * 10, "", None, Overlap.WAIT),  # 200 ms: a short noise never pauses
        ("s" * 11, "", None, Overlap.PAUSE),  # 220 ms: go quiet at once
        ("s" * 15, "", 9.9, Overlap.WAIT),  # paused, words not in yet
        ("s" * 20, "wait", 9.9, Overlap.INTERRUPT),  # 400 ms with a content word
        ("s" * 20, "okay", 9.9, Overlap.WAIT),  # only a backchannel so far
        ("s" * 20 + "." * 20, "okay", 9.9, Overlap.OVER),  # it ended: play on
        ("s" * 20 + "." * 10, "okay", 9.9, Overlap.WAIT),  # too short a silence to resume yet
        ("s" * 30, "okay yeah", 6.9, Overlap.INTERRUPT),  # talking on over a pause for 3 s
    ],
)
def test_overlap_decisions(frames: str, heard: str, paused_at: float | None, expected: Overlap) -> None:
    assert decide(frames, heard, paused_at=paused_at) is expected


def test_a_long_enough_silence_ends_an_unpaused_overlap_too() -> None:
    detector = detector_after("s" * 8 + "." * 30)
    result = overlap_decide(POLICY, detector, heard_text="", turn_ended=True, paused_at=None, now=1.0)
    assert result is Overlap.OVER
