"""Stand-in providers: fixed transcript on Zylin's end of turn, fixed reply, fixed clip, fixed latency."""

from __future__ import annotations

import asyncio

import pytest

from calls.audio import duration_ms, rms_dbfs, tone_pcm, ulaw2lin, write_wav
from calls.providers.standin import (
    STANDIN_REPLY,
    STANDIN_TRANSCRIPT,
    StandInAgent,
    StandInConfig,
    StandInSpeechToText,
    StandInTextToSpeech,
)
from calls.voice.config import VoiceConfig
from calls.voice.ports import TextDelta, Transcript
from calls.voice.session import VoiceSession
from tests.fakes.clock import ManualClock
from tests.fakes.scripted import Script
from tests.fakes.voice_line import MemorySessionStore, PhoneLine, RecordingCallControl, RecordingCallStore


async def test_recognizer_reports_the_sentence_only_when_asked_to_finalize() -> None:
    clock = ManualClock()
    stream = await StandInSpeechToText(StandInConfig(latency_ms=120), clock=clock).connect()
    events: list[object] = []

    async def collect() -> None:
        async for event in stream.events():
            events.append(event)

    collector = asyncio.create_task(collect())
    await stream.send_audio(b"\xff" * 160)
    await clock.advance(1.0)
    assert events == []  # no endpointing of its own
    finalizing = asyncio.create_task(stream.finalize())
    await clock.advance(0.1)
    assert events == []
    await clock.advance(0.03)
    await finalizing
    assert events == [Transcript(STANDIN_TRANSCRIPT, is_final=True, speech_final=True)]
    await stream.aclose()
    await asyncio.wait_for(collector, 1)
    assert stream.audio_bytes == 160


async def test_agent_answers_every_turn_the_same_and_has_no_greeting() -> None:
    agent = StandInAgent()
    assert agent.greeting() == ""
    for _ in range(2):
        assert [event async for event in agent.respond("anything")] == [TextDelta(STANDIN_REPLY)]
    assert agent.snapshot() == {"turns": 2}
    agent.restore({"turns": 7})
    assert agent.turns == 7
    assert agent.expecting == "open"


async def test_builtin_clip_is_about_four_seconds_of_audible_audio() -> None:
    tts = StandInTextToSpeech()
    audio = b"".join([chunk async for chunk in tts.synthesize("Sure,")])
    assert 3800 <= duration_ms(audio) <= 4200
    assert rms_dbfs(ulaw2lin(audio)) > -30
    again = b"".join([chunk async for chunk in tts.synthesize("something else entirely")])
    assert again == audio


async def test_clip_comes_from_a_wav_file_at_any_rate(tmp_path) -> None:
    path = tmp_path / "clip.wav"
    write_wav(path, tone_pcm(440, 1500, rate=16000), rate=16000)
    tts = StandInTextToSpeech(StandInConfig(clip_path=str(path)))
    audio = b"".join([chunk async for chunk in tts.synthesize("x")])
    assert duration_ms(audio) == pytest.approx(1500, abs=1)


async def test_a_call_on_stand_ins_has_no_greeting_and_answers_after_the_latencies() -> None:
    clock = ManualClock()
    script = Script().user_says("(any caller audio)", at=1.0, dur=1.5)
    line = PhoneLine(clock, script)
    config = StandInConfig(latency_ms=100)
    store = RecordingCallStore()
    session = VoiceSession(
        send=line.send,
        stt=StandInSpeechToText(config, clock=clock),
        tts=StandInTextToSpeech(config, clock=clock),
        agent=StandInAgent(config, clock=clock),
        store=store,
        sessions=MemorySessionStore(),
        control=RecordingCallControl(),
        clock=clock,
        config=VoiceConfig(),
        session_id="bench-1",
    )
    task = asyncio.create_task(session.run())
    line.start(session)
    await line.run(16.0)  # the clip plays once per chunk: "Sure," and two sentences
    caller, reply = store.turns[0], store.turns[1]
    assert reply.text == STANDIN_REPLY
    assert caller.text == STANDIN_TRANSCRIPT
    assert line.messages("media")[0][0] > 2.5  # nothing before the caller spoke
    # Silence allowance (500 ms) + three stand-in latencies (300 ms) + one frame of detection.
    assert reply.voice_to_voice_ms == pytest.approx(500 + 300, abs=25)
    await session.aclose()
    assert task.done()
