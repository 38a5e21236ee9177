"""The Twilio Media Stream socket (``/media-stream``): a thin Channels adapter.

Twilio opens one socket per call and sends JSON text frames: ``connected``,
``start``, then ``media``/``mark``/``dtmf`` and finally ``stop``. The consumer
checks the upgrade's ``X-Twilio-Signature`` before it builds anything, waits a
few seconds for a valid ``start``, finds the Call, claims a streaming slot and
hands the socket to a ``VoiceSession`` (built by ``calls.wiring``). From then on
it only parses frames and feeds them to the session, never blocking on them:
Channels handles one message at a time, so a slow ``receive`` would hold up the
caller's audio.

Close codes (4xxx, as Channels allows):

* 4403 the signature is missing or wrong (sent before ``accept``, so the
  handshake itself is refused with HTTP 403);
* 4400 media or anything else but ``connected`` before ``start``, a frame that
  does not parse before ``start``, or audio that is not 8 kHz mu-law;
* 4404 ``start`` names a call Zylin does not know;
* 4408 no ``start`` within ``START_TIMEOUT_S``;
* 4409 ``start`` does not match the call (session, business, or the call is on
  the recording path);
* 4429 no streaming capacity left in this process;
* 4500 the session could not be built;
* 4503 the process is shutting down (before ``accept``: HTTP 403), see ``calls.shutdown``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import Counter
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from calls import metrics, shutdown, wiring
from calls.capacity import streaming_capacity
from calls.models import Call
from calls.twilio_media import MalformedEvent, parse_event
from calls.twilio_signature import websocket_signature_valid
from calls.voice.events import ConnectedEvent, StartEvent, StopEvent
from calls.voice.session import VoiceSession

logger = logging.getLogger(__name__)

PHONE_FORMAT = ("audio/x-mulaw", 8000, 1)


class CloseCode(enum.IntEnum):
    PROTOCOL_ERROR = 4400
    BAD_SIGNATURE = 4403
    UNKNOWN_CALL = 4404
    START_TIMEOUT = 4408
    CALL_MISMATCH = 4409
    NO_CAPACITY = 4429
    SESSION_FAILED = 4500
    SHUTTING_DOWN = 4503


class MediaStreamConsumer(AsyncWebsocketConsumer):
    """One Twilio Media Stream: validates it, then relays it to and from a ``VoiceSession``."""

    START_TIMEOUT_S = 5.0
    SESSION_CLOSE_TIMEOUT_S = 3.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session: VoiceSession | None = None
        self.call_sid = ""
        self.rejected: Counter[str] = Counter()  # binary, malformed, unknown frames
        self._run_task: asyncio.Task[None] | None = None
        self._start_timer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._capacity_key: str | None = None
        self._starting = False
        self._stopped = False
        self._timed_out = False
        self._closing = False
        self._disconnected = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # A media socket joins no group, so it takes no channel of the channel layer
        # (with Redis, one blocking receive per live call). Without a second message
        # source, one plain loop replaces Channels' dispatcher, which starts a task
        # per message: at 50 frames a second per call that overhead adds up. Its
        # dispatch also hops to a worker thread before every message to close stale
        # database connections, for frames that never touch the database: frames go
        # straight to ``receive``; connect and disconnect take Channels' path.
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                message = await receive()
                if message["type"] == "websocket.receive":
                    await self.receive(message.get("text"), message.get("bytes"))
                else:
                    await self.dispatch(message)
        except StopConsumer:
            pass

    async def connect(self) -> None:
        if not websocket_signature_valid(path=self.scope["path"], headers=self.scope.get("headers", [])):
            logger.warning("refused a media stream with a missing or wrong Twilio signature")
            await self.close(code=CloseCode.BAD_SIGNATURE)
            return
        if shutdown.draining():
            logger.warning("refused a media stream: this process is shutting down")
            await self.close(code=CloseCode.SHUTTING_DOWN)
            return
        await self.accept()
        self._start_timer = asyncio.create_task(self._expect_start(), name="media-stream-start-timer")

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self._closing:
            return
        if text_data is None:
            # Twilio sends text frames only; a binary one is not audio we can trust.
            self._reject("binary", "ignored a binary media stream frame")
            return
        try:
            event = parse_event(text_data)
        except MalformedEvent as error:
            self._reject("malformed", f"malformed media stream frame: {error.reason}")
            if self.session is None:
                await self._refuse(CloseCode.PROTOCOL_ERROR, f"malformed frame before start: {error.reason}")
            return
        if event is None:
            self.rejected["unknown"] += 1
            return
        if self.session is not None:
            if isinstance(event, StopEvent):
                self._stopped = True
            self.session.feed(event)
        elif isinstance(event, StartEvent) and not self._starting:
            await self._start(event)
        elif not isinstance(event, ConnectedEvent):
            await self._refuse(CloseCode.PROTOCOL_ERROR, f"{type(event).__name__} before a valid start")

    async def disconnect(self, code: int) -> None:
        self._disconnected = True
        for task in (self._start_timer, self._closer):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        metrics.ws_disconnect(self._disconnect_cause())
        session = self.session
        if session is not None:
            await session.aclose(timeout_s=self.SESSION_CLOSE_TIMEOUT_S)
            shutdown.session_ended(session)
            if self._run_task is not None and not self._run_task.done():
                logger.warning("voice session still running after close", extra={"call_sid": self.call_sid})
            if self.rejected:
                await session.report("rejected_frames", dict(self.rejected))
        if self._capacity_key is not None:
            streaming_capacity().release(self._capacity_key, holder=id(self))
            self._capacity_key = None

    # -- start ------------------------------------------------------------------------

    async def _expect_start(self) -> None:
        await asyncio.sleep(self.START_TIMEOUT_S)
        if self.session is None and not self._starting:
            self._timed_out = True
            await self._refuse(CloseCode.START_TIMEOUT, f"no start within {self.START_TIMEOUT_S:g} s")

    async def _start(self, start: StartEvent) -> None:
        self._starting = True
        if self._start_timer is not None:
            self._start_timer.cancel()
        self.call_sid = start.call_sid
        media_format = start.media_format
        if (media_format.encoding, media_format.sample_rate, media_format.channels) != PHONE_FORMAT:
            await self._refuse(CloseCode.PROTOCOL_ERROR, f"unsupported media format {media_format}")
            return
        call = await _call_find(start.call_sid)
        if call is None:
            await self._refuse(CloseCode.UNKNOWN_CALL, "unknown call")
            return
        if mismatch := _mismatch(call, start.custom_parameters):
            await self._refuse(CloseCode.CALL_MISMATCH, mismatch)
            return
        if not streaming_capacity().acquire(call.sid, holder=id(self)):
            await self._refuse(CloseCode.NO_CAPACITY, "streaming capacity full")
            return
        self._capacity_key = call.sid
        try:
            session = await wiring.session_build(call, start, self._send_text)
        except Exception:
            logger.exception("could not build the voice session", extra={"call_sid": self.call_sid})
            await self._refuse(CloseCode.SESSION_FAILED, "voice session failed to start")
            return
        if self._disconnected:
            return
        self.session = session
        shutdown.session_started(session)  # a SIGTERM lets it finish, or hands it over
        self._run_task = asyncio.create_task(session.run(), name=f"voice-session-{call.sid}")
        self._run_task.add_done_callback(self._session_finished)
        session.feed(start)
        logger.info("media stream started", extra={"call_sid": self.call_sid})

    # -- sending and closing ---------------------------------------------------------

    async def _send_text(self, text: str) -> None:
        if self._disconnected:
            raise ConnectionError("the media socket is closed")
        await self.send(text_data=text)

    def _session_finished(self, task: asyncio.Task[None]) -> None:
        # The call ended on Zylin's side (stop, hang-up, hand-over, fallback): the
        # socket goes too, so Twilio moves on to whatever the call does next.
        if not self._disconnected and not self._closing:
            self._closing = True
            self._closer = asyncio.create_task(self.close(), name="media-stream-close")

    async def _refuse(self, code: CloseCode, reason: str) -> None:
        if self._closing:
            return  # one close per socket: a refusal already went out (the start timer may fire after it)
        logger.warning("closing media stream (%d): %s", code, reason, extra={"call_sid": self.call_sid})
        self._closing = True
        if self._start_timer is not None and self._start_timer is not asyncio.current_task():
            self._start_timer.cancel()
        await self.close(code=code)

    def _reject(self, kind: str, message: str) -> None:
        """Count a frame Zylin ignores; only the first of each kind is a warning (a flood stays one line)."""
        self.rejected[kind] += 1
        level = logging.WARNING if self.rejected[kind] == 1 else logging.DEBUG
        logger.log(level, message, extra={"call_sid": self.call_sid})

    def _disconnect_cause(self) -> str:
        if self._stopped:
            return "stop"
        if self._timed_out:
            return "timeout"
        return "server_closed" if self._closing else "remote_closed"


@database_sync_to_async
def _call_find(call_sid: str) -> Call | None:
    return Call.objects.select_related("business").filter(sid=call_sid).first()


def _mismatch(call: Call, parameters: dict[str, Any]) -> str:
    """Why this stream's parameters do not belong to ``call`` ('' when they do)."""
    if call.path != Call.Path.STREAMING:
        return "the call is on the recording path"
    session_id = parameters.get("sessionId", "")
    if session_id and call.session_id and session_id != call.session_id:
        return "sessionId does not match the call"
    business = parameters.get("business", "")
    if business and business != str(call.business_id):
        return "business does not match the call"
    return ""
