"""Turn-taking rules: backchannels, the barge-in policy, silence allowances, the VAD-driven detector."""

from __future__ import annotations

import pytest

from calls.voice.ports import Transcript
from calls.voice.turns import (
    BargeInPolicy,
    SilenceAllowance,
    TranscriptCollector,
    TurnDetector,
    content_words,
    is_backchannel,
)


@pytest.mark.parametrize(
    "text", ["mm-hm", "Mm-hmm.", "okay", "Okay, okay.", "yeah", "uh-huh", "right", "uh huh", "all right"]
)
def test_backchannels(text: str) -> None:
    assert is_backchannel(text)


@pytest.mark.parametrize("text", ["", "wait", "okay but Tuesday", "no", "right now please", "yes"])
def test_not_backchannels(text: str) -> None:
    assert not is_backchannel(text)


def test_content_words_drop_backchannels_only() -> None:
    assert content_words("Okay, uh-huh, actually make it Tuesday") == ["actually", "make", "it", "tuesday"]


POLICY = BargeInPolicy(min_speech_ms=250, min_words=1, speech_without_words_ms=500)


@pytest.mark.parametrize(
    ("speech_ms", "heard", "interrupts"),
    [
        (200, "wait, stop", False),  # too short, whatever the words
        (260, "wait", True),
        (260, "mm-hm", False),  # a backchannel never interrupts
        (900, "okay yeah", False),
        (260, "", False),  # no words yet: wait for more speech
        (500, "", True),
        (300, "okay but", True),
    ],
)
def test_barge_in_policy(speech_ms: int, heard: str, interrupts: bool) -> None:
    assert POLICY.should_interrupt(speech_ms=speech_ms, heard_text=heard) is interrupts


def test_min_words_counts_content_words() -> None:
    policy = BargeInPolicy(min_words=2)
    assert not policy.should_interrupt(speech_ms=400, heard_text="okay wait")
    assert policy.should_interrupt(speech_ms=400, heard_text="wait please")


def test_silence_allowance_is_longer_while_collecting_details() -> None:
    allowance = SilenceAllowance()
    assert allowance.seconds("yes_no") < allowance.seconds("open") < allowance.seconds("date")
    assert allowance.seconds("date") <= allowance.seconds("name") < allowance.seconds("phone")
    assert allowance.trusts_recognizer("open")
    assert allowance.trusts_recognizer("yes_no")
    assert not allowance.trusts_recognizer("phone")


def feed(detector: TurnDetector, pattern: str, start: float = 0.0) -> list[float]:
    """Feed 20 ms frames ('s' speech, '.' silence); return the times at which an utterance started."""
    starts = []
    for index, char in enumerate(pattern):
        now = start + (index + 1) * 0.02
        if detector.on_frame(char == "s", now):
            starts.append(now)
    return starts


def test_detector_needs_a_short_run_of_speech_to_start() -> None:
    detector = TurnDetector(speech_start_ms=60)
    assert feed(detector, "s..s..s..") == []  # isolated frames are clicks
    assert feed(detector, "sss", start=1.0) == [pytest.approx(1.06)]
    assert detector.started_at == pytest.approx(1.0)


def test_detector_tolerates_one_gap_frame_while_starting() -> None:
    detector = TurnDetector(speech_start_ms=60)
    assert len(feed(detector, "ss.s")) == 1


def test_detector_measures_speech_and_trailing_silence() -> None:
    detector = TurnDetector(speech_start_ms=60)
    feed(detector, "ssssss..ss.....")
    assert detector.in_utterance
    assert detector.speech_ms == pytest.approx(160)
    assert detector.last_speech_at == pytest.approx(0.20)
    assert detector.silence_ms == pytest.approx(100)
    assert not detector.speaking
    detector.reset()
    assert not detector.in_utterance
    assert detector.silence_ms == 0


def test_transcript_collector_joins_finals_and_interim() -> None:
    collector = TranscriptCollector()
    collector.add(Transcript("I'd like", is_final=False))
    collector.add(Transcript("I'd like a haircut", is_final=True))
    collector.add(Transcript("on fri", is_final=False))
    assert collector.text() == "I'd like a haircut on fri"
    collector.add(Transcript("", is_final=True))
    assert collector.text() == "I'd like a haircut"
    assert collector.final_count == 2
    collector.clear()
    assert collector.text() == ""
