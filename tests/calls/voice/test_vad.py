"""The session's own VAD: webrtcvad behind an energy gate, on 20 ms frames of phone audio."""

from __future__ import annotations

import numpy as np
import pytest

from calls.audio import silence_mulaw, to_int16, ulaw2lin
from calls.voice.vad import VoiceActivityDetector
from tests.fakes.voice_line import VOICE


def test_voiced_audio_is_speech_and_silence_is_not() -> None:
    vad = VoiceActivityDetector()
    speech = vad.process(ulaw2lin(VOICE[:8000]))
    silence = vad.process(ulaw2lin(silence_mulaw(1000)))
    assert len(speech) == len(silence) == 50
    assert sum(speech) >= 45
    assert sum(silence) == 0


def test_quiet_hiss_is_below_the_energy_gate() -> None:
    vad = VoiceActivityDetector(min_dbfs=-45)
    hiss = to_int16(np.random.default_rng(1).normal(0, 60, 8000))  # about -55 dBFS
    assert sum(vad.process(hiss)) == 0


def test_odd_sized_input_is_reframed() -> None:
    vad = VoiceActivityDetector()
    pcm = ulaw2lin(VOICE[:800])
    decisions = vad.process(pcm[:250]) + vad.process(pcm[250:])
    assert len(decisions) == 5


def test_is_speech_wants_exactly_one_frame() -> None:
    with pytest.raises(ValueError, match="160"):
        VoiceActivityDetector().is_speech(np.zeros(80, dtype=np.int16))
