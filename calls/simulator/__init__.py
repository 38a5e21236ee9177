"""A call simulator that plays Twilio against Zylin, for demos, tests, benchmarks and load tests.

``calls_run`` places one or many concurrent calls; each posts the signed voice
webhook, follows the TwiML to the Media Stream and talks in real time (see
``calls.simulator.call``). ``transcripts_attach`` adds what Zylin stored
(Turns, bookings) when this process can read Zylin's database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import httpx

from calls.gc_tuning import tune_for_live_audio
from calls.simulator.call import CallOptions, SimulatedCall
from calls.simulator.report import CallResult, conversation_lines, report_write, stereo_wav_write, summary
from calls.simulator.script import CallerLine, line_dtmf, line_noise, line_say, line_wav, script_build
from calls.simulator.webhooks import Target

logger = logging.getLogger(__name__)

__all__ = [
    "CallOptions",
    "CallResult",
    "CallerLine",
    "SimulatedCall",
    "Target",
    "calls_run",
    "conversation_lines",
    "line_dtmf",
    "line_noise",
    "line_say",
    "line_wav",
    "report_write",
    "script_build",
    "stereo_wav_write",
    "summary",
    "transcripts_attach",
]


async def calls_run(
    target: Target,
    lines: Sequence[CallerLine],
    options: CallOptions,
    *,
    calls: int = 1,
    stagger_s: float = 0.05,
) -> list[SimulatedCall]:
    """Place ``calls`` concurrent calls with the same script, started ``stagger_s`` apart."""
    # The simulator keeps real time for every call: a full collection over everything
    # this process has loaded would stall them all, and read as Zylin falling behind.
    tune_for_live_audio()
    limits = httpx.Limits(max_connections=max(10, calls), max_keepalive_connections=max(10, calls))
    async with httpx.AsyncClient(trust_env=False, timeout=30.0, limits=limits) as http:
        simulated = [SimulatedCall(target, lines, options, http) for _ in range(calls)]
        tasks = []
        for call in simulated:
            tasks.append(asyncio.create_task(call.run(), name=f"call-{call.stream.call_sid}"))
            if stagger_s:
                await asyncio.sleep(stagger_s)
        await asyncio.gather(*tasks)
    return simulated


def transcripts_attach(results: Sequence[CallResult]) -> bool:
    """Add the stored Turns and bookings of each call; False when Zylin's database is not reachable here.

    Synchronous (ORM): call it outside the event loop, or through ``sync_to_async``.
    """
    from bookings.models import Booking
    from calls.models import Call

    found = False
    try:
        for result in results:
            call = Call.objects.filter(sid=result.call_sid).first()
            if call is None:
                continue
            found = True
            result.route_reason = call.route_reason
            result.transcript = [
                {
                    "speaker": turn.speaker,
                    "text": turn.text,
                    "interrupted": turn.interrupted,
                    "voice_to_voice_ms": turn.voice_to_voice_ms,
                }
                for turn in call.turns.order_by("index")
            ]
            tz = call.business.tz
            result.bookings = [
                f"{booking.service.name} on {booking.start.astimezone(tz):%a %d %b %Y at %H:%M} "
                f"for {booking.customer.name or booking.customer.phone} ({booking.status})"
                for booking in Booking.objects.filter(source_call=call).select_related("service", "customer")
            ]
    except Exception:  # another server's database, or none: print what the simulator knows
        logger.debug("could not read the calls from the database", exc_info=True)
        return False
    return found
