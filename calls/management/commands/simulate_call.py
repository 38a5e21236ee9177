"""``manage.py simulate_call``: a phone call to Zylin, played by a simulated Twilio.

    manage.py simulate_call --say "I'd like a haircut tomorrow at 3 pm" --say "Maria Lopez" --say "yes"

Without ``--url`` the call goes to the Zylin answering at http://127.0.0.1:8000
(``make run``) when there is one, and otherwise to a Zylin started inside this
command. Lines are spoken in the order given (``--say`` synthesized with the
local voice, ``--wav`` recordings, ``--dtmf`` key presses, ``--noise`` bursts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from calls.simulator import (
    CallOptions,
    Target,
    calls_run,
    conversation_lines,
    report_write,
    script_build,
    stereo_wav_write,
    summary,
    transcripts_attach,
)
from calls.simulator.server import in_process_server, server_answers

DEFAULT_URL = "http://127.0.0.1:8000"
DEMO_SCRIPT = [("say", "I'd like a haircut tomorrow at 3 pm"), ("say", "Maria Lopez"), ("say", "yes")]


class _AppendLine(argparse.Action):
    """Keeps every script option, in command-line order, as ``(kind, value)``."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        script = list(getattr(namespace, "script", None) or [])
        script.append((self.metavar.lower() if self.metavar else "", values))
        namespace.script = script


class Command(BaseCommand):
    help = "Call Zylin as Twilio would: speak a script over a Media Stream and report latency."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", help=f"Zylin's address (default: {DEFAULT_URL} if it answers, else in-process)")
        parser.add_argument("--in-process", action="store_true", help="start Zylin inside this command")
        parser.add_argument("--public-url", help="the public origin Zylin signs with (default: PUBLIC_BASE_URL)")
        for flag, kind, text in (
            ("--say", "SAY", "a line spoken by the local voice"),
            ("--wav", "WAV", "a recording to play as the next line"),
            ("--dtmf", "DTMF", "keys to press as the next line, e.g. 5551234#"),
            ("--noise", "NOISE", "a burst of noise of this many milliseconds as the next line"),
        ):
            parser.add_argument(flag, action=_AppendLine, metavar=kind, dest="script", help=text)
        parser.add_argument("--barge-in-at", type=float, help="speak each line after the first this many seconds "
                            "into Zylin's reply, over it")  # fmt: skip
        parser.add_argument("--calls", type=int, default=1, help="concurrent calls with the same script")
        parser.add_argument("--seconds", type=float, help="repeat the script until each call has lasted this long")
        parser.add_argument("--caller", default="+15551230000", help="the caller's number (From)")
        parser.add_argument("--to", default="+15005550006", help="the number called (To); the demo by default")
        parser.add_argument("--report", help="write a JSON report to this file")
        parser.add_argument("--save-audio", help="write both sides of the (first) call to this stereo WAV")

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per webhook drowns the conversation
        if options["calls"] < 1:
            raise CommandError("--calls must be at least 1")
        script = options.get("script") or DEMO_SCRIPT
        if not options.get("script"):
            self.stdout.write("No lines given: playing the demo booking (" + " / ".join(v for _, v in script) + ").")
        target = Target(base_url=self._base_url(options), public_url=options["public_url"] or settings.PUBLIC_BASE_URL)
        call_options = CallOptions(
            caller=options["caller"],
            to=options["to"],
            duration_s=options["seconds"],
            keep_audio=bool(options["save_audio"]),
        )
        try:
            lines = async_to_sync(script_build)(script, barge_in_at=options["barge_in_at"])
        except (OSError, ValueError) as error:
            raise CommandError(f"could not prepare the caller's lines: {error}") from error
        simulated = asyncio.run(calls_run(target, lines, call_options, calls=options["calls"]))
        results = [call.result for call in simulated]
        stored = transcripts_attach(results)
        if not stored:
            self.stdout.write("(Zylin's database is not readable from here: showing what the simulator measured.)")
        for result in results[:5]:
            self.stdout.write("\n".join(conversation_lines(result)))
        if any(result.path and result.path != "streaming" for result in results):
            self.stdout.write(
                "Zylin answered with TwiML instead of a Media Stream: the call took the recording path. Streaming "
                "calls are those the business's rollout policy sends there during opening hours, or at any hour "
                "when its after-hours setting is 'Answer on the streaming path anyway' (admin, Businesses)."
            )
        figures = summary(results)
        self.stdout.write(json.dumps(figures, indent=2))
        if options["report"]:
            report_write(options["report"], results)
            self.stdout.write(f"Report written to {options['report']}")
        if options["save_audio"]:
            first = simulated[0]
            if first.caller_audio is not None and first.earpiece.heard is not None:
                stereo_wav_write(options["save_audio"], bytes(first.caller_audio), bytes(first.earpiece.heard))
                self.stdout.write(f"Both sides written to {options['save_audio']} (caller left, Zylin right)")
        if any(result.error for result in results):
            raise CommandError(f"{figures['failed']} of {len(results)} calls failed")

    def _base_url(self, options: dict[str, Any]) -> str:
        if options["url"]:
            self.stdout.write(f"Calling the Zylin at {options['url']}.")
            return options["url"]
        if not options["in_process"] and server_answers(DEFAULT_URL):
            self.stdout.write(f"Calling the Zylin running at {DEFAULT_URL}.")
            return DEFAULT_URL
        url = in_process_server()
        self.stdout.write(f"No Zylin answered at {DEFAULT_URL}: started one in this process at {url}.")
        return url
