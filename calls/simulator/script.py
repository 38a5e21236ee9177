"""What the simulated caller says: lines of phone audio, and where the speech is in them.

A line is 8 kHz mu-law, as Twilio would carry it: text synthesized with the
local piper voice (``calls.providers.piper_tts`` already renders phone audio),
a WAV file converted to the phone format, a burst of noise, or DTMF digits.
Latency is measured from where the speech really ends, so every line knows
the span of its audio that is above the line's noise floor.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from calls.audio import FRAME_BYTES, PHONE_RATE, lin2ulaw, read_wav_as_mulaw, rms_dbfs, to_int16, ulaw2lin

# A 20 ms frame louder than this counts as speech when finding a line's speech span.
SPEECH_FLOOR_DBFS = -45.0


@dataclass(frozen=True)
class CallerLine:
    """One thing the caller does.

    Attributes:
        label: how the report names the line (``say: ...``, ``wav: ...``).
        audio: 8 kHz mu-law, empty for DTMF.
        speech_start_s, speech_end_s: the voiced span within ``audio``.
        text: the words, when known (``say`` lines, fixtures with a transcript).
        digits: DTMF keys to press instead of speaking.
        over_reply_s: speak this long after Zylin's reply starts playing, over
            it (barge-in), instead of waiting for Zylin to finish.
    """

    label: str
    audio: bytes = b""
    speech_start_s: float = 0.0
    speech_end_s: float = 0.0
    text: str = ""
    digits: str = ""
    over_reply_s: float | None = None

    @property
    def seconds(self) -> float:
        return len(self.audio) / PHONE_RATE

    def over_reply(self, seconds: float | None) -> CallerLine:
        return replace(self, over_reply_s=seconds)


def speech_span(mulaw: bytes, *, floor_dbfs: float = SPEECH_FLOOR_DBFS) -> tuple[float, float]:
    """Seconds from the start of ``mulaw`` to its first and past its last frame above ``floor_dbfs``."""
    pcm = ulaw2lin(mulaw)
    loud = [
        index
        for index in range(0, len(pcm) // FRAME_BYTES)
        if rms_dbfs(pcm[index * FRAME_BYTES : (index + 1) * FRAME_BYTES]) > floor_dbfs
    ]
    if not loud:
        return 0.0, 0.0
    frame_s = FRAME_BYTES / PHONE_RATE
    return loud[0] * frame_s, (loud[-1] + 1) * frame_s


def line_from_audio(label: str, mulaw: bytes, *, text: str = "") -> CallerLine:
    start, end = speech_span(mulaw)
    return CallerLine(label=label, audio=mulaw, speech_start_s=start, speech_end_s=end, text=text)


async def line_say(text: str) -> CallerLine:
    """``text`` spoken by the local piper voice, as phone audio."""
    from calls.providers.piper_tts import PiperTextToSpeech

    tts = PiperTextToSpeech()
    audio = b"".join([chunk async for chunk in tts.synthesize(text)])
    # A little line silence around the words, as a phone line has.
    padding = bytes([0xFF]) * (FRAME_BYTES * 5)
    return line_from_audio(f"say: {text}", padding + audio + padding, text=text)


def line_wav(path: str | Path, *, text: str = "") -> CallerLine:
    """A recording (any PCM WAV), converted to phone audio."""
    return line_from_audio(f"wav: {Path(path).name}", read_wav_as_mulaw(Path(path)), text=text)


def line_noise(milliseconds: float, *, level_dbfs: float = -20.0, seed: int = 5) -> CallerLine:
    """A burst of white noise (a bump, a door) with 100 ms of line silence either side."""
    samples = int(PHONE_RATE * milliseconds / 1000)
    noise = np.random.default_rng(seed).normal(0.0, 32768 * 10 ** (level_dbfs / 20), samples)
    quiet = bytes([0xFF]) * (FRAME_BYTES * 5)
    audio = quiet + lin2ulaw(to_int16(noise)) + quiet
    return CallerLine(
        label=f"noise: {milliseconds:g} ms",
        audio=audio,
        speech_start_s=len(quiet) / PHONE_RATE,
        speech_end_s=(len(quiet) + samples) / PHONE_RATE,
    )


def line_dtmf(digits: str) -> CallerLine:
    if not digits or any(key not in "0123456789*#" for key in digits):
        raise ValueError(f"DTMF keys are 0-9, * and #, not {digits!r}")
    return CallerLine(label=f"dtmf: {digits}", digits=digits, text=digits)


async def script_build(items: list[tuple[str, str]], *, barge_in_at: float | None = None) -> list[CallerLine]:
    """Lines from ``(kind, value)`` pairs: ``say``, ``wav``, ``dtmf``, ``noise`` (milliseconds).

    With ``barge_in_at``, every line after the first is spoken that many
    seconds into Zylin's reply, over it.
    """
    lines: list[CallerLine] = []
    for kind, value in items:
        if kind == "say":
            line = await line_say(value)
        elif kind == "wav":
            line = await asyncio.to_thread(line_wav, value)
        elif kind == "dtmf":
            line = line_dtmf(value)
        elif kind == "noise":
            line = line_noise(float(value))
        else:
            raise ValueError(f"unknown caller line kind {kind!r}")
        if barge_in_at is not None and lines:
            line = line.over_reply(barge_in_at)
        lines.append(line)
    return lines
