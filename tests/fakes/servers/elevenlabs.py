"""A local server for ElevenLabs' streaming text-to-speech endpoint.

``POST /v1/text-to-speech/{voice_id}/stream`` checks the ``xi-api-key``
header, the ``output_format`` query and the JSON body, then streams a chunked
8 kHz mu-law tone whose length grows with the text, as the real service
streams speech. Faults: queued error statuses (``statuses = [500]``), a stall
before any audio, or a stall after some bytes of audio.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from tests.fakes.servers.audio import tone_mulaw
from tests.fakes.servers.http import FakeHttpServer, error_response

SUPPORTED_FORMATS = {"ulaw_8000", "pcm_16000", "pcm_22050", "pcm_24000", "mp3_44100_128"}
SECONDS_PER_CHARACTER = 0.06


def speech_mulaw(text: str) -> bytes:
    """The audio the fake speaks for ``text``: a tone, 60 ms per character."""
    return tone_mulaw(max(0.2, SECONDS_PER_CHARACTER * len(text)))


class FakeElevenLabsServer(FakeHttpServer):
    """ElevenLabs streaming TTS on 127.0.0.1."""

    def __init__(self, *, api_key: str = "k") -> None:
        super().__init__()
        self.api_key = api_key
        self.chunk_bytes = 400
        self.stall_before_audio = False
        self.stall_after_bytes: int | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/text-to-speech/{voice_id}/stream", self._stream)]

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        recorded = await self.record(request)
        if request.headers.get("xi-api-key") != self.api_key:
            return web.json_response(
                {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, status=401
            )
        fault = self.take_fault_status()
        if fault is not None:
            return error_response(fault, "injected fault")
        output_format = request.query.get("output_format", "mp3_44100_128")
        body = recorded.json if isinstance(recorded.json, dict) else {}
        if output_format not in SUPPORTED_FORMATS or not body.get("text"):
            return web.json_response({"detail": [{"loc": ["body"], "msg": "invalid request"}]}, status=422)
        if self.stall_before_audio:
            await self.stall()
            return web.Response(status=503)
        audio = speech_mulaw(body["text"])
        response = web.StreamResponse(headers={"Content-Type": "audio/basic"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        sent = 0
        for start in range(0, len(audio), self.chunk_bytes):
            if self.stall_after_bytes is not None and sent >= self.stall_after_bytes:
                await self.stall()
                return response
            chunk = audio[start : start + self.chunk_bytes]
            await response.write(chunk)
            sent += len(chunk)
            await asyncio.sleep(0)
        await response.write_eof()
        return response
