"""``benchmarks/RESULTS.md``: the figures of ``benchmarks/run.py``, each with its target, verdict and command.

The page ends with the raw figures as JSON, which is also how a run that
measures only some sections keeps the others' earlier results.
"""

from __future__ import annotations

import json
import os
import platform
import re
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTIONS = ("v2v", "overhead", "barge_in", "echo", "wer", "concurrency")


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT met")


def previous_sections() -> dict[str, Any]:
    """Sections measured by earlier runs, kept when this run measures only some."""
    if not RESULTS.exists():
        return {}
    match = re.search(r"```json\n(.*?)\n```", RESULTS.read_text(), re.S)
    try:
        return dict(json.loads(match.group(1))["sections"]) if match else {}
    except (ValueError, KeyError, TypeError):
        return {}


def result_rows(sections: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    rows: list[tuple[str, str, str, str, str]] = []

    def figures(name: str) -> dict[str, Any] | None:
        return sections[name]["figures"] if name in sections else None

    def command(name: str) -> str:
        return str(sections[name]["command"])

    if v := figures("v2v"):
        ok = None if v["p95_ms"] is None else v["p50_ms"] <= 700 and v["p95_ms"] <= 1000
        result = f"p50 {v['p50_ms']} ms, p95 {v['p95_ms']} ms ({v['turns']} turns)"
        target = "p50 ≤ 700 ms, p95 ≤ 1000 ms"
        rows.append(("Voice-to-voice, embedded engines", target, result, verdict(ok), command("v2v")))
    if o := figures("overhead"):
        ok = None if o["p95_ms"] is None else o["p95_ms"] <= 20
        rows.append(("Zylin's own overhead (stand-ins)", "p95 ≤ 20 ms",
                     f"p95 {o['p95_ms']} ms, p50 {o['p50_ms']} ms (server-side p95 {o['server_side_p95_ms']} ms)",
                     verdict(ok), command("overhead")))  # fmt: skip
    if b := figures("barge_in"):
        ok = None if b["p95_ms"] is None else b["p95_ms"] <= 300 and b["cleared"] == b["barge_ins"]
        rows.append(("Barge-in: clear after caller speech starts", "p95 ≤ 300 ms",
                     f"p95 {b['p95_ms']} ms, p50 {b['p50_ms']} ms ({b['cleared']}/{b['barge_ins']} cleared)",
                     verdict(ok), command("barge_in")))  # fmt: skip
        lines = b["no_interrupt"]
        noise = [n for n in lines if n["line"].startswith("noise")]
        talk = [n for n in lines if not n["line"].startswith("noise")]
        noise_paused = sum(n["paused"] for n in noise)
        abandoned = b["no_interrupt_abandoned_answers"] + b["no_interrupt_interrupted_turns"]
        rows.append(("No interruption by backchannel or 200 ms noise",
                     "no answer abandoned; a 200 ms noise does not even pause Zylin",
                     f"{abandoned} answers abandoned over {len(lines)} lines; noise paused {noise_paused}/"
                     f"{len(noise)}; backchannels paused {sum(n['paused'] for n in talk)}/{len(talk)} "
                     f"and resumed ({b['no_interrupt_pauses_resumed']} resumptions)",
                     verdict(abandoned == 0 and noise_paused == 0), command("barge_in")))  # fmt: skip
    if e := figures("echo"):
        p99 = (e["server_side"] or {}).get("p99_ms")
        rows.append(("Echo mode, server-side latency", "p99 < 5 ms", f"p99 {rounded(p99)} ms over "
                     f"{(e['server_side'] or {}).get('frames')} frames", verdict(None if p99 is None else p99 < 5),
                     command("echo")))  # fmt: skip
    if w := figures("wer"):
        piper = w["wer_percent"].get("piper clean")
        rows.append(("WER, embedded ASR, in-domain clips (phone path)", "≤ 12 %", f"{piper} % (piper clean set)",
                     verdict(None if piper is None else piper <= 12), command("wer")))  # fmt: skip
    for key in sorted((k for k in sections if k.startswith("concurrency")), key=lambda k: -len(k)):
        c = sections[key]["figures"]
        ok = c["underruns"] == 0 and c["p95_ratio"] is not None and c["p95_ratio"] <= 1.2 and not c["errors"]
        # At saturation the server's CPU is all it has, so a per-call share would flatter it.
        cpu = "server saturated" if c["server_cpu_percent_of_one_core"] >= 85 else f"{c['cpu_percent_per_call']} % CPU"
        rows.append((f"{c['calls']} concurrent stand-in calls, {c['seconds']:g} s, one daphne",
                     "no underrun; v2v p95 ≤ 1.2 × single call",
                     f"{c['underruns']} underruns in {c['calls_with_underruns']} calls; p95 {c['v2v_p95_ms']} ms vs "
                     f"{c['single_call_v2v_p95_ms']} ms single (×{c['p95_ratio']}); {cpu} and "
                     f"{c['memory_mb_per_call']} MB per call", verdict(ok), command(key)))  # fmt: skip
    return rows


def results_markdown(sections: dict[str, Any]) -> str:
    measured = "; ".join(
        f"{name} at {section['measured_at']} (load {section['machine']['load'][0]:.2f})"
        for name, section in sections.items()
    )
    lines = [
        "# Zylin benchmark results",
        "",
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}. Measured: {measured}.",
        "Each section's details below record the load average and the busiest processes when it started.",
        "",
        "Every figure comes from the call simulator (`calls/simulator/`) playing Twilio in real time against a",
        "separate daphne process on loopback; `make bench` runs them all. Voice-to-voice is the end of the",
        "caller's speech to the first frame of Zylin's answer arriving (a filler such as \"One moment.\" counts).",
        "",
        "| figure | target | result | verdict | command |",
        "| --- | --- | --- | --- | --- |",
        *[f"| {a} | {b} | {c} | {d} | `{e}` |" for a, b, c, d, e in result_rows(sections)],
        "",
        "## Details",
        "",
        "```json",
        json.dumps({"sections": sections}, indent=2),
        "```",
        "",
    ]
    return "\n".join(lines)


def section_order(key: str) -> tuple[int, str]:
    """Sections in the order of ``SECTIONS``; extra load tests (``concurrency-100``) after their kind."""
    return SECTIONS.index(key.split("-")[0]), key
