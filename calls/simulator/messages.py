"""Twilio's side of the Media Stream wire format: the frames Twilio sends to Zylin.

Pure functions over a small counter. As on the real wire, ``sequenceNumber``,
``chunk`` and ``timestamp`` are strings; ``connected`` carries no sequence
number, and every later frame has ``event``, ``streamSid`` and ``sequenceNumber``.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from calls.audio import FRAME_BYTES, FRAME_MS, MULAW_SILENCE

_SILENT_FRAME = bytes([MULAW_SILENCE]) * FRAME_BYTES
_SILENT_PAYLOAD = base64.b64encode(_SILENT_FRAME).decode("ascii")


def sid(prefix: str) -> str:
    """A Twilio-style identifier: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def _dump(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


@dataclass
class TwilioStream:
    """The frames of one Media Stream, numbered as Twilio numbers them.

    Args:
        call_sid: the call's CallSid.
        account_sid: the account's AccountSid.
        stream_sid: the stream's StreamSid (a fresh one by default).
    """

    call_sid: str
    account_sid: str = field(default_factory=lambda: sid("AC"))
    stream_sid: str = field(default_factory=lambda: sid("MZ"))
    sequence: int = 0
    chunks: int = 0

    def _next(self) -> str:
        self.sequence += 1
        return str(self.sequence)

    def connected(self) -> str:
        return _dump({"event": "connected", "protocol": "Call", "version": "1.0.0"})

    def start(self, parameters: Mapping[str, str]) -> str:
        return _dump(
            {
                "event": "start",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_sid,
                "start": {
                    "streamSid": self.stream_sid,
                    "accountSid": self.account_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "customParameters": dict(parameters),
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        )

    def media(self, mulaw: bytes) -> str:
        """One inbound chunk (usually 20 ms); chunks count from 1, timestamps from 0 ms."""
        self.chunks += 1
        payload = _SILENT_PAYLOAD if mulaw == _SILENT_FRAME else base64.b64encode(mulaw).decode("ascii")
        # Formatted rather than json.dumps'd: a load test sends tens of thousands of these a second.
        return (
            f'{{"event":"media","sequenceNumber":"{self._next()}","streamSid":"{self.stream_sid}",'
            f'"media":{{"track":"inbound","chunk":"{self.chunks}","timestamp":"{(self.chunks - 1) * FRAME_MS}",'
            f'"payload":"{payload}"}}}}'
        )

    def mark(self, name: str) -> str:
        """The echo of a mark Zylin sent: the audio before it has played (or was cleared)."""
        return _dump(
            {"event": "mark", "sequenceNumber": self._next(), "streamSid": self.stream_sid, "mark": {"name": name}}
        )

    def dtmf(self, digit: str) -> str:
        return _dump(
            {
                "event": "dtmf",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_sid,
                "dtmf": {"track": "inbound_track", "digit": digit},
            }
        )

    def stop(self) -> str:
        return _dump(
            {
                "event": "stop",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_sid,
                "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
            }
        )


def outbound_event(text: str) -> tuple[str, dict[str, Any]]:
    """Zylin's frame as ``(event, message)``; raises ``ValueError`` for one Twilio would refuse."""
    message = orjson.loads(text)  # its JSONDecodeError is a ValueError
    if not isinstance(message, dict) or not isinstance(message.get("event"), str):
        raise ValueError("not a Media Stream message")
    return message["event"], message


def outbound_audio(message: Mapping[str, Any]) -> bytes:
    """The mu-law bytes of an outbound ``media`` message."""
    return base64.b64decode(message["media"]["payload"], validate=True)
