"""Render Zylin's own caller test clips through the phone path.

Each utterance is synthesized with a bundled voice (piper joe, or espeak-ng
for a second, very different voice), brought to 8 kHz mu-law exactly as
Zylin's outbound audio is, padded with 0.3 s of line silence on each side,
decoded back to 16-bit linear and written as an 8 kHz mono WAV. The WAVs and
``manifest.json`` (reference texts) are committed under
``tests/fixtures/audio``; this script regenerates them.

Piper samples its prosody noise at random, so regenerated clips differ a
little from the committed ones and word error rates move by a point or two.

    .venv/bin/python -m benchmarks.make_clips [--out tests/fixtures/audio]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from calls.audio import silence_mulaw, write_mulaw_wav
from calls.providers.domain_lm import normalize_text
from calls.providers.espeak_tts import EspeakSettings, EspeakTextToSpeech
from calls.providers.piper_tts import PiperTextToSpeech
from calls.voice.ports import TextToSpeech

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "audio"
PAD_SECONDS = 0.3

# (category, what the caller says). Written as callers talk, not from the
# language model's templates.
UTTERANCES: tuple[tuple[str, str], ...] = (
    ("booking", "I'd like to book a haircut for Friday at two thirty."),
    ("booking", "Can I get a beard trim tomorrow morning?"),
    ("booking", "Do you have any openings on Saturday afternoon?"),
    ("booking", "I want to book a hair color next Tuesday at ten a.m."),
    ("booking", "I'd like a haircut on March the fifteenth at noon."),
    ("booking", "Book me for a beard trim at eleven thirty."),
    ("booking", "Could I get a haircut this Monday at nine?"),
    ("booking", "The twenty first at one p.m."),
    ("booking", "Half past three works for me."),
    ("booking", "Do you have anything earlier?"),
    ("faq", "What are your opening hours?"),
    ("faq", "Is there parking?"),
    ("faq", "How much is a haircut?"),
    ("faq", "Do you take walk-ins?"),
    ("faq", "What's your address?"),
    ("faq", "Can I pay by card?"),
    ("faq", "Are you open on Sunday?"),
    ("faq", "What time do you close on Friday?"),
    ("cancel", "I need to cancel my appointment."),
    ("cancel", "Can I move my appointment to Thursday at four?"),
    ("cancel", "I'd like to reschedule my hair color."),
    ("name", "My name is James Smith."),
    ("name", "It's Sarah Johnson."),
    ("name", "Emily Davis."),
    ("yes_no", "Yes, that's right."),
    ("yes_no", "No, I said Wednesday."),
    ("yes_no", "Yeah."),
    ("human", "Can I speak to a person please?"),
    ("digits", "My number is five five five, zero one nine two."),
    ("closing", "Thank you, goodbye."),
)
# A second voice for a subset, so the set is not one speaker only.
ESPEAK_SUBSET = (0, 3, 6, 10, 12, 18, 21, 24)
# The three caller turns of the demo call with Bella Hair Studio.
BELLA_CALL: tuple[tuple[str, str], ...] = (
    ("booking", "I'd like a haircut tomorrow at three pm."),
    ("name", "Maria Lopez."),
    ("yes_no", "Yes."),
)


@dataclass(frozen=True)
class ClipEntry:
    id: str
    file: str
    text: str  # reference transcript, normalized as the recognizer spells words
    spoken: str  # what the voice was given
    voice: str
    category: str
    set: str  # "wer" (benchmark clips) or "bella_call" (full-call test)
    seconds: float


def reference_text(spoken: str) -> str:
    """Reference words; "pm"/"am" after a number are written as the dictionary spells them."""
    words = normalize_text(spoken).split()
    return " ".join(
        {"pm": "p.m.", "am": "a.m."}.get(word, word) if index > 0 else word for index, word in enumerate(words)
    )


async def render(tts: TextToSpeech, text: str) -> bytes:
    """``text`` -> padded 8 kHz mu-law, through the same path as Zylin's replies."""
    pieces = [chunk async for chunk in tts.synthesize(text)]
    pad = silence_mulaw(PAD_SECONDS * 1000)
    return pad + b"".join(pieces) + pad


def clip_plan() -> list[tuple[str, str, str, str, str]]:
    """(id, voice, category, spoken text, set) for every clip."""
    plan: list[tuple[str, str, str, str, str]] = []
    for index, (category, spoken) in enumerate(UTTERANCES, start=1):
        plan.append((f"piper-{index:02d}", "piper", category, spoken, "wer"))
    for index in ESPEAK_SUBSET:
        category, spoken = UTTERANCES[index]
        plan.append((f"espeak-{index + 1:02d}", "espeak", category, spoken, "wer"))
    for index, (category, spoken) in enumerate(BELLA_CALL, start=1):
        plan.append((f"bella-{index}", "piper", category, spoken, "bella_call"))
    return plan


async def render_all(plan: list[tuple[str, str, str, str, str]]) -> list[bytes]:
    voices: dict[str, TextToSpeech] = {
        "piper": PiperTextToSpeech(),
        "espeak": EspeakTextToSpeech(EspeakSettings(voice="en-us+m3", words_per_minute=150)),
    }
    return [await render(voices[voice], spoken) for _, voice, _, spoken, _ in plan]


def make_clips(out: Path) -> list[ClipEntry]:
    plan = clip_plan()
    audio = asyncio.run(render_all(plan))
    out.mkdir(parents=True, exist_ok=True)
    entries: list[ClipEntry] = []
    for (clip_id, voice, category, spoken, clip_set), mulaw in zip(plan, audio, strict=True):
        file_name = f"{clip_id}.wav"
        write_mulaw_wav(out / file_name, mulaw)
        seconds = round(len(mulaw) / 8000, 3)
        entries.append(
            ClipEntry(clip_id, file_name, reference_text(spoken), spoken, voice, category, clip_set, seconds)
        )
    manifest = {
        "format": "8 kHz mono 16-bit WAV, after a G.711 mu-law round trip",
        "clips": [asdict(entry) for entry in entries],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=FIXTURES)
    args = parser.parse_args()
    entries = make_clips(args.out)
    total = sum(entry.seconds for entry in entries)
    size = sum((args.out / entry.file).stat().st_size for entry in entries)
    print(f"{len(entries)} clips, {total:.1f} s of audio, {size / 1e6:.2f} MB in {args.out}")


if __name__ == "__main__":
    main()
