"""Twilio's webhooks: the voice call, hybrid routing, and status callbacks.

Every view is POST-only, CSRF-exempt and checks Twilio's signature (a bad one
gets 403 before anything is stored). Twilio retries slow or failed webhooks and
delivers callbacks out of order, so each view is idempotent: a retried voice
webhook gets the same answer, and status writes never move backwards (see
``calls/services.py``). The views only parse, call services and render TwiML.
"""

from __future__ import annotations

import logging
import secrets

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.http import require_POST

from businesses.models import Business, RolloutPolicy
from calls import metrics, twiml
from calls.capacity import streaming_capacity
from calls.intent_classifier import Vocabulary, intent_classify, vocabulary_build
from calls.messaging import whatsapp_inbound_record
from calls.models import Call
from calls.routing import HYBRID_GATHER_REASON, RouteDecision, RoutePath, path_choose
from calls.services import (
    FIRST_SENTENCE_EVENT,
    business_for_number,
    business_open_at,
    call_event_record,
    call_event_record_once,
    call_route_set,
    call_start,
    call_status_update,
    message_status_update,
    recording_register,
    stream_status_record,
    twilio_timestamp,
)
from calls.tasks import call_confirmations_enqueue, recording_chain_enqueue
from calls.twilio_signature import twilio_signed

logger = logging.getLogger(__name__)


def _twiml(xml: str) -> HttpResponse:
    return HttpResponse(xml, content_type="text/xml")


def _no_content() -> HttpResponse:
    return HttpResponse(status=204)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _vocabulary(business: Business) -> Vocabulary:
    services: list[str] = []
    for service in business.services.filter(active=True):
        services.append(service.name)
        services.extend(service.synonym_list)
    return vocabulary_build(services=services, faq_questions=business.faqs.values_list("question", flat=True))


def _decide(call: Call, business: Business, *, first_sentence: str | None) -> RouteDecision:
    policy = RolloutPolicy.objects.filter(business=business).first()
    capacity = streaming_capacity()
    first_intent = None
    if first_sentence is not None:
        first_intent = intent_classify(first_sentence, vocabulary=_vocabulary(business))
    decision = path_choose(
        policy=policy,
        call_sid=call.sid,
        first_intent=first_intent,
        capacity_available=capacity.available(),
        business_open=business_open_at(business=business, at=timezone.now()),
        after_hours="stream" if business.after_hours == Business.AfterHours.STREAM else "record",
    )
    if decision.path == RoutePath.STREAMING and not capacity.reserve(call.sid):
        # Another call took the last slot between the check and the reservation.
        decision = RouteDecision(RoutePath.RECORDING, "streaming capacity full: recording")
    return decision


def _answer(call: Call, business: Business, *, gather: bool, first_utterance: str = "") -> str:
    if gather:
        return twiml.gather_response(greeting=business.greeting_text)
    if call.path == Call.Path.STREAMING:
        return twiml.stream_response(
            call_sid=call.sid, business_id=business.pk, session_id=call.session_id, first_utterance=first_utterance
        )
    if first_utterance:
        return twiml.record_response(greeting="", prompt=twiml.RECORD_AFTER_GATHER_PROMPT)
    return twiml.record_response(greeting=business.greeting_text)


def _gathering(call: Call) -> bool:
    return call.route_reason == HYBRID_GATHER_REASON


@require_POST
@twilio_signed
def voice_webhook(request: HttpRequest) -> HttpResponse:
    """A call arrives: find the business, create the Call, route it, answer with TwiML."""
    call_sid = request.POST.get("CallSid", "")
    to_number = request.POST.get("To", "")
    if not call_sid:
        return HttpResponseBadRequest("CallSid is required.")
    business = business_for_number(to_number)
    if business is None:
        logger.warning("call to a number no business owns: %s", to_number, extra={"call_sid": call_sid})
        return _twiml(twiml.unknown_number_response())
    call, created = call_start(
        sid=call_sid,
        business=business,
        from_number=request.POST.get("From", ""),
        to_number=to_number,
        status=request.POST.get("CallStatus", ""),
    )
    if not created and call.route_reason:  # Twilio retried: give the same answer
        return _twiml(_answer(call, business, gather=_gathering(call)))
    decision = _decide(call, business, first_sentence=None)
    session_id = secrets.token_urlsafe(16) if decision.path == RoutePath.STREAMING else ""
    call = call_route_set(call=call, decision=decision, session_id=session_id)
    logger.info("call routed: %s", decision.reason, extra={"call_sid": call_sid})
    if decision.path != RoutePath.GATHER:
        metrics.call_started(call.path, business=business.slug)
    return _twiml(_answer(call, business, gather=decision.path == RoutePath.GATHER))


