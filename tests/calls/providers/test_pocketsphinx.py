"""The embedded recognizer on Zylin's own committed caller clips."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.asr_wer import word_errors
from calls.audio import lin2ulaw, read_wav, read_wav_as_mulaw, resample, silence_mulaw, to_int16, wav_bytes
from calls.providers.pocketsphinx_asr import (
    PocketsphinxSettings,
    PocketsphinxSpeechStream,
    PocketsphinxSpeechToText,
    UtteranceRecognizer,
)
from calls.providers.pocketsphinx_batch import PocketsphinxTranscriber
from calls.voice.ports import BusinessInfo, ServiceInfo, SpeechEvent, SpeechStarted, Transcript

AUDIO = Path(__file__).resolve().parents[2] / "fixtures" / "audio"
MANIFEST = {clip["id"]: clip for clip in json.loads((AUDIO / "manifest.json").read_text())["clips"]}
DIGIT_WORDS = {"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}


def bella() -> BusinessInfo:
    hours = ((dt.time(9), dt.time(18)),)
    return BusinessInfo(
        name="Bella Hair Studio",
        timezone="America/New_York",
        address="12 Main Street",
        greeting="Thanks for calling Bella Hair Studio.",
        transfer_number="+15550100",
        services=(
            ServiceInfo("Haircut", 30, "35.00", synonyms=("cut", "trim")),
            ServiceInfo("Beard trim", 15, "20.00", synonyms=("beard", "shave")),
            ServiceInfo("Hair color", 90, "80.00", synonyms=("color",)),
        ),
        opening_hours=(hours,) * 6 + ((),),
    )


@pytest.fixture(scope="module")
def stt() -> PocketsphinxSpeechToText:
    return PocketsphinxSpeechToText(bella())


def clip_mulaw(clip_id: str) -> bytes:
    return read_wav_as_mulaw(AUDIO / MANIFEST[clip_id]["file"])


async def stream_clip(stream: PocketsphinxSpeechStream, mulaw: bytes) -> list[SpeechEvent]:
    """Send 20 ms frames, then close; everything the stream said, in order."""
    collected: list[SpeechEvent] = []

    async def read() -> None:
        async for event in stream.events():
            collected.append(event)

    reader = asyncio.create_task(read())
    for start in range(0, len(mulaw), 160):
        await stream.send_audio(mulaw[start : start + 160])
    await stream.aclose()
    await asyncio.wait_for(reader, timeout=10)
    return collected


def finals(events: list[SpeechEvent]) -> list[Transcript]:
    return [event for event in events if isinstance(event, Transcript) and event.is_final]


async def test_recognizes_committed_clips_within_a_realistic_error_bound(stt: PocketsphinxSpeechToText) -> None:
    clip_ids = ["piper-01", "piper-04", "piper-13", "piper-19", "piper-22", "bella-1", "bella-2", "bella-3"]
    errors = words = 0
    for clip_id in clip_ids:
        stream = await stt.connect()
        events = await stream_clip(stream, clip_mulaw(clip_id) + silence_mulaw(800))
        text = " ".join(final.text for final in finals(events) if final.text)
        errors += word_errors(MANIFEST[clip_id]["text"], text)
        words += len(MANIFEST[clip_id]["text"].split())
    # Measured 6% on the piper clips; 20% leaves room for regenerated clips.
    assert errors / words <= 0.20


async def test_the_demo_booking_sentence_is_understood_word_for_word(stt: PocketsphinxSpeechToText) -> None:
    stream = await stt.connect()
    events = await stream_clip(stream, clip_mulaw("bella-1") + silence_mulaw(800))
    assert [final.text for final in finals(events)] == ["i'd like a haircut tomorrow at three p.m."]


async def test_speech_start_then_interims_then_one_final(stt: PocketsphinxSpeechToText) -> None:
    stream = await stt.connect()
    events = await stream_clip(stream, clip_mulaw("piper-05") + silence_mulaw(800))
    assert isinstance(events[0], SpeechStarted)
    interims = [event for event in events if isinstance(event, Transcript) and not event.is_final]
    assert len(interims) >= 3
    assert interims[-1].text.startswith("i'd like")
    (final,) = finals(events)
    assert events[-1] is final
    assert final.speech_final
    assert final.confidence is not None
    assert 0.0 <= final.confidence <= 1.0
    assert "haircut" in final.text.split()


def test_endpointer_ends_the_utterance_only_after_trailing_silence(stt: PocketsphinxSpeechToText) -> None:
    pcm, _ = read_wav(AUDIO / MANIFEST["piper-13"]["file"])
    speech = lin2ulaw(pcm[: len(pcm) - 2400])  # the clip without its 0.3 s of trailing silence
    recognizer = UtteranceRecognizer(stt.pool().acquire(), PocketsphinxSettings())
    during_speech = recognizer.feed(speech)
    assert any(isinstance(event, SpeechStarted) for event in during_speech)
    assert finals(during_speech) == []
    assert recognizer.in_utterance
    after_silence = recognizer.feed(silence_mulaw(700))
    (final,) = finals(after_silence)
    assert final.text == "how much is a haircut"
    assert not recognizer.in_utterance
    recognizer.close()


async def test_finalize_forces_a_final_mid_speech(stt: PocketsphinxSpeechToText) -> None:
    stream = await stt.connect()
    reader = stream.events()
    mulaw = clip_mulaw("piper-19")[: 8000 * 2]  # cut off before the caller stops talking
    for start in range(0, len(mulaw), 160):
        await stream.send_audio(mulaw[start : start + 160])
    await stream.finalize()
    final = await asyncio.wait_for(_next_final(reader), timeout=10)
    assert final.speech_final
    assert final.text.startswith("i need to cancel")
    await stream.aclose()


async def test_finalize_in_silence_gives_an_empty_final(stt: PocketsphinxSpeechToText) -> None:
    stream = await stt.connect()
    reader = stream.events()
    await stream.send_audio(silence_mulaw(600))
    await stream.finalize()
    final = await asyncio.wait_for(_next_final(reader), timeout=10)
    assert final.text == ""
    await stream.aclose()


async def test_digits_mode_hears_only_digits(stt: PocketsphinxSpeechToText) -> None:
    stream = await stt.connect()
    stream.set_mode("digits")
    events = await stream_clip(stream, clip_mulaw("piper-29") + silence_mulaw(800))
    text = " ".join(final.text for final in finals(events))
    digits = [word for word in text.split() if word in DIGIT_WORDS]
    assert word_errors("five five five zero one nine two", " ".join(digits)) <= 2

    stream = await stt.connect()
    stream.set_mode("digits")
    events = await stream_clip(stream, clip_mulaw("bella-1") + silence_mulaw(800))
    words = " ".join(final.text for final in finals(events)).split()
    assert "haircut" not in words
    assert set(words) <= DIGIT_WORDS | {"yes", "yeah", "sure", "okay", "it's", "it", "is", "my", "phone", "number"} | {
        "the", "you", "can", "reach", "me", "at",
    }  # fmt: skip


async def test_set_mode_rejects_unknown_modes(stt: PocketsphinxSpeechToText) -> None:
    stream = await stt.connect()
    with pytest.raises(ValueError, match="unknown recognition mode"):
        stream.set_mode("letters")  # type: ignore[arg-type]
    await stream.aclose()


async def test_close_returns_the_decoder_and_ends_the_events(stt: PocketsphinxSpeechToText) -> None:
    pool = stt.pool()
    stream = await stt.connect()
    idle_while_open = pool.idle_count
    events = await stream_clip(stream, clip_mulaw("bella-3") + silence_mulaw(600))
    assert finals(events)
    assert pool.idle_count == idle_while_open + 1
    await stream.aclose()  # closing twice is harmless
    await stream.send_audio(silence_mulaw(100))  # and audio after close is ignored
    assert [event async for event in stream.events()] == []
    assert pool.idle_count == idle_while_open + 1


async def test_decoders_are_reused_across_calls(stt: PocketsphinxSpeechToText) -> None:
    pool = stt.pool()
    for _ in range(3):
        stream = await stt.connect()
        await stream.aclose()
    created = pool.created
    for _ in range(3):
        stream = await stt.connect()
        await stream.aclose()
    assert pool.created == created


async def test_batch_transcriber_reads_wav_at_any_rate_and_mulaw_wav() -> None:
    transcriber = PocketsphinxTranscriber(bella())
    pcm, rate = read_wav(AUDIO / MANIFEST["piper-20"]["file"])
    wideband = wav_bytes(to_int16(resample(pcm, rate, 16000)), 16000)
    text = await transcriber.transcribe(wideband)
    assert word_errors(MANIFEST["piper-20"]["text"], text) <= 2

    text = await transcriber.transcribe(_mulaw_wav(lin2ulaw(pcm)))
    assert word_errors(MANIFEST["piper-20"]["text"], text) <= 2


async def test_batch_transcriber_joins_several_utterances() -> None:
    transcriber = PocketsphinxTranscriber(bella())
    first, _ = read_wav(AUDIO / MANIFEST["bella-2"]["file"])
    second, _ = read_wav(AUDIO / MANIFEST["bella-3"]["file"])
    gap = np.zeros(8000, dtype=np.int16)
    text = await transcriber.transcribe(wav_bytes(np.concatenate((first, gap, second))))
    assert text.split()[:2] == ["maria", "lopez"]
    assert len(text.split()) == 3


async def _next_final(events: object) -> Transcript:
    async for event in events:  # type: ignore[attr-defined]
        if isinstance(event, Transcript) and event.is_final:
            return event
    raise AssertionError("stream ended without a final")


def _mulaw_wav(mulaw: bytes) -> bytes:
    """A G.711 mu-law WAV (format tag 7), as phone systems store recordings."""
    fmt = (7).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
    fmt += (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + len(mulaw).to_bytes(4, "little") + mulaw
    return b"RIFF" + len(body).to_bytes(4, "little") + body
