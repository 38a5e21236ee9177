"""Zylin's voice benchmark (``make bench``): the streaming targets, measured end to end.

Every figure comes from the call simulator playing Twilio, in real time, against
Zylin served by a separate daphne process on loopback (so the two share no GIL),
with its own throw-away database seeded with the demo business:

* ``v2v``: voice-to-voice on the embedded engines (pocketsphinx, local agent,
  piper) over the Bella Hair Studio booking call;
* ``overhead``: voice-to-voice with stand-in providers of fixed latency, minus
  those latencies and the end-of-turn silence: what Zylin itself adds;
* ``barge_in``: time from the caller talking over Zylin to Zylin's ``clear``,
  and whether a backchannel or a 200 ms noise burst interrupts it;
* ``wer``: ``benchmarks/asr_wer.py`` (the recognizer on the committed clips);
* ``concurrency``: many stand-in calls in one daphne process: underruns,
  voice-to-voice against a single call, CPU and memory per call.

    .venv/bin/python benchmarks/run.py [--quick] [--only SECTION ...] [--calls 200] [--seconds 60]

Results are printed and written to ``benchmarks/RESULTS.md`` with the command
behind each figure.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures" / "audio"

from benchmarks.results_page import (  # noqa: E402 (the project root was just put on the path)
    RESULTS,
    SECTIONS,
    previous_sections,
    results_markdown,
    rounded,
    section_order,
)

STANDIN_LATENCY_MS = 100.0
EMBEDDED = {"ZYLIN_ASR": "pocketsphinx", "ZYLIN_AGENT": "local", "ZYLIN_TTS": "piper"}
STANDINS = {"ZYLIN_ASR": "standin", "ZYLIN_AGENT": "standin", "ZYLIN_TTS": "standin"}


def database_prepare(directory: Path, max_calls: int) -> None:
    """A fresh SQLite database with the demo business, answering at any hour; Django set up on it."""
    os.environ.update(
        DATABASE_URL=f"sqlite:///{directory / 'bench.sqlite3'}",
        DJANGO_SETTINGS_MODULE="zylin.settings",
        LOG_LEVEL="WARNING",
        ZYLIN_DEMO_PASSWORD="benchmark-only",
        ZYLIN_MAX_STREAMING_CALLS=str(max_calls + 50),
    )
    for key in ("REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "DEEPGRAM_API_KEY", "OPENAI_API_KEY",
                "ELEVENLABS_API_KEY"):  # fmt: skip
        os.environ.pop(key, None)
    import django

    django.setup()
    from django.core.management import call_command

    from businesses.models import Business

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    Business.objects.filter(slug="bella-hair-studio").update(after_hours=Business.AfterHours.STREAM)


def machine_state() -> dict[str, Any]:
    """What the machine was doing: load, and the busiest processes over one second (``top``)."""
    top = subprocess.run(["top", "-b", "-n", "2", "-d", "1", "-w", "200"], capture_output=True, text=True, check=False)
    last = top.stdout.rsplit("top - ", 1)[-1].splitlines()
    header = next((i for i, line in enumerate(last) if line.lstrip().startswith("PID")), len(last))
    busy = []
    for line in last[header + 1 :]:
        fields = line.split(None, 11)
        if len(fields) == 12 and float(fields[8]) >= 1.0:
            busy.append(f"{fields[11]} {fields[8]}%")
    return {"load": os.getloadavg(), "cpus": os.cpu_count(), "busiest": busy[:6]}


def percentile(values: list[float], share: float) -> float | None:
    from calls.simulator.report import percentile as nearest_rank

    return nearest_rank(values, share)


def server(environment: dict[str, str], directory: Path) -> Any:
    from calls.simulator.server import DaphneProcess

    return DaphneProcess(env={**os.environ, **environment}, cwd=ROOT, log=directory / "daphne.log")


def place(url: str, lines: list[Any], *, calls: int = 1, **options: Any) -> list[Any]:
    from django.conf import settings

    from calls.simulator import CallOptions, Target, calls_run

    target = Target(base_url=url, public_url=settings.PUBLIC_BASE_URL)
    simulated = asyncio.run(calls_run(target, lines, CallOptions(**options), calls=calls))
    return [call.result for call in simulated]


def turns_of(results: list[Any], *, over_reply: bool = False) -> list[Any]:
    return [turn for result in results for turn in result.turns if turn.over_reply == over_reply]


def stored_turns(results: list[Any]) -> list[Any]:
    from calls.models import Turn

    return list(Turn.objects.filter(call__sid__in=[r.call_sid for r in results], speaker="assistant"))


def wav_lines(*names: str) -> list[Any]:
    from calls.simulator import line_wav

    return [line_wav(FIXTURES / name) for name in names]


# -- sections -------------------------------------------------------------------------


def bench_v2v(directory: Path, quick: bool) -> dict[str, Any]:
    from bookings.models import Booking

    calls = 2 if quick else 4
    lines = wav_lines("bella-1.wav", "bella-2.wav", "bella-3.wav")
    results = []
    with server(EMBEDDED, directory) as zylin:
        place(zylin.url, lines)  # warm-up: loads the voice, builds the language model
        for _ in range(calls):
            Booking.objects.all().delete()  # every call books the same free slot
            results += place(zylin.url, lines)
    v2v = [t.voice_to_voice_ms for t in turns_of(results) if t.voice_to_voice_ms is not None]
    rows = stored_turns(results)
    stage = {
        name: rounded(statistics.median([getattr(r, name) for r in rows if getattr(r, name) is not None] or [0]))
        for name in ("asr_ms", "llm_first_token_ms", "tts_first_audio_ms")
    }
    return {
        "turns": len(v2v),
        "p50_ms": rounded(percentile(v2v, 0.5)),
        "p95_ms": rounded(percentile(v2v, 0.95)),
        "by_turn_ms": [[rounded(t.voice_to_voice_ms) for t in r.turns] for r in results],
        "server_stage_medians_ms": stage,
        "underruns": sum(len(r.underruns) for r in results),
        "errors": [r.error for r in results if r.error],
    }


def bench_overhead(directory: Path, quick: bool) -> dict[str, Any]:
    from calls.audio import tone_pcm, write_wav
    from calls.voice.turns import SilenceAllowance

    clip = directory / "standin-1s.wav"
    write_wav(clip, tone_pcm(440, 1000, dbfs=-12))  # the reply's length does not change its first frame
    turns = 6 if quick else 12
    environment = {**STANDINS, "ZYLIN_STANDIN_LATENCY_MS": str(STANDIN_LATENCY_MS), "ZYLIN_STANDIN_CLIP": str(clip)}
    with server(environment, directory) as zylin:
        results = place(zylin.url, wav_lines("bella-3.wav") * turns)
    # ASR finalize, agent and TTS each wait the stand-in latency once per turn.
    fixed_ms = 3 * STANDIN_LATENCY_MS + SilenceAllowance().open * 1000
    measured = [t.voice_to_voice_ms - fixed_ms for t in turns_of(results) if t.voice_to_voice_ms is not None]
    server_side = [r.voice_to_voice_ms - fixed_ms for r in stored_turns(results) if r.voice_to_voice_ms is not None]
    return {
        "turns": len(measured),
        "standin_latency_ms": STANDIN_LATENCY_MS,
        "subtracted_ms": fixed_ms,
        "p50_ms": rounded(percentile(measured, 0.5)),
        "p95_ms": rounded(percentile(measured, 0.95)),
        "server_side_p50_ms": rounded(percentile(server_side, 0.5)),
        "server_side_p95_ms": rounded(percentile(server_side, 0.95)),
        "errors": [r.error for r in results if r.error],
    }


def bench_barge_in(directory: Path, quick: bool) -> dict[str, Any]:
    from calls.simulator import line_noise, line_say

    async def say(text: str, over: float | None = None) -> Any:
        return (await line_say(text)).over_reply(over)

    questions = ["Is there parking?", "How can I pay?", "What is your cancellation policy?", "What are your hours?"]
    count = 4 if quick else 8

    async def scripts() -> tuple[list[Any], list[Any]]:
        chain = [await say("What are your opening hours?")]
        chain += [await say(questions[i % len(questions)], 1.0) for i in range(count)]
        listening = [
            await say("What are your opening hours?"),
            # Piper reads "Mm-hm." as letter names ("em em aitch em"); give it the hum itself.
            await say("[[ʔm̩ʔˈm̩]]", 0.8),
            line_noise(200).over_reply(0.8),
            await say("Okay.", 0.8),
            line_noise(200, seed=9).over_reply(0.8),
        ]
        return chain, listening

    chain, listening = asyncio.run(scripts())
    with server(EMBEDDED, directory) as zylin:
        place(zylin.url, chain[:2])  # warm-up
        interrupted = place(zylin.url, chain)
        quiet = place(zylin.url, listening)
    from calls.models import CallEvent, Turn

    clears = [t.clear_after_ms for t in turns_of(interrupted, over_reply=True) if t.clear_after_ms is not None]
    attempts = turns_of(interrupted, over_reply=True)
    # A backchannel may pause Zylin (the clear) as long as it resumes: interrupting means abandoning
    # the answer, which the server records as a barge_in event and an interrupted assistant turn.
    quiet_sids = [r.call_sid for r in quiet]
    abandoned = CallEvent.objects.filter(call__sid__in=quiet_sids, name="barge_in").count()
    resumed = CallEvent.objects.filter(call__sid__in=quiet_sids, name="false_barge_in").count()
    cut_turns = Turn.objects.filter(call__sid__in=quiet_sids, speaker="assistant", interrupted=True).count()
    not_interrupting = [
        {"line": t.label, "paused": t.clear_after_ms is not None} for t in turns_of(quiet, over_reply=True)
    ]
    return {
        "barge_ins": len(attempts),
        "cleared": len(clears),
        "p50_ms": rounded(percentile(clears, 0.5)),
        "p95_ms": rounded(percentile(clears, 0.95)),
        "clear_ms": [rounded(value) for value in clears],
        "no_interrupt": not_interrupting,
        "no_interrupt_abandoned_answers": abandoned,
        "no_interrupt_interrupted_turns": cut_turns,
        "no_interrupt_pauses_resumed": resumed,
        "errors": [r.error for r in interrupted + quiet if r.error],
    }


def bench_echo(directory: Path, quick: bool) -> dict[str, Any]:
    from businesses.models import Business
    from calls.models import CallEvent

    demo = Business.objects.filter(slug="bella-hair-studio")
    demo.update(echo_mode=True)
    try:
        with server(STANDINS, directory) as zylin:
            # Everything comes back, silence included: the caller does not wait for Zylin to finish.
            results = place(zylin.url, wav_lines("bella-1.wav", "bella-2.wav"), max_reply_s=1.0, reply_timeout_s=1.0)
    finally:
        demo.update(echo_mode=False)
    event = CallEvent.objects.filter(call__sid=results[0].call_sid, name="echo_latency").first()
    return {"server_side": event.detail if event else None, "errors": [r.error for r in results if r.error]}


def bench_wer(directory: Path, quick: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.asr_wer"] + ([] if quick else ["--noisy"])
    output = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    table = [line for line in output.splitlines() if re.match(r"^(clips|piper|all|espeak|bella)", line)]
    wer = {line.split("  ")[0].strip(): float(m.group(1)) for line in table if (m := re.search(r"(\d+\.\d)%", line))}
    return {"wer_percent": wer, "table": table}


def bench_concurrency(directory: Path, quick: bool, calls: int, seconds: float) -> dict[str, Any]:
    environment = {**STANDINS, "ZYLIN_STANDIN_LATENCY_MS": str(STANDIN_LATENCY_MS)}
    lines = wav_lines("bella-1.wav")
    with server(environment, directory) as zylin:
        single = place(zylin.url, lines, duration_s=min(seconds, 40.0))
        idle_rss = zylin.rss_mb()
        cpu_before, started = zylin.cpu_seconds(), time.monotonic()
        simulator_cpu_before = time.process_time()  # the simulator shares the machine's cores
        peak_rss = [idle_rss]

        async def sample() -> None:
            while True:
                await asyncio.sleep(1.0)
                peak_rss.append(zylin.rss_mb())

        async def load() -> list[Any]:
            from django.conf import settings

            from calls.simulator import CallOptions, Target, calls_run

            sampler = asyncio.create_task(sample())
            target = Target(base_url=zylin.url, public_url=settings.PUBLIC_BASE_URL)
            try:
                simulated = await calls_run(target, lines, CallOptions(duration_s=seconds), calls=calls, stagger_s=0.02)
            finally:
                sampler.cancel()
            return [call.result for call in simulated]

        results = asyncio.run(load())
        cpu = zylin.cpu_seconds() - cpu_before
        wall = time.monotonic() - started
        simulator_cpu = time.process_time() - simulator_cpu_before
    single_p95 = percentile([t.voice_to_voice_ms for t in turns_of(single) if t.voice_to_voice_ms is not None], 0.95)
    v2v = [t.voice_to_voice_ms for t in turns_of(results) if t.voice_to_voice_ms is not None]
    p95 = percentile(v2v, 0.95)
    return {
        "calls": calls,
        "seconds": seconds,
        "streamed": sum(1 for r in results if r.path == "streaming" and not r.error),
        "errors": sorted({r.error for r in results if r.error})[:5],
        "underruns": sum(len(r.underruns) for r in results),
        "calls_with_underruns": sum(1 for r in results if r.underruns),
        "turns": len(v2v),
        "v2v_p50_ms": rounded(percentile(v2v, 0.5)),
        "v2v_p95_ms": rounded(p95),
        "single_call_v2v_p95_ms": rounded(single_p95),
        "p95_ratio": round(p95 / single_p95, 2) if p95 and single_p95 else None,
        "server_cpu_percent_of_one_core": round(100 * cpu / wall, 1),
        "cpu_percent_per_call": round(100 * cpu / wall / calls, 2),
        "memory_mb_per_call": round((max(peak_rss) - idle_rss) / calls, 2),
        "server_rss_idle_mb": round(idle_rss, 1),
        "server_rss_peak_mb": round(max(peak_rss), 1),
        "simulator_cpu_percent_of_one_core": round(100 * simulator_cpu / wall, 1),
        "simulator_late_ticks": sum(r.late_ticks for r in results),
        "simulator_max_tick_lag_ms": round(max((r.max_tick_lag_ms for r in results), default=0.0), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Zylin's voice benchmark")
    parser.add_argument("--quick", action="store_true", help="fewer turns and a smaller load test")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--calls", type=int, help="concurrent calls in the load test (200; 20 with --quick)")
    parser.add_argument("--seconds", type=float, help="length of each load-test call (60; 20 with --quick)")
    parser.add_argument("--no-write", action="store_true", help=f"do not rewrite {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    # The simulator plays Twilio on the server's event loop kind: a lagging simulator would
    # stamp Zylin's audio late and inflate the figures it measures.
    from zylin.serve import event_loop_choose

    event_loop_choose()
    calls = args.calls or (20 if args.quick else 200)
    seconds = args.seconds or (20.0 if args.quick else 60.0)
    base = ".venv/bin/python benchmarks/run.py" + (" --quick" if args.quick else "")
    commands = {
        "v2v": f"{base} --only v2v",
        "overhead": f"{base} --only overhead",
        "barge_in": f"{base} --only barge_in",
        "echo": f"{base} --only echo",
        "concurrency": f".venv/bin/python benchmarks/run.py --only concurrency --calls {calls} --seconds {seconds:g}",
    }
    commands["wer"] = ".venv/bin/python -m benchmarks.asr_wer" + ("" if args.quick else " --noisy")
    directory = Path(tempfile.mkdtemp(prefix="zylin-bench-"))
    database_prepare(directory, calls)
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "v2v": lambda: bench_v2v(directory, args.quick),
        "overhead": lambda: bench_overhead(directory, args.quick),
        "barge_in": lambda: bench_barge_in(directory, args.quick),
        "echo": lambda: bench_echo(directory, args.quick),
        "wer": lambda: bench_wer(directory, args.quick),
        "concurrency": lambda: bench_concurrency(directory, args.quick, calls, seconds),
    }
    sections = previous_sections()
    for name in args.only or SECTIONS:
        key = name if name != "concurrency" or calls == 200 else f"concurrency-{calls}"  # 200 is the target
        began, machine = time.monotonic(), machine_state()
        print(f"== {name} (load {machine['load'][0]:.2f}) ...", flush=True)
        figures = runners[name]()
        sections[key] = {
            "figures": figures,
            "command": commands[name],
            "measured_at": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            "seconds": round(time.monotonic() - began),
            "machine": machine,
        }
        print(json.dumps(figures, indent=2), f"({sections[key]['seconds']} s)", flush=True)
    markdown = results_markdown(dict(sorted(sections.items(), key=lambda item: section_order(item[0]))))
    if not args.no_write:
        RESULTS.write_text(markdown)
        print(f"written to {RESULTS.relative_to(ROOT)}")
    print(markdown)


if __name__ == "__main__":
    main()
