"""Zylin's URLs as Twilio sees them, built from ``settings.PUBLIC_BASE_URL``.

Behind a TLS proxy the request's own scheme and host are the proxy's view of
the world; Twilio signs, and must be given, the public ones. Media Stream URLs
use the same host with the ``wss`` (or ``ws``) scheme.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.urls import reverse


def public_base() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/")


def public_url(path: str) -> str:
    """The public http(s) URL of a path (which may carry a query string)."""
    if not path.startswith("/"):
        path = "/" + path
    return public_base() + path


def public_url_for(view_name: str, *args: object) -> str:
    return public_url(reverse(view_name, args=args))


def public_ws_url(path: str) -> str:
    """The public WebSocket URL of a path: ``wss://`` for an https base, ``ws://`` for http."""
    parts = urlsplit(public_url(path))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))
