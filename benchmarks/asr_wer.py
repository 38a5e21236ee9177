"""Word error rate and finalization latency of the embedded recognizer.

Streams each committed test clip (``tests/fixtures/audio``) through the live
recognizer in 20 ms frames, as a call would, followed by 1.5 s of line
silence, and compares the final transcript with the reference. Frames are fed
back to back rather than every 20 ms; since each frame takes far less than
20 ms to process, the time spent on the frame that ends the utterance is the
latency a real-time caller would see between that frame arriving and the
final transcript (the "finalization latency"). The endpoint delay is audio
time from the end of the clip's speech to that frame.

Conditions: clean, and with white noise at 20 dB SNR (seeded) added before
the mu-law encoding. Target: WER at most 12% on the in-domain clips.

    .venv/bin/python -m benchmarks.asr_wer [--noisy] [--verbose]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calls.audio import FRAME_BYTES, lin2ulaw, read_wav, to_int16
from calls.providers.domain_lm import build_domain_lm
from calls.providers.pocketsphinx_asr import PocketsphinxSettings, UtteranceRecognizer
from calls.providers.pocketsphinx_decoders import create_decoder
from calls.voice.ports import BusinessInfo, FaqInfo, ServiceInfo, Transcript

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "audio"
CLIP_PAD_SECONDS = 0.3  # silence make_clips puts after the speech
TRAILING_SECONDS = 1.5


def demo_business() -> BusinessInfo:
    """A business like the seeded demo, built without Django."""
    hours = ((dt.time(9), dt.time(18)),)
    return BusinessInfo(
        name="Bella Hair Studio",
        timezone="America/New_York",
        address="12 Main Street",
        greeting="Thanks for calling Bella Hair Studio. How can I help you?",
        transfer_number="+15550100",
        services=(
            ServiceInfo("Haircut", 30, "35.00", synonyms=("cut", "trim")),
            ServiceInfo("Beard trim", 15, "15.00", synonyms=("beard",)),
            ServiceInfo("Hair color", 90, "80.00", synonyms=("color", "coloring")),
        ),
        opening_hours=(hours, hours, hours, hours, hours, hours, ()),
        faqs=(
            FaqInfo("Do you have parking?", "Yes, free parking behind the studio."),
            FaqInfo("Do you take walk-ins?", "Yes, when a chair is free."),
        ),
    )


def word_errors(reference: str, hypothesis: str) -> int:
    """Substitutions + insertions + deletions between two word sequences."""
    ref, hyp = reference.split(), hypothesis.split()
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
        previous = current
    return previous[-1]


def add_noise(pcm: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """White noise over the whole signal, ``snr_db`` below the speech level
    (RMS over the non-silent samples)."""
    speech = pcm[np.abs(pcm) > 64].astype(np.float64)
    level = float(np.sqrt(np.mean(speech**2))) if speech.size else 1000.0
    noise = np.random.default_rng(seed).normal(0.0, level / 10 ** (snr_db / 20), pcm.size)
    return to_int16(pcm.astype(np.float64) + noise)


@dataclass
class ClipResult:
    clip_id: str
    voice: str
    condition: str
    reference: str
    hypothesis: str
    errors: int
    words: int
    final_ms: float | None  # processing time of the frame that produced the final
    endpoint_ms: float | None  # audio time from end of speech to that frame
    cpu_seconds: float
    audio_seconds: float


def recognize_clip(
    recognizer: UtteranceRecognizer, mulaw: bytes, speech_end: float
) -> tuple[str, float | None, float | None]:
    finals: list[str] = []
    final_ms = endpoint_ms = None
    for index in range(0, len(mulaw), FRAME_BYTES):
        started = time.perf_counter()
        events = recognizer.feed(mulaw[index : index + FRAME_BYTES])
        elapsed = (time.perf_counter() - started) * 1000
        for event in events:
            if isinstance(event, Transcript) and event.is_final:
                finals.append(event.text)
                if final_ms is None:
                    final_ms = elapsed
                    endpoint_ms = ((index + FRAME_BYTES) / 8000 - speech_end) * 1000
    if recognizer.in_utterance:  # never endpointed: force it, as the session would
        finals.append(recognizer.finalize().text)
    return " ".join(text for text in finals if text), final_ms, endpoint_ms


def run(conditions: list[str], *, mode_digits: bool) -> list[ClipResult]:
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    model = build_domain_lm(demo_business())
    settings = PocketsphinxSettings()
    decoder = create_decoder(model)
    results: list[ClipResult] = []
    for seed, clip in enumerate(manifest["clips"]):
        pcm, _rate = read_wav(FIXTURES / clip["file"])
        speech_end = len(pcm) / 8000 - CLIP_PAD_SECONDS
        for condition in conditions:
            padded = np.concatenate((pcm, np.zeros(int(TRAILING_SECONDS * 8000), np.int16)))
            mulaw = lin2ulaw(add_noise(padded, 20.0, seed) if condition == "noisy20" else padded)
            # A fresh endpointer per clip, as per call: its VAD adapts its noise
            # floor slowly, and each clip has its own line condition.
            recognizer = UtteranceRecognizer(decoder, settings)
            recognizer.mode = "digits" if mode_digits and clip["category"] == "digits" else "open"
            cpu = time.process_time()
            hypothesis, final_ms, endpoint_ms = recognize_clip(recognizer, mulaw, speech_end)
            cpu = time.process_time() - cpu
            reference = clip["text"]
            results.append(
                ClipResult(
                    clip["id"], clip["voice"] if clip["set"] == "wer" else "bella-call", condition, reference,
                    hypothesis, word_errors(reference, hypothesis), len(reference.split()), final_ms, endpoint_ms,
                    cpu, len(mulaw) / 8000,
                )
            )  # fmt: skip
    return results


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(results: list[ClipResult], *, verbose: bool) -> None:
    if verbose:
        for result in results:
            counts = f"{result.errors}/{result.words}"
            print(f"{result.clip_id:10} {result.condition:8} {counts:6} {result.reference!r} -> {result.hypothesis!r}")
        print()
    print(
        f"{'clips':<22}{'n':>4}{'words':>7}{'WER':>8}{'final p50':>11}{'final p95':>11}"
        f"{'endpt p50':>11}{'endpt p95':>11}{'RTF':>8}"
    )
    groups: dict[tuple[str, str], list[ClipResult]] = {}
    for result in results:
        groups.setdefault((result.voice, result.condition), []).append(result)
        if result.voice in {"piper", "espeak"}:
            groups.setdefault(("all voices", result.condition), []).append(result)
    for (voice, condition), members in groups.items():
        words = sum(member.words for member in members)
        errors = sum(member.errors for member in members)
        finals = [member.final_ms for member in members if member.final_ms is not None]
        endpoints = [member.endpoint_ms for member in members if member.endpoint_ms is not None]
        rtf = sum(member.cpu_seconds for member in members) / sum(member.audio_seconds for member in members)
        print(
            f"{voice + ' ' + condition:<22}{len(members):>4}{words:>7}{100 * errors / words:>7.1f}%"
            f"{percentile(finals, 0.5):>9.1f}ms{percentile(finals, 0.95):>9.1f}ms"
            f"{percentile(endpoints, 0.5):>9.0f}ms{percentile(endpoints, 0.95):>9.0f}ms{rtf:>8.3f}"
        )
    missed = sum(1 for result in results if result.final_ms is None)
    print(f"\nutterances never endpointed (forced final): {missed} of {len(results)}")
    print(f"mean final latency {statistics.mean(r.final_ms for r in results if r.final_ms is not None):.1f} ms")


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def decoder_memory(count: int = 4) -> None:
    """Resident memory of building the model and of each further decoder."""
    before = rss_mb()
    started = time.perf_counter()
    model = build_domain_lm(demo_business())
    built = time.perf_counter()
    decoders = [create_decoder(model)]
    first = rss_mb()
    created = time.perf_counter()
    decoders += [create_decoder(model) for _ in range(count)]
    each = (rss_mb() - first) / count
    print(
        f"model: {len(model.words)} words, {model.sentence_count} sentences, "
        f"built in {(built - started) * 1000:.0f} ms; "
        f"first decoder {(created - built) * 1000:.0f} ms, model + first decoder {first - before:.1f} MB, "
        f"each further decoder {each:.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Embedded ASR word error rate on Zylin's test clips")
    parser.add_argument("--noisy", action="store_true", help="also run at 20 dB SNR")
    parser.add_argument("--no-digits-mode", action="store_true", help="decode the digit clip with the open model")
    parser.add_argument("--verbose", action="store_true", help="print every hypothesis")
    args = parser.parse_args()
    conditions = ["clean", "noisy20"] if args.noisy else ["clean"]
    decoder_memory()
    report(run(conditions, mode_digits=not args.no_digits_mode), verbose=args.verbose)


if __name__ == "__main__":
    main()
