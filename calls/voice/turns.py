"""Turn-taking: when the caller has started and finished speaking, and when they interrupt.

Two sources decide that a caller turn ended: Zylin's own VAD (a silence longer
than the allowance for what the agent is collecting) and the recognizer's
endpointing (``Transcript.speech_final`` or ``UtteranceEnd``). Engines without
endpointing rely on the first alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from calls.voice.ports import Expecting, Transcript

# Said while listening, not to take the floor. Multi-word entries are matched as phrases.
BACKCHANNELS: frozenset[str] = frozenset(
    {
        "mm-hm", "mm-hmm", "mhm", "mm", "hmm", "uh-huh", "uh huh", "mm hm", "okay", "ok", "yeah", "yep",
        "right", "alright", "all right", "sure", "i see", "got it", "uh", "um", "ah", "oh",
    }
)  # fmt: skip
_BACKCHANNEL_PHRASES = sorted((b for b in BACKCHANNELS if " " in b), key=len, reverse=True)
# As the latest word of an interim result, these may still become "i see", "got it" or
# "all right": they count only once the next word shows what they start.
_BACKCHANNEL_OPENERS = frozenset(phrase.split()[0] for phrase in _BACKCHANNEL_PHRASES)
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


def words(text: str) -> list[str]:
    """Lower-case words, keeping inner hyphens and apostrophes ("mm-hm", "don't")."""
    return _WORD.findall(text.lower())


def content_words(text: str) -> list[str]:
    """The words of ``text`` that are not backchannels."""
    normalized = " ".join(words(text))
    for phrase in _BACKCHANNEL_PHRASES:
        normalized = re.sub(rf"\b{re.escape(phrase)}\b", " ", normalized)
    return [word for word in normalized.split() if word not in BACKCHANNELS]


def is_backchannel(text: str) -> bool:
    """True for a non-empty utterance made only of backchannels ("mm-hm", "okay okay")."""
    return bool(words(text)) and not content_words(text)


@dataclass(frozen=True)
class BargeInPolicy:
    """When caller speech over Zylin counts as an interruption.

    Speech is counted in frames the VAD calls speech, not in time since the caller
    started: pauses do not add up, so a 200 ms bump never reaches the window. An
    utterance whose words are all backchannels ("mm-hmm", "okay", "got it") never
    interrupts, however long it lasts.

    Zylin goes quiet before it knows: after ``pause_after_ms`` of speech it pauses
    (a person stops talking when the other starts), then either the speech passes
    the rules below and the answer is abandoned, or the caller falls silent for
    ``resume_after_silence_ms`` and Zylin picks up from where it was cut.

    Args:
        pause_after_ms: speech over Zylin that pauses it; a 200 ms noise stays below.
        resume_after_silence_ms: silence after which a pause that did not become an
            interruption (a backchannel, a cough) resumes.
        max_pause_s: a caller who talks on this long over a paused Zylin has the floor,
            whatever the recognizer made of it.
        min_speech_ms: speech needed before anything interrupts; shorter noises never do.
            A recognizer whose first words are unreliable needs a longer window (see
            ``pocketsphinx_asr.POCKETSPHINX_BARGE_IN``).
        min_words: non-backchannel words needed once the recognizer has produced words.
        speech_without_words_ms: speech that interrupts although the recognizer has
            produced no words yet (engines without interim results).
    """

    min_speech_ms: int = 250
    min_words: int = 1
    speech_without_words_ms: int = 500
    pause_after_ms: int = 220
    resume_after_silence_ms: int = 400
    max_pause_s: float = 3.0

    def should_pause(self, *, speech_ms: float) -> bool:
        return speech_ms >= self.pause_after_ms

    def should_interrupt(self, *, speech_ms: float, heard_text: str) -> bool:
        if speech_ms < self.min_speech_ms:
            return False
        heard = words(heard_text)
        if not heard:
            return speech_ms >= self.speech_without_words_ms
        content = content_words(heard_text)
        if content and content[-1] == heard[-1] and heard[-1] in _BACKCHANNEL_OPENERS:
            content = content[:-1]
        return len(content) >= self.min_words


@dataclass(frozen=True)
class SilenceAllowance:
    """Seconds of caller silence that end a turn, by what the agent is collecting.

    Callers pause while reading out a phone number or spelling a name; after a
    yes/no question a short pause is the whole answer. The longest pause the VAD
    finds inside the recorded test utterances is 360 ms (a phone number read out),
    so 0.75 s keeps "Maria ... Lopez" whole and still answers a name within the
    1 s voice-to-voice budget.
    """

    open: float = 0.5
    yes_no: float = 0.35
    date: float = 0.75
    name: float = 0.75
    phone: float = 1.4

    def seconds(self, expecting: Expecting) -> float:
        return float(getattr(self, expecting, self.open))

    def trusts_recognizer(self, expecting: Expecting) -> bool:
        """Whether a recognizer endpoint alone may end the turn (not mid phone number)."""
        return self.seconds(expecting) <= self.open


class TurnDetector:
    """Segments caller speech from per-frame VAD decisions.

    An utterance starts after ``speech_start_ms`` of speech within a short run
    (one non-speech frame is tolerated) and lasts until the session ends it;
    ``silence_ms`` reports the trailing silence so the session can apply the
    allowance that fits the moment. Silence is counted in audio frames, not
    arrival time, so network jitter neither shortens nor stretches it.
    """

    def __init__(self, *, speech_start_ms: int = 60, frame_ms: int = 20) -> None:
        self._speech_start_ms = speech_start_ms
        self._frame_ms = frame_ms
        self.reset()

    def reset(self) -> None:
        """Forget the current utterance (it was answered or discarded)."""
        self.in_utterance = False
        self.started_at: float | None = None
        self.last_speech_at: float | None = None
        self.speech_ms = 0.0
        self.silence_ms = 0.0
        self._run_ms = 0.0
        self._run_gap_frames = 0
        self._last_frame_speech = False

    def on_frame(self, is_speech: bool, now: float) -> bool:
        """Feed one frame decision at ``now`` (the frame's end); True when an utterance starts."""
        self._last_frame_speech = is_speech
        if is_speech:
            self.last_speech_at = now
            self.silence_ms = 0.0
            if self.in_utterance:
                self.speech_ms += self._frame_ms
                return False
            self._run_ms += self._frame_ms
            self._run_gap_frames = 0
            if self._run_ms >= self._speech_start_ms:
                self.in_utterance = True
                self.speech_ms = self._run_ms
                self.started_at = now - self._run_ms / 1000
                return True
            return False
        if self.in_utterance:
            self.silence_ms += self._frame_ms
        else:
            self._run_gap_frames += 1
            if self._run_gap_frames > 1:
                self._run_ms = 0.0
        return False

    @property
    def speaking(self) -> bool:
        """Inside an utterance and the latest frame was speech."""
        return self.in_utterance and self._last_frame_speech


class TranscriptCollector:
    """The recognizer's words for the utterance in progress: stable finals plus the latest interim."""

    def __init__(self) -> None:
        self.finals: list[str] = []
        self.interim = ""
        self.final_count = 0

    def add(self, transcript: Transcript) -> None:
        text = transcript.text.strip()
        if transcript.is_final:
            if text:
                self.finals.append(text)
            self.interim = ""
            self.final_count += 1
        else:
            self.interim = text

    def text(self) -> str:
        """Everything recognized so far, the interim tail included."""
        return " ".join([*self.finals, self.interim] if self.interim else self.finals)

    def clear(self) -> None:
        self.finals.clear()
        self.interim = ""
