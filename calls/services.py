"""Writes for the Twilio edge: calls, their status, streams, recordings, messages.

Twilio retries webhooks and may deliver status callbacks out of order, so
every write here is idempotent (keyed by a Twilio SID) and no status ever
moves backwards: a late ``ringing`` after ``completed`` changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.selectors import opening_intervals
from businesses.models import Business, PhoneNumber
from businesses.validators import e164_normalize
from calls import metrics
from calls.models import Call, CallEvent, OutboundMessage, Recording
from calls.routing import RouteDecision, RoutePath

logger = logging.getLogger(__name__)

# The CallEvent holding hybrid routing's capture of the caller's opening sentence.
FIRST_SENTENCE_EVENT = "first-sentence"
# A booking created, moved or cancelled during a call: {"booking_id": int, "change": str}.
BOOKING_CHANGE_EVENT = "booking-change"

_CALL_STATUS_RANK = {
    Call.Status.QUEUED: 0,
    Call.Status.RINGING: 1,
    Call.Status.IN_PROGRESS: 2,
    Call.Status.COMPLETED: 3,
    Call.Status.BUSY: 3,
    Call.Status.FAILED: 3,
    Call.Status.NO_ANSWER: 3,
    Call.Status.CANCELED: 3,
}
CALL_TERMINAL = frozenset(status for status, rank in _CALL_STATUS_RANK.items() if rank == 3)

# Delivery outcomes outrank progress; "read" outranks everything.
_MESSAGE_STATUS_RANK = {
    OutboundMessage.Status.QUEUED: 0,
    OutboundMessage.Status.SENT: 1,
    OutboundMessage.Status.UNDELIVERED: 2,
    OutboundMessage.Status.FAILED: 2,
    OutboundMessage.Status.DELIVERED: 3,
    OutboundMessage.Status.READ: 4,
}
# Twilio's intermediate states that the model folds into "queued".
_MESSAGE_STATUS_ALIASES = {"accepted": "queued", "scheduled": "queued", "sending": "queued"}


def business_for_number(number: str) -> Business | None:
    """The business Twilio's ``To`` number belongs to, or None."""
    try:
        normalized = e164_normalize(number)
    except ValidationError:  # a SIP address or an empty To: no business
        return None
    phone = PhoneNumber.objects.select_related("business").filter(number=normalized).first()
    return phone.business if phone else None


def business_open_at(*, business: Business, at: dt.datetime) -> bool:
    """Whether ``at`` falls within the business's opening hours (closures included)."""
    local = at.astimezone(business.tz)
    return any(opens <= local < closes for opens, closes in opening_intervals(business=business, day=local.date()))


def twilio_timestamp(value: str) -> dt.datetime | None:
    """Parse Twilio's RFC 2822 ``Timestamp`` parameter; None when absent or malformed."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)


def call_start(
    *, sid: str, business: Business, from_number: str, to_number: str, status: str = ""
) -> tuple[Call, bool]:
    """Create the Call for a voice webhook; a retried webhook gets the same row back."""
    defaults: dict[str, Any] = {"business": business, "from_number": from_number[:32], "to_number": to_number[:32]}
    if status in _CALL_STATUS_RANK:
        defaults["status"] = status
    try:
        with transaction.atomic():
            return Call.objects.get_or_create(sid=sid, defaults=defaults)
    except IntegrityError:  # a concurrent retry created it first
        return Call.objects.get(sid=sid), False


@transaction.atomic
def call_route_set(*, call: Call, decision: RouteDecision, session_id: str = "") -> Call:
    """Store the router's decision; a gather decision keeps the safe recording path until routed."""
    call = Call.objects.select_for_update().get(pk=call.pk)
    call.path = Call.Path.STREAMING if decision.path == RoutePath.STREAMING else Call.Path.RECORDING
    call.route_reason = decision.reason[:200]
    if session_id and not call.session_id:
        call.session_id = session_id
    call.save(update_fields=["path", "route_reason", "session_id"])
    return call


