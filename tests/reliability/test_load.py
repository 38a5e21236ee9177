"""Load: many concurrent calls on one daphne process with stand-in providers.

The call simulator plays Twilio for every call in real time (20 ms frames in,
Zylin's audio played back at 8000 bytes/s, marks echoed) against a separate
daphne process, with stand-in speech of fixed latency. A level of load holds
when no call drops, Zylin's audio never runs dry in the middle of a reply, and
voice-to-voice p95 stays within 1.2 times the single-call figure. The suite
finds the highest level that holds on this machine, confirms it for 60
seconds, and checks that calls beyond the per-process limit go to the
recording path instead of degrading the live ones.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from calls.simulator import CallOptions, CallResult, Target, calls_run, line_wav
from calls.simulator.report import percentile
from tests.reliability.process import PUBLIC_BASE_URL, SIGNING_TOKEN, ZylinProcess, database_template

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
STANDIN_LATENCY_MS = "100"
RAMP = (10, 20, 30, 40, 60, 80, 120)
STEP_S = 15.0
CONFIRM_S = 60.0
P95_FACTOR = 1.2


@dataclass
class Level:
    """What one level of load did to the calls."""

    calls: int
    seconds: float
    results: list[CallResult] = field(default_factory=list)
    rss_idle_mb: float = 0.0
    rss_peak_mb: float = 0.0
    cpu_s: float = 0.0
    wall_s: float = 0.0

    @property
    def v2v_ms(self) -> list[float]:
        return [t.voice_to_voice_ms for r in self.results for t in r.turns if t.voice_to_voice_ms is not None]

    @property
    def p95_ms(self) -> float | None:
        return percentile(self.v2v_ms, 0.95)

    @property
    def dropped(self) -> int:
        return sum(1 for r in self.results if r.error or r.path != "streaming" or not r.turns)

    @property
    def underruns(self) -> int:
        return sum(len(r.underruns) for r in self.results)

    @property
    def simulator_late(self) -> bool:
        """The simulator itself (in this process) fell behind real time: the figures are not Zylin's alone."""
        return any(r.max_tick_lag_ms > 100 for r in self.results)

    def holds(self, single_p95_ms: float) -> bool:
        p95 = self.p95_ms
        return not self.dropped and not self.underruns and p95 is not None and p95 <= P95_FACTOR * single_p95_ms

    def summary(self, single_p95_ms: float) -> str:
        p95 = self.p95_ms
        ratio = f"{p95 / single_p95_ms:.2f}x" if p95 else "n/a"
        per_call = (self.rss_peak_mb - self.rss_idle_mb) / self.calls
        return (
            f"{self.calls} calls/{self.seconds:g} s: p95 {p95} ms ({ratio}), {self.underruns} underruns, "
            f"{self.dropped} dropped, {per_call:.2f} MB and {100 * self.cpu_s / self.wall_s / self.calls:.2f} % "
            f"CPU per call{' (simulator lagging)' if self.simulator_late else ''}"
        )


def place(zylin: ZylinProcess, calls: int, seconds: float) -> Level:
    lines = [line_wav(FIXTURES / "bella-1.wav")]
    level = Level(calls=calls, seconds=seconds, rss_idle_mb=zylin.rss_mb())
    level.rss_peak_mb = level.rss_idle_mb
    cpu_before, started = zylin.cpu_seconds(), time.monotonic()

    async def run() -> list[CallResult]:
        async def sample() -> None:
            while True:
                await asyncio.sleep(1.0)
                level.rss_peak_mb = max(level.rss_peak_mb, zylin.rss_mb())

        sampler = asyncio.create_task(sample())
        target = Target(base_url=zylin.url, public_url=PUBLIC_BASE_URL)
        try:
            simulated = await calls_run(target, lines, CallOptions(duration_s=seconds), calls=calls, stagger_s=0.02)
        finally:
            sampler.cancel()
        return [call.result for call in simulated]

    level.results = asyncio.run(run())
    level.cpu_s, level.wall_s = zylin.cpu_seconds() - cpu_before, time.monotonic() - started
    return level


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return database_template(tmp_path_factory.mktemp("zylin-load"))


@pytest.fixture
def simulator_settings(settings: Any) -> Any:
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.TWILIO_SIGNING_TOKEN = SIGNING_TOKEN
    return settings


def loaded_process(template: Path, directory: Path, *, limit: int = 1000) -> ZylinProcess:
    return ZylinProcess(template=template, directory=directory, ZYLIN_STANDIN_LATENCY_MS=STANDIN_LATENCY_MS,
                        ZYLIN_MAX_STREAMING_CALLS=str(limit), LOG_LEVEL="WARNING")  # fmt: skip


def confirm(template: Path, directory: Path, calls: int) -> Level:
    """``calls`` calls for a minute on a fresh process, after one warm-up call (memory is measured from there)."""
    directory.mkdir(parents=True, exist_ok=True)
    with loaded_process(template, directory) as zylin:
        place(zylin, 1, 5.0)
        return place(zylin, calls, CONFIRM_S)


def test_concurrent_calls_hold_up_to_a_measured_level(
    template: Path, tmp_path: Path, simulator_settings: Any, ledger: Any
) -> None:
    with loaded_process(template, tmp_path / "ramp") as zylin:
        single = place(zylin, 1, 20.0)
        single_p95 = single.p95_ms
        assert single_p95 is not None
        assert not single.dropped
        assert not single.underruns
        held: list[Level] = []
        breaking: Level | None = None
        for calls in RAMP:
            level = place(zylin, calls, STEP_S)
            print(level.summary(single_p95))
            if not level.holds(single_p95):
                breaking = level
                break
            held.append(level)
    assert held, f"not even {RAMP[0]} calls hold: {breaking and breaking.summary(single_p95)}"
    # A minute is longer than a ramp step: confirm the highest level that held, or the one below it.
    confirmed = confirm(template, tmp_path / "confirm", held[-1].calls)
    if not confirmed.holds(single_p95) and len(held) > 1:
        print(confirmed.summary(single_p95))
        breaking = confirmed
        confirmed = confirm(template, tmp_path / "confirm-lower", held[-2].calls)
    for result in confirmed.results:
        ledger.call(disturbed=bool(result.error or result.underruns or result.path != "streaming"))
    ledger.figure("single-call voice-to-voice p95", f"{single_p95} ms")
    ledger.figure(f"load held for {CONFIRM_S:g} s", confirmed.summary(single_p95))
    ledger.figure("load that broke it", breaking.summary(single_p95) if breaking else f"none up to {RAMP[-1]} calls")
    assert confirmed.holds(single_p95), confirmed.summary(single_p95)


def test_calls_beyond_the_process_limit_go_to_recording_and_the_live_ones_hold(
    template: Path, tmp_path: Path, simulator_settings: Any, ledger: Any
) -> None:
    limit, extra = 10, 5
    with loaded_process(template, tmp_path, limit=limit) as zylin:
        level = place(zylin, limit + extra, STEP_S)
        reasons = [reason for (reason,) in zylin.query("SELECT route_reason FROM calls_call WHERE path = 'recording'")]
    paths = [r.path for r in level.results]
    streamed = [r for r in level.results if r.path == "streaming"]
    for result in streamed:
        ledger.call(disturbed=bool(result.error or result.underruns))
    assert paths.count("streaming") == limit
    assert paths.count("recording") == extra
    assert len(reasons) == extra
    assert all("capacity" in reason for reason in reasons), reasons
    assert not any(r.error or r.underruns for r in streamed)
