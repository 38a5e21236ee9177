"""Helpers for the Media Stream socket tests: a streaming Call, signed upgrades, Twilio frames."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path
from typing import Any

from channels.testing import WebsocketCommunicator

from businesses.models import Business
from calls.models import Call
from calls.routing import RouteDecision, RoutePath
from calls.services import call_route_set, call_start
from calls.simulator.messages import TwilioStream, sid
from calls.twilio_signature import signature_compute

PUBLIC = "https://zylin.example.com"
MEDIA_PATH = "/media-stream"
CALLER = "+15551230000"
STANDINS = {"asr": "standin", "tts": "standin", "agent": "local", "standin_latency_ms": 0.0, "standin_clip": ""}


def streaming_call(business: Business, *, session_id: str | None = None) -> Call:
    """A call the voice webhook sent to the streaming path (sync: call from a fixture)."""
    call, _ = call_start(sid=sid("CA"), business=business, from_number=CALLER, to_number="+15005550006")
    decision = RouteDecision(RoutePath.STREAMING, "test: streaming")
    return call_route_set(call=call, decision=decision, session_id=session_id or secrets.token_urlsafe(8))


def stream_parameters(call: Call) -> dict[str, str]:
    return {"sessionId": call.session_id, "callSid": call.sid, "business": str(call.business_id)}


def upgrade_signature(path: str = MEDIA_PATH) -> str:
    """What Twilio sends in ``X-Twilio-Signature`` when it opens the stream."""
    return signature_compute(url=f"wss://zylin.example.com{path}", params={})


def communicator(signature: str | None = None) -> WebsocketCommunicator:
    from zylin.asgi import application

    headers = [(b"host", b"zylin.example.com")]
    if signature is None:
        signature = upgrade_signature()
    if signature:
        headers.append((b"x-twilio-signature", signature.encode()))
    return WebsocketCommunicator(application, MEDIA_PATH, headers=headers)


async def next_message(socket: WebsocketCommunicator, wait_s: float = 3.0) -> dict[str, Any]:
    return json.loads(await socket.receive_from(timeout=wait_s))


async def until_closed(socket: WebsocketCommunicator, wait_s: float = 5.0) -> tuple[list[dict[str, Any]], int]:
    """Every message until the server closes the socket, and the close code."""
    messages = []
    while True:
        output = await socket.receive_output(timeout=wait_s)
        if output["type"] == "websocket.close":
            return messages, output.get("code", 1000)
        messages.append(json.loads(output["text"]))


async def started(socket: WebsocketCommunicator, call: Call) -> TwilioStream:
    """Send ``connected`` and ``start`` for ``call``; returns the stream for later frames."""
    stream = TwilioStream(call_sid=call.sid)
    await socket.send_to(text_data=stream.connected())
    await socket.send_to(text_data=stream.start(stream_parameters(call)))
    return stream


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "audio"


async def zylin_server_url() -> str:
    """Zylin on a real daphne server on loopback, in a thread of the test process (started once).

    The server shares this process's settings and test database, so tests
    change ``settings`` and read rows as usual (with ``transaction=True``).
    """
    from calls.simulator.server import in_process_server

    return await asyncio.to_thread(in_process_server)
