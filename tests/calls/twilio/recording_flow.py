"""A recorded call from Twilio's side, for the end-to-end tests of the recording path.

Posts the webhooks Twilio posts (voice, the Record action, the recording status
callback) with real signatures, against a Django test client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.test import Client

from tests.calls.twilio.conftest import CALLER, DEMO_NUMBER, signed_post
from tests.fakes.servers.twilio_rest import FakeTwilioRest

CLIP = Path(__file__).resolve().parents[2] / "fixtures" / "audio" / "piper-13.wav"
CLIP_TEXT = "How much is a haircut?"


def voice_params(call_sid: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "From": CALLER,
        "To": DEMO_NUMBER,
        "CallStatus": "ringing",
        "Direction": "inbound",
    }


def recording_params(call_sid: str, recording_sid: str, url: str, status: str = "completed") -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "RecordingSid": recording_sid,
        "RecordingUrl": url,
        "RecordingStatus": status,
        "RecordingDuration": "3",
        "RecordingChannels": "1",
        "RecordingSource": "RecordVerb",
    }


def recorded_call(
    client: Client, fake: FakeTwilioRest, *, call_sid: str, recording_sid: str, status_posts: int = 1
) -> dict[str, Any]:
    """Ring, record the clip, and report it complete ``status_posts`` times (Twilio retrying)."""
    answer = signed_post(client, "/twilio/voice", voice_params(call_sid))
    assert answer.status_code == 200
    assert b"<Record" in answer.content, answer.content
    url = fake.add_recording(recording_sid, CLIP.read_bytes())
    params = recording_params(call_sid, recording_sid, url)
    done = signed_post(client, "/twilio/recording-done", {k: v for k, v in params.items() if k != "RecordingStatus"})
    assert done.status_code == 200
    statuses = [signed_post(client, "/twilio/recording", params).status_code for _ in range(status_posts)]
    assert statuses == [204] * status_posts
    return params
