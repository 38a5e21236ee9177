"""Speed of the embedded voices: time to first audio, real-time factor, memory.

TTFA is the wall time from asking for a reply to holding its first 8 kHz
mu-law chunk; RTF is the CPU time spent per second of audio produced (below
1 is faster than real time). Medians of warm runs; the first run, which loads
the voice, is reported as the cold start.

    .venv/bin/python -m benchmarks.tts_speed [--runs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass

from calls.providers.espeak_tts import EspeakTextToSpeech
from calls.providers.piper_tts import PiperTextToSpeech
from calls.voice.ports import TextToSpeech

TEN_WORDS = "Your haircut is booked for tomorrow at three in the afternoon."
FOUR_SENTENCES = (
    "Sure, I can help with that. We have a haircut free tomorrow at three. "
    "It takes about thirty minutes and costs thirty five dollars. Shall I book it for you?"
)


@dataclass
class Run:
    first_audio_ms: float
    total_ms: float
    cpu_seconds: float
    audio_seconds: float


async def measure(tts: TextToSpeech, text: str) -> Run:
    cpu = time.process_time()
    started = time.perf_counter()
    first = None
    audio = 0
    async for chunk in tts.synthesize(text):
        if first is None:
            first = time.perf_counter()
        audio += len(chunk)
    ended = time.perf_counter()
    return Run(
        first_audio_ms=((first or ended) - started) * 1000,
        total_ms=(ended - started) * 1000,
        cpu_seconds=time.process_time() - cpu,
        audio_seconds=audio / 8000,
    )


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def bench(runs: int) -> None:
    print(
        f"{'voice / text':<28}{'cold TTFA':>11}{'TTFA p50':>10}{'TTFA max':>10}{'total p50':>11}{'audio':>8}{'RTF':>8}"
    )
    for name, tts in (("piper joe", PiperTextToSpeech()), ("espeak-ng", EspeakTextToSpeech())):
        before = rss_mb()
        for label, text in (("10 words", TEN_WORDS), ("4 sentences", FOUR_SENTENCES)):
            cold = await measure(tts, text)
            warm = [await measure(tts, text) for _ in range(runs)]
            rtf = sum(run.cpu_seconds for run in warm) / sum(run.audio_seconds for run in warm)
            print(
                f"{name + ', ' + label:<28}{cold.first_audio_ms:>9.1f}ms"
                f"{statistics.median(run.first_audio_ms for run in warm):>8.1f}ms"
                f"{max(run.first_audio_ms for run in warm):>8.1f}ms"
                f"{statistics.median(run.total_ms for run in warm):>9.1f}ms"
                f"{warm[0].audio_seconds:>7.2f}s{rtf:>8.3f}"
            )
        print(f"{'':<28}resident memory added by the voice: {rss_mb() - before:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description="Embedded TTS speed")
    parser.add_argument("--runs", type=int, default=10)
    asyncio.run(bench(parser.parse_args().runs))


if __name__ == "__main__":
    main()