@require_POST
@twilio_signed
def route_webhook(request: HttpRequest) -> HttpResponse:
    """Hybrid mode: the caller's first sentence arrives from ``<Gather>``; route on it."""
    call_sid = request.POST.get("CallSid", "")
    call = Call.objects.select_related("business").filter(sid=call_sid).first()
    if call is None:
        logger.warning("route for an unknown call", extra={"call_sid": call_sid})
        return _twiml(twiml.unknown_number_response())
    sentence = request.POST.get("SpeechResult", "").strip()
    if not _gathering(call):  # already routed: Twilio retried
        return _twiml(_answer(call, call.business, gather=False, first_utterance=sentence))
    decision = _decide(call, call.business, first_sentence=sentence)
    session_id = secrets.token_urlsafe(16) if decision.path == RoutePath.STREAMING else ""
    with transaction.atomic():
        call = call_route_set(call=call, decision=decision, session_id=session_id)
        call_event_record(
            call=call,
            name=FIRST_SENTENCE_EVENT,
            detail={"text": sentence, "confidence": request.POST.get("Confidence", ""), "reason": decision.reason},
        )
    logger.info("call routed: %s", decision.reason, extra={"call_sid": call_sid})
    metrics.call_started(call.path, business=call.business.slug)
    return _twiml(_answer(call, call.business, gather=False, first_utterance=sentence))


@require_POST
@twilio_signed
def call_status_webhook(request: HttpRequest) -> HttpResponse:
    """Call progress (ringing, in-progress, completed...) and its duration."""
    call_sid = request.POST.get("CallSid", "")
    change = call_status_update(
        sid=call_sid,
        status=request.POST.get("CallStatus", ""),
        duration_seconds=_int_or_none(request.POST.get("CallDuration")),
        at=twilio_timestamp(request.POST.get("Timestamp", "")),
    )
    if change is not None and change.became_terminal:
        streaming_capacity().release(call_sid)
        call_confirmations_enqueue(change.call)
        if change.call.route_reason and not _gathering(change.call):  # counted as started
            metrics.call_ended_observe(change.call)
    return _no_content()


@require_POST
@twilio_signed
def stream_status_webhook(request: HttpRequest) -> HttpResponse:
    """Media Stream started, stopped or failed."""
    call_sid = request.POST.get("CallSid", "")
    event = request.POST.get("StreamEvent", "")
    stream_status_record(
        call_sid=call_sid,
        stream_sid=request.POST.get("StreamSid", ""),
        event=event,
        error=request.POST.get("StreamError", ""),
        at=twilio_timestamp(request.POST.get("Timestamp", "")),
    )
    if event in ("stream-stopped", "stream-error"):
        streaming_capacity().release(call_sid)
    return _no_content()


@require_POST
@twilio_signed
def recording_status_webhook(request: HttpRequest) -> HttpResponse:
    """A recording is complete (or absent): register it and start processing once."""
    call_sid = request.POST.get("CallSid", "")
    recording_sid = request.POST.get("RecordingSid", "")
    call = Call.objects.filter(sid=call_sid).first()
    if call is None or not recording_sid:
        logger.warning("recording callback for an unknown call", extra={"call_sid": call_sid})
        return _no_content()
    registration = recording_register(
        call=call,
        sid=recording_sid,
        url=request.POST.get("RecordingUrl", ""),
        status=request.POST.get("RecordingStatus", ""),
        duration_seconds=_int_or_none(request.POST.get("RecordingDuration")),
        error_code=request.POST.get("ErrorCode", ""),
    )
    if registration.newly_completed:
        recording_chain_enqueue(recording_sid)
    return _no_content()


@require_POST
@twilio_signed
def recording_done_webhook(request: HttpRequest) -> HttpResponse:
    """The ``<Record>`` action: the caller finished; thank them and hang up.

    The recording itself is processed when its status callback reports it complete.
    """
    call = Call.objects.filter(sid=request.POST.get("CallSid", "")).first()
    recording_sid = request.POST.get("RecordingSid", "")
    if call is not None:
        call_event_record_once(
            call=call,
            name="message-recorded",
            detail={"recording_sid": recording_sid, "duration": request.POST.get("RecordingDuration", "")},
            key="recording_sid",
        )
    return _twiml(twiml.recording_done_response())


@require_POST
@twilio_signed
def dial_done_webhook(request: HttpRequest) -> HttpResponse:
    """A transfer ended: hang up after a conversation, take a message otherwise."""
    dial_status = request.POST.get("DialCallStatus", "")
    call = Call.objects.filter(sid=request.POST.get("CallSid", "")).first()
    if call is not None:
        # One outcome per dialled leg: Twilio retries this webhook like any other.
        detail = {"dial_status": dial_status, "dial_call_sid": request.POST.get("DialCallSid", "")}
        call_event_record_once(call=call, name="transfer-outcome", detail=detail, key="dial_call_sid")
    return _twiml(twiml.dial_done_response(dial_status=dial_status))


@require_POST
@twilio_signed
def message_status_webhook(request: HttpRequest) -> HttpResponse:
    """WhatsApp delivery progress for a message Zylin sent."""
    message_status_update(
        provider_sid=request.POST.get("MessageSid", ""),
        status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
    )
    return _no_content()


@require_POST
@twilio_signed
def whatsapp_inbound_webhook(request: HttpRequest) -> HttpResponse:
    """A customer wrote on WhatsApp: this opens the 24-hour free-form window."""
    sender = request.POST.get("From", "")
    business_number = request.POST.get("To", "").removeprefix("whatsapp:")
    business = Business.objects.filter(whatsapp_sender=business_number).first()
    if business is not None and sender:
        try:
            whatsapp_inbound_record(business=business, phone=sender)
        except Exception:  # a malformed sender number: nothing to remember
            logger.info("ignored a WhatsApp message from %r", sender)
    return _twiml(twiml.empty_response())
