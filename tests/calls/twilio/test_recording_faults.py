"""The recording path when things go wrong or repeat: retries, give-ups, duplicates.

Twilio's side is the fake Twilio REST server and transcription the real OpenAI
adapter against the fake OpenAI audio server; the agent and the voice are
scripted doubles, so each test controls exactly what fails.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from django.test import Client

from businesses.models import RolloutPolicy
from calls import recording_pipeline, twilio_rest, wiring
from calls.models import OutboundMessage, Recording, Turn
from calls.tasks import recording_chain
from tests.calls.twilio.conftest import signed_post
from tests.calls.twilio.recording_flow import CLIP, CLIP_TEXT, recorded_call, recording_params, voice_params

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("agent", "voice")]

CALL_SID = "CA" + "5" * 32
RECORDING_SID = "RE" + "6" * 32


def test_download_retries_server_errors_and_timeouts(pipeline, client: Client, monkeypatch) -> None:
    monkeypatch.setattr(twilio_rest, "DOWNLOAD_TIMEOUT", httpx.Timeout(0.3))
    pipeline.stall_s = 1.0
    pipeline.fail_next("recording", 500, "stall", 503)
    recorded_call(client, pipeline, call_sid=CALL_SID, recording_sid=RECORDING_SID)
    answered = [r.answered for r in pipeline.of_kind("recording")]
    # The second request stalled past the client's timeout; the fake may still be sleeping on it.
    assert len(answered) == 4
    assert (answered[0], answered[2], answered[3]) == (500, 503, 200)
    assert Recording.objects.get().state == Recording.State.SENT
    assert len(pipeline.messages) == 1


def test_download_404_is_final(pipeline, client: Client, openai_fakes) -> None:
    pipeline.fail_next("recording", 404)
    recorded_call(client, pipeline, call_sid=CALL_SID, recording_sid=RECORDING_SID)
    recording = Recording.objects.get()
    assert recording.state == Recording.State.FAILED
    assert "404" in recording.error
    assert len(pipeline.of_kind("recording")) == 1
    assert openai_fakes.audio.requests == []
    assert pipeline.messages == []
    assert not Turn.objects.exists()


def test_download_gives_up_after_repeated_5xx(pipeline, client: Client) -> None:
    pipeline.fail_next("recording", *([500] * 10))
    recorded_call(client, pipeline, call_sid=CALL_SID, recording_sid=RECORDING_SID)
    recording = Recording.objects.get()
    assert recording.state == Recording.State.FAILED
    assert "gave up after 5 retries" in recording.error
    assert len(pipeline.of_kind("recording")) == 6
    assert pipeline.messages == []


def test_a_failing_voice_still_sends_the_text(pipeline, client: Client, voice) -> None:
    voice.fail = True
    recorded_call(client, pipeline, call_sid=CALL_SID, recording_sid=RECORDING_SID)
    recording = Recording.objects.get()
    assert recording.state == Recording.State.SENT
    assert not recording.reply_audio
    assert len(pipeline.messages) == 1


def test_message_5xx_is_retried_and_sent_once(pipeline, client: Client) -> None:
    pipeline.fail_next("message", 500, 502)
    recorded_call(client, pipeline, call_sid=CALL_SID, recording_sid=RECORDING_SID)
    assert [r.answered for r in pipeline.of_kind("message")] == [500, 502, 201]
    assert Recording.objects.get().state == Recording.State.SENT


def test_hybrid_opening_sentence_reaches_the_agent(pipeline, client: Client, agent, demo_business, monkeypatch) -> None:
    monkeypatch.setattr("calls.webhooks.timezone.now", lambda: dt.datetime(2030, 1, 9, 16, tzinfo=dt.UTC))
    RolloutPolicy.objects.filter(business=demo_business).update(mode=RolloutPolicy.Mode.HYBRID)
    gather = signed_post(client, "/twilio/voice", voice_params(CALL_SID))
    assert b"<Gather" in gather.content
    routed = signed_post(
        client, "/twilio/route", {"CallSid": CALL_SID, "SpeechResult": "I need to move my appointment."}
    )
    assert b"<Record" in routed.content
    url = pipeline.add_recording(RECORDING_SID, CLIP.read_bytes())
    signed_post(client, "/twilio/recording", recording_params(CALL_SID, RECORDING_SID, url))
    assert agent.heard == [f"I need to move my appointment. {CLIP_TEXT}"]
    assert Recording.objects.get().state == Recording.State.SENT


def test_steps_skip_work_already_done(pipeline, client: Client, monkeypatch) -> None:
    recorded_call(client, pipeline, call_sid=CALL_SID, recording_sid=RECORDING_SID)
    monkeypatch.setattr(wiring, "agent_build", lambda **kwargs: pytest.fail("the agent ran twice"))
    monkeypatch.setattr(wiring, "tts_build", lambda **kwargs: pytest.fail("the voice ran twice"))
    monkeypatch.setattr(wiring, "batch_stt_build", lambda **kwargs: pytest.fail("transcribed twice"))
    for _name, step in recording_pipeline.STEPS:
        step(RECORDING_SID)
    assert len(pipeline.messages) == 1


def test_running_the_chain_again_changes_nothing(pipeline, client: Client) -> None:
    recorded_call(client, pipeline, call_sid=CALL_SID, recording_sid=RECORDING_SID)
    for _ in range(2):
        recording_chain(RECORDING_SID).apply()
    assert len(pipeline.messages) == 1
    assert len(pipeline.of_kind("recording")) == 1
    assert Turn.objects.count() == 2
    assert OutboundMessage.objects.count() == 1
