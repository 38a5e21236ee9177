"""calls.audio: the mu-law codec against audioop's G.711 tables, resampling, WAV files, signals."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from calls import audio

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the reference implementation on Python 3.11; calls.audio never imports it

ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int16)


def test_encode_matches_audioop_for_every_int16_value() -> None:
    reference = audioop.lin2ulaw(ALL_SAMPLES.astype("<i2").tobytes(), 2)
    assert audio.lin2ulaw(ALL_SAMPLES) == reference


def test_encode_accepts_little_endian_bytes() -> None:
    raw = ALL_SAMPLES.astype("<i2").tobytes()
    assert audio.lin2ulaw(raw) == audioop.lin2ulaw(raw, 2)


def test_decode_matches_audioop_for_every_code() -> None:
    codes = bytes(range(256))
    assert audio.ulaw2lin(codes).astype("<i2").tobytes() == audioop.ulaw2lin(codes, 2)


@pytest.mark.parametrize(
    ("sample", "code"),
    [(0, 0xFF), (-1, 0x7E), (5, 0xFE), (32767, 0x80), (-32768, 0x00), (1000, 0xCE), (-1000, 0x4E)],
)
def test_encode_table_points(sample: int, code: int) -> None:
    assert audio.lin2ulaw(np.array([sample], dtype=np.int16)) == bytes([code])


def test_round_trip_error_is_logarithmic() -> None:
    samples = ALL_SAMPLES.astype(np.int32)
    error = np.abs(audio.ulaw2lin(audio.lin2ulaw(ALL_SAMPLES)).astype(np.int32) - samples)
    magnitude = np.abs(samples)
    # mu-law keeps quiet samples nearly exact and loud ones within about 3 percent.
    assert error[magnitude < 100].max() <= 8
    loud = magnitude >= 1000
    assert (error[loud] / magnitude[loud]).max() < 0.036


def test_silence_is_the_zero_code() -> None:
    assert audio.silence_mulaw(20) == b"\xff" * 160
    assert set(audio.ulaw2lin(audio.silence_mulaw(100)).tolist()) == {0}


def test_resample_changes_length_by_the_rate_ratio() -> None:
    tone = audio.tone_pcm(440, 1000, rate=8000)
    up = audio.resample(tone, 8000, 16000)
    assert up.dtype == np.float32
    assert abs(len(up) - 16000) <= 2
    assert audio.resample(tone, 8000, 8000) is not tone  # a float copy, same length
    assert len(audio.resample(tone, 8000, 8000)) == 8000


def test_resampling_keeps_a_tone_in_band() -> None:
    tone = audio.tone_pcm(1000, 500, rate=22050)
    down = audio.to_int16(audio.resample(tone, 22050, 8000))
    spectrum = np.abs(np.fft.rfft(down))
    peak_hz = np.argmax(spectrum) * 8000 / len(down)
    assert abs(peak_hz - 1000) < 10


def test_stream_resampler_matches_whole_signal_length() -> None:
    tone = audio.tone_pcm(300, 1000)
    resampler = audio.StreamResampler(8000, 16000)
    pieces = [resampler.process(tone[i : i + 160]) for i in range(0, len(tone), 160)]
    pieces.append(resampler.process(np.zeros(0, dtype=np.int16), last=True))
    total = sum(len(piece) for piece in pieces)
    assert abs(total - 16000) <= 4
    assert all(piece.dtype == np.int16 for piece in pieces)


def test_wav_round_trip(tmp_path) -> None:
    tone = audio.tone_pcm(440, 250)
    path = tmp_path / "tone.wav"
    audio.write_wav(path, tone)
    pcm, rate = audio.read_wav(path)
    assert rate == 8000
    assert np.array_equal(pcm, tone)


def test_read_wav_mixes_stereo_and_reads_8_bit() -> None:
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(np.array([1000, 3000, -2000, -4000], dtype="<i2").tobytes())
    pcm, _ = audio.read_wav(buffer.getvalue())
    assert pcm.tolist() == [2000, -3000]

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(bytes([128, 255, 0]))
    pcm, _ = audio.read_wav(buffer.getvalue())
    assert pcm.tolist() == [0, 127 << 8, -128 << 8]


def test_wide_band_wav_becomes_phone_audio() -> None:
    wav = audio.wav_bytes(audio.tone_pcm(440, 1000, rate=16000), rate=16000)
    mulaw = audio.read_wav_as_mulaw(wav)
    assert abs(len(mulaw) - 8000) <= 2
    assert audio.rms_dbfs(audio.ulaw2lin(mulaw)) == pytest.approx(-15.0, abs=1.0)  # -12 dBFS peak sine


def test_tone_level_duration_and_fades() -> None:
    tone = audio.tone_pcm(440, 100, dbfs=-6.0)
    assert len(tone) == 800
    assert tone[0] == 0
    assert np.abs(tone).max() == pytest.approx(32767 * 10 ** (-6 / 20), rel=0.01)
    assert audio.duration_ms(audio.tone_mulaw(440, 100)) == 100
    assert audio.rms_dbfs(np.zeros(10, dtype=np.int16)) == float("-inf")


def test_read_wav_accepts_g711_mulaw_files() -> None:
    import struct

    mulaw = audio.tone_mulaw(440, 100)
    fmt = struct.pack("<HHIIHH", 7, 1, 8000, 8000, 1, 8) + b"\x00\x00"  # WAVE_FORMAT_MULAW, cbSize 0
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"fact" + struct.pack("<I", 4) + struct.pack("<I", len(mulaw))
    body += b"data" + struct.pack("<I", len(mulaw)) + mulaw
    wav = b"RIFF" + struct.pack("<I", len(body)) + body
    pcm, rate = audio.read_wav(wav)
    assert rate == 8000
    assert np.array_equal(pcm, audio.ulaw2lin(mulaw))
    assert audio.read_wav_as_mulaw(wav) == mulaw


def test_read_wav_refuses_what_it_cannot_read() -> None:
    with pytest.raises(Exception, match="RIFF|file does not start"):
        audio.read_wav(b"not a wav at all")
