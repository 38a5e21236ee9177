"""One thing Zylin says (a reply or a fixed phrase), and the assistant turn it leaves behind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from calls.voice.pacer import Playback
from calls.voice.ports import TurnRecord
from calls.voice.reply import ReplyOutcome, ReplyTimings


@dataclass(eq=False)
class ActiveTurn:
    """Something Zylin is saying (or about to say)."""

    number: int
    kind: Literal["reply", "phrase"]
    playback: Playback
    timings: ReplyTimings = field(default_factory=ReplyTimings)
    caller_started_at: float | None = None
    phase: Literal["transcribing", "thinking", "speaking", "done"] = "thinking"
    task: asyncio.Task[None] | None = None
    agent_started: bool = False
    outcome: ReplyOutcome | None = None
    saved: bool = False

    @property
    def holds_floor(self) -> bool:
        return self.phase != "done" and self.task is not None and not self.task.done()

    def spoken_text(self, *, interrupted: bool) -> str:
        """What the caller got: all of it, or (cut off) only what was heard."""
        return self.playback.heard_text() if interrupted else self.playback.text()

    def assistant_record(
        self, text: str, *, index: int, interrupted: bool, wall_time: Callable[[float | None], float]
    ) -> TurnRecord:
        """The stored turn with its latency breakdown; ``wall_time`` maps clock time to epoch seconds."""
        timings, playback = self.timings, self.playback
        return TurnRecord(
            index=index,
            speaker="assistant",
            text=text,
            started_at=wall_time(playback.first_sent_at(spoken_only=False)),
            ended_at=wall_time(None),
            interrupted=interrupted,
            asr_ms=timings.span_ms(timings.speech_end, timings.transcript_at),
            llm_first_token_ms=timings.span_ms(timings.transcript_at, timings.first_token_at),
            tts_first_audio_ms=timings.span_ms(timings.first_tts_request_at, timings.first_audio_at),
            voice_to_voice_ms=timings.span_ms(timings.speech_end, playback.first_sent_at()),
            intent=self.outcome.intent if self.outcome else None,
        )
