"""Deepgram live transcription: its options, its server's address, and its messages as speech events."""

from __future__ import annotations

from dataclasses import dataclass, field

from deepgram.core.api_error import ApiError
from deepgram.environment import DeepgramClientEnvironment
from deepgram.listen.v1 import ListenV1Results, ListenV1SpeechStarted, ListenV1UtteranceEnd
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from calls.providers.retry import RetryPolicy, status_error
from calls.voice.ports import ProviderError, SpeechEvent, SpeechStarted, Transcript, UtteranceEnd

PROVIDER = "deepgram"
PRODUCTION_URL = "wss://api.deepgram.com"


@dataclass(frozen=True)
class DeepgramConfig:
    """Options for Deepgram live transcription.

    Attributes:
        api_key: Sent as ``Authorization: Token <key>``.
        model: ``nova-3`` takes ``keyterm`` hints; older models take ``keywords``.
        endpointing_ms: Silence after which Deepgram marks a result ``speech_final``.
        utterance_end_ms: Word gap after which Deepgram sends ``UtteranceEnd``.
        base_url: Server origin, ``wss://`` or ``ws://`` (``http(s)://`` is
            accepted and converted). Empty means Deepgram's production service.
        keepalive_interval_s: Send ``KeepAlive`` after this long without audio;
            Deepgram closes an idle socket after about 10 s.
        stall_timeout_s: Longest wait for any server message while audio sent
            to it is unanswered.
        backlog_limit_bytes: Audio kept while reconnecting (8000 bytes = 1 s).
        max_hints: Keyterms beyond this many are dropped (Deepgram caps them).
    """

    api_key: str
    model: str = "nova-3"
    language: str = "en-US"
    endpointing_ms: int = 300
    utterance_end_ms: int = 1000
    smart_format: bool = True
    base_url: str = ""
    keepalive_interval_s: float = 4.0
    stall_timeout_s: float = 5.0
    close_timeout_s: float = 1.0
    backlog_limit_bytes: int = 40_000
    max_hints: int = 50
    connect_policy: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=2, timeout_s=5.0, backoff_s=0.2))


def client_environment(base_url: str) -> DeepgramClientEnvironment:
    ws_url = (base_url or PRODUCTION_URL).rstrip("/")
    if ws_url.startswith("http"):
        ws_url = "ws" + ws_url.removeprefix("http")
    http_url = "http" + ws_url.removeprefix("ws")
    return DeepgramClientEnvironment(base=http_url, production=ws_url, agent=ws_url, agent_rest=http_url)


def error_classify(exc: BaseException) -> ProviderError | None:
    if isinstance(exc, ApiError):
        return status_error(PROVIDER, exc.status_code, exc.body)
    if isinstance(exc, (OSError, InvalidHandshake, ConnectionClosed)):
        return ProviderError(f"deepgram connection failed: {exc!r}", provider=PROVIDER, retryable=True)
    return None


def close_code(exc: ConnectionClosed) -> int | None:
    frame = exc.rcvd or exc.sent
    return frame.code if frame is not None else None


def speech_event(message: object) -> SpeechEvent | None:
    """The voice-loop event for one parsed Deepgram message, or None to skip it.

    Empty interim results (Deepgram sends them during silence) are skipped; an
    empty final is kept only when it closes an utterance or answers Finalize.
    """
    if isinstance(message, ListenV1Results):
        alternatives = message.channel.alternatives
        best = alternatives[0] if alternatives else None
        text = best.transcript.strip() if best is not None else ""
        is_final = bool(message.is_final)
        speech_final = bool(message.speech_final)
        if not text and not (speech_final or message.from_finalize):
            return None
        return Transcript(
            text=text,
            is_final=is_final,
            speech_final=speech_final,
            confidence=best.confidence if best is not None else None,
        )
    if isinstance(message, ListenV1SpeechStarted):
        return SpeechStarted()
    if isinstance(message, ListenV1UtteranceEnd):
        return UtteranceEnd()
    return None
