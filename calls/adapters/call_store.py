"""``CallStore`` over the calls models: what a conversation leaves in the database.

Turns are keyed by (call, index), so a retried save (a reconnect, a worker
restart) updates the row instead of adding a second one; the same holds for a
turn's Intent. Every write runs through ``sync_to_async``, so the voice loop
can await it from its event loop.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from calls.models import Call, Intent, Turn
from calls.services import call_event_record
from calls.tasks import call_confirmations_enqueue
from calls.voice.ports import TurnRecord


def _moment(seconds: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC) if seconds else None


class DjangoCallStore:
    """Writes one call's turns, intents and events, and closes the call.

    Args:
        call: The Call row this conversation belongs to.
    """

    def __init__(self, call: Call) -> None:
        self.call = call

    async def turn_saved(self, turn: TurnRecord) -> None:
        await sync_to_async(self._turn_save, thread_sensitive=True)(turn)

    @transaction.atomic
    def _turn_save(self, turn: TurnRecord) -> None:
        row, _ = Turn.objects.update_or_create(
            call=self.call,
            index=turn.index,
            defaults={
                "speaker": turn.speaker,
                "text": turn.text,
                "interrupted": turn.interrupted,
                "started_at": _moment(turn.started_at),
                "ended_at": _moment(turn.ended_at),
                "asr_ms": turn.asr_ms,
                "llm_first_token_ms": turn.llm_first_token_ms,
                "tts_first_audio_ms": turn.tts_first_audio_ms,
                "voice_to_voice_ms": turn.voice_to_voice_ms,
            },
        )
        if turn.intent is not None:
            Intent.objects.update_or_create(
                turn=row,
                defaults={
                    "name": turn.intent.name[:40],
                    "confidence": turn.intent.confidence,
                    "slots": turn.intent.slots,
                },
            )

    async def event(self, name: str, detail: dict[str, Any] | None = None) -> None:
        await sync_to_async(call_event_record, thread_sensitive=True)(call=self.call, name=name, detail=detail)

    async def call_ended(self, *, reason: str) -> bool:
        """Close the Call; True when this closed it (not Twilio's status callback before it)."""
        return await sync_to_async(self._end, thread_sensitive=True)(reason)

    @transaction.atomic
    def _end(self, reason: str) -> bool:
        call = Call.objects.select_for_update().get(pk=self.call.pk)
        if call.ended_at is not None:
            return False  # already closed (by Twilio's status callback or an earlier call_ended)
        now = timezone.now()
        call.ended_at = now
        call.end_reason = reason[:80]
        call.status = Call.Status.COMPLETED
        call.transferred = call.transferred or reason.startswith("transfer")
        began = call.answered_at or call.started_at
        if call.duration_seconds is None and began is not None:
            call.duration_seconds = max(0, int((now - began).total_seconds()))
        call.save(update_fields=["ended_at", "end_reason", "status", "transferred", "duration_seconds"])
        self.call = call
        # Twilio's "completed" callback will find the call already final and do nothing more,
        # so what a call's end starts happens here, once.
        call_confirmations_enqueue(call)
        return True
