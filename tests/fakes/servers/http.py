"""A small base for fake vendor HTTP APIs served by aiohttp on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, Any] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # name -> (filename, type, data)


class FakeHttpServer:
    """Serves ``routes()`` on a free local port and records every request.

    ``statuses`` is a queue of error statuses: each request takes the next one
    and is answered with it (JSON error body) instead of its normal reply.
    ``stall()`` blocks a handler until the server stops, like a hung vendor.
    """

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.statuses: list[int] = []
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._stopping = asyncio.Event()

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    async def start(self) -> FakeHttpServer:
        app = web.Application()
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, handler_cancellation=True)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    async def stall(self) -> None:
        await self._stopping.wait()

    async def record(self, request: web.Request, *, body: str = "json") -> RecordedRequest:
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
        )
        if body == "json" and request.can_read_body:
            recorded.json = await request.json()
        elif body == "multipart":
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    recorded.files[name] = (value.filename, value.content_type, value.file.read())
                else:
                    recorded.form[name] = value
        self.requests.append(recorded)
        return recorded

    def take_fault_status(self) -> int | None:
        return self.statuses.pop(0) if self.statuses else None


def error_response(status: int, message: str) -> web.Response:
    return web.json_response({"detail": {"status": "error", "message": message}}, status=status)
