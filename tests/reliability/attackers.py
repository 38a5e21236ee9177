"""What hostile peers do on the media socket: streams that never start, frames in a running call, a flood.

Each helper drives one connection of Zylin's ASGI application through a
``WebsocketCommunicator``, counts what it sends in the ledger, and returns
what came back (close codes, an exception that escaped the consumer).
"""

from __future__ import annotations

import asyncio
from typing import Any

from calls.models import Call
from tests.reliability.conftest import stream_parameters
from tests.reliability.hostile import Hostile, StreamIds
from tests.reliability.phone import Phone, media_socket


async def read_until_closed(socket: Any, timeout_s: float = 5.0) -> tuple[int | None, list[str]]:
    """The close code and any text frames sent before it (read from the queue: no cancelling timeout)."""
    texts: list[str] = []
    async with asyncio.timeout(timeout_s):
        while True:
            message = await socket.output_queue.get()
            if message["type"] == "websocket.close":
                return message.get("code", 1000), texts
            if message.get("text") is not None:
                texts.append(message["text"])


async def later_closes(socket: Any) -> list[Any]:
    """Anything the consumer sent after its close (a second close is a protocol error)."""
    out = []
    while not socket.output_queue.empty():
        out.append(socket.output_queue.get_nowait())
    return out


async def send_frame(socket: Any, frame: Hostile) -> None:
    message = {"type": "websocket.receive", "text": frame.text} if frame.data is None else {
        "type": "websocket.receive", "bytes": frame.data}  # fmt: skip
    await socket.send_input(message)


FLOOD_FRAMES = 3000  # a minute of audio, sent as fast as the socket takes it


async def hostile_streams_before_start(batches: list[list[Hostile]], ledger: Any) -> list[int | None]:
    """One connection per batch, none ever starting properly; returns the close codes."""
    codes = []
    for frames in batches:
        socket = media_socket()
        assert (await socket.connect())[0]
        for frame in frames:
            ledger.bad_input(frame.kind)
            await send_frame(socket, frame)
        code, _ = await read_until_closed(socket)
        await socket.send_input({"type": "websocket.disconnect", "code": code})
        await socket.wait(timeout=2)
        assert socket.future.exception() is None
        codes.append(code)
    return codes


async def hostile_call(call: Call, frames: list[Hostile], ledger: Any) -> BaseException | None:
    """A started stream that sends hostile frames between its audio, then stops and sends more."""
    socket = media_socket()
    assert (await socket.connect())[0]
    phone = await Phone(socket, call_sid=call.sid, parameters=stream_parameters(call)).start()
    ids = StreamIds(stream_sid=phone.stream.stream_sid, call_sid=call.sid)
    for index, frame in enumerate(frames):
        frame = frame.for_stream(ids, phone.stream.sequence)
        ledger.bad_input(frame.kind)
        await phone.send_raw(frame.text, frame.data)
        if index % 10 == 0:
            await asyncio.sleep(0.02)
    await phone.send_raw(phone.stream.stop())
    for _ in range(20):  # media after stop
        ledger.bad_input("media after stop")
        await phone.send_raw(phone.stream.media(bytes(160)))
    await phone.until_closed(3.0)
    await phone.drop()
    return phone.application_error()


async def flooding_call(call: Call, ledger: Any) -> BaseException | None:
    """A started stream that sends a minute of valid audio at once."""
    socket = media_socket()
    assert (await socket.connect())[0]
    phone = Phone(socket, call_sid=call.sid, parameters=stream_parameters(call))
    await socket.send_to(text_data=phone.stream.connected())
    await socket.send_to(text_data=phone.stream.start(phone.parameters))
    for index in range(FLOOD_FRAMES):
        await phone.send_raw(phone.stream.media(bytes([0x7F]) * 160))
        if index % 500 == 0:
            await asyncio.sleep(0)
    ledger.bad_input("flood faster than real time", FLOOD_FRAMES)
    await asyncio.sleep(0.5)
    await socket.send_to(text_data=phone.stream.stop())
    await socket.send_input({"type": "websocket.disconnect", "code": 1000})
    await socket.wait(timeout=5)
    return socket.future.exception()