def call_event_record(*, call: Call, name: str, detail: dict[str, Any] | None = None) -> CallEvent:
    return CallEvent.objects.create(call=call, name=name[:40], detail=detail or {})


@transaction.atomic
def call_event_record_once(*, call: Call, name: str, detail: dict[str, Any], key: str) -> CallEvent:
    """Record an event once per ``detail[key]`` (a Twilio SID): a retried webhook finds the first one.

    The Call row is locked first, so retries arriving at the same moment queue up
    instead of each seeing "not recorded yet".
    """
    locked = Call.objects.select_for_update().get(pk=call.pk)
    existing = locked.events.filter(name=name[:40], **{f"detail__{key}": detail.get(key)}).first()
    return existing if existing is not None else call_event_record(call=locked, name=name, detail=detail)


@dataclass(frozen=True)
class StatusChange:
    call: Call
    changed: bool
    became_terminal: bool


@transaction.atomic
def call_status_update(
    *, sid: str, status: str, duration_seconds: int | None = None, at: dt.datetime | None = None
) -> StatusChange | None:
    """Apply a call status callback; None for an unknown call. Never moves backwards."""
    call = Call.objects.select_for_update().filter(sid=sid).first()
    if call is None:
        return None
    new_rank = _CALL_STATUS_RANK.get(status)
    if new_rank is None:
        logger.info("ignored unknown call status %r", status, extra={"call_sid": sid})
        return StatusChange(call, False, False)
    at = at or timezone.now()
    old_rank = _CALL_STATUS_RANK.get(call.status, 0)
    fields: set[str] = set()
    if new_rank > old_rank:
        call.status = status
        fields.add("status")
        if status == Call.Status.IN_PROGRESS and call.answered_at is None:
            call.answered_at = at
            fields.add("answered_at")
        if status in CALL_TERMINAL:
            call.ended_at = call.ended_at or at
            fields.add("ended_at")
            if not call.end_reason:
                call.end_reason = status
                fields.add("end_reason")
    # The first figure Twilio gives stays; it replaces the estimate of a call the voice loop
    # closed itself (its end reason is the loop's, not a Twilio status).
    estimated = call.end_reason != "" and call.end_reason not in _CALL_STATUS_RANK
    if duration_seconds is not None and (call.duration_seconds is None or estimated):
        call.duration_seconds = duration_seconds
        fields.add("duration_seconds")
    if fields:
        call.save(update_fields=sorted(fields))
    became_terminal = "status" in fields and status in CALL_TERMINAL
    return StatusChange(call, bool(fields), became_terminal)


def call_answered(*, call_id: int, at: dt.datetime | None = None) -> bool:
    """Zylin took the call (its media stream started, or the caller was recorded); set once.

    Twilio sends an inbound call's status callback only when it completes, so
    ``in-progress`` rarely marks the answer: these moments do.
    """
    return bool(Call.objects.filter(pk=call_id, answered_at__isnull=True).update(answered_at=at or timezone.now()))


@transaction.atomic
def stream_status_record(
    *, call_sid: str, stream_sid: str, event: str, error: str = "", at: dt.datetime | None = None
) -> CallEvent | None:
    """Record a Media Stream status callback once per (stream, event)."""
    call = Call.objects.select_for_update().filter(sid=call_sid).first()
    if call is None:
        return None
    name = event or "stream-event"
    existing = call.events.filter(name=name, detail__stream_sid=stream_sid).first()
    if existing is not None:
        return existing
    if stream_sid and not call.stream_sid:
        call.stream_sid = stream_sid[:64]
        call.save(update_fields=["stream_sid"])
    detail: dict[str, Any] = {"stream_sid": stream_sid}
    if error:
        detail["error"] = error[:300]
    if at is not None:
        detail["at"] = at.isoformat()
    return call_event_record(call=call, name=name, detail=detail)


