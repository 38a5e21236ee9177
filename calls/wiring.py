"""Builds the objects a call needs from settings and the database.

The only module that reads ``settings`` and the ORM to build providers, agents
and ports; everything it returns satisfies a Protocol in ``calls/voice/ports.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from businesses.models import Business
    from calls.models import Call
    from calls.providers.standin import StandInConfig
    from calls.voice.config import VoiceConfig
    from calls.voice.events import StartEvent
    from calls.voice.phrases import PhraseCache
    from calls.voice.ports import (
        BatchSpeechToText,
        BusinessInfo,
        CallControl,
        CallStore,
        LanguageModel,
        SessionStore,
        SpeechToText,
        TextToSpeech,
        TurnRecord,
    )
    from calls.voice.session import VoiceSession

logger = logging.getLogger(__name__)
T = TypeVar("T")


def voice_settings() -> dict:
    return dict(settings.VOICE)


def business_info_load(business: Business) -> BusinessInfo:
    """The business as plain data (services, hours, FAQ) for agents and speech engines."""
    from calls.adapters.booking_port import business_info_from

    return business_info_from(business)


def agent_build(
    *,
    business: Business,
    caller_phone: str,
    call: Call | None,
    clock: Callable[[], dt.datetime] | None = None,
) -> LanguageModel:
    """The configured agent (ZYLIN_AGENT: openai, local, standin) for one conversation.

    Reads the database (the business's services, hours and FAQ): call it from
    sync code or through ``sync_to_async``. ``clock`` fixes "now" for the
    agent's bookings (tests, the ``talk --now`` console).
    """
    from calls.adapters.booking_port import DjangoBookingPort

    voice = voice_settings()
    kind = voice["agent"]
    if kind == "standin":
        from calls.providers.standin import StandInAgent

        return StandInAgent(_standin_config())
    info = business_info_load(business)
    port = DjangoBookingPort(business, call, clock=clock)
    if kind == "openai":
        from calls.agent.openai_agent import OpenAIAgent, OpenAIAgentConfig

        config = OpenAIAgentConfig(
            api_key=settings.OPENAI_API_KEY,
            model=voice["openai_model"],
            base_url=voice["openai_base_url"] or None,
        )
        return OpenAIAgent(config=config, business=info, port=port, caller_phone=caller_phone)
    if kind == "local":
        from calls.agent.local import LocalAgent

        return LocalAgent(business=info, port=port, caller_phone=caller_phone)
    raise ImproperlyConfigured(f"ZYLIN_AGENT={kind!r}: choose openai, local or standin.")


def stt_build(*, business: Business) -> SpeechToText:
    """The configured streaming recognizer (ZYLIN_ASR: deepgram, pocketsphinx, standin).

    Reads the database for pocketsphinx (its language model is the business's
    vocabulary); the model and its decoders are cached per process, so one
    recognizer per call costs nothing after the first.
    """
    voice = voice_settings()
    kind = voice["asr"]
    if kind == "deepgram":
        from calls.providers.deepgram import DeepgramConfig, DeepgramSpeechToText

        config = DeepgramConfig(
            api_key=settings.DEEPGRAM_API_KEY, model=voice["deepgram_model"], base_url=voice["deepgram_url"]
        )
        return DeepgramSpeechToText(config)
    if kind == "pocketsphinx":
        from calls.providers.pocketsphinx_asr import PocketsphinxSpeechToText

        return PocketsphinxSpeechToText(business_info_load(business))
    if kind == "standin":
        from calls.providers.standin import StandInSpeechToText

        return StandInSpeechToText(_standin_config())
    raise ImproperlyConfigured(f"ZYLIN_ASR={kind!r}: choose deepgram, pocketsphinx or standin.")


def tts_build(*, business: Business) -> TextToSpeech:
    """The configured voice (ZYLIN_TTS: elevenlabs, piper, espeak, standin), shared by the process's calls.

    Piper falls back to espeak when its voice cannot be loaded. The ElevenLabs
    adapter keeps an HTTP connection pool, which belongs to one event loop.
    """
    voice = voice_settings()
    kind = voice["tts"]
    if kind == "elevenlabs":
        from calls.providers.elevenlabs import ElevenLabsConfig, ElevenLabsTextToSpeech

        config = ElevenLabsConfig(
            api_key=settings.ELEVENLABS_API_KEY,
            voice_id=voice["elevenlabs_voice_id"],
            model_id=voice["elevenlabs_model"],
            base_url=voice["elevenlabs_base_url"],
        )
        return _per_loop(("elevenlabs", config), lambda: ElevenLabsTextToSpeech(config))
    if kind == "piper":
        return _piper_or_espeak()
    if kind == "espeak":
        return _espeak()
    if kind == "standin":
        return _standin_tts(_standin_config())
    raise ImproperlyConfigured(f"ZYLIN_TTS={kind!r}: choose elevenlabs, piper, espeak or standin.")


def batch_stt_build(*, business: Business) -> BatchSpeechToText:
    """Whole-recording transcription: OpenAI when OPENAI_API_KEY is set, else local.

    The local engine decodes with a language model of the business's own words.
    """
    if settings.OPENAI_API_KEY:
        from calls.providers.openai_speech import OpenAISpeechConfig, OpenAITranscriber

        voice = voice_settings()
        return OpenAITranscriber(
            OpenAISpeechConfig(
                api_key=settings.OPENAI_API_KEY,
                base_url=voice.get("openai_transcribe_base_url") or voice["openai_base_url"],
                transcription_model=voice["openai_transcribe_model"],
            )
        )
    from calls.providers.pocketsphinx_batch import PocketsphinxTranscriber

    return PocketsphinxTranscriber(business_info_load(business))


def call_control_build(call: Call) -> CallControl:
    """Live-call control through Twilio's REST API, or a recorder without credentials.

    Reads ``call.business``: pass a Call fetched with ``select_related("business")``
    when calling from async code.
    """
    from calls.twilio_control import RecordingCallControl, TwilioCallControl
    from calls.twilio_rest import credentials, rest_client

    creds = credentials()
    transfer_number = call.business.transfer_number
    if creds is None:
        return RecordingCallControl(call_id=call.pk, call_sid=call.sid, transfer_number=transfer_number)
    return TwilioCallControl(
        call_id=call.pk,
        call_sid=call.sid,
        transfer_number=transfer_number,
        client_factory=lambda: rest_client(creds),
    )


# --------------------------------------------------------------------------
# The streaming path: one VoiceSession per Media Stream
# --------------------------------------------------------------------------

# Session end reasons that mean only the socket went away: the phone call may go on
# and resume on a new stream, so the Call stays open (Twilio's status callback closes it).
RESUMABLE_END_REASONS = frozenset({"closed", "disconnected"})


def voice_config_build(*, business: Business) -> VoiceConfig:
    """The voice loop's knobs for ``business``: echo mode, greeting, resume window, ASR hints."""
    from calls.voice.config import VoiceConfig
    from calls.voice.turns import BargeInPolicy

    voice = voice_settings()
    hints: tuple[str, ...] = ()
    if voice["asr"] == "deepgram":
        # Keyterms for Deepgram; pocketsphinx already builds its model from these words.
        names = [business.name]
        for service in business.services.filter(active=True):
            names += [service.name, *service.synonym_list]
        hints = tuple(dict.fromkeys(name for name in names if name))
    barge_in = BargeInPolicy()
    if voice["asr"] == "pocketsphinx":
        from calls.providers.pocketsphinx_asr import POCKETSPHINX_BARGE_IN

        barge_in = POCKETSPHINX_BARGE_IN  # its first words are guesses: a longer window
    fallback = voice.get("fallback", "recording")
    if fallback not in ("recording", "transfer"):
        raise ImproperlyConfigured(f"ZYLIN_FALLBACK={fallback!r}: choose recording or transfer.")
    return VoiceConfig(
        echo=business.echo_mode,
        play_greeting=voice["agent"] != "standin",
        resume_window_s=int(voice["resume_window_s"]),
        asr_hints=hints,
        barge_in=barge_in,
        fallback=fallback,
    )


_session_stores: dict[str, SessionStore] = {}
_session_stores_lock = threading.Lock()


def session_store_build() -> SessionStore:
    """The process's checkpoint store: Redis when ``REDIS_URL`` is set, else local memory."""
    from calls.adapters.session_store import MemorySessionStore, RedisSessionStore

    url = settings.REDIS_URL
    with _session_stores_lock:
        store = _session_stores.get(url)
        if store is None:
            store = _session_stores[url] = RedisSessionStore(url) if url else MemorySessionStore()
        return store


async def session_build(call: Call, start_event: StartEvent, send: Callable[[str], Awaitable[None]]) -> VoiceSession:
    """Everything one Media Stream needs, around a ``VoiceSession`` ready to ``run``.

    ``call`` must come with its business (``select_related("business")``). A
    checkpoint saved under the stream's ``sessionId`` within the resume window
    makes the session continue that conversation instead of greeting.
    """
    from asgiref.sync import sync_to_async

    from calls.adapters.call_store import DjangoCallStore
    from calls.services import call_answered
    from calls.voice.clock import MonotonicClock
    from calls.voice.session import VoiceSession

    business = call.business
    config, stt, agent, control, stored_turns = await sync_to_async(_session_parts, thread_sensitive=True)(call)
    tts = tts_build(business=business)  # here, on the event loop its connections belong to
    session_id = start_event.custom_parameters.get("sessionId") or call.session_id or call.sid
    sessions = session_store_build()
    resume_state = None if config.echo else await sessions.load(session_id)
    # Hybrid routing heard the caller's first sentence after Twilio played the greeting.
    first_utterance = "" if resume_state else start_event.custom_parameters.get("firstUtterance", "").strip()
    phrases = None
    if not config.echo:
        greeting = business.greeting_text if config.play_greeting and not (resume_state or first_utterance) else ""
        phrases = await phrase_cache_ready(business=business, tts=tts, config=config, greeting=greeting)
    session = VoiceSession(
        send=send,
        stt=stt,
        tts=tts,
        agent=agent,
        store=StreamingCallStore(DjangoCallStore(call), business_slug=business.slug),
        sessions=sessions,
        control=control,
        clock=MonotonicClock(),
        config=config,
        session_id=session_id,
        phrase_cache=phrases,
        resume_state=resume_state,
        # Without a checkpoint (none yet, or the resume window passed) a later stream of the
        # call numbers its turns after the stored ones instead of overwriting them.
        first_turn_index=stored_turns,
        first_utterance=first_utterance,
    )
    if config.echo:
        from calls import metrics

        # Every echoed frame is an observation; the call's closing summary holds only percentiles.
        session.echo.on_sample = metrics.echo_latency
    await sync_to_async(call_answered, thread_sensitive=True)(call_id=call.pk)  # Zylin is on the line
    return session


def _session_parts(call: Call) -> tuple[VoiceConfig, SpeechToText, LanguageModel, CallControl, int]:
    from django.db.models import Max

    business = call.business
    last_index = call.turns.aggregate(last=Max("index"))["last"]
    return (
        voice_config_build(business=business),
        stt_build(business=business),
        agent_build(business=business, caller_phone=call.from_number, call=call),
        call_control_build(call),
        0 if last_index is None else last_index + 1,
    )


class StreamingCallStore:
    """The Call's store as a Media Stream sees it: metrics on every write, and a
    dropped socket that leaves the Call open for a resume.

    Args:
        inner: the database store of this call.
        business_slug: the metrics' business label (used when enabled in settings).
    """

    def __init__(self, inner: CallStore, *, business_slug: str) -> None:
        self.inner = inner
        self._business = business_slug

    async def turn_saved(self, turn: TurnRecord) -> None:
        from calls import metrics

        await self.inner.turn_saved(turn)
        metrics.turn_observe(turn, path="streaming")

    async def event(self, name: str, detail: dict[str, Any] | None = None) -> None:
        from calls import metrics

        await self.inner.event(name, detail)
        metrics.call_event_observe(name, detail, path="streaming", business=self._business)

    async def call_ended(self, *, reason: str) -> None:
        from calls import metrics

        if reason in RESUMABLE_END_REASONS:
            await self.inner.event("stream_dropped", {"reason": reason})
            return
        closed = await self.inner.call_ended(reason=reason)
        call = getattr(self.inner, "call", None)
        if closed and call is not None:  # else Twilio's status callback closed it and counted it
            metrics.call_ended_observe(call, business=self._business)


# Pre-synthesized phrases per (business, voice), shared by the process's calls.
_phrase_caches: dict[tuple[Hashable, ...], PhraseCache] = {}
_phrase_warmers: dict[tuple[Hashable, ...], asyncio.Task[list[str]]] = {}


async def phrase_cache_ready(
    *, business: Business, tts: TextToSpeech, config: VoiceConfig, greeting: str
) -> PhraseCache:
    """The business's phrase cache, with ``greeting`` synthesized before it returns.

    The fixed phrases (apology, fallback, still-there...) are synthesized in
    the background on the first call, so the greeting is not delayed by them.
    """
    from calls.voice.phrases import PhraseCache

    voice = voice_settings()
    key = (business.pk, tts.name, voice["elevenlabs_voice_id"], voice["standin_clip"])
    cache = _phrase_caches.setdefault(key, PhraseCache())
    if greeting and greeting not in cache:
        await cache.warm(tts, [greeting])
    missing = [text for text in config.phrases.all() if text not in cache]
    warming = _phrase_warmers.get(key)
    # A warmer started on another event loop (a finished test, a restarted server) never completes here.
    if missing and (warming is None or warming.done() or warming.get_loop() is not asyncio.get_running_loop()):
        _phrase_warmers[key] = asyncio.create_task(cache.warm(tts, missing), name=f"phrases-{business.pk}")
    return cache


def _standin_config() -> StandInConfig:
    from calls.providers.standin import StandInConfig

    voice = voice_settings()
    return StandInConfig(latency_ms=float(voice["standin_latency_ms"]), clip_path=voice["standin_clip"] or None)


@functools.lru_cache(maxsize=4)
def _standin_tts(config: StandInConfig) -> TextToSpeech:
    from calls.providers.standin import StandInTextToSpeech

    return StandInTextToSpeech(config)


@functools.lru_cache(maxsize=1)
def _espeak() -> TextToSpeech:
    from calls.providers.espeak_tts import EspeakTextToSpeech

    return EspeakTextToSpeech()


@functools.lru_cache(maxsize=1)
def _piper_or_espeak() -> TextToSpeech:
    try:
        from calls.providers.piper_tts import PiperSettings, PiperTextToSpeech, load_voice

        settings_ = PiperSettings()
        load_voice(settings_)  # once per process; fails here rather than on a caller's first sentence
        return PiperTextToSpeech(settings_)
    except Exception:  # a missing or broken voice model: speak with espeak rather than not at all
        logger.exception("the piper voice could not be loaded; using espeak")
        return _espeak()


_loop_objects: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, Any]] = weakref.WeakKeyDictionary()


def _per_loop(key: Hashable, factory: Callable[[], T]) -> T:
    """One object per event loop (and key): for adapters holding loop-bound connections."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return factory()
    objects = _loop_objects.setdefault(loop, {})
    if key not in objects:
        objects[key] = factory()
    return objects[key]
