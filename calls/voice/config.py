"""Every knob of the voice loop, with defaults that suit a phone line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from calls.voice.turns import BargeInPolicy, SilenceAllowance


@dataclass(frozen=True)
class VoicePhrases:
    """Fixed sentences Zylin says outside the agent's replies (pre-synthesized per business)."""

    filler: str = "One moment."
    still_there: str = "Are you still there?"
    goodbye: str = "It seems we've lost each other, so I'll hang up now. Please call back any time. Goodbye!"
    apology: str = "Sorry, I'm having a little trouble. Could you say that again?"
    fallback: str = "I'm having trouble on this line, so I'll take a message instead."
    resumed: str = "Sorry, we got cut off. Please go ahead."

    def all(self) -> tuple[str, ...]:
        return (self.filler, self.still_there, self.goodbye, self.apology, self.fallback, self.resumed)


@dataclass(frozen=True)
class VoiceConfig:
    """Configuration of one call's voice loop; ``wiring`` builds it from settings.

    Times are seconds unless the name says ``_ms``.
    """

    # Echo mode: inbound audio goes straight back out and nothing else runs (line checks).
    echo: bool = False
    play_greeting: bool = True

    # Listening
    vad_aggressiveness: int = 2
    vad_min_dbfs: float = -45.0
    speech_start_ms: int = 60
    silence: SilenceAllowance = field(default_factory=SilenceAllowance)
    barge_in: BargeInPolicy = field(default_factory=BargeInPolicy)
    asr_final_timeout_s: float = 0.8
    asr_hints: tuple[str, ...] = ()
    dtmf_timeout_s: float = 4.0

    # Speaking
    filler_after_s: float = 1.2  # after the end of caller speech...
    filler_min_wait_s: float = 0.6  # ...and at least this long after the turn ended
    first_clause_min_words: int = 1
    playback_window_ms: int = 300
    mark_interval_ms: int = 100
    max_frames_per_message: int = 5
    playback_ack_grace_s: float = 2.0

    # Silence on the line
    silence_prompt_after_s: float = 8.0
    silence_hangup_after_s: float = 6.0

    # Resilience
    cancel_timeout_s: float = 0.5
    resume_window_s: int = 300
    max_provider_failures: int = 3
    fallback: Literal["recording", "transfer"] = "recording"
    phrases: VoicePhrases = field(default_factory=VoicePhrases)

    def __post_init__(self) -> None:
        if not 0 < self.mark_interval_ms < self.playback_window_ms:
            raise ValueError("mark_interval_ms must be positive and below playback_window_ms")
        if self.max_frames_per_message < 1:
            raise ValueError("max_frames_per_message must be at least 1")
        if self.max_provider_failures < 1:
            raise ValueError("max_provider_failures must be at least 1")
