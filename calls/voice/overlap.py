"""What caller speech over Zylin amounts to, decided frame by frame."""

from __future__ import annotations

from enum import Enum

from calls.voice.turns import BargeInPolicy, TurnDetector


class Overlap(Enum):
    WAIT = "wait"  # not decided yet: keep going as before
    PAUSE = "pause"  # go quiet, keep the answer
    INTERRUPT = "interrupt"  # abandon the answer, the caller has the floor
    OVER = "over"  # a backchannel or a noise that has ended: play on


def overlap_decide(
    policy: BargeInPolicy,
    detector: TurnDetector,
    *,
    heard_text: str,
    turn_ended: bool,
    paused_at: float | None,
    now: float,
) -> Overlap:
    """Args:
    heard_text: the recognizer's words for the caller's utterance so far.
    turn_ended: the caller's silence is long enough to end a turn.
    paused_at: when this speech paused Zylin, or None.
    """
    if detector.speaking and policy.should_interrupt(speech_ms=detector.speech_ms, heard_text=heard_text):
        return Overlap.INTERRUPT
    if paused_at is not None and now - paused_at >= policy.max_pause_s:
        return Overlap.INTERRUPT  # talking on and on: the caller wants the floor
    if turn_ended or (paused_at is not None and detector.silence_ms >= policy.resume_after_silence_ms):
        return Overlap.OVER
    if detector.speaking and paused_at is None and policy.should_pause(speech_ms=detector.speech_ms):
        return Overlap.PAUSE
    return Overlap.WAIT
