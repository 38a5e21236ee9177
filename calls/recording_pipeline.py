"""The record-then-process path, one idempotent step per function, keyed by RecordingSid.

download -> transcribe -> reply -> synthesize -> send. Each step runs only from
the state the previous one left (``Recording.state``) and moves it on with a
conditional update in the same transaction as its rows, so a retried task, a
duplicate chain or a restarted worker finds the work done and returns. A step
that fails for good marks the recording failed; later steps then do nothing.

The steps reuse the voice loop's pieces through ``calls.wiring``: the batch
recognizer, the agent (with the call's business and the caller's number, so it
books through the same booking services) and the voice.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import soundfile
from asgiref.sync import async_to_sync
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Max

from bookings.models import Booking
from calls import wiring
from calls.audio import PHONE_RATE, ulaw2lin
from calls.media_urls import reply_audio_url
from calls.messaging import (
    MessageSendRetryable,
    booking_confirmation_send,
    message_send,
    reply_template,
    whatsapp_window_open,
)
from calls.models import Call, CallEvent, Intent, OutboundMessage, Recording, Turn
from calls.services import BOOKING_CHANGE_EVENT, FIRST_SENTENCE_EVENT
from calls.twilio_rest import RecordingFetchError, recording_fetch
from calls.voice.ports import (
    CallAction,
    IntentUpdate,
    LanguageModel,
    ProviderError,
    TextDelta,
    TextToSpeech,
    ToolUsed,
)

logger = logging.getLogger(__name__)

# The agent tools' "change" values, as confirmation kinds.
_TOOL_CHANGES = {"booked": "created", "moved": "moved", "cancelled": "cancelled"}
_CONFIRMED_CHANGES = frozenset(_TOOL_CHANGES.values())
NO_SPEECH_REPLY = "Sorry, we could not make out your message. Please call us again, or reply here with what you need."
CALLBACK_NOTE = "A member of our team will call you back."


class StepRetryable(Exception):
    """A step failed in a way that may pass later (network, 5xx, provider outage)."""


def _recording(sid: str) -> Recording:
    return Recording.objects.select_related("call", "call__business").get(sid=sid)


def recording_fail(*, sid: str, error: str) -> None:
    """Mark a recording failed for good (unless its reply already went out)."""
    Recording.objects.filter(sid=sid).exclude(state=Recording.State.SENT).update(
        state=Recording.State.FAILED, error=error[:300]
    )
    logger.warning("recording failed: %s", error, extra={"recording_sid": sid})


def _advance(recording: Recording, *, from_state: str, to_state: str, **values: Any) -> bool:
    """Move the recording on if it is still where this step found it; False if another run did."""
    return bool(Recording.objects.filter(pk=recording.pk, state=from_state).update(state=to_state, **values))


# --- download -------------------------------------------------------------


def recording_download(sid: str) -> None:
    """Fetch the caller's recording from Twilio into ``Recording.audio``."""
    recording = _recording(sid)
    if recording.state != Recording.State.PENDING:
        return
    try:
        wav = recording_fetch(recording.url)
    except RecordingFetchError as exc:
        if exc.retryable:
            raise StepRetryable(str(exc)) from exc
        recording_fail(sid=sid, error=str(exc))
        return
    storage = recording.audio.storage
    name = storage.save(recording.audio.field.generate_filename(recording, f"{sid}.wav"), ContentFile(wav))
    if not _advance(recording, from_state=Recording.State.PENDING, to_state=Recording.State.DOWNLOADED, audio=name):
        storage.delete(name)  # another run stored it first


# --- transcribe -----------------------------------------------------------


def _turn_append(*, call: Call, speaker: str, text: str) -> Turn:
    """Append a turn after the call's existing ones (streaming turns come first on a fallback)."""
    for _ in range(3):
        last = call.turns.aggregate(last=Max("index"))["last"]
        index = 0 if last is None else last + 1
        try:
            with transaction.atomic():
                return Turn.objects.create(call=call, index=index, speaker=speaker, text=text)
        except IntegrityError:  # a concurrent writer took the index
            continue
    raise IntegrityError(f"could not append a turn to call {call.sid}")


def _hints(call: Call) -> list[str]:
    hints: list[str] = [call.business.name]
    for service in call.business.services.filter(active=True):
        hints.append(service.name)
        hints.extend(service.synonym_list)
    return hints


