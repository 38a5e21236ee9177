"""The record-then-process path end to end, in Celery's eager mode, with real pieces.

Twilio's side is the fake Twilio REST server (recording download, messages).
With an OpenAI key, transcription and the agent are Zylin's OpenAI adapters
against the fake OpenAI audio and chat servers; without one (the embedded
defaults) they are pocketsphinx and the local agent. The voice is piper.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client

from businesses.models import Business
from calls.messaging import whatsapp_inbound_record
from calls.models import Call, OutboundMessage, Recording, Turn
from tests.calls.twilio.conftest import CALLER, REPLY_TEMPLATE, OpenAIFakes
from tests.calls.twilio.recording_flow import CLIP_TEXT, recorded_call
from tests.fakes.servers.openai_chat import ChatReply
from tests.fakes.servers.twilio_rest import FakeTwilioRest

pytestmark = pytest.mark.django_db(transaction=True)

CALL_SID = "CA" + "5" * 32
RECORDING_SID = "RE" + "6" * 32
MODEL_REPLY = "A haircut is forty-five dollars. Would you like to book one?"


@pytest.fixture
def model_answers(openai_fakes: OpenAIFakes) -> OpenAIFakes:
    openai_fakes.chat.add(ChatReply(text=MODEL_REPLY))
    return openai_fakes


def test_recorded_call_is_answered_on_whatsapp_once(pipeline, model_answers: OpenAIFakes, client: Client) -> None:
    recorded_call(client, pipeline, call_sid=CALL_SID, recording_sid=RECORDING_SID, status_posts=3)

    recording = Recording.objects.get(sid=RECORDING_SID)
    assert recording.state == Recording.State.SENT, recording.error
    assert recording.transcript == CLIP_TEXT
    assert recording.reply_text == MODEL_REPLY
    assert recording.reply_audio.name.endswith(".ogg")
    assert recording.reply_audio.read(4) == b"OggS"

    # Downloaded once, as WAV, with the account's Basic auth; that WAV was transcribed.
    (download,) = pipeline.of_kind("recording")
    assert download.path.endswith(f"/Recordings/{RECORDING_SID}.wav")
    assert download.authorized
    (transcription,) = model_answers.audio.requests
    assert transcription.files["file"][2] == recording.audio.open("rb").read()

    # The agent had the business's context and the caller's words.
    (chat,) = model_answers.chat.requests
    assert "Bella Hair Studio" in chat.messages[0]["content"]
    assert chat.messages[-1] == {"role": "user", "content": CLIP_TEXT}

    call = Call.objects.get(sid=CALL_SID)
    turns = list(call.turns.values_list("index", "speaker", "text"))
    assert turns == [(0, Turn.Speaker.CALLER, CLIP_TEXT), (1, Turn.Speaker.ASSISTANT, MODEL_REPLY)]

    # Outside the 24-hour window: one template message carrying the reply, no voice note.
    (message,) = pipeline.messages
    assert message.value("ContentSid") == REPLY_TEMPLATE
    assert message.value("To") == f"whatsapp:{CALLER}"
    assert message.value("From") == "whatsapp:+14155238886"
    row = OutboundMessage.objects.get()
    assert row.content_variables == {"1": "Bella Hair Studio", "2": MODEL_REPLY}
    assert (row.idempotency_key, row.status) == (f"recording-reply:{RECORDING_SID}:text", "queued")
    assert row.provider_sid.startswith("SM")
    assert row.call == call


def test_inside_the_window_the_reply_comes_with_a_voice_note(
    pipeline, model_answers: OpenAIFakes, client: Client
) -> None:
    whatsapp_inbound_record(business=Business.objects.get(slug="bella-hair-studio"), phone=CALLER)
    recorded_call(client, pipeline, call_sid=CALL_SID, recording_sid=RECORDING_SID)
    text, note = pipeline.messages
    assert text.value("Body") == MODEL_REPLY
    assert text.value("MediaUrl") is None
    (media_url,) = note.form["MediaUrl"]
    assert media_url.startswith("https://zylin.example.com/voice-notes/")
    fetched = client.get(urlsplit(media_url).path)
    assert fetched.status_code == 200
    assert fetched["Content-Type"] == "audio/ogg"
    audio = b"".join(fetched.streaming_content)
    assert audio[:4] == b"OggS"
    assert b"OpusHead" in audio[:100]
    # Piper's speech, not silence: a few seconds of Opus is more than a few hundred bytes.
    assert len(audio) > 2000


def test_embedded_defaults_answer_into_the_outbox(
    settings, media_root, recording_policy, demo_business, client: Client
) -> None:
    """No Twilio account, no OpenAI key: pocketsphinx hears, the local agent answers, piper speaks.

    A call simulator plays Twilio and signs with the development token; nothing is sent.
    """
    settings.DEBUG = True
    settings.VOICE = {**settings.VOICE, "agent": "local", "tts": "piper"}
    with FakeTwilioRest(auth_token=settings.TWILIO_SIGNING_TOKEN) as simulator:
        settings.TWILIO_API_BASE_URL = simulator.url
        recorded_call(client, simulator, call_sid=CALL_SID, recording_sid=RECORDING_SID)
        assert simulator.of_kind("message") == []
    recording = Recording.objects.get()
    assert recording.state == Recording.State.SENT, recording.error
    assert "haircut" in recording.transcript
    assert "forty-five" in recording.reply_text or "45" in recording.reply_text
    assert recording.reply_audio.read(4) == b"OggS"
    message = OutboundMessage.objects.get()
    assert message.status == OutboundMessage.Status.OUTBOX
    assert message.body == recording.reply_text
    assert message.to == CALLER
