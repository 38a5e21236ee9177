"""``manage.py talk``: a text conversation with Zylin, stored like a phone call.

Zylin's greeting comes first, then one stdout line per reply (however many
sentences it holds), flushed at once; the caller's lines come from stdin and
diagnostics (intents, tools) go to stderr. The conversation ends when the call
would end (goodbye, hand-over) or on end of input, and a summary of what
changed (bookings made, moved, cancelled) follows on lines starting with ``#``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from businesses.models import Business
from businesses.validators import e164_normalize
from calls.adapters.call_store import DjangoCallStore
from calls.models import Call
from calls.routing import RouteDecision, RoutePath
from calls.services import call_route_set, call_start, call_status_update
from calls.voice.ports import CallAction, CallStore, IntentUpdate, LanguageModel, TextDelta, ToolUsed, TurnRecord
from calls.wiring import agent_build


@dataclass
class Conversation:
    """What one console conversation did."""

    turns: int = 0
    end_reason: str = "hangup"
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Reply:
    text: str = ""
    intent: IntentUpdate | None = None
    action: CallAction | None = None
    first_text_ms: float | None = None


async def _reply(agent: LanguageModel, caller_text: str, note: Callable[[str], None], result: Conversation) -> _Reply:
    """Collect one reply; tools and intents go to the diagnostics, booking changes to the summary."""
    reply, pieces, started = _Reply(), [], time.monotonic()
    async for event in agent.respond(caller_text):
        if isinstance(event, TextDelta):
            if reply.first_text_ms is None:
                reply.first_text_ms = round((time.monotonic() - started) * 1000, 1)
            pieces.append(event.text)
        elif isinstance(event, ToolUsed):
            note(f"[tool] {event.name} {json.dumps(event.arguments)} -> {_outcome(event.result)}")
            if event.result.get("ok") and event.result.get("change"):
                result.changes.append(event.result)
        elif isinstance(event, IntentUpdate):
            reply.intent = event
            note(f"[intent] {event.name} {event.confidence:.2f} {json.dumps(event.slots)}")
        elif isinstance(event, CallAction):
            reply.action = event
    reply.text = " ".join("".join(pieces).split())
    return reply


async def conversation_run(
    *,
    agent: LanguageModel,
    store: CallStore,
    stdin: IO[str],
    say: Callable[[str], None],
    note: Callable[[str], None],
) -> Conversation:
    """Greet, then answer each stdin line until the agent ends the call or input ends."""
    result = Conversation()
    index = 0
    greeting = agent.greeting()
    if greeting:
        say(greeting)
        now = time.time()
        await store.turn_saved(TurnRecord(index=0, speaker="assistant", text=greeting, started_at=now, ended_at=now))
        index = 1
    try:
        while line := await asyncio.to_thread(stdin.readline):
            caller_text = line.strip()
            if not caller_text:
                continue
            started = time.time()
            reply = await _reply(agent, caller_text, note, result)
            say(reply.text)
            result.turns += 1
            await store.turn_saved(
                TurnRecord(
                    index=index,
                    speaker="caller",
                    text=caller_text,
                    started_at=started,
                    ended_at=started,
                    intent=reply.intent,
                )
            )
            await store.turn_saved(
                TurnRecord(
                    index=index + 1,
                    speaker="assistant",
                    text=reply.text,
                    started_at=started,
                    ended_at=time.time(),
                    llm_first_token_ms=reply.first_text_ms,
                )
            )
            index += 2
            if reply.action is not None:
                result.end_reason = f"{'transfer' if reply.action.kind == 'transfer' else 'end'}: {reply.action.reason}"
                await store.event(reply.action.kind, {"reason": reply.action.reason})
                break
    finally:
        await store.call_ended(reason=result.end_reason)
        close = getattr(agent, "aclose", None)  # the OpenAI agent holds an HTTP connection pool
        if close is not None:
            await close()
    return result


def _outcome(result: dict[str, Any]) -> str:
    if result.get("ok"):
        return "ok"
    return f"refused ({result.get('error', 'error')})"


def summary_lines(changes: list[dict[str, Any]]) -> list[str]:
    """One ``#`` line per booking made, moved or cancelled."""
    lines = []
    for change in changes:
        start = dt.datetime.fromisoformat(change["start"])
        when = f"{start:%a %d %b %Y at %H:%M}"
        who = f" for {change['customer_name']}" if change.get("customer_name") else ""
        if change["change"] == "moved":
            before = dt.datetime.fromisoformat(change["from"])
            lines.append(
                f"# moved #{change['booking_id']}: {change['service']} from {before:%a %d %b %Y at %H:%M} "
                f"to {when}{who}"
            )
        else:
            lines.append(f"# {change['change']} #{change['booking_id']}: {change['service']} on {when}{who}")
    return lines or ["# no bookings changed"]