@dataclass(frozen=True)
class RecordingRegistration:
    recording: Recording | None
    # True once, for the callback that first reported the recording complete:
    # that one, and only that one, starts the processing chain.
    newly_completed: bool


RECORDING_FINAL_STATUSES = ("completed", "absent", "failed")


@transaction.atomic
def recording_register(
    *,
    call: Call,
    sid: str,
    url: str,
    status: str,
    duration_seconds: int | None = None,
    error_code: str = "",
) -> RecordingRegistration:
    """Apply a recording status callback; only a final status creates the Recording.

    The row exists exactly when Twilio has reported the recording final, so the
    callback that creates it is the one that starts processing; retries find it.
    """
    if status not in RECORDING_FINAL_STATUSES:
        return RecordingRegistration(Recording.objects.filter(sid=sid).first(), False)
    defaults: dict[str, Any] = {"call": call, "url": url[:500], "duration_seconds": duration_seconds}
    if status != "completed":
        defaults["state"] = Recording.State.FAILED
        defaults["error"] = f"Twilio reported the recording {status}" + (f" ({error_code})" if error_code else "")
    try:
        with transaction.atomic():
            recording, created = Recording.objects.get_or_create(sid=sid, defaults=defaults)
    except IntegrityError:  # a concurrent retry created it first
        recording, created = Recording.objects.get(sid=sid), False
    if created and status == "completed":  # the caller stayed to be recorded: the call was answered
        started = timezone.now() - dt.timedelta(seconds=duration_seconds or 0)
        call_answered(call_id=call.pk, at=started)
    return RecordingRegistration(recording, created and status == "completed")


@transaction.atomic
def message_status_update(*, provider_sid: str, status: str, error_code: str = "") -> OutboundMessage | None:
    """Apply a WhatsApp delivery callback; never moves a status backwards."""
    message = OutboundMessage.objects.select_for_update().filter(provider_sid=provider_sid).first()
    if message is None:
        return None
    status = _MESSAGE_STATUS_ALIASES.get(status, status)
    new_rank = _MESSAGE_STATUS_RANK.get(status)
    old_rank = _MESSAGE_STATUS_RANK.get(message.status, -1)
    if new_rank is None or new_rank <= old_rank:
        return message
    message.status = status
    fields = ["status", "updated_at"]
    if error_code:
        message.error_code = error_code[:20]
        fields.append("error_code")
    message.save(update_fields=fields)
    transaction.on_commit(lambda: metrics.message_status(status, channel=message.channel))
    return message


_CONTROL_EVENT_NAMES = {
    "hang-up": "hang-up",
    "transfer": "transfer",
    "transfer-unavailable": "transfer-unavailable",
    "redirect-to-recording": "fallback-to-recording",
}


@transaction.atomic
def call_control_record(
    *, call_id: int, action: str, detail: dict[str, Any] | None = None, applied: bool = True
) -> Call | None:
    """Record a live-call action (hang-up, transfer, fallback); mark the Call when it took effect."""
    call = Call.objects.select_for_update().filter(pk=call_id).first()
    if call is None:
        return None
    fields: list[str] = []
    if not applied:
        call_event_record(call=call, name=_CONTROL_EVENT_NAMES.get(action, action), detail=detail)
        return call
    if action == "transfer" and not call.transferred:
        call.transferred = True
        fields.append("transferred")
    elif action == "hang-up" and not call.end_reason:
        call.end_reason = "hung up by Zylin"
        fields.append("end_reason")
    elif action == "redirect-to-recording" and "fell back to recording" not in call.route_reason:
        call.route_reason = f"{call.route_reason}; fell back to recording".lstrip("; ")[:200]
        fields.append("route_reason")
    if fields:
        call.save(update_fields=fields)
    call_event_record(call=call, name=_CONTROL_EVENT_NAMES.get(action, action), detail=detail)
    return call
