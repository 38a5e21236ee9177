"""ElevenLabs streaming text to speech (HTTP streaming endpoint) through the elevenlabs SDK.

``POST /v1/text-to-speech/{voice_id}/stream?output_format=ulaw_8000`` returns
8 kHz mu-law bytes as they are generated: exactly what Twilio plays, so no
decoding or resampling happens here.

A request that fails or stays silent before its first audio chunk is retried
under the shared policy; once audio has been yielded a failure is raised, since
replaying the sentence would repeat words the caller already heard.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from elevenlabs.client import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError

from calls.providers.retry import RetryPolicy, status_error, stream_with_retries
from calls.voice.ports import ProviderError

logger = logging.getLogger(__name__)

PROVIDER = "elevenlabs"


@dataclass(frozen=True)
class ElevenLabsConfig:
    """Options for ElevenLabs streaming synthesis.

    Attributes:
        api_key: Sent as the ``xi-api-key`` header.
        voice_id: The voice to speak with.
        model_id: ``eleven_flash_v2_5`` has the lowest latency.
        optimize_streaming_latency: 0 (off) to 4 (fastest, no text normalizer).
        base_url: API origin; empty means ElevenLabs' production service.
        first_chunk_timeout_s: A request with no audio by then is failed (and retried).
        chunk_timeout_s: Longest silence allowed between two chunks of one answer.
        attempts: Tries per sentence before the failure reaches the voice loop.
        chunk_bytes: Audio is handed on in pieces of this size (800 bytes = 100 ms).
    """

    api_key: str
    voice_id: str = "21m00Tcm4TlvDq8ikWAM"
    model_id: str = "eleven_flash_v2_5"
    optimize_streaming_latency: int | None = 3
    base_url: str = ""
    first_chunk_timeout_s: float = 2.0
    chunk_timeout_s: float = 2.0
    attempts: int = 2
    backoff_s: float = 0.1
    connect_timeout_s: float = 2.0
    chunk_bytes: int = 800

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=self.attempts,
            timeout_s=self.first_chunk_timeout_s,
            backoff_s=self.backoff_s,
            idle_timeout_s=self.chunk_timeout_s,
        )


def _classify(exc: BaseException) -> ProviderError | None:
    if isinstance(exc, ApiError):
        return status_error(PROVIDER, exc.status_code, exc.body)
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError(f"elevenlabs timed out: {exc!r}", provider=PROVIDER, retryable=True)
    if isinstance(exc, httpx.TransportError):
        return ProviderError(f"elevenlabs connection failed: {exc!r}", provider=PROVIDER, retryable=True)
    return None


class ElevenLabsTextToSpeech:
    """``TextToSpeech`` backed by ElevenLabs, streaming ``ulaw_8000`` audio.

    One instance may serve many calls: it keeps one HTTP connection pool,
    opened on first use. ``aclose()`` releases the pool; a later sentence opens
    a new one, so a call that closes a shared adapter does not break the next.

    Args:
        config: Voice, model and timeouts; never read from settings here.
    """

    name = "elevenlabs"

    def __init__(self, config: ElevenLabsConfig) -> None:
        self._config = config
        self._http: httpx.AsyncClient | None = None
        self._client: AsyncElevenLabs | None = None

    def _sdk(self) -> AsyncElevenLabs:
        if self._client is None:
            config = self._config
            # Our own HTTP client, so aclose() can release its connection pool.
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(
                    connect=config.connect_timeout_s,
                    read=max(config.first_chunk_timeout_s, config.chunk_timeout_s) + 1.0,
                    write=config.connect_timeout_s,
                    pool=config.connect_timeout_s,
                )
            )
            self._client = AsyncElevenLabs(
                api_key=config.api_key,
                base_url=config.base_url.rstrip("/") or None,
                httpx_client=self._http,
                timeout=config.first_chunk_timeout_s + config.chunk_timeout_s,
            )
        return self._client

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Yield 8 kHz mu-law chunks for ``text``; nothing for blank text.

        Raises:
            ProviderError: the vendor failed, refused the key, or stalled.
        """
        if not text.strip():
            return
        config = self._config
        client = self._sdk()

        def open_stream() -> AsyncIterator[bytes]:
            stream: AsyncIterator[bytes] = client.text_to_speech.stream(
                config.voice_id,
                text=text,
                model_id=config.model_id,
                output_format="ulaw_8000",
                optimize_streaming_latency=config.optimize_streaming_latency,
                request_options={"chunk_size": config.chunk_bytes, "max_retries": 0},
            )
            return stream

        chunks = stream_with_retries(open_stream, provider=PROVIDER, policy=config.retry_policy, classify=_classify)
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                if chunk:
                    yield chunk

    async def aclose(self) -> None:
        """Release the HTTP connection pool. Idempotent."""
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.aclose()
