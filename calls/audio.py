"""Telephone audio: G.711 mu-law, resampling, 8 kHz WAV files and test signals.

Twilio Media Streams carry raw 8 kHz mono mu-law. The codec here is numpy table
lookup, byte-exact with the classic Sun ``g711.c`` that ``audioop`` implements
(``audioop`` is gone from Python 3.13, so it is not imported). Linear audio is
``int16`` numpy arrays throughout.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr

PHONE_RATE = 8000
FRAME_MS = 20
FRAME_BYTES = PHONE_RATE * FRAME_MS // 1000  # one 20 ms mu-law frame: 160 bytes
MULAW_SILENCE = 0xFF  # mu-law code of linear 0

Pcm = npt.NDArray[np.int16]

_BIAS = 0x84
_CLIP_14BIT = 8159
_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)


def _build_decode_table() -> Pcm:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (codes >> 4) & 0x07
    magnitude = ((((codes & 0x0F) << 3) + _BIAS) << exponent) - _BIAS
    return np.where(codes & 0x80, -magnitude, magnitude).astype(np.int16)


def _build_encode_table() -> npt.NDArray[np.uint8]:
    # g711.c works on 14-bit samples: audioop shifts the 16-bit value right by two first.
    samples = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(samples < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(samples), _CLIP_14BIT) + (_BIAS >> 2)
    segment = np.searchsorted(_SEGMENT_ENDS, magnitude)
    codes = np.where(segment >= 8, 0x7F, (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)) ^ mask
    # Row i holds the sample -32768 + i; roll so the row is the int16 bit pattern read as uint16.
    return np.roll(codes.astype(np.uint8), -32768)


_DECODE_TABLE = _build_decode_table()
_ENCODE_TABLE = _build_encode_table()


def ulaw2lin(mulaw: bytes) -> Pcm:
    """Decode mu-law bytes to int16 samples (one sample per byte)."""
    return _DECODE_TABLE.take(np.frombuffer(mulaw, dtype=np.uint8))  # take: faster than indexing on a frame


def lin2ulaw(pcm: Pcm | bytes) -> bytes:
    """Encode int16 samples (an array, or little-endian bytes) to mu-law."""
    samples = np.frombuffer(pcm, dtype="<i2") if isinstance(pcm, bytes | bytearray) else pcm
    return _ENCODE_TABLE[np.asarray(samples, dtype=np.int16).view(np.uint16)].tobytes()


def to_int16(samples: npt.NDArray[np.generic]) -> Pcm:
    """Round and clip any numeric samples in the int16 scale to int16."""
    if samples.dtype == np.int16:
        return samples  # type: ignore[return-value]
    clipped: Pcm = np.clip(np.rint(samples), -32768, 32767).astype(np.int16)
    return clipped


def resample(
    samples: npt.NDArray[np.generic], from_rate: int, to_rate: int, quality: str = "HQ"
) -> npt.NDArray[np.float32]:
    """Resample a whole mono signal (int16 scale) with soxr; returns float32 in the same scale."""
    signal = np.asarray(samples, dtype=np.float32)
    if from_rate == to_rate:
        return signal
    return np.asarray(soxr.resample(signal, from_rate, to_rate, quality=quality), dtype=np.float32)


class StreamResampler:
    """Resamples a live stream chunk by chunk, keeping filter state between chunks."""

    def __init__(self, from_rate: int, to_rate: int, quality: str = "HQ") -> None:
        self._stream = soxr.ResampleStream(from_rate, to_rate, 1, dtype="float32", quality=quality)

    def process(self, samples: npt.NDArray[np.generic], *, last: bool = False) -> Pcm:
        """Resample the next chunk; pass ``last=True`` with the final chunk to flush the filter."""
        out = self._stream.resample_chunk(np.asarray(samples, dtype=np.float32), last=last)
        return to_int16(out)


def mulaw_to_rate(mulaw: bytes, to_rate: int) -> Pcm:
    """Phone audio as int16 at another rate (e.g. 16 kHz for a recognizer)."""
    return to_int16(resample(ulaw2lin(mulaw), PHONE_RATE, to_rate))


def pcm_to_mulaw(pcm: npt.NDArray[np.generic], rate: int) -> bytes:
    """Any-rate int16-scale audio to 8 kHz mu-law, ready for Twilio."""
    return lin2ulaw(to_int16(resample(pcm, rate, PHONE_RATE)))


# -- WAV files -------------------------------------------------------------------


def read_wav(source: str | Path | bytes) -> tuple[Pcm, int]:
    """Read a WAV file (8 or 16-bit PCM, or G.711 mu-law; any channels) as mono int16 and its rate.

    ``source`` is a path or the file's bytes.
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if _wav_format_tag(data) == WAVE_FORMAT_MULAW:
        return _read_mulaw_wav(data)
    with wave.open(io.BytesIO(data), "rb") as wav:
        width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    if width == 2:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.int32)
    elif width == 1:  # 8-bit WAV is unsigned
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.int32) - 128) << 8
    else:
        raise ValueError(f"unsupported WAV sample width: {width} bytes")
    return _mono(samples, channels), rate


