"""A local server for OpenAI's audio endpoints.

* ``POST /v1/audio/transcriptions``: multipart (``file``, ``model``, optional
  ``language`` and ``prompt``); answers ``{"text": transcript}``.
* ``POST /v1/audio/speech``: JSON (``model``, ``voice``, ``input``,
  ``response_format``); streams a 24 kHz 16-bit mono tone for ``pcm``.

Both check ``Authorization: Bearer <key>`` and record what they received.
Faults: queued error statuses, and a stall before answering.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from tests.fakes.servers.audio import tone_pcm16
from tests.fakes.servers.http import FakeHttpServer, error_response

PCM_RATE = 24_000
SECONDS_PER_CHARACTER = 0.06


class FakeOpenAIAudioServer(FakeHttpServer):
    """OpenAI transcription and speech on 127.0.0.1."""

    def __init__(self, *, api_key: str = "k") -> None:
        super().__init__()
        self.api_key = api_key
        self.transcript = "I'd like a haircut tomorrow at 3 pm."
        self.stall_before_answer = False
        self.chunk_bytes = 4801  # odd on purpose: clients must rejoin split 16-bit samples

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/audio/transcriptions", self._transcribe),
            web.post("/v1/audio/speech", self._speech),
        ]

    def _refusal(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            error = {
                "message": "Incorrect API key provided.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
            return web.json_response({"error": error}, status=401)
        fault = self.take_fault_status()
        return error_response(fault, "injected fault") if fault is not None else None

    async def _transcribe(self, request: web.Request) -> web.Response:
        recorded = await self.record(request, body="multipart")
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        if "file" not in recorded.files or not recorded.form.get("model"):
            return web.json_response({"error": {"message": "file and model are required"}}, status=400)
        if self.stall_before_answer:
            await self.stall()
            return web.Response(status=503)
        return web.json_response({"text": self.transcript, "usage": {"type": "duration", "seconds": 1}})

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        body = recorded.json if isinstance(recorded.json, dict) else {}
        if body.get("response_format") != "pcm" or not body.get("input"):
            return web.json_response({"error": {"message": "this fake serves pcm only"}}, status=400)
        if self.stall_before_answer:
            await self.stall()
            return web.Response(status=503)
        audio = tone_pcm16(max(0.2, SECONDS_PER_CHARACTER * len(body["input"])), rate=PCM_RATE)
        response = web.StreamResponse(headers={"Content-Type": "audio/pcm"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(audio), self.chunk_bytes):
            await response.write(audio[start : start + self.chunk_bytes])
            await asyncio.sleep(0)
        await response.write_eof()
        return response
