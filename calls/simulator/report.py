"""What a simulated call measured, and how it is printed, saved and summed up."""

from __future__ import annotations

import json
import statistics
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calls.audio import PHONE_RATE, ulaw2lin
from calls.simulator.earpiece import Gap


@dataclass
class TurnResult:
    """One caller line and Zylin's answer; times are seconds since the stream started.

    ``voice_to_voice_ms``: end of the caller's speech to the first frame of
    Zylin's answer arriving. ``clear_after_ms``: start of the caller's speech
    to Zylin's ``clear`` (barge-in lines).
    """

    index: int
    label: str
    text: str
    over_reply: bool = False
    speech_start: float | None = None
    speech_end: float | None = None
    first_reply_at: float | None = None
    voice_to_voice_ms: float | None = None
    clear_after_ms: float | None = None
    reply_audio_ms: float = 0.0


@dataclass
class CallResult:
    call_sid: str
    path: str = ""
    route_reason: str = ""  # the router's reason, as stored on the Call
    route_said: tuple[str, ...] = ()
    stream_sid: str = ""
    greeting_ms: float | None = None  # stream start to Zylin's first audio
    turns: list[TurnResult] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    media_messages: int = 0
    marks: int = 0
    marks_acked: int = 0
    clears: int = 0
    close_code: int | None = None
    protocol_errors: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    late_ticks: int = 0  # the simulator itself fell behind real time by more than a frame
    max_tick_lag_ms: float = 0.0
    transcript: list[dict[str, Any]] = field(default_factory=list)
    bookings: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def underruns(self) -> list[Gap]:
        return [gap for gap in self.gaps if gap.underrun]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["underruns"] = len(self.underruns)
        data["gaps"] = [{**asdict(gap), "underrun": gap.underrun} for gap in self.gaps]
        return data


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(np.ceil(share * len(ordered))))
    return ordered[rank - 1]


def summary(results: list[CallResult]) -> dict[str, Any]:
    """Figures over many calls: voice-to-voice and barge-in percentiles, underruns."""
    # A line spoken over Zylin may not interrupt it (a backchannel): its "answer" is the reply going on.
    turns = [turn for result in results for turn in result.turns]
    v2v = [t.voice_to_voice_ms for t in turns if t.voice_to_voice_ms is not None and not t.over_reply]
    clears = [t.clear_after_ms for t in turns if t.clear_after_ms is not None]
    return {
        "calls": len(results),
        "streamed": sum(1 for r in results if r.path == "streaming"),
        "failed": sum(1 for r in results if r.error),
        "turns": len(v2v),
        "voice_to_voice_ms": {
            "p50": percentile(v2v, 0.5),
            "p95": percentile(v2v, 0.95),
            "mean": round(statistics.fmean(v2v), 1) if v2v else None,
        },
        "barge_in_clear_ms": {"count": len(clears), "p50": percentile(clears, 0.5), "p95": percentile(clears, 0.95)},
        "underruns": sum(len(r.underruns) for r in results),
        "late_ticks": sum(r.late_ticks for r in results),
        "max_tick_lag_ms": max((r.max_tick_lag_ms for r in results), default=0.0),
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _latency(turn: TurnResult) -> str:
    clear = f", clear after {_ms(turn.clear_after_ms)}" if turn.over_reply else ""
    return f"   [voice-to-voice {_ms(turn.voice_to_voice_ms)}{clear}]"


def conversation_lines(result: CallResult) -> list[str]:
    """The call as text: the stored transcript when available, else what the simulator knows."""
    reason = f" ({result.route_reason})" if result.route_reason else ""
    lines = [f"call {result.call_sid}: {result.path or 'not answered'}{reason}"]
    if result.error:
        lines.append(f"  error: {result.error}")
    if result.path and result.path != "streaming":
        lines += [f"  Zylin (TwiML <Say>): {text}" for text in result.route_said if text]
        return lines
    if result.greeting_ms is not None:
        lines.append(f"  greeting audio after {_ms(result.greeting_ms)}")
    callers = [row for row in result.transcript if row["speaker"] == "caller"]
    # Stored caller turns pair with the script's lines only when every line left words behind
    # (a noise burst or an unheard line stores nothing).
    paired = len(callers) == len(result.turns)
    measured = iter(result.turns)
    for row in result.transcript:
        who = "Caller" if row["speaker"] == "caller" else "Zylin "
        note = " (interrupted)" if row.get("interrupted") else ""
        turn = next(measured, None) if row["speaker"] == "caller" and paired else None
        lines.append(f"  {who}: {row['text']}{note}{_latency(turn) if turn else ''}")
    if not paired:
        for turn in result.turns:
            audio_s = turn.reply_audio_ms / 1000
            lines.append(f"  line {turn.label!r}: Zylin then said {audio_s:.1f} s of audio{_latency(turn)}")
    lines += [f"  booked: {booking}" for booking in result.bookings]
    underruns = result.underruns
    lines.append(
        f"  {result.media_messages} media messages, {result.marks} marks ({result.marks_acked} echoed), "
        f"{result.clears} clears, {len(underruns)} underruns, socket closed with {result.close_code}"
    )
    if result.protocol_errors:
        lines.append(f"  protocol errors: {result.protocol_errors[:5]}")
    return lines


def report_write(path: str | Path, results: list[CallResult]) -> None:
    Path(path).write_text(json.dumps({"summary": summary(results), "calls": [r.to_dict() for r in results]}, indent=2))


def stereo_wav_write(path: str | Path, caller: bytes, zylin: bytes) -> None:
    """Both sides as a stereo 8 kHz WAV: the caller on the left, Zylin on the right."""
    length = max(len(caller), len(zylin))
    left = np.zeros(length, dtype=np.int16)
    right = np.zeros(length, dtype=np.int16)
    left[: len(caller)] = ulaw2lin(caller)
    right[: len(zylin)] = ulaw2lin(zylin)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(PHONE_RATE)
        wav.writeframes(np.column_stack((left, right)).astype("<i2").tobytes())
