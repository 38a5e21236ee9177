"""A local server that speaks OpenAI's ``POST /v1/chat/completions``, streaming or not.

Each request takes the next ``ChatReply`` of the script and answers it the way
the API does with ``stream=true``: Server-Sent Events over chunked HTTP, one
``data: {chat.completion.chunk}`` per piece, the first delta carrying the
role, tool calls split across chunks (the first piece of each with ``id``,
``function.name`` and empty arguments, later pieces with argument fragments
only), a final chunk with ``finish_reason``, a usage chunk with
``choices: []`` when ``stream_options.include_usage`` is set, and
``data: [DONE]``. Faults: an HTTP error status with OpenAI's error body, or a
stall before the first chunk. Every request is recorded.

Use ``await server.start()`` inside a test's event loop, or
``running_in_thread(server)`` for code that runs its own loop (``manage.py``
commands through ``async_to_sync``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Arguments = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class ToolCallScript:
    """One tool call the fake model makes; ``arguments`` may be computed from the request body."""

    name: str
    arguments: Arguments = field(default_factory=dict)
    call_id: str | None = None


@dataclass(frozen=True)
class ChatReply:
    """What the fake model answers to one request.

    Attributes:
        text: Spoken text, streamed in ``text_pieces`` (default: word by word).
        tool_calls: Tool calls after the text; each one's JSON arguments are
            split into ``argument_pieces`` fragments.
        status: An HTTP status other than 200 answers with an error body instead.
        stall_s: Send the headers, then nothing for this long before the first chunk.
        chunk_delay_s: Pause between chunks.
    """

    text: str = ""
    text_pieces: tuple[str, ...] | None = None
    tool_calls: tuple[ToolCallScript, ...] = ()
    argument_pieces: int = 3
    status: int = 200
    stall_s: float = 0.0
    chunk_delay_s: float = 0.0


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def tool_results(self) -> list[dict[str, Any]]:
        """The JSON contents of the ``tool`` messages sent back to the model."""
        return [json.loads(m["content"]) for m in self.messages if m.get("role") == "tool"]


def _split(text: str, pieces: int) -> list[str]:
    pieces = max(1, min(pieces, len(text) or 1))
    size = -(-len(text) // pieces)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class FakeOpenAIChatServer:
    """OpenAI chat completions on 127.0.0.1, scripted per test."""

    def __init__(self, *, api_key: str = "test-key", model: str = "gpt-fake") -> None:
        self.api_key = api_key
        self.model = model
        self.script: list[ChatReply | Callable[[dict[str, Any]], ChatReply]] = []
        self.requests: list[RecordedRequest] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._closing: asyncio.Event | None = None
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, *replies: ChatReply | Callable[[dict[str, Any]], ChatReply]) -> None:
        self.script.extend(replies)

    async def start(self) -> None:
        self._closing = asyncio.Event()
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every connection (ending stalls at once) and stop listening."""
        if self._closing is not None:
            self._closing.set()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=2)
        if self._server is not None:
            await self._server.wait_closed()

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up when the server stops."""
        assert self._closing is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    # ------------------------------------------------------------------ HTTP

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away (e.g. it timed out a stalled stream)
        finally:
            self._handlers.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
        if not head:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
        body = json.loads(raw) if raw else {}
        self.requests.append(RecordedRequest(method, path, headers, body))
        if headers.get("authorization") != f"Bearer {self.api_key}":
            await self._error(writer, 401, "Incorrect API key provided.", "invalid_api_key")
            return True
        if method != "POST" or path.split("?")[0] != "/v1/chat/completions":
            await self._error(writer, 404, f"No route for {method} {path}.", "not_found")
            return True
        if not self.script:
            await self._error(writer, 500, "The fake's script is exhausted.", "server_error")
            return True
        entry = self.script.pop(0)
        reply = entry(body) if callable(entry) else entry
        if reply.status != 200:
            await self._error(writer, reply.status, f"Scripted failure {reply.status}.", "server_error")
            return True
        if body.get("stream"):
            await self._stream(writer, reply, body)
        else:
            await self._whole(writer, reply, body)
        return True

    async def _error(self, writer: asyncio.StreamWriter, status: int, message: str, code: str) -> None:
        payload = json.dumps({"error": {"message": message, "type": code, "param": None, "code": code}}).encode()
        head = f"HTTP/1.1 {status} Error\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        writer.write(head.encode() + payload)
        await writer.drain()

    def _chunk(self, completion_id: str, delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": 1_900_000_000,
            "model": self.model,
            "choices": choices,
        }

    def _deltas(self, reply: ChatReply, body: dict[str, Any]) -> list[dict[str, Any]]:
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if reply.text:
            pieces = reply.text_pieces or tuple(word + " " for word in reply.text.split(" "))
            if not reply.text_pieces:
                pieces = (*pieces[:-1], pieces[-1].rstrip())
            deltas.extend({"content": piece} for piece in pieces)
        for index, call in enumerate(reply.tool_calls):
            arguments = call.arguments(body) if callable(call.arguments) else call.arguments
            call_id = call.call_id or f"call_{next(self._ids)}"
            deltas.append(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
            for fragment in _split(json.dumps(arguments), reply.argument_pieces):
                deltas.append({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
        return deltas

    async def _stream(self, writer: asyncio.StreamWriter, reply: ChatReply, body: dict[str, Any]) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        await writer.drain()
        if reply.stall_s:
            await self._pause(reply.stall_s)
        completion_id = f"chatcmpl-fake-{next(self._ids)}"
        events = [self._chunk(completion_id, delta) for delta in self._deltas(reply, body)]
        events.append(self._chunk(completion_id, {}, "tool_calls" if reply.tool_calls else "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = self._chunk(completion_id, None)
            usage["usage"] = {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132}
            events.append(usage)
        for event in [*(json.dumps(e) for e in events), "[DONE]"]:
            data = f"data: {event}\n\n".encode()
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            await writer.drain()
            if reply.chunk_delay_s:
                await self._pause(reply.chunk_delay_s)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def _whole(self, writer: asyncio.StreamWriter, reply: ChatReply, body: dict[str, Any]) -> None:
        tool_calls = [
            {
                "id": call.call_id or f"call_{next(self._ids)}",
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": json.dumps(call.arguments(body) if callable(call.arguments) else call.arguments),
                },
            }
            for call in reply.tool_calls
        ]
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        payload = json.dumps(
            {
                "id": f"chatcmpl-fake-{next(self._ids)}",
                "object": "chat.completion",
                "created": 1_900_000_000,
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if tool_calls else "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132},
            }
        ).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        await writer.drain()


@contextlib.contextmanager
def running_in_thread(server: FakeOpenAIChatServer) -> Iterator[FakeOpenAIChatServer]:
    """Serve from a background thread with its own event loop (for code that runs its own loop)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-openai-chat", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=5)
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