WAVE_FORMAT_MULAW = 7


def _riff_chunks(data: bytes) -> dict[bytes, bytes]:
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    chunks: dict[bytes, bytes] = {}
    position = 12
    while position + 8 <= len(data):
        chunk_id = data[position : position + 4]
        size = int.from_bytes(data[position + 4 : position + 8], "little")
        chunks.setdefault(chunk_id, data[position + 8 : position + 8 + size])
        position += 8 + size + (size & 1)  # chunks are word-aligned
    return chunks


def _wav_format_tag(data: bytes) -> int | None:
    try:
        fmt = _riff_chunks(data).get(b"fmt ", b"")
    except ValueError:
        return None
    return int.from_bytes(fmt[:2], "little") if len(fmt) >= 2 else None


def _read_mulaw_wav(data: bytes) -> tuple[Pcm, int]:
    chunks = _riff_chunks(data)
    fmt = chunks[b"fmt "]
    channels = int.from_bytes(fmt[2:4], "little")
    rate = int.from_bytes(fmt[4:8], "little")
    samples = ulaw2lin(chunks.get(b"data", b"")).astype(np.int32)
    return _mono(samples, channels), rate


def _mono(samples: npt.NDArray[np.int32], channels: int) -> Pcm:
    if channels > 1:
        usable = samples.size - samples.size % channels
        return to_int16(samples[:usable].reshape(-1, channels).mean(axis=1))
    return to_int16(samples)


def read_wav_as_mulaw(source: str | Path | bytes) -> bytes:
    """Read a WAV file and convert it to 8 kHz mono mu-law."""
    pcm, rate = read_wav(source)
    return pcm_to_mulaw(pcm, rate)


def wav_bytes(pcm: Pcm, rate: int = PHONE_RATE) -> bytes:
    """A mono 16-bit WAV file holding ``pcm``."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.asarray(pcm, dtype="<i2").tobytes())
    return buffer.getvalue()


def write_wav(path: str | Path, pcm: Pcm, rate: int = PHONE_RATE) -> None:
    """Write mono 16-bit audio to ``path``."""
    Path(path).write_bytes(wav_bytes(pcm, rate))


def write_mulaw_wav(path: str | Path, mulaw: bytes) -> None:
    """Write 8 kHz mu-law audio as an ordinary 16-bit WAV anyone can play."""
    write_wav(path, ulaw2lin(mulaw), PHONE_RATE)


# -- Signals -------------------------------------------------------------------


def duration_ms(mulaw: bytes) -> float:
    """Length of 8 kHz mu-law audio in milliseconds."""
    return len(mulaw) * 1000 / PHONE_RATE


def silence_mulaw(ms: float) -> bytes:
    """``ms`` of 8 kHz mu-law digital silence."""
    return bytes([MULAW_SILENCE]) * int(PHONE_RATE * ms / 1000)


def tone_pcm(frequency_hz: float, ms: float, *, rate: int = PHONE_RATE, dbfs: float = -12.0) -> Pcm:
    """A sine tone with 5 ms fades (no clicks) at ``dbfs`` peak level."""
    count = int(rate * ms / 1000)
    t = np.arange(count, dtype=np.float64) / rate
    signal = np.sin(2 * np.pi * frequency_hz * t) * 32767 * 10 ** (dbfs / 20)
    fade = min(count // 2, int(rate * 0.005))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        signal[:fade] *= ramp
        signal[count - fade :] *= ramp[::-1]
    return to_int16(signal)


def tone_mulaw(frequency_hz: float, ms: float, *, dbfs: float = -12.0) -> bytes:
    """A sine tone as 8 kHz mu-law."""
    return lin2ulaw(tone_pcm(frequency_hz, ms, dbfs=dbfs))


def rms_dbfs(pcm: Pcm) -> float:
    """Root-mean-square level of ``pcm`` in dBFS (-inf for digital silence)."""
    if pcm.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64))))
    return 20 * float(np.log10(rms / 32768)) if rms > 0 else float("-inf")
