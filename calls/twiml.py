"""TwiML answers for Twilio, built with the twilio library's ``VoiceResponse``.

Every URL handed to Twilio is absolute and built from ``PUBLIC_BASE_URL``; the
Media Stream URL carries no query string (Twilio forbids it), so the call's
identifiers travel as ``<Parameter>`` elements and arrive in the stream's
``start.customParameters``.
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from calls.public_urls import public_url_for, public_ws_url

MEDIA_STREAM_PATH = "/media-stream"
RECORD_MAX_SECONDS = 30
RECORD_SILENCE_TIMEOUT_S = 5
GATHER_TIMEOUT_S = 5
DIAL_TIMEOUT_S = 20

RECORD_PROMPT = "Please leave your message after the tone, and we will reply on WhatsApp."
RECORD_AFTER_GATHER_PROMPT = "Thank you. Please tell me a little more after the tone, and we will reply on WhatsApp."
RECORD_FALLBACK_PROMPT = "Please tell me what you need after the tone, and we will reply on WhatsApp."
NOTHING_RECORDED = "We did not hear a message. Please call again. Goodbye."
RECORDING_RECEIVED = "Thank you. We will reply on WhatsApp shortly. Goodbye."
UNKNOWN_NUMBER = "Sorry, this number is not set up to take calls yet. Goodbye."
TRANSFER_PROMPT = "Connecting you to a member of our team now."
TRANSFER_UNANSWERED = "Sorry, no one is free right now."


def stream_response(*, call_sid: str, business_id: int, session_id: str, first_utterance: str = "") -> str:
    """Connect the call to Zylin's Media Stream socket."""
    response = VoiceResponse()
    connect = response.connect()
    stream = connect.stream(
        url=public_ws_url(MEDIA_STREAM_PATH),
        status_callback=public_url_for("twilio-stream-status"),
        status_callback_method="POST",
    )
    stream.parameter(name="sessionId", value=session_id)
    stream.parameter(name="callSid", value=call_sid)
    stream.parameter(name="business", value=str(business_id))
    if first_utterance:
        # Hybrid routing already heard the caller's opening sentence; the voice
        # loop can answer it instead of asking again.
        stream.parameter(name="firstUtterance", value=first_utterance[:500])
    return str(response)


def _add_record(response: VoiceResponse) -> None:
    response.record(
        action=public_url_for("twilio-recording-done"),
        method="POST",
        max_length=RECORD_MAX_SECONDS,
        timeout=RECORD_SILENCE_TIMEOUT_S,
        play_beep=True,
        recording_status_callback=public_url_for("twilio-recording"),
        recording_status_callback_method="POST",
        recording_status_callback_event="completed absent",
    )


def record_response(*, greeting: str, prompt: str = RECORD_PROMPT) -> str:
    """Greet, record up to 30 s; Twilio then posts to the Record action.

    The closing line after ``<Record>`` is reached only when nothing was
    recorded: with a recording, Twilio follows the action URL instead.
    """
    response = VoiceResponse()
    for line in (greeting, prompt):
        if line:
            response.say(line)
    _add_record(response)
    response.say(NOTHING_RECORDED)
    response.hangup()
    return str(response)


def gather_response(*, greeting: str) -> str:
    """Hybrid mode: hear the caller's first sentence, then ask Zylin where to route it."""
    response = VoiceResponse()
    gather = response.gather(
        input="speech",
        action=public_url_for("twilio-route"),
        method="POST",
        timeout=GATHER_TIMEOUT_S,
        speech_timeout="auto",
        action_on_empty_result=True,
    )
    gather.say(greeting)
    # Reached only if Twilio skips the action; routes as an unclear sentence.
    response.redirect(public_url_for("twilio-route"), method="POST")
    return str(response)


def recording_done_response() -> str:
    """The Record action: thank the caller and hang up."""
    response = VoiceResponse()
    response.say(RECORDING_RECEIVED)
    response.hangup()
    return str(response)


def unknown_number_response() -> str:
    response = VoiceResponse()
    response.say(UNKNOWN_NUMBER)
    response.hangup()
    return str(response)


def transfer_response(*, number: str) -> str:
    """Dial the business's person; if no one answers, take a message."""
    response = VoiceResponse()
    response.say(TRANSFER_PROMPT)
    # Twilio posts the outcome to the action; without one it would run the next
    # verbs even after a finished conversation.
    response.dial(number, timeout=DIAL_TIMEOUT_S, action=public_url_for("twilio-dial-done"), method="POST")
    return str(response)


def dial_done_response(*, dial_status: str) -> str:
    """After a transfer: hang up if the person answered, else take a message."""
    if dial_status == "completed":
        return hangup_response()
    return record_response(greeting=TRANSFER_UNANSWERED, prompt=RECORD_PROMPT)


def fallback_record_response() -> str:
    """A live call leaving the streaming path: record a message instead.

    The voice loop has already told the caller why, so this only prompts.
    """
    return record_response(greeting="", prompt=RECORD_FALLBACK_PROMPT)


def hangup_response() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def empty_response() -> str:
    return str(VoiceResponse())
