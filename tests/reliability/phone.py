"""Twilio's side of one Media Stream over a ``WebsocketCommunicator``, in real time.

``Phone`` sends one caller frame every 20 ms (voiced audio while the caller
talks, line silence otherwise), plays Zylin's audio back at 8000 bytes/s with
the simulator's ``Earpiece`` and echoes marks as Twilio does. It reads the
communicator's output queue directly: ``receive_output`` cancels the
application when it times out, which would itself disturb the call under test.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from channels.testing import WebsocketCommunicator

from calls.audio import FRAME_BYTES, MULAW_SILENCE
from calls.simulator.earpiece import FRAME_S, Earpiece
from calls.simulator.messages import TwilioStream
from calls.twilio_signature import signature_compute
from tests.fakes.voice_line import voiced_mulaw

PUBLIC_HOST = "zylin.example.com"
PUBLIC_BASE_URL = f"https://{PUBLIC_HOST}"
MEDIA_PATH = "/media-stream"
SILENT_FRAME = bytes([MULAW_SILENCE]) * FRAME_BYTES
VOICE = voiced_mulaw(4.0)


def upgrade_signature(path: str = MEDIA_PATH) -> str:
    """The ``X-Twilio-Signature`` Twilio sends when it opens the stream."""
    return signature_compute(url=f"wss://{PUBLIC_HOST}{path}", params={})


def media_socket(signature: str | None = None, *, path: str = MEDIA_PATH) -> WebsocketCommunicator:
    """A connection to Zylin's ASGI application, signed unless ``signature`` says otherwise ('' = unsigned)."""
    from zylin.asgi import application

    headers = [(b"host", PUBLIC_HOST.encode())]
    if signature is None:
        signature = upgrade_signature(path)
    if signature:
        headers.append((b"x-twilio-signature", signature.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


@dataclass
class Outcome:
    """What Twilio saw of the call."""

    close_code: int | None = None
    protocol_errors: list[str] = field(default_factory=list)
    outbound: list[tuple[float, str]] = field(default_factory=list)  # (time, event)


class Phone:
    """The caller and Twilio's player for one stream; ``start`` sends ``connected`` and ``start``."""

    def __init__(self, socket: WebsocketCommunicator, *, call_sid: str, parameters: dict[str, str]) -> None:
        self.socket = socket
        self.stream = TwilioStream(call_sid=call_sid, stream_sid="MZ" + secrets.token_hex(16))
        self.parameters = parameters
        self.earpiece = Earpiece()
        self.outcome = Outcome()
        self.speech_ends: list[float] = []
        self._speaking_until = 0.0
        self._speech_at = 0
        self._t0 = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = asyncio.Event()
        self._activity = asyncio.Event()
        self.on_outbound: Callable[[str, dict[str, Any]], None] | None = None

    def now(self) -> float:
        return asyncio.get_running_loop().time() - self._t0

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def start(self) -> Phone:
        self._t0 = asyncio.get_running_loop().time()
        await self.socket.send_to(text_data=self.stream.connected())
        await self.socket.send_to(text_data=self.stream.start(self.parameters))
        self._tasks = [
            asyncio.create_task(self._receive(), name="phone-receive"),
            asyncio.create_task(self._tick(), name="phone-tick"),
        ]
        return self

    async def send_raw(self, text: str | None = None, data: bytes | None = None) -> None:
        """Any frame at all, straight onto the socket (for hostile input)."""
        if not self.closed:
            await self.socket.send_input(
                {"type": "websocket.receive", "text": text}
                if data is None
                else {"type": "websocket.receive", "bytes": data}
            )

    async def say(self, seconds: float = 1.2) -> float:
        """Talk for ``seconds``; returns when the speech ends (phone time)."""
        self._speech_at = 0
        self._speaking_until = self.now() + seconds
        await asyncio.sleep(seconds)
        end = self.now()
        self.speech_ends.append(end)
        return end

    async def answer_after(self, t: float, *, timeout_s: float = 6.0) -> float | None:
        """Phone time of Zylin's first audio after ``t`` (None if none came within ``timeout_s``)."""
        deadline = self.now() + timeout_s
        while (first := self.earpiece.first_audio_after(t)) is None and not self.closed:
            remaining = deadline - self.now()
            if remaining <= 0:
                return None
            self._activity.clear()
            try:
                await asyncio.wait_for(self._activity.wait(), timeout=remaining)
            except TimeoutError:
                return None
        return first

    async def quiet(self, settle_s: float = 0.5, *, timeout_s: float = 20.0) -> None:
        """Until Zylin has finished speaking (nothing playing for ``settle_s``)."""
        deadline = self.now() + timeout_s
        while not self.closed and self.now() < deadline:
            last = self.earpiece.arrivals[-1][0] if self.earpiece.arrivals else 0.0
            if not self.earpiece.busy and self.now() - last >= settle_s:
                return
            await asyncio.sleep(FRAME_S)

    async def until_closed(self, timeout_s: float) -> bool:
        try:
            await asyncio.wait_for(self._closed.wait(), timeout=timeout_s)
        except TimeoutError:
            return False
        return True

    async def hang_up(self) -> None:
        """Twilio's ``stop``, then the socket closes."""
        if not self.closed:
            await self.socket.send_to(text_data=self.stream.stop())
        await self.drop()

    async def drop(self) -> None:
        """The socket goes away without ``stop`` (network loss)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if not self.closed:
            await self.socket.send_input({"type": "websocket.disconnect", "code": 1006})
            self._closed.set()
        try:
            await asyncio.wait_for(asyncio.shield(self.socket.future), timeout=5)
        except TimeoutError:
            self.socket.future.cancel()

    def application_error(self) -> BaseException | None:
        """The exception that escaped the consumer, if any."""
        future = self.socket.future
        if not future.done() or future.cancelled():
            return None
        return future.exception()

    # -- tasks ------------------------------------------------------------------

    async def _receive(self) -> None:
        queue = self.socket.output_queue
        while True:
            message = await queue.get()
            if message["type"] == "websocket.close":
                self.outcome.close_code = message.get("code", 1000)
                self._closed.set()
                self._activity.set()
                return
            if message["type"] != "websocket.send":
                continue
            if message.get("text") is None:
                self.outcome.protocol_errors.append("binary frame")
                continue
            try:
                payload = json.loads(message["text"])
                event = payload["event"]
            except (ValueError, KeyError, TypeError):
                self.outcome.protocol_errors.append("not a Media Stream message")
                continue
            self.outcome.outbound.append((self.now(), event))
            if payload.get("streamSid") != self.stream.stream_sid:
                self.outcome.protocol_errors.append(f"{event} for another streamSid")
            if event == "media":
                self.earpiece.media(base64.b64decode(payload["media"]["payload"]), self.now())
            elif event == "mark":
                await self._echo(self.earpiece.mark(payload["mark"]["name"]))
            elif event == "clear":
                await self._echo(self.earpiece.clear(self.now()))
            if self.on_outbound is not None:
                self.on_outbound(event, payload)
            self._activity.set()

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        ticks = 0
        while not self.closed:
            ticks += 1
            delay = self._t0 + ticks * FRAME_S - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.now() < self._speaking_until:
                frame = VOICE[self._speech_at : self._speech_at + FRAME_BYTES]
                self._speech_at = (self._speech_at + FRAME_BYTES) % (len(VOICE) - FRAME_BYTES)
            else:
                frame = SILENT_FRAME
            await self.socket.send_to(text_data=self.stream.media(frame))
            await self._echo(self.earpiece.play(self.now()))

    async def _echo(self, names: list[str]) -> None:
        for name in names:
            if not self.closed:
                await self.socket.send_to(text_data=self.stream.mark(name))
