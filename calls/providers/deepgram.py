"""Deepgram live transcription (``/v1/listen`` over WebSocket) through deepgram-sdk 7.

One ``DeepgramSpeechStream`` per call. It sends the caller's 8 kHz mu-law audio
as binary frames and turns Deepgram's ``Results``, ``SpeechStarted`` and
``UtteranceEnd`` messages into the voice loop's speech events.

Failure handling, in the order a call meets it:

* Opening the socket is retried under the shared ``RetryPolicy``; a refused
  key fails at once (not retryable).
* A socket the server drops mid-call (for example close code 1011) is reopened
  once with the same options. Audio that arrives meanwhile is kept (up to
  ``backlog_limit_bytes``) and sent first on the new socket. A second drop ends
  the stream with ``ProviderError(retryable=False)``.
* A server that stops answering while audio is flowing ends the stream with a
  retryable ``ProviderError`` after ``stall_timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from deepgram import AsyncDeepgramClient
from deepgram.listen.v1 import ListenV1Error
from deepgram.listen.v1.socket_client import AsyncV1SocketClient
from websockets.exceptions import ConnectionClosed

from calls.providers.deepgram_protocol import (
    PROVIDER,
    DeepgramConfig,
    client_environment,
    close_code,
    error_classify,
    speech_event,
)
from calls.providers.retry import RetryPolicy, with_retries
from calls.voice.faults import provider_fault_note
from calls.voice.ports import ProviderError, SpeechEvent, SpeechStarted, Transcript, UtteranceEnd

logger = logging.getLogger(__name__)


class _Stalled(Exception):
    pass


_END = object()


class DeepgramSpeechStream:
    """One live Deepgram session; built by ``DeepgramSpeechToText.connect``."""

    def __init__(self, *, client: AsyncDeepgramClient, config: DeepgramConfig, hints: Sequence[str]) -> None:
        self._client = client
        self._config = config
        self._options = self._listen_options(hints)
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._send_lock = asyncio.Lock()
        self._conn: AsyncV1SocketClient | None = None
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._backlog = bytearray()
        self._reconnects_left = 1
        self._closing = False
        self._error: ProviderError | None = None
        self._server_error = ""
        self._last_sent = 0.0
        # When audio (or Finalize) went out with no server message since; drives the stall check.
        self._unanswered_since: float | None = None
        self._recv_deadline: asyncio.Timeout | None = None
        self._reader: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None

    def _listen_options(self, hints: Sequence[str]) -> dict[str, Any]:
        config = self._config
        options: dict[str, Any] = {
            "model": config.model,
            "language": config.language,
            "encoding": "mulaw",
            "sample_rate": 8000,
            "channels": 1,
            "interim_results": True,
            "punctuate": True,
            "smart_format": config.smart_format,
            "endpointing": config.endpointing_ms,
            "utterance_end_ms": config.utterance_end_ms,
            "vad_events": True,
        }
        words = list(dict.fromkeys(h.strip() for h in hints if h.strip()))[: config.max_hints]
        if words:
            # Keyterm prompting exists only on Nova-3; older models take keywords.
            options["keyterm" if config.model.startswith("nova-3") else "keywords"] = words
        return options

    @property
    def _loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    async def _open_socket(self, policy: RetryPolicy) -> None:
        stack = contextlib.AsyncExitStack()

        async def enter() -> AsyncV1SocketClient:
            return await stack.enter_async_context(self._client.listen.v1.connect(**self._options))

        try:
            conn = await with_retries(enter, provider=PROVIDER, policy=policy, classify=error_classify)
        except BaseException:
            await self._exit_quietly(stack)
            raise
        async with self._send_lock:
            self._exit_stack = stack
            if self._backlog:
                await conn.send_media(bytes(self._backlog))
                self._backlog.clear()
                self._unanswered_since = self._loop_time
            self._conn = conn
            self._last_sent = self._loop_time

    async def start(self) -> None:
        """Open the socket and start the reader and keep-alive tasks."""
        await self._open_socket(self._config.connect_policy)
        self._reader = asyncio.create_task(self._read(), name="deepgram-read")
        self._keepalive = asyncio.create_task(self._keep_alive(), name="deepgram-keepalive")

    # ------------------------------------------------------------------ sending

    async def send_audio(self, mulaw: bytes) -> None:
        """Send raw 8 kHz mu-law; kept in a short backlog while reconnecting."""
        if self._error is not None:
            raise self._error
        if self._closing or not mulaw:
            return
        async with self._send_lock:
            conn = self._conn
            if conn is None:
                self._keep_in_backlog(mulaw)
                return
            try:
                await conn.send_media(mulaw)
            except ConnectionClosed:
                # The reader sees the same closure and reconnects; keep this chunk for then.
                self._conn = None
                self._keep_in_backlog(mulaw)
                return
            now = self._loop_time
            self._last_sent = now
            self._mark_unanswered(now)

    def _keep_in_backlog(self, mulaw: bytes) -> None:
        self._backlog.extend(mulaw)
        excess = len(self._backlog) - self._config.backlog_limit_bytes
        if excess > 0:
            del self._backlog[:excess]

    def _mark_unanswered(self, now: float) -> None:
        if self._unanswered_since is None:
            self._unanswered_since = now
            if self._recv_deadline is not None:
                self._recv_deadline.reschedule(now + self._config.stall_timeout_s)

    async def finalize(self) -> None:
        """Ask Deepgram to flush a final result for the audio sent so far."""
        if self._error is not None:
            raise self._error
        if await self._send_control(lambda conn: conn.send_finalize()):
            self._mark_unanswered(self._loop_time)

    async def _send_control(self, send: Callable[[AsyncV1SocketClient], Awaitable[None]]) -> bool:
        """Send a control message unless the socket is down; True when it went out."""
        async with self._send_lock:
            conn = self._conn
            if conn is None:
                return False
            try:
                await send(conn)
            except ConnectionClosed:
                self._conn = None
                return False
            self._last_sent = self._loop_time
            return True

    async def _keep_alive(self) -> None:
        interval = self._config.keepalive_interval_s
        while True:
            idle = self._loop_time - self._last_sent
            if idle >= interval:
                await self._send_control(lambda conn: conn.send_keep_alive())
                idle = 0.0
            await asyncio.sleep(interval - idle)

    # ---------------------------------------------------------------- receiving

    async def _read(self) -> None:
        try:
            while True:
                conn = self._conn
                try:
                    if conn is not None:
                        await self._pump(conn)
                except ConnectionClosed as exc:
                    if self._closing:
                        return
                    await self._recover(f"closed with code {close_code(exc)}")
                    continue
                except _Stalled:
                    raise ProviderError(
                        f"deepgram sent nothing for {self._config.stall_timeout_s:g} s while audio was unanswered",
                        provider=PROVIDER,
                        retryable=True,
                    ) from None
                if self._closing:
                    return
                await self._recover("closed by the server")
        except ProviderError as exc:
            self._error = exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("deepgram reader failed")
            self._error = ProviderError(f"deepgram reader failed: {exc!r}", provider=PROVIDER, retryable=False)
        finally:
            self._queue.put_nowait(_END)

    async def _pump(self, conn: AsyncV1SocketClient) -> None:
        """Receive until the socket closes; raises ConnectionClosed or _Stalled."""
        stall = self._config.stall_timeout_s
        while True:
            since = self._unanswered_since
            deadline = (since if since is not None else self._loop_time) + stall
            try:
                async with asyncio.timeout_at(deadline) as self._recv_deadline:
                    message = await conn.recv()
            except TimeoutError:
                since = self._unanswered_since
                if since is not None and self._loop_time - since >= stall:
                    raise _Stalled from None
                continue
            finally:
                self._recv_deadline = None
            self._unanswered_since = None
            if isinstance(message, ListenV1Error):
                self._server_error = f"{message.variant}: {message.description}"
                logger.warning("deepgram error message: %s", self._server_error)
                continue
            event = speech_event(message)
            if event is not None:
                self._queue.put_nowait(event)

    async def _recover(self, reason: str) -> None:
        """Reopen a dropped socket once; the second drop ends the stream."""
        async with self._send_lock:
            self._conn = None
        old_stack, self._exit_stack = self._exit_stack, None
        if old_stack is not None:
            await self._exit_quietly(old_stack)
        detail = f"{reason}{f' ({self._server_error})' if self._server_error else ''}"
        if self._reconnects_left <= 0:
            raise ProviderError(f"deepgram socket {detail} again", provider=PROVIDER, retryable=False)
        self._reconnects_left -= 1
        logger.warning("deepgram socket %s; reconnecting once", detail)
        provider_fault_note(PROVIDER, f"socket {detail}", handling="reconnected")
        self._unanswered_since = None
        self._server_error = ""
        once = RetryPolicy(attempts=1, timeout_s=self._config.connect_policy.timeout_s)
        try:
            await self._open_socket(once)
        except ProviderError as exc:
            raise ProviderError(f"deepgram reconnect failed: {exc}", provider=PROVIDER, retryable=False) from exc

    async def events(self) -> AsyncIterator[SpeechEvent]:
        """Speech events in order; raises ``ProviderError`` if the stream failed."""
        while True:
            item = await self._queue.get()
            if item is _END:
                # Leave the end marker for any later reader of events().
                self._queue.put_nowait(_END)
                if self._error is not None:
                    raise self._error
                return
            assert isinstance(item, (Transcript, SpeechStarted, UtteranceEnd))
            yield item

    # ------------------------------------------------------------------ closing

    async def aclose(self) -> None:
        """Send CloseStream, give the server a moment to finish, then close. Idempotent."""
        if self._closing:
            return
        self._closing = True
        await self._cancel(self._keepalive)
        reader = self._reader
        if await self._send_control(lambda conn: conn.send_close_stream()) and reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(reader), self._config.close_timeout_s)
        await self._cancel(reader)
        async with self._send_lock:
            self._conn = None
        stack, self._exit_stack = self._exit_stack, None
        if stack is not None:
            await self._exit_quietly(stack)
        self._queue.put_nowait(_END)

    @staticmethod
    async def _cancel(task: asyncio.Task[None] | None) -> None:
        if task is None or task.done():
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            # Swallow only the cancellation we asked for, never one aimed at our caller.
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    async def _exit_quietly(self, stack: contextlib.AsyncExitStack) -> None:
        try:
            async with asyncio.timeout(self._config.close_timeout_s):
                await stack.aclose()
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket is being discarded; a failed close changes nothing
            logger.debug("closing a deepgram socket raised", exc_info=True)


class DeepgramSpeechToText:
    """``SpeechToText`` backed by Deepgram live streaming (mu-law, 8 kHz, interim results).

    Args:
        config: Connection and recognition options; never read from settings here.
    """

    name = "deepgram"

    def __init__(self, config: DeepgramConfig) -> None:
        self._config = config
        self._client = AsyncDeepgramClient(api_key=config.api_key, environment=client_environment(config.base_url))

    async def connect(self, *, hints: Sequence[str] = ()) -> DeepgramSpeechStream:
        """Open a live stream; ``hints`` become Deepgram keyterms."""
        stream = DeepgramSpeechStream(client=self._client, config=self._config, hints=hints)
        await stream.start()
        return stream