def recording_transcribe(sid: str) -> None:
    """Turn the recording into text and store it as the caller's turn."""
    recording = _recording(sid)
    if recording.state != Recording.State.DOWNLOADED:
        return
    with recording.audio.open("rb") as audio:
        wav = audio.read()
    transcriber = wiring.batch_stt_build(business=recording.call.business)
    try:
        text = async_to_sync(transcriber.transcribe)(wav, hints=_hints(recording.call)).strip()
    except ProviderError as exc:
        if exc.retryable:
            raise StepRetryable(str(exc)) from exc
        recording_fail(sid=sid, error=f"transcription failed: {exc}")
        return
    with transaction.atomic():
        if _advance(
            recording, from_state=Recording.State.DOWNLOADED, to_state=Recording.State.TRANSCRIBED, transcript=text
        ):
            _turn_append(call=recording.call, speaker=Turn.Speaker.CALLER, text=text)


# --- reply ------------------------------------------------------------------


@dataclass
class AgentReply:
    text: str = ""
    intent: IntentUpdate | None = None
    tools: list[ToolUsed] = field(default_factory=list)
    actions: list[CallAction] = field(default_factory=list)


async def _agent_reply(agent: LanguageModel, caller_text: str) -> AgentReply:
    reply = AgentReply()
    parts: list[str] = []
    async for event in agent.respond(caller_text):
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, IntentUpdate):
            reply.intent = event
        elif isinstance(event, ToolUsed):
            reply.tools.append(event)
        elif isinstance(event, CallAction):
            reply.actions.append(event)
    reply.text = " ".join("".join(parts).split())
    return reply


def _caller_text(recording: Recording) -> str:
    """What the caller said: hybrid routing's opening sentence, then the recorded message."""
    events = CallEvent.objects.filter(call=recording.call, name=FIRST_SENTENCE_EVENT)
    first = events.values_list("detail", flat=True).first()
    opening = str(first.get("text", "")).strip() if isinstance(first, dict) else ""
    return " ".join(part for part in (opening, recording.transcript) if part)


def recording_reply(sid: str) -> None:
    """Ask the agent, with the call's business and the caller's number, for the written reply."""
    recording = _recording(sid)
    if recording.state != Recording.State.TRANSCRIBED:
        return
    call = recording.call
    caller_text = _caller_text(recording)
    reply = AgentReply(text=NO_SPEECH_REPLY)
    if caller_text:
        agent = wiring.agent_build(business=call.business, caller_phone=call.from_number, call=call)
        try:
            reply = async_to_sync(_agent_reply)(agent, caller_text)
        except ProviderError as exc:
            if exc.retryable:
                raise StepRetryable(str(exc)) from exc
            recording_fail(sid=sid, error=f"agent failed: {exc}")
            return
        if any(action.kind == "transfer" for action in reply.actions):
            reply.text = f"{reply.text} {CALLBACK_NOTE}".strip()
        reply.text = reply.text or NO_SPEECH_REPLY
    with transaction.atomic():
        if not _advance(
            recording, from_state=Recording.State.TRANSCRIBED, to_state=Recording.State.REPLIED, reply_text=reply.text
        ):
            return
        caller_turn = call.turns.filter(speaker=Turn.Speaker.CALLER).order_by("-index").first()
        if reply.intent is not None and caller_turn is not None and not hasattr(caller_turn, "intent"):
            Intent.objects.create(
                turn=caller_turn,
                name=reply.intent.name[:40],
                confidence=reply.intent.confidence,
                # Slots may hold dates and times: store them as JSON text.
                slots=json.loads(json.dumps(reply.intent.slots, cls=DjangoJSONEncoder)),
            )
        _turn_append(call=call, speaker=Turn.Speaker.ASSISTANT, text=reply.text)
        if any(action.kind == "transfer" for action in reply.actions):
            CallEvent.objects.create(call=call, name="callback-requested", detail={"recording_sid": sid})
        for change in booking_changes(reply.tools):
            CallEvent.objects.create(call=call, name=BOOKING_CHANGE_EVENT, detail=change)


# --- synthesize -------------------------------------------------------------


def voice_note_encode(mulaw: bytes) -> bytes:
    """8 kHz mu-law speech as an Ogg/Opus voice note (the audio format WhatsApp plays)."""
    buffer = io.BytesIO()
    soundfile.write(buffer, ulaw2lin(mulaw), PHONE_RATE, format="OGG", subtype="OPUS")
    return buffer.getvalue()


async def _speak(tts: TextToSpeech, text: str) -> bytes:
    audio = bytearray()
    try:
        async for chunk in tts.synthesize(text):
            audio.extend(chunk)
    finally:
        await tts.aclose()
    return bytes(audio)


