"""Voice activity detection on 8 kHz phone audio: webrtcvad behind an energy gate.

webrtcvad alone calls steady tones and loud hiss speech and flags a few frames
of digital silence after a loud passage; the energy gate removes the quiet false
alarms. Decisions are per 20 ms frame; input of other lengths is re-framed.
"""

from __future__ import annotations

import numpy as np
import webrtcvad

from calls.audio import PHONE_RATE, Pcm

FRAME_SAMPLES = PHONE_RATE // 50  # 20 ms


class VoiceActivityDetector:
    """Per-20 ms speech decisions for one call's inbound audio.

    Args:
        aggressiveness: webrtcvad mode, 0 (permissive) to 3 (strict).
        min_dbfs: frames quieter than this are silence whatever webrtcvad says.
    """

    def __init__(self, *, aggressiveness: int = 2, min_dbfs: float = -45.0) -> None:
        self._vad = webrtcvad.Vad(aggressiveness)
        # The gate compares mean power, so no logarithm per frame: (32768 * 10^(dB/20))^2.
        self._min_power = (32768.0 * 10 ** (min_dbfs / 20)) ** 2
        self._pending = np.zeros(0, dtype=np.int16)

    def is_speech(self, frame: Pcm) -> bool:
        """Decision for exactly one 20 ms frame (160 samples)."""
        if frame.size != FRAME_SAMPLES:
            raise ValueError(f"expected {FRAME_SAMPLES} samples, got {frame.size}")
        samples = frame.astype(np.float32)
        if float(np.dot(samples, samples)) / FRAME_SAMPLES < self._min_power:
            return False
        return bool(self._vad.is_speech(frame.astype("<i2", copy=False).tobytes(), PHONE_RATE))

    def process(self, pcm: Pcm) -> list[bool]:
        """Decisions for every complete 20 ms frame of ``pcm``; a remainder waits for the next call."""
        if pcm.size == FRAME_SAMPLES and not self._pending.size:
            return [self.is_speech(pcm)]  # Twilio's own 20 ms frame: nothing to re-frame
        samples = np.concatenate((self._pending, pcm)) if self._pending.size else pcm
        whole = samples.size - samples.size % FRAME_SAMPLES
        self._pending = samples[whole:].copy()
        return [self.is_speech(samples[start : start + FRAME_SAMPLES]) for start in range(0, whole, FRAME_SAMPLES)]
