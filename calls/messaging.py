"""WhatsApp messages through Twilio Messaging, each one exactly once.

Every message is an ``OutboundMessage`` row first, keyed by an idempotency key
(unique in the database): a retried webhook or a restarted worker finds the row
and does not send again. Sending claims the row with a conditional update, so
two workers racing on one key send once; a worker that dies between claim and
answer leaves the message unsent rather than risk a duplicate.

WhatsApp allows free-form messages (and voice notes) only within 24 hours of the
customer's last message to the business. Zylin learns of those messages from
``POST /twilio/whatsapp`` and remembers each for 24 hours in the cache (Redis in
production). Outside that window a message uses the configured Content API
template (``content_sid`` plus ``content_variables`` as a JSON string); with no
template configured it is marked failed instead of being sent to certain
rejection. Without Twilio credentials messages stay in the outbox.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from twilio.base.exceptions import TwilioException, TwilioRestException

from bookings.models import Booking
from businesses.models import Business
from businesses.validators import e164_normalize
from calls import metrics
from calls.models import Call, OutboundMessage
from calls.public_urls import public_url_for
from calls.twilio_rest import credentials, rest_client

logger = logging.getLogger(__name__)

WHATSAPP_WINDOW = dt.timedelta(hours=24)
_CLAIM_PREFIX = "claim-"


class MessageSendRetryable(Exception):
    """Twilio could not take the message now (5xx, timeout); the caller may retry."""


@dataclass(frozen=True)
class WhatsAppTemplate:
    """A Content API template for use outside the 24-hour window."""

    content_sid: str
    variables: dict[str, str] = field(default_factory=dict)


def _window_key(business: Business, phone: str) -> str:
    return f"zylin:whatsapp-window:{business.pk}:{phone}"


def whatsapp_inbound_record(*, business: Business, phone: str) -> None:
    """The customer wrote to the business on WhatsApp: open the 24-hour window."""
    cache.set(_window_key(business, e164_normalize(phone)), True, timeout=int(WHATSAPP_WINDOW.total_seconds()))


def whatsapp_window_open(*, business: Business, phone: str) -> bool:
    return bool(cache.get(_window_key(business, phone)))


def _whatsapp(number: str) -> str:
    return f"whatsapp:{number}"


def message_send(
    *,
    business: Business,
    call: Call | None,
    to: str,
    body: str,
    idempotency_key: str,
    media_url: str = "",
    template: WhatsAppTemplate | None = None,
) -> OutboundMessage:
    """Send one WhatsApp message once per ``idempotency_key``; returns its row.

    Raises:
        MessageSendRetryable: Twilio failed transiently; calling again with the
            same key sends it (the row is left unclaimed).
    """
    existing = OutboundMessage.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _send_if_unclaimed(existing)
    message = OutboundMessage(
        business=business,
        call=call,
        channel=OutboundMessage.Channel.WHATSAPP,
        from_number=business.whatsapp_sender,
        body=body,
        idempotency_key=idempotency_key[:120],
    )
    try:
        message.to = e164_normalize(to)
    except ValidationError:
        message.to, message.status, message.error_code = to[:40], OutboundMessage.Status.FAILED, "bad-recipient"
    if message.status != OutboundMessage.Status.FAILED:
        _compose(message, business=business, media_url=media_url, template=template)
    if message.status != OutboundMessage.Status.FAILED and credentials() is None:
        message.status = OutboundMessage.Status.OUTBOX
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:  # a concurrent sender created the row first; it sends
        return OutboundMessage.objects.get(idempotency_key=message.idempotency_key)
    metrics.message_status(message.status, channel=message.channel)
    return _send_if_unclaimed(message)


def _compose(
    message: OutboundMessage, *, business: Business, media_url: str, template: WhatsAppTemplate | None
) -> None:
    """Free-form inside the window; the template outside it; else mark it failed."""
    if whatsapp_window_open(business=business, phone=message.to):
        message.media_url = media_url
        return
    if template is not None and template.content_sid:
        message.content_sid = template.content_sid
        message.content_variables = template.variables
        return
    if credentials() is not None:
        message.status, message.error_code = OutboundMessage.Status.FAILED, "no-template"


def _send_if_unclaimed(message: OutboundMessage) -> OutboundMessage:
    if message.status != OutboundMessage.Status.QUEUED or message.provider_sid:
        return message
    creds = credentials()
    if creds is None:
        return message
    if not message.from_number:
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=OutboundMessage.Status.FAILED, error_code="no-sender"
        )
        message.refresh_from_db()
        return message
    claim = f"{_CLAIM_PREFIX}{uuid.uuid4().hex}"
    claimed = OutboundMessage.objects.filter(
        pk=message.pk, status=OutboundMessage.Status.QUEUED, provider_sid=""
    ).update(provider_sid=claim)
    if not claimed:
        message.refresh_from_db()
        return message
    kwargs: dict[str, object] = {
        "from_": _whatsapp(message.from_number),
        "to": _whatsapp(message.to),
        "status_callback": public_url_for("twilio-message-status"),
    }
    if message.content_sid:
        kwargs["content_sid"] = message.content_sid
        kwargs["content_variables"] = json.dumps(message.content_variables)
    else:
        if message.body:
            kwargs["body"] = message.body
        if message.media_url:
            kwargs["media_url"] = [message.media_url]
    try:
        sent = rest_client(creds).messages.create(**kwargs)
    except TwilioRestException as exc:
        if exc.status >= 500 or exc.status == 429:
            OutboundMessage.objects.filter(pk=message.pk, provider_sid=claim).update(provider_sid="")
            raise MessageSendRetryable(f"Twilio answered HTTP {exc.status}") from exc
        OutboundMessage.objects.filter(pk=message.pk, provider_sid=claim).update(
            provider_sid="", status=OutboundMessage.Status.FAILED, error_code=str(exc.code or exc.status)[:20]
        )
        metrics.message_status(OutboundMessage.Status.FAILED, channel=message.channel)
        logger.warning("WhatsApp message refused: %s", exc.msg, extra={"message_id": message.pk})
    except TwilioException as exc:  # connection errors and timeouts from the SDK's HTTP client
        OutboundMessage.objects.filter(pk=message.pk, provider_sid=claim).update(provider_sid="")
        raise MessageSendRetryable(str(exc)) from exc
    except OSError as exc:
        OutboundMessage.objects.filter(pk=message.pk, provider_sid=claim).update(provider_sid="")
        raise MessageSendRetryable(str(exc)) from exc
    else:
        status = sent.status if sent.status in OutboundMessage.Status.values else OutboundMessage.Status.QUEUED
        OutboundMessage.objects.filter(pk=message.pk, provider_sid=claim).update(
            provider_sid=sent.sid or "", status=status
        )
        if status != message.status:
            metrics.message_status(status, channel=message.channel)
    message.refresh_from_db()
    return message


def booking_confirmation_send(*, booking: Booking, call: Call | None, change: str) -> OutboundMessage:
    """Confirm a booking made, moved or cancelled on a call (``change``: created|moved|cancelled).

    Keyed by booking, change and start time: confirming the same change twice
    sends once, while a second move to another time is a new message.
    """
    business = booking.business
    local_start = booking.start.astimezone(business.tz)
    day = f"{local_start:%A}, {local_start:%B} {local_start.day}"
    time = local_start.strftime("%I:%M %p").lstrip("0")
    headline = {"created": "is booked", "moved": "has moved", "cancelled": "is cancelled"}.get(change, "is updated")
    lines = [f"{business.name}: your {booking.service.name} {headline}.", f"{day} at {time}."]
    if business.address:
        lines.append(business.address)
    template = WhatsAppTemplate(
        content_sid=settings.TWILIO_WHATSAPP_BOOKING_TEMPLATE_SID,
        variables={"1": booking.service.name, "2": day, "3": time, "4": business.address, "5": change},
    )
    return message_send(
        business=business,
        call=call,
        to=booking.customer.phone,
        body=" ".join(lines),
        idempotency_key=f"booking:{booking.pk}:{change}:{booking.start:%Y%m%dT%H%M}",
        template=template,
    )


def reply_template(*, business: Business, reply_text: str) -> WhatsAppTemplate:
    """The template that carries a recorded-call reply outside the window."""
    return WhatsAppTemplate(
        content_sid=settings.TWILIO_WHATSAPP_REPLY_TEMPLATE_SID,
        variables={"1": business.name, "2": reply_text},
    )
