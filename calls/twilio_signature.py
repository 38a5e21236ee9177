"""Checks that a request really comes from Twilio (``X-Twilio-Signature``).

Twilio signs the exact URL it requested plus the POST parameters with the
account's auth token (HMAC-SHA1). The URL is rebuilt from ``PUBLIC_BASE_URL``
and the request path, never from the request's own scheme and host, which
behind a proxy are the proxy's. The Media Stream WebSocket upgrade is signed
over ``wss://host/path`` with no parameters.

The key is ``settings.TWILIO_SIGNING_TOKEN``: the auth token, or in DEBUG
without one a fixed development token that the call simulator signs with.
With no key at all every request is refused; an empty key would let anyone
sign.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from twilio.request_validator import RequestValidator

from calls.public_urls import public_url, public_ws_url

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"


def signing_token() -> str:
    return settings.TWILIO_SIGNING_TOKEN


def signature_valid(*, url: str, params: Mapping[str, Any], signature: str) -> bool:
    """Whether ``signature`` signs ``url`` + ``params`` with Zylin's Twilio key."""
    token = signing_token()
    if not token or not signature:
        return False
    return RequestValidator(token).validate(url, params, signature)


def signature_compute(*, url: str, params: Mapping[str, Any]) -> str:
    """The signature Twilio would send; used by the call simulator and tests."""
    token = signing_token()
    if not token:
        raise ValueError("No Twilio signing token is configured.")
    return RequestValidator(token).compute_signature(url, params)


def request_public_url(request: HttpRequest) -> str:
    """The URL Twilio requested: public base + path + query string."""
    return public_url(request.get_full_path())


def request_signature_valid(request: HttpRequest) -> bool:
    return signature_valid(
        url=request_public_url(request),
        params=request.POST,
        signature=request.headers.get(SIGNATURE_HEADER, ""),
    )


def twilio_signed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse (403) any request whose Twilio signature does not check; CSRF-exempt."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request_signature_valid(request):
            logger.warning(
                "refused a request with a missing or wrong Twilio signature",
                extra={"path": request.path, "call_sid": request.POST.get("CallSid", "")},
            )
            return HttpResponseForbidden("Invalid Twilio signature.")
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapped)


def websocket_signature_valid(*, path: str, headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Check the Media Stream upgrade: ``headers`` as in an ASGI scope (lower-case bytes)."""
    signature = ""
    for name, value in headers:
        if name.lower() == b"x-twilio-signature":
            signature = value.decode("latin-1")
            break
    return signature_valid(url=public_ws_url(path), params={}, signature=signature)
