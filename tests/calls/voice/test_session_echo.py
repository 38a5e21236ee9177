"""Echo mode: inbound audio straight back, nothing else, with its server-side latency measured."""

from __future__ import annotations

import base64
import json

from calls.voice.config import VoiceConfig
from calls.voice.events import MediaEvent, StopEvent
from tests.fakes.voice_line import VOICE, VoiceCall


async def test_echo_sends_each_inbound_frame_back_and_nothing_else() -> None:
    call = VoiceCall(config=VoiceConfig(echo=True))
    await call.start()
    frames = [VOICE[i : i + 160] for i in range(0, 160 * 50, 160)]
    for number, frame in enumerate(frames, start=2):
        call.session.feed(MediaEvent("MZ1", number, "inbound", number, number * 20, frame))
    call.session.feed(MediaEvent("MZ1", 10, "inbound", 10, 0, b"late duplicate"))
    await call.clock.advance(0.02)
    call.session.feed(StopEvent("MZ1", 60, "AC1", "CA1"))
    await call.clock.advance(0.02)
    assert call.task is not None
    assert call.task.done()

    sent = [m for _, m in call.line.sent]
    assert {m["event"] for m in sent} == {"media"}
    assert [base64.b64decode(m["media"]["payload"]) for m in sent] == frames
    assert call.stt.streams == []
    assert call.llm.received == []
    [summary] = call.store.named("echo_latency")
    assert summary is not None
    assert summary["frames"] == 50
    assert summary["p99_ms"] is not None
    assert summary["p99_ms"] >= 0
    json.dumps(summary)
