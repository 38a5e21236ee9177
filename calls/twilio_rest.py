"""Zylin's side of Twilio's REST API: credentials, the SDK client, recording downloads.

``settings.TWILIO_API_BASE_URL`` (empty in production) points everything at
another origin, such as the local fake Twilio server in tests or the call
simulator: the SDK client gets an HTTP client that swaps the origin of every
``*.twilio.com`` URL, and recordings are always fetched from that base. A
``RecordingUrl`` from a webhook contributes only its path, so the account
credentials are never sent to a host Zylin did not choose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

TWILIO_API_ORIGIN = "https://api.twilio.com"
REST_TIMEOUT_S = 10.0
DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, connect=5.0)

_RECORDING_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9A-Za-z]{1,40})/Recordings/(RE[0-9A-Za-z]{1,40})$")


@dataclass(frozen=True)
class TwilioCredentials:
    account_sid: str
    auth_token: str


def credentials() -> TwilioCredentials | None:
    """The account credentials, or None in embedded mode (messages stay in the outbox)."""
    if settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN:
        return TwilioCredentials(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    return None


def api_base_url() -> str:
    return (settings.TWILIO_API_BASE_URL or TWILIO_API_ORIGIN).rstrip("/")


class _BaseUrlHttpClient(TwilioHttpClient):
    """Sends the SDK's requests for ``*.twilio.com`` to another origin."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._base = urlsplit(base_url)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith("twilio.com"):
            url = urlunsplit(
                (self._base.scheme, self._base.netloc, self._base.path.rstrip("/") + parts.path, parts.query, "")
            )
        return super().request(method, url, *args, **kwargs)


def rest_client(creds: TwilioCredentials) -> Client:
    """An SDK client honouring ``TWILIO_API_BASE_URL`` with a bounded request timeout."""
    base = settings.TWILIO_API_BASE_URL
    http_client = _BaseUrlHttpClient(base, timeout=REST_TIMEOUT_S) if base else TwilioHttpClient(timeout=REST_TIMEOUT_S)
    return Client(creds.account_sid, creds.auth_token, http_client=http_client)


class RecordingFetchError(Exception):
    """The recording could not be downloaded; ``retryable`` says whether later may work."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def _download_auth(account_sid: str) -> tuple[str, str]:
    creds = credentials()
    if creds is not None:
        return creds.account_sid, creds.auth_token
    if settings.DEBUG and settings.TWILIO_SIGNING_TOKEN:
        # Embedded demo: the call simulator plays Twilio and checks the development token.
        return account_sid, settings.TWILIO_SIGNING_TOKEN
    raise RecordingFetchError("No Twilio credentials are configured to download recordings.", retryable=False)


def recording_download_url(recording_url: str) -> str:
    """Where to fetch a recording as WAV: the API base plus the RecordingUrl's path."""
    path = urlsplit(recording_url).path
    for suffix in (".wav", ".mp3", ".json"):
        path = path.removesuffix(suffix)
    if not _RECORDING_PATH.match(path):
        raise RecordingFetchError(f"Not a Twilio recording URL: {recording_url[:200]}", retryable=False)
    return f"{api_base_url()}{path}.wav"


def recording_fetch(recording_url: str, *, timeout: httpx.Timeout | None = None) -> bytes:
    """Download a recording as WAV with Basic auth.

    Raises:
        RecordingFetchError: retryable for timeouts, connection errors, 429 and 5xx;
            final for 404 and other 4xx.
    """
    url = recording_download_url(recording_url)
    match = _RECORDING_PATH.match(urlsplit(url).path.removesuffix(".wav"))
    account_sid = match.group(1) if match else ""
    try:
        response = httpx.get(
            url, auth=_download_auth(account_sid), timeout=timeout or DOWNLOAD_TIMEOUT, follow_redirects=True
        )
    except httpx.TimeoutException as exc:
        raise RecordingFetchError(f"Recording download timed out: {exc}", retryable=True) from exc
    except httpx.TransportError as exc:
        raise RecordingFetchError(f"Recording download failed: {exc}", retryable=True) from exc
    if response.status_code == 200 and response.content:
        return response.content
    retryable = response.status_code == 429 or response.status_code >= 500
    raise RecordingFetchError(f"Twilio answered HTTP {response.status_code} for the recording", retryable=retryable)
