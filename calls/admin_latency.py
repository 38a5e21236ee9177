"""The Call page's latency bar: where an answer's time went, ASR, agent and TTS on one axis.

The segments are the stored Turn fields the latency histograms observe
(``metrics.TURN_LATENCY_FIELDS``), so the page, ``/metrics`` and the comparison
page show the same numbers. Every bar shares the axis: ``AXIS_MS`` is the full
width, and a longer turn is cut there and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from calls import metrics

AXIS_MS = 2000
BAR_WIDTH_PX = 480
BAR_HEIGHT_PX = 20


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    field: str
    meaning: str


# Each stage reads the field its histogram observes.
_FIELD_OF = dict(metrics.TURN_LATENCY_FIELDS)
STAGES: tuple[Stage, ...] = (
    Stage("asr", "ASR", _FIELD_OF[metrics.ASR_FINAL], "end of the caller's speech to the final transcript"),
    Stage("agent", "agent", _FIELD_OF[metrics.AGENT_FIRST_TOKEN], "final transcript to the agent's first token"),
    Stage("tts", "TTS", _FIELD_OF[metrics.TTS_FIRST_AUDIO], "first sentence sent to the voice to its first audio"),
)
VOICE_TO_VOICE_FIELD = _FIELD_OF[metrics.VOICE_TO_VOICE]
OTHER = Stage(
    "other",
    "other",
    VOICE_TO_VOICE_FIELD,
    "the rest of voice-to-voice (the agent finishing its first sentence, audio queued to send)",
)


@dataclass(frozen=True)
class Segment:
    stage: Stage
    ms: int
    x: float
    width: float

    @property
    def text(self) -> str:
        return f"{self.stage.label} {self.ms} ms"


@dataclass(frozen=True)
class LatencyBar:
    segments: tuple[Segment, ...]
    voice_to_voice_ms: int | None
    missing: tuple[str, ...]
    clamped: bool

    @property
    def rest(self) -> Segment | None:
        """The part of voice-to-voice the stages do not cover; None when they cover it all."""
        return next((segment for segment in self.segments if segment.stage is OTHER), None)

    @property
    def description(self) -> str:
        """The bar in words: its title and aria-label, so it reads without colour."""
        parts = [", ".join(segment.text for segment in self.segments)]
        if self.voice_to_voice_ms is not None:
            parts.append(f"voice-to-voice {self.voice_to_voice_ms} ms")
        if self.missing:
            parts.append(f"not measured: {', '.join(self.missing)}")
        if self.clamped:
            parts.append(f"longer than the {AXIS_MS / 1000:g} s axis, cut at its end")
        return "; ".join(part for part in parts if part)


def _milliseconds(turn: Any, field: str) -> float | None:
    value = getattr(turn, field, None)
    return None if value is None else max(float(value), 0.0)


def latency_bar(turn: Any) -> LatencyBar | None:
    """The bar of an assistant turn that measured at least one stage; None otherwise."""
    if turn.speaker != "assistant":
        return None  # a caller turn's ASR figure is also on the answer that follows it
    measured = [(stage, value) for stage in STAGES if (value := _milliseconds(turn, stage.field)) is not None]
    if not measured:
        return None
    voice_to_voice = _milliseconds(turn, VOICE_TO_VOICE_FIELD)
    rest = None if voice_to_voice is None else voice_to_voice - sum(value for _, value in measured)
    if rest is not None and round(rest) > 0:
        measured.append((OTHER, rest))
    scale = BAR_WIDTH_PX / AXIS_MS
    segments, start = [], 0.0
    for stage, value in measured:
        left, right = min(start, AXIS_MS), min(start + value, AXIS_MS)
        segments.append(
            Segment(stage=stage, ms=round(value), x=round(left * scale, 1), width=round((right - left) * scale, 1))
        )
        start += value
    return LatencyBar(
        segments=tuple(segments),
        voice_to_voice_ms=None if voice_to_voice is None else round(voice_to_voice),
        missing=tuple(stage.label for stage in STAGES if _milliseconds(turn, stage.field) is None),
        clamped=start > AXIS_MS,
    )


def latency_legend() -> dict[str, Any]:
    """What the page says once about every bar: the stages, the axis."""
    return {
        "stages": (*STAGES, OTHER),
        "axis_s": f"{AXIS_MS / 1000:g}",
        "width_px": BAR_WIDTH_PX,
        "height_px": BAR_HEIGHT_PX,
    }
