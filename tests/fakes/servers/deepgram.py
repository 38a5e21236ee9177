"""A local server that speaks Deepgram's live ``/v1/listen`` WebSocket protocol.

It checks ``Authorization: Token <key>``, records the query string, the audio
and the control messages (``KeepAlive``, ``Finalize``, ``CloseStream``) of each
connection, and answers with Deepgram-shaped JSON: ``SpeechStarted``, interim
and final ``Results``, ``UtteranceEnd`` and ``Metadata``.

What it says is scripted by audio position: each ``ScriptedUtterance`` is
recognized once the server has received ``at_bytes`` of audio in total (over
all connections, so a script survives a reconnect). Faults: refuse the key,
close a given connection with 1011 after some bytes, or stall (keep the socket
open and answer nothing).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

BYTES_PER_SECOND = 8000  # mu-law at 8 kHz


@dataclass(frozen=True)
class ScriptedUtterance:
    """Words the fake recognizes once ``at_bytes`` of audio have arrived.

    With ``finalize_only`` the words stay interim until the client sends
    ``Finalize``, as when Deepgram's endpointing has not fired yet.
    """

    text: str
    at_bytes: int
    finalize_only: bool = False


@dataclass
class ConnectionRecord:
    """What one client connection sent."""

    index: int
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    audio: bytearray = field(default_factory=bytearray)
    controls: list[str] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    closed_with: int | None = None

    def option(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class FakeDeepgramServer:
    """Deepgram live transcription on 127.0.0.1, scripted per test."""

    def __init__(self, *, api_key: str = "k") -> None:
        self.api_key = api_key
        self.script: list[ScriptedUtterance] = []
        self.connections: list[ConnectionRecord] = []
        self.refused: list[dict[str, str]] = []
        # Faults
        self.refuse_all = False
        self.drop_connections: dict[int, int] = {}  # connection index -> close 1011 after N bytes
        self.stall_after_bytes: int | None = None
        # Deepgram sends empty interim results during silence; one per this much audio.
        self.silence_result_every_bytes = BYTES_PER_SECOND
        self.interim_lead_bytes = 1600
        self.total_audio = 0
        self._next = 0
        self._started_next = False
        self._pending: ScriptedUtterance | None = None
        self._server: Server | None = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> FakeDeepgramServer:
        self._server = await serve(self._handle, "127.0.0.1", 0, process_request=self._check_request)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    # ------------------------------------------------------------- protocol

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path != "/v1/listen":
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        if self.refuse_all or request.headers.get("Authorization") != f"Token {self.api_key}":
            self.refused.append(dict(request.headers.raw_items()))
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid credentials\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None
        record = ConnectionRecord(
            index=len(self.connections),
            path=request.path,
            query=parse_qs(urlsplit(request.path).query),
            headers=dict(request.headers.raw_items()),
        )
        self.connections.append(record)
        stalled = False
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    record.audio.extend(message)
                    before = self.total_audio
                    self.total_audio += len(message)
                    drop_at = self.drop_connections.get(record.index)
                    if drop_at is not None and len(record.audio) >= drop_at:
                        record.closed_with = 1011
                        await ws.close(1011, "NET-0000: internal server error")
                        return
                    if self.stall_after_bytes is not None and self.total_audio >= self.stall_after_bytes:
                        stalled = True
                    if not stalled:
                        await self._answer_audio(ws, record, before)
                    continue
                kind = json.loads(message).get("type", "")
                record.controls.append(kind)
                if stalled:
                    continue
                if kind == "Finalize":
                    await self._answer_finalize(ws, record)
                elif kind == "CloseStream":
                    await self._send(ws, record, self._metadata())
                    record.closed_with = 1000
                    await ws.close(1000)
                    return
        except ConnectionClosed:
            pass

    async def _answer_audio(self, ws: ServerConnection, record: ConnectionRecord, before: int) -> None:
        total = self.total_audio
        while self._next < len(self.script):
            utterance = self.script[self._next]
            if not self._started_next and total >= utterance.at_bytes - self.interim_lead_bytes:
                self._started_next = True
                if record.option("vad_events") == "true":
                    started = {"type": "SpeechStarted", "channel": [0], "timestamp": before / BYTES_PER_SECOND}
                    await self._send(ws, record, started)
                words = utterance.text.split()
                partial = " ".join(words[: max(1, len(words) // 2)])
                await self._send(ws, record, self._results(partial, is_final=False))
            if total < utterance.at_bytes:
                return
            self._next += 1
            self._started_next = False
            if utterance.finalize_only:
                self._pending = utterance
                await self._send(ws, record, self._results(utterance.text, is_final=False))
                continue
            await self._send(ws, record, self._results(utterance.text, is_final=True, speech_final=True))
            if record.option("utterance_end_ms") is not None:
                ended = {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": total / BYTES_PER_SECOND}
                await self._send(ws, record, ended)
        every = self.silence_result_every_bytes
        if every and not self._started_next and total // every > before // every:
            await self._send(ws, record, self._results("", is_final=False))

    async def _answer_finalize(self, ws: ServerConnection, record: ConnectionRecord) -> None:
        pending, self._pending = self._pending, None
        text = pending.text if pending is not None else ""
        await self._send(ws, record, self._results(text, is_final=True, from_finalize=True))

    async def _send(self, ws: ServerConnection, record: ConnectionRecord, payload: dict[str, Any]) -> None:
        record.sent.append(payload)
        await ws.send(json.dumps(payload))

    # -------------------------------------------------------------- messages

    def _results(
        self, text: str, *, is_final: bool, speech_final: bool = False, from_finalize: bool = False
    ) -> dict[str, Any]:
        end = self.total_audio / BYTES_PER_SECOND
        words = text.split()
        span = 0.3 * len(words)
        start = max(0.0, end - span)
        return {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(end - start, 3),
            "start": round(start, 3),
            "is_final": is_final,
            "speech_final": speech_final,
            "from_finalize": from_finalize,
            "channel": {
                "alternatives": [
                    {
                        "transcript": text,
                        "confidence": 0.97 if words else 0.0,
                        "words": [
                            {
                                "word": word.strip(".,?!").lower(),
                                "start": round(start + 0.3 * i, 3),
                                "end": round(start + 0.3 * (i + 1), 3),
                                "confidence": 0.97,
                                "punctuated_word": word,
                            }
                            for i, word in enumerate(words)
                        ],
                    }
                ]
            },
            "metadata": {
                "request_id": str(uuid.uuid4()),
                "model_info": {"name": "general-nova-3", "version": "2025-01-01.0", "arch": "nova-3"},
                "model_uuid": str(uuid.uuid4()),
            },
        }

    def _metadata(self) -> dict[str, Any]:
        return {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": str(uuid.uuid4()),
            "sha256": "0" * 64,
            "created": "2026-01-01T00:00:00.000Z",
            "duration": self.total_audio / BYTES_PER_SECOND,
            "channels": 1,
        }
