"""A well-behaved caller who books a haircut, and what the call looked like from Twilio's side.

The suites run this conversation next to whatever they inflict on Zylin
(hostile frames, provider faults, load) and then check it was not disturbed:
every line answered promptly, Zylin's audio never stalled mid-reply, no
exception escaped, and exactly one booking in the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async

from bookings.models import Booking
from businesses.models import Business
from calls.models import Call
from tests.reliability.phone import Phone

# Generous for a loaded 2-core CI machine; the unloaded figure is about 0.5 s.
ANSWER_LIMIT_S = 2.0


def booking_lines(day_name: str, *, name: str = "maria lopez", hour: int = 3) -> list[str]:
    """What the caller says: book, give a name, confirm, say goodbye (Zylin then hangs up)."""
    return [f"can i get a haircut on {day_name} at {hour} please", name, "yes", "no thanks bye"]


@dataclass
class CallReport:
    """One well-behaved call, as Twilio saw it."""

    answers_s: list[float | None] = field(default_factory=list)  # end of caller speech -> first audio back
    underruns: int = 0
    protocol_errors: list[str] = field(default_factory=list)
    escaped: BaseException | None = None
    hung_up_by_zylin: bool = False

    def problems(self, *, answer_limit_s: float = ANSWER_LIMIT_S) -> list[str]:
        found = [f"line {i + 1} unanswered" for i, a in enumerate(self.answers_s) if a is None]
        found += [
            f"line {i + 1} answered after {a:.2f} s"
            for i, a in enumerate(self.answers_s)
            if a is not None and a > answer_limit_s
        ]
        if self.underruns:
            found.append(f"{self.underruns} underruns in Zylin's audio")
        found += self.protocol_errors
        if self.escaped is not None:
            found.append(f"exception escaped: {self.escaped!r}")
        return found


async def converse(
    phone: Phone, lines: int, *, speech_s: float = 1.0, greeting: bool = True, zylin_hangs_up: bool = True
) -> CallReport:
    """Say ``lines`` lines, each after Zylin finished speaking; then wait for Zylin to hang up, or hang up."""
    report = CallReport()
    if greeting:
        await phone.answer_after(0.0, timeout_s=4.0)
        await phone.quiet(0.4)
    for _ in range(lines):
        if phone.closed:
            report.answers_s.append(None)
            continue
        end = await phone.say(speech_s)
        first = await phone.answer_after(end, timeout_s=6.0)
        report.answers_s.append(None if first is None else first - end)
        await phone.quiet(0.4)
    report.hung_up_by_zylin = await phone.until_closed(5.0 if zylin_hangs_up else 0.0)
    if not report.hung_up_by_zylin:
        await phone.hang_up()
    else:
        await phone.drop()
    report.underruns = len(phone.earpiece.underruns())
    report.protocol_errors = list(phone.outcome.protocol_errors)
    report.escaped = phone.application_error()
    return report


def booking_count(business: Business, *, name: str = "Maria Lopez", call: Call | None = None) -> int:
    """Live bookings held for ``name`` (sync)."""
    rows = Booking.objects.filter(business=business, customer__name=name, status=Booking.Status.CONFIRMED)
    if call is not None:
        rows = rows.filter(source_call=call)
    return rows.count()


abooking_count = sync_to_async(booking_count)


def weekday_ahead(tz: dt.tzinfo, *, days_ahead: int = 2) -> tuple[dt.date, str]:
    """The first weekday (Monday to Friday) at least ``days_ahead`` days away in ``tz``, and its spoken name."""
    day = dt.datetime.now(tz).date() + dt.timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day, day.strftime("%A").lower()
