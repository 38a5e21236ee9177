"""Builds the objects a call needs from settings and the database.

The only module that reads ``settings`` and the ORM to build providers, agents
and ports; everything it returns satisfies a Protocol in ``calls/voice/ports.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from businesses.models import Business
    from calls.models import Call
    from calls.voice.ports import (
        BatchSpeechToText,
        BusinessInfo,
        CallControl,
        LanguageModel,
        SpeechToText,
        TextToSpeech,
    )


def voice_settings() -> dict:
    return dict(settings.VOICE)


def business_info_load(business: Business) -> BusinessInfo:
    """The business as plain data (services, hours, FAQ) for agents and speech engines."""
    raise NotImplementedError


def agent_build(*, business: Business, caller_phone: str, call: Call | None) -> LanguageModel:
    """The configured agent (ZYLIN_AGENT: openai, local, standin) for one conversation."""
    raise NotImplementedError


def stt_build(*, business: Business) -> SpeechToText:
    """The configured streaming recognizer (ZYLIN_ASR: deepgram, pocketsphinx, standin)."""
    raise NotImplementedError


def tts_build(*, business: Business) -> TextToSpeech:
    """The configured voice (ZYLIN_TTS: elevenlabs, piper, espeak, standin)."""
    raise NotImplementedError


def batch_stt_build() -> BatchSpeechToText:
    """Whole-recording transcription: OpenAI when OPENAI_API_KEY is set, else local."""
    raise NotImplementedError


def call_control_build(call: Call) -> CallControl:
    """Live-call control through Twilio's REST API, or a recorder without credentials."""
    raise NotImplementedError
