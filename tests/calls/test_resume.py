"""A socket dropped mid-call: the next stream with the same sessionId continues the conversation.

Real daphne, pocketsphinx and the local agent; a short stand-in voice. The
first stream hears the greeting and asks for a haircut, then drops without
``stop``. The second stream, same call and sessionId, gets "we got cut off"
instead of the greeting, and the caller's name completes the booking slots
collected before the drop.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async

from businesses.models import Business
from calls import wiring
from calls.audio import tone_pcm, write_wav
from calls.capacity import streaming_capacity_reset
from calls.models import Call, CallEvent
from calls.simulator import CallOptions, SimulatedCall, Target, line_wav
from calls.voice.config import VoicePhrases
from tests.calls.media_stream_support import FIXTURES, zylin_server_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PUBLIC = "http://zylin.test:8000"
WEDNESDAY_MORNING = dt.datetime(2030, 1, 9, 10, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))


@pytest.fixture
def business(settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_business: Business) -> Business:
    clip = tmp_path / "voice.wav"
    write_wav(clip, tone_pcm(330, 600, dbfs=-12))
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.TWILIO_SIGNING_TOKEN = "resume-test-token"
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""
    settings.REDIS_URL = ""  # the in-memory session store of this process
    settings.VOICE = {**settings.VOICE, "asr": "pocketsphinx", "agent": "local", "tts": "standin",
                      "standin_clip": str(clip)}  # fmt: skip
    streaming_capacity_reset(limit=5)
    build = wiring.agent_build
    monkeypatch.setattr(wiring, "agent_build", lambda **kwargs: build(**kwargs, clock=lambda: WEDNESDAY_MORNING))
    demo_business.after_hours = Business.AfterHours.STREAM
    demo_business.save()
    return demo_business


async def test_a_dropped_call_resumes_where_it_stopped(business: Business) -> None:
    target = Target(base_url=await zylin_server_url(), public_url=PUBLIC)
    options = CallOptions(settle_s=0.5, pause_s=0.2)
    async with httpx.AsyncClient(trust_env=False) as http:
        first = SimulatedCall(target, [await sync_to_async(line_wav)(FIXTURES / "bella-1.wav")],
                              CallOptions(settle_s=0.5, pause_s=0.2, drop=True), http)  # fmt: skip
        dropped = await first.run()
        assert (dropped.error, dropped.path) == ("", "streaming")
        call = await sync_to_async(Call.objects.get)(sid=dropped.call_sid)
        assert call.ended_at is None  # the phone call goes on without its socket
        turns_before = await sync_to_async(list)(call.turns.order_by("index").values_list("speaker", "text"))

        second = SimulatedCall(target, [await sync_to_async(line_wav)(FIXTURES / "bella-2.wav")], options, http,
                               call_sid=dropped.call_sid)  # fmt: skip
        assert first.instruction is not None
        resumed = await second.run(first.instruction)  # same sessionId parameter
        assert (resumed.error, resumed.protocol_errors) == ("", [])
        assert resumed.greeting_ms is not None  # "sorry, we got cut off" plays at once

    turns = await sync_to_async(list)(call.turns.order_by("index").values_list("index", "speaker", "text"))
    assert [(speaker, text) for _, speaker, text in turns[: len(turns_before)]] == turns_before  # history intact
    assert [index for index, _, _ in turns] == list(range(len(turns)))  # numbering continued, nothing overwritten
    after = [(speaker, text) for _, speaker, text in turns[len(turns_before) :]]
    assert after[0] == ("assistant", VoicePhrases().resumed)
    assert after[1] == ("caller", "maria lopez")
    speaker, read_back = after[2]
    assert speaker == "assistant"
    assert "Maria Lopez" in read_back
    assert "haircut" in read_back.lower()
    said = [text for speaker, text in after if speaker == "assistant"]
    assert not set(said) & {text for speaker, text in turns_before if speaker == "assistant"}  # nothing said twice
    assert business.greeting_text not in said
    dropped_events = await sync_to_async(list)(CallEvent.objects.filter(call=call, name="stream_dropped"))
    assert len(dropped_events) == 1
