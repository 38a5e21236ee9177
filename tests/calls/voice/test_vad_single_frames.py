"""The VAD's shortcut for Twilio's own 20 ms frames decides as the re-framing path does."""

from __future__ import annotations

import numpy as np

from calls.audio import FRAME_BYTES, ulaw2lin
from calls.voice.vad import VoiceActivityDetector
from tests.fakes.voice_line import NOISE, VOICE


def test_frame_by_frame_matches_one_long_chunk() -> None:
    audio = VOICE[:4000] + NOISE[:4000] + bytes([0xFF]) * 4000
    whole = VoiceActivityDetector().process(ulaw2lin(audio))
    framed = VoiceActivityDetector()
    by_frame = [
        decision
        for start in range(0, len(audio), FRAME_BYTES)
        for decision in framed.process(ulaw2lin(audio[start : start + FRAME_BYTES]))
    ]
    assert by_frame == whole
    assert any(whole)
    assert not all(whole)


def test_a_pending_remainder_is_not_skipped_by_a_whole_frame() -> None:
    vad = VoiceActivityDetector()
    pcm = ulaw2lin(VOICE[:400])
    assert vad.process(pcm[:100]) == []
    decisions = vad.process(pcm[100:260])  # 100 pending + 160 new: one frame, 100 left over
    assert len(decisions) == 1
    assert len(vad.process(np.zeros(60, dtype=np.int16))) == 1
