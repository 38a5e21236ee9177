"""Signed, expiring links to reply audio, for WhatsApp voice notes.

Twilio fetches a message's media from a public URL. The link names the
recording in a token signed with ``SECRET_KEY`` (``TimestampSigner``), so it
cannot be guessed or altered, and it stops working after
``ZYLIN_MEDIA_URL_MAX_AGE_S``: a forged token gets 404, an expired one 403.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_GET

from calls.models import Recording
from calls.public_urls import public_url_for

_SALT = "zylin.calls.reply-audio"
REPLY_AUDIO_CONTENT_TYPE = "audio/ogg"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SALT)


def reply_audio_token(recording: Recording) -> str:
    return _signer().sign(recording.sid)


def reply_audio_url(recording: Recording) -> str:
    """The public, signed URL of the recording's spoken reply."""
    return public_url_for("reply-audio", reply_audio_token(recording))


def recording_sid_from_token(token: str, *, max_age_s: int | None = None) -> str:
    """The RecordingSid a token names.

    Raises:
        signing.SignatureExpired: the link is older than the allowed age.
        signing.BadSignature: the token was not made by Zylin.
    """
    max_age = settings.ZYLIN_MEDIA_URL_MAX_AGE_S if max_age_s is None else max_age_s
    return _signer().unsign(token, max_age=max_age)


@require_GET
def reply_audio_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        sid = recording_sid_from_token(token)
    except signing.SignatureExpired:
        return HttpResponseForbidden("This link has expired.")
    except signing.BadSignature as exc:
        raise Http404("No such audio.") from exc
    recording = Recording.objects.filter(sid=sid).exclude(reply_audio="").first()
    if recording is None:
        raise Http404("No such audio.")
    return FileResponse(recording.reply_audio.open("rb"), content_type=REPLY_AUDIO_CONTENT_TYPE)
