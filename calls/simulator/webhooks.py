"""Twilio's HTTP side of a call: the signed voice webhook, the TwiML answer, status callbacks.

Twilio signs the URL it requests, which is Zylin's public URL
(``PUBLIC_BASE_URL``). The simulator may reach Zylin at another address (an
in-process server on a free port, a server behind a proxy), so it signs the
public URL and sends the request to the address it was given, as a proxy in
front of Zylin would pass it on.
"""

from __future__ import annotations

import email.utils
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx

from calls.twilio_signature import SIGNATURE_HEADER, signature_compute

VOICE_PATH = "/twilio/voice"
STATUS_PATH = "/twilio/status"


@dataclass(frozen=True)
class Target:
    """Where Zylin answers (``base_url``) and the public origin it believes it has."""

    base_url: str
    public_url: str

    def http_url(self, public: str) -> str:
        """The address to request for a public URL: same path, Zylin's real host."""
        parts, base = urlsplit(public), urlsplit(self.base_url)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    def ws_url(self, public: str) -> str:
        parts, base = urlsplit(public), urlsplit(self.base_url)
        scheme = "wss" if base.scheme == "https" else "ws"
        return urlunsplit((scheme, base.netloc, parts.path, parts.query, ""))

    def public(self, path: str) -> str:
        return self.public_url.rstrip("/") + path


@dataclass(frozen=True)
class StreamInstruction:
    """``<Connect><Stream>``: where to open the Media Stream and what to tell it."""

    url: str
    parameters: dict[str, str] = field(default_factory=dict)
    status_callback: str = ""


@dataclass(frozen=True)
class VoiceAnswer:
    """Zylin's TwiML for a new call: a stream to open, or another path (``said`` lines)."""

    twiml: str
    stream: StreamInstruction | None
    verbs: tuple[str, ...]
    said: tuple[str, ...]

    @property
    def path(self) -> str:
        if self.stream is not None:
            return "streaming"
        return "recording" if "Record" in self.verbs else (self.verbs[0].lower() if self.verbs else "empty")


def twiml_parse(xml: str) -> VoiceAnswer:
    root = ET.fromstring(xml)
    stream_element = root.find("./Connect/Stream")
    stream = None
    if stream_element is not None:
        stream = StreamInstruction(
            url=stream_element.get("url", ""),
            parameters={
                parameter.get("name", ""): parameter.get("value", "")
                for parameter in stream_element.findall("Parameter")
            },
            status_callback=stream_element.get("statusCallback", ""),
        )
    said = tuple((element.text or "").strip() for element in root.iter("Say"))
    return VoiceAnswer(twiml=xml, stream=stream, verbs=tuple(child.tag for child in root), said=said)


def _twilio_timestamp() -> str:
    return email.utils.formatdate(time.time(), usegmt=True)


class TwilioWebhooks:
    """Posts what Twilio posts about one call, signed as Twilio signs it."""

    def __init__(self, target: Target, client: httpx.AsyncClient) -> None:
        self.target = target
        self._client = client

    async def post(self, public_url: str, params: Mapping[str, str]) -> httpx.Response:
        signature = signature_compute(url=public_url, params=params)
        return await self._client.post(
            self.target.http_url(public_url), data=dict(params), headers={SIGNATURE_HEADER: signature}
        )

    async def voice(self, *, call_sid: str, account_sid: str, caller: str, to: str) -> VoiceAnswer:
        """The call arrives: POST the voice webhook and read the TwiML answer."""
        params = {
            "CallSid": call_sid,
            "AccountSid": account_sid,
            "From": caller,
            "To": to,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        response = await self.post(self.target.public(VOICE_PATH), params)
        if response.status_code != 200:
            raise RuntimeError(f"voice webhook answered HTTP {response.status_code}: {response.text[:200]}")
        return twiml_parse(response.text)

    async def stream_status(self, stream: StreamInstruction, *, call_sid: str, account_sid: str, stream_sid: str,
                            event: str) -> None:  # fmt: skip
        if not stream.status_callback:
            return
        params = {
            "AccountSid": account_sid,
            "CallSid": call_sid,
            "StreamSid": stream_sid,
            "StreamEvent": event,
            "Timestamp": _twilio_timestamp(),
        }
        await self.post(stream.status_callback, params)

    async def call_completed(self, *, call_sid: str, account_sid: str, duration_s: float) -> None:
        params = {
            "AccountSid": account_sid,
            "CallSid": call_sid,
            "CallStatus": "completed",
            "CallDuration": str(round(duration_s)),
            "Timestamp": _twilio_timestamp(),
        }
        await self.post(self.target.public(STATUS_PATH), params)
