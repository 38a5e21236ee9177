"""OpenAI speech through the openai SDK: whole-file transcription and streaming synthesis.

``OpenAITranscriber`` serves the recording path (a finished WAV in, text out).
``OpenAITextToSpeech`` streams ``pcm`` (24 kHz signed 16-bit mono) and turns
it into 8 kHz mu-law for Twilio as it arrives.

The SDK's own retries are switched off (``max_retries=0``) so that the shared
policy in ``calls.providers.retry`` is the only one, as for every adapter.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass

import httpx2
import numpy as np
import openai
from openai import AsyncOpenAI

from calls.audio import StreamResampler, lin2ulaw
from calls.providers.retry import RetryPolicy, status_error, stream_with_retries, with_retries
from calls.voice.ports import ProviderError

logger = logging.getLogger(__name__)

PROVIDER = "openai"
OPENAI_PCM_RATE = 24_000
PHONE_RATE = 8000


@dataclass(frozen=True)
class OpenAISpeechConfig:
    """Options for OpenAI transcription and speech.

    Attributes:
        api_key: Sent as ``Authorization: Bearer <key>``.
        base_url: API root including ``/v1``; empty means the SDK default.
        transcription_model: Model for ``audio.transcriptions``.
        language: ISO-639-1 code of the callers' language; improves accuracy and latency.
        transcription_timeout_s: Deadline for one transcription request.
        speech_model, voice, instructions: For ``audio.speech``.
        first_chunk_timeout_s: Synthesis with no audio by then is failed (and retried).
        chunk_timeout_s: Longest silence allowed between two chunks of one answer.
        attempts: Tries per request before the failure is raised.
    """

    api_key: str
    base_url: str = ""
    transcription_model: str = "gpt-4o-mini-transcribe"
    language: str = "en"
    transcription_timeout_s: float = 20.0
    speech_model: str = "gpt-4o-mini-tts"
    voice: str = "alloy"
    instructions: str = "Speak like a warm, efficient receptionist on the phone."
    first_chunk_timeout_s: float = 3.0
    chunk_timeout_s: float = 3.0
    attempts: int = 2
    backoff_s: float = 0.2
    chunk_bytes: int = 4800  # 100 ms of 24 kHz 16-bit audio


def _classify(exc: BaseException) -> ProviderError | None:
    if isinstance(exc, openai.APIStatusError):
        return status_error(PROVIDER, exc.status_code, exc.message)
    if isinstance(exc, (openai.APIConnectionError, httpx2.TransportError)):
        # APITimeoutError is an APIConnectionError; both may pass on retry.
        return ProviderError(f"openai connection failed: {exc!r}", provider=PROVIDER, retryable=True)
    return None


class _ClientHolder:
    """One SDK client (one connection pool), opened on first use.

    Adapters may be shared by many calls; closing releases the pool and the next
    request opens a new one, so a call that closes a shared adapter does not
    break the next call.
    """

    def __init__(self, config: OpenAISpeechConfig, timeout_s: float) -> None:
        self._config = config
        self._timeout_s = timeout_s
        self._client: AsyncOpenAI | None = None

    def get(self) -> AsyncOpenAI:
        if self._client is None:
            self._client = AsyncOpenAI(
                api_key=self._config.api_key,
                base_url=self._config.base_url.rstrip("/") or None,
                timeout=self._timeout_s,
                max_retries=0,
            )
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()


def hint_prompt(hints: Sequence[str]) -> str:
    """A transcription prompt that primes the spelling of domain words."""
    words = list(dict.fromkeys(h.strip() for h in hints if h.strip()))
    return f"Words that may come up: {', '.join(words)}." if words else ""


class OpenAITranscriber:
    """``BatchSpeechToText`` backed by OpenAI's transcription endpoint.

    Args:
        config: Model, language and timeouts; never read from settings here.
    """

    name = "openai"

    def __init__(self, config: OpenAISpeechConfig) -> None:
        self._config = config
        self._client = _ClientHolder(config, config.transcription_timeout_s)
        self._policy = RetryPolicy(
            attempts=config.attempts,
            timeout_s=config.transcription_timeout_s,
            backoff_s=config.backoff_s,
        )

    async def transcribe(self, wav: bytes, *, hints: Sequence[str] = ()) -> str:
        """Transcribe a whole WAV file; ``hints`` prime the spelling of names and services.

        Raises:
            ProviderError: the request failed after the retry policy was spent.
        """
        prompt = hint_prompt(hints)

        async def request() -> str:
            result = await self._client.get().audio.transcriptions.create(
                model=self._config.transcription_model,
                file=("call.wav", wav, "audio/wav"),
                language=self._config.language or openai.omit,
                prompt=prompt or openai.omit,
            )
            return result.text

        text = await with_retries(request, provider=PROVIDER, policy=self._policy, classify=_classify)
        return text.strip()

    async def aclose(self) -> None:
        """Release the HTTP connection pool. Idempotent."""
        await self._client.close()


class OpenAITextToSpeech:
    """``TextToSpeech`` backed by OpenAI ``audio.speech``, resampled to 8 kHz mu-law.

    Args:
        config: Model, voice and timeouts; never read from settings here.
    """

    name = "openai"

    def __init__(self, config: OpenAISpeechConfig) -> None:
        self._config = config
        self._client = _ClientHolder(config, config.first_chunk_timeout_s + config.chunk_timeout_s + 30.0)
        self._policy = RetryPolicy(
            attempts=config.attempts,
            timeout_s=config.first_chunk_timeout_s,
            backoff_s=config.backoff_s,
            idle_timeout_s=config.chunk_timeout_s,
        )

    async def _pcm(self, text: str) -> AsyncGenerator[bytes, None]:
        config = self._config
        async with self._client.get().audio.speech.with_streaming_response.create(
            model=config.speech_model,
            voice=config.voice,
            input=text,
            instructions=config.instructions or openai.omit,
            response_format="pcm",
        ) as response:
            async for chunk in response.iter_bytes(config.chunk_bytes):
                yield chunk

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Yield 8 kHz mu-law chunks for ``text``; nothing for blank text.

        Raises:
            ProviderError: the vendor failed, refused the key, or stalled.
        """
        if not text.strip():
            return
        resampler = StreamResampler(OPENAI_PCM_RATE, PHONE_RATE)
        carry = b""
        chunks = stream_with_retries(
            lambda: self._pcm(text), provider=PROVIDER, policy=self._policy, classify=_classify
        )
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                # A network chunk may split a 16-bit sample; keep the odd byte for the next one.
                data = carry + chunk
                whole = len(data) - len(data) % 2
                carry = data[whole:]
                converted = resampler.process(np.frombuffer(data[:whole], dtype="<i2"))
                if converted.size:
                    yield lin2ulaw(converted)
        tail = resampler.process(np.zeros(0, dtype=np.int16), last=True)
        if tail.size:
            yield lin2ulaw(tail)

    async def aclose(self) -> None:
        """Release the HTTP connection pool. Idempotent."""
        await self._client.close()
