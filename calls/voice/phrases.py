"""Pre-synthesized audio for the fixed phrases of one business (greeting, filler, apologies)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from calls.voice.ports import ProviderError, TextToSpeech

logger = logging.getLogger(__name__)


def _key(text: str) -> str:
    return " ".join(text.split())


class PhraseCache:
    """Text to 8 kHz mu-law for phrases said on many calls.

    Built once per business (``warm`` at start-up or on first call) and shared by
    that business's calls, so the greeting starts without waiting for TTS and
    the apology still plays when TTS is the thing that failed.
    """

    def __init__(self, clips: Mapping[str, bytes] | None = None) -> None:
        self._clips: dict[str, bytes] = {_key(text): audio for text, audio in (clips or {}).items()}

    def get(self, text: str) -> bytes | None:
        return self._clips.get(_key(text))

    def put(self, text: str, mulaw: bytes) -> None:
        self._clips[_key(text)] = mulaw

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and _key(text) in self._clips

    def __len__(self) -> int:
        return len(self._clips)

    async def fetch(self, text: str, tts: TextToSpeech) -> bytes | None:
        """The cached clip, or synthesize it now and keep it; None when TTS fails."""
        if (audio := self.get(text)) is not None:
            return audio
        try:
            audio = b"".join([chunk async for chunk in tts.synthesize(text)])
        except Exception:
            logger.exception("phrase synthesis failed", extra={"phrase": text})
            return None
        if audio:
            self.put(text, audio)
        return audio or None

    async def warm(self, tts: TextToSpeech, texts: Iterable[str]) -> list[str]:
        """Synthesize every phrase not cached yet; return the ones that failed."""
        failed: list[str] = []
        for text in texts:
            if not text.strip() or text in self:
                continue
            try:
                audio = b"".join([chunk async for chunk in tts.synthesize(text)])
            except ProviderError as exc:
                logger.warning("phrase synthesis failed: %s", exc, extra={"phrase": text})
                failed.append(text)
                continue
            if audio:
                self.put(text, audio)
            else:
                failed.append(text)
        return failed