class Command(BaseCommand):
    help = "Talk to Zylin in text: your lines on stdin, Zylin's replies on stdout, stored like a phone call."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--business", required=True, help="The business's slug or one of its phone numbers.")
        parser.add_argument("--caller", required=True, help="The caller's number in E.164, e.g. +15551230000.")
        parser.add_argument(
            "--now",
            help="Pretend the call happens at this local time of the business, e.g. 2030-01-07T10:00.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        business = self._business(options["business"])
        try:
            caller = e164_normalize(options["caller"])
        except ValidationError as exc:
            raise CommandError(f"--caller: {exc.messages[0]}") from exc
        clock = self._clock(options.get("now"), business)
        call = self._call_open(business, caller)
        agent = agent_build(business=business, caller_phone=caller, call=call, clock=clock)
        verbose = options.get("verbosity", 1) >= 1
        stderr = self.stderr

        def say(text: str) -> None:
            self.stdout.write(text)
            self.stdout.flush()

        def note(text: str) -> None:
            if verbose:
                stderr.write(text)
                stderr.flush()

        note(f"[call] {call.sid} with {business.name} ({agent.name} agent); end with Ctrl-D")
        try:
            conversation = async_to_sync(conversation_run)(
                agent=agent, store=DjangoCallStore(call), stdin=options.get("stdin") or sys.stdin, say=say, note=note
            )
        except KeyboardInterrupt:
            call_status_update(sid=call.sid, status=Call.Status.COMPLETED)
            self.stdout.write(f"# call {call.sid}: interrupted")
            return
        for line in summary_lines(conversation.changes):
            self.stdout.write(line)
        self.stdout.write(f"# call {call.sid}: {conversation.turns} caller turns, ended ({conversation.end_reason})")
        self.stdout.flush()

    @staticmethod
    def _business(key: str) -> Business:
        query = Q(slug=key)
        try:
            query |= Q(phone_numbers__number=e164_normalize(key))
        except ValidationError:
            pass
        business = Business.objects.filter(query).distinct().first()
        if business is None:
            raise CommandError(f"No business with slug or number {key!r} (run `manage.py seed_demo` for the demo).")
        return business

    @staticmethod
    def _clock(value: str | None, business: Business) -> Callable[[], dt.datetime] | None:
        if not value:
            return None
        try:
            fixed = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise CommandError(f"--now: {value!r} is not an ISO date and time.") from exc
        fixed = fixed if fixed.tzinfo else fixed.replace(tzinfo=business.tz)
        started = time.monotonic()
        # Time still passes during the conversation, from the pretended moment on.
        return lambda: fixed + dt.timedelta(seconds=time.monotonic() - started)

    @staticmethod
    def _call_open(business: Business, caller: str) -> Call:
        number = business.phone_numbers.values_list("number", flat=True).first() or ""
        call, _ = call_start(sid=f"TALK{uuid.uuid4().hex}", business=business, from_number=caller, to_number=number)
        call_status_update(sid=call.sid, status=Call.Status.IN_PROGRESS)
        return call_route_set(call=call, decision=RouteDecision(RoutePath.STREAMING, "talk console"))
