"""Test tones for the fake vendor servers (PCM and G.711 mu-law)."""

from __future__ import annotations

import numpy as np

_BIAS = 0x84
_CLIP = 32635


def tone_pcm16(seconds: float, *, rate: int, frequency: float = 440.0, level: float = 0.3) -> bytes:
    """A sine tone as signed 16-bit little-endian mono PCM."""
    count = round(seconds * rate)
    t = np.arange(count) / rate
    samples = np.sin(2 * np.pi * frequency * t) * level * 32767
    return samples.astype("<i2").tobytes()


def mulaw_from_pcm16(pcm: bytes) -> bytes:
    """G.711 mu-law encoding of 16-bit PCM (the textbook algorithm)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    sign = np.where(samples < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(samples), _CLIP) + _BIAS
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    encoded = ~(sign | (exponent << 4) | mantissa) & 0xFF
    return encoded.astype(np.uint8).tobytes()


def tone_mulaw(seconds: float, *, frequency: float = 440.0) -> bytes:
    """A sine tone as 8 kHz mu-law, the format Twilio and Zylin speak."""
    return mulaw_from_pcm16(tone_pcm16(seconds, rate=8000, frequency=frequency))