def recording_synthesize(sid: str, *, final_attempt: bool = False) -> None:
    """Speak the reply with the business's voice and store it as ``reply_audio``.

    A voice that keeps failing does not hold the reply back: on the final
    attempt the step moves on without audio and the text is sent alone.
    """
    recording = _recording(sid)
    if recording.state != Recording.State.REPLIED:
        return
    name = ""
    try:
        tts = wiring.tts_build(business=recording.call.business)
        mulaw = async_to_sync(_speak)(tts, recording.reply_text)
        if mulaw:
            storage = recording.reply_audio.storage
            filename = recording.reply_audio.field.generate_filename(recording, f"{sid}.ogg")
            name = storage.save(filename, ContentFile(voice_note_encode(mulaw)))
    except ProviderError as exc:
        if exc.retryable and not final_attempt:
            raise StepRetryable(str(exc)) from exc
        logger.warning("reply sent without audio: %s", exc, extra={"recording_sid": sid})
    if (
        not _advance(
            recording, from_state=Recording.State.REPLIED, to_state=Recording.State.SYNTHESIZED, reply_audio=name
        )
        and name
    ):
        recording.reply_audio.storage.delete(name)


# --- send -------------------------------------------------------------------


def recording_send(sid: str) -> None:
    """Send the reply by WhatsApp (text, plus the voice note inside the 24-hour window).

    Then confirm any booking the call changed. Every message is keyed, so a
    retry of this step after a transient failure sends only what is missing.
    """
    recording = _recording(sid)
    if recording.state != Recording.State.SYNTHESIZED:
        return
    call = recording.call
    business = call.business
    try:
        text = message_send(
            business=business,
            call=call,
            to=call.from_number,
            body=recording.reply_text,
            idempotency_key=f"recording-reply:{sid}:text",
            template=reply_template(business=business, reply_text=recording.reply_text),
        )
        if (
            recording.reply_audio
            and text.status != OutboundMessage.Status.FAILED
            and whatsapp_window_open(business=business, phone=text.to)
        ):
            message_send(
                business=business,
                call=call,
                to=call.from_number,
                body="",
                media_url=reply_audio_url(recording),
                idempotency_key=f"recording-reply:{sid}:audio",
            )
        call_confirmations_send(call)
    except MessageSendRetryable as exc:
        raise StepRetryable(str(exc)) from exc
    if text.status == OutboundMessage.Status.FAILED:
        recording_fail(sid=sid, error=f"reply not sent ({text.error_code})")
    else:
        _advance(recording, from_state=Recording.State.SYNTHESIZED, to_state=Recording.State.SENT)


def booking_changes(tools: list[ToolUsed]) -> list[dict[str, Any]]:
    """The bookings an agent's tools created, moved or cancelled, as CallEvent details."""
    changes: list[dict[str, Any]] = []
    for tool in tools:
        change = _TOOL_CHANGES.get(str(tool.result.get("change", "")))
        booking_id = tool.result.get("booking_id")
        if tool.result.get("ok") and change and isinstance(booking_id, int):
            changes.append({"booking_id": booking_id, "change": change, "tool": tool.name})
    return changes


def call_confirmations_send(call: Call) -> list[OutboundMessage]:
    """Confirm the bookings this call created, moved or cancelled (each change once).

    The changes are the call's ``booking-change`` events (written from the
    agent's tool results) plus the bookings whose ``source_call`` it is.
    """
    changes: list[tuple[int, str]] = []
    for detail in CallEvent.objects.filter(call=call, name=BOOKING_CHANGE_EVENT).values_list("detail", flat=True):
        if isinstance(detail, dict) and isinstance(detail.get("booking_id"), int):
            changes.append((detail["booking_id"], str(detail.get("change", ""))))
    created = Booking.objects.filter(source_call=call, status=Booking.Status.CONFIRMED).values_list("pk", flat=True)
    changes.extend((pk, "created") for pk in created)
    bookings = Booking.objects.select_related("business", "service", "customer").in_bulk(
        {pk for pk, _change in changes}
    )
    sent: list[OutboundMessage] = []
    for pk, change in dict.fromkeys(changes):
        booking = bookings.get(pk)
        if booking is not None and change in _CONFIRMED_CHANGES:
            sent.append(booking_confirmation_send(booking=booking, call=call, change=change))
    return sent


STEPS: tuple[tuple[str, Callable[[str], None]], ...] = (
    ("download", recording_download),
    ("transcribe", recording_transcribe),
    ("reply", recording_reply),
    ("synthesize", recording_synthesize),
    ("send", recording_send),
)
