"""The Media Stream protocol end to end: a simulated Twilio against Zylin on a real daphne server.

Real sockets on loopback, real time: the voice webhook, the signed upgrade,
``start``, caller media, marks echoed after playback, a ``clear`` on barge-in,
DTMF, ``stop``, and Twilio's status callbacks. Stand-in speech engines keep it
quick; the voice loop, the consumer and the local agent are the real ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from businesses.models import Business
from calls.audio import tone_pcm, write_wav
from calls.capacity import streaming_capacity_reset
from calls.models import Call, CallEvent, Turn
from calls.simulator import CallOptions, Target, calls_run, line_dtmf, line_wav
from calls.simulator.messages import TwilioStream
from calls.twilio_signature import signature_compute
from tests.calls.media_stream_support import FIXTURES, STANDINS, stream_parameters, streaming_call, zylin_server_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PUBLIC = "http://zylin.test:8000"


@pytest.fixture(autouse=True)
def stand_in_voice(settings: Any, tmp_path: Path) -> Any:
    clip = tmp_path / "reply.wav"
    write_wav(clip, tone_pcm(440, 1500, dbfs=-12))  # every sentence Zylin says lasts 1.5 s
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.TWILIO_SIGNING_TOKEN = "daphne-test-token"
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""
    settings.VOICE = {**settings.VOICE, **STANDINS, "standin_clip": str(clip)}
    streaming_capacity_reset(limit=5)
    yield settings
    streaming_capacity_reset()


@pytest.fixture
def business(demo_business: Business) -> Business:
    demo_business.after_hours = Business.AfterHours.STREAM  # answer whatever the hour
    demo_business.save()
    return demo_business


async def test_a_call_over_real_sockets_streams_marks_clears_dtmf_and_stops(business: Business) -> None:
    target = Target(base_url=await zylin_server_url(), public_url=PUBLIC)
    lines = [
        await sync_to_async(line_wav)(FIXTURES / "bella-2.wav"),
        # Over the reply, once its first sentence has played.
        (await sync_to_async(line_wav)(FIXTURES / "bella-1.wav")).over_reply(1.2),
        line_dtmf("5"),
    ]
    options = CallOptions(settle_s=0.5, pause_s=0.2, reply_timeout_s=3.0)
    [call] = await calls_run(target, lines, options)
    result = call.result

    assert (result.error, result.path, result.protocol_errors) == ("", "streaming", [])
    assert result.greeting_ms is not None
    assert result.media_messages > 0
    assert result.marks > 0
    assert result.marks_acked == result.marks
    first, barge_in, dtmf = result.turns
    assert first.voice_to_voice_ms is not None
    assert barge_in.over_reply
    assert barge_in.clear_after_ms is not None
    assert result.clears >= 1
    assert dtmf.label == "dtmf: 5"
    assert result.close_code == 1000

    stored = await sync_to_async(Call.objects.get)(sid=result.call_sid)
    assert stored.end_reason == "stream_stopped"
    assert stored.status == Call.Status.COMPLETED  # Twilio's status callback
    names = await sync_to_async(list)(CallEvent.objects.filter(call=stored).values_list("name", "detail"))
    events = dict(names)
    assert events["dtmf_ignored"] == {"digit": "5"}  # the key press reached the session
    assert events["barge_in"]["clear_sent"] is True
    assert "stream-started" in events
    assert "stream-stopped" in events
    replies = Turn.objects.filter(call=stored, speaker="assistant").order_by("index")
    texts = await sync_to_async(list)(replies.values_list("text", "interrupted"))
    [(heard, _)] = [(text, interrupted) for text, interrupted in texts if interrupted]
    assert heard  # only what was played before the clear: the first sentence


async def test_the_upgrade_needs_twilios_signature(business: Business) -> None:
    base = await zylin_server_url()
    url = base.replace("http://", "ws://") + "/media-stream"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers={"X-Twilio-Signature": "forged"}, proxy=None):
            pass
    assert refused.value.response.status_code == 403

    call = await sync_to_async(streaming_call)(business)
    signature = signature_compute(url="ws://zylin.test:8000/media-stream", params={})
    async with connect(url, additional_headers={"X-Twilio-Signature": signature}, proxy=None) as socket:
        stream = TwilioStream(call_sid=call.sid)
        await socket.send(stream.connected())
        await socket.send(stream.start(stream_parameters(call)))
        greeting = json.loads(await socket.recv())
        assert (greeting["event"], greeting["streamSid"]) == ("media", stream.stream_sid)
        await socket.send(stream.stop())
        async for _ in socket:  # Zylin closes the socket once the stream has stopped
            pass
    assert socket.close_code == 1000
