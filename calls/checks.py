"""Deploy checks: a production deployment must have the keys its chosen providers need."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

# Which setting each vendor choice needs.
_NEEDED_KEYS = {
    ("asr", "deepgram"): "DEEPGRAM_API_KEY",
    ("agent", "openai"): "OPENAI_API_KEY",
    ("tts", "elevenlabs"): "ELEVENLABS_API_KEY",
}
_CHOICES = {
    "asr": {"deepgram", "pocketsphinx", "standin"},
    "agent": {"openai", "local", "standin"},
    "tts": {"elevenlabs", "piper", "espeak", "standin"},
}


@register(Tags.compatibility)
def provider_choices_check(app_configs=None, **kwargs) -> list[Error]:
    """Every provider choice must be a known one (ZYLIN_ASR, ZYLIN_AGENT, ZYLIN_TTS)."""
    return [
        Error(f"ZYLIN_{role.upper()}={settings.VOICE[role]!r} is not one of {sorted(known)}.", id="zylin.E001")
        for role, known in _CHOICES.items()
        if settings.VOICE[role] not in known
    ]


@register(Tags.security, deploy=True)
def provider_keys_check(app_configs=None, **kwargs) -> list[Error]:
    """With --deploy: a chosen vendor without its key, or Twilio without credentials, fails."""
    errors = [
        Error(f"ZYLIN_{role.upper()}={choice} needs {key}.", id="zylin.E002")
        for (role, choice), key in _NEEDED_KEYS.items()
        if settings.VOICE[role] == choice and not getattr(settings, key)
    ]
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
        errors.append(
            Error(
                "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are needed in production: "
                "without the token no Twilio request can be verified.",
                id="zylin.E003",
            )
        )
    return errors
