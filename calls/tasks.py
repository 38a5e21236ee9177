"""Celery tasks: thin wrappers that take IDs and call one service each.

The recording path is a chain of five tasks keyed by RecordingSid. A step that
fails transiently is retried with exponential backoff; when retries run out
the recording is marked failed (except synthesis, which lets the text reply
go out without audio). Tasks are acknowledged late, so a worker that dies
mid-task hands it to another; the steps are idempotent, so that is safe.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from celery import Task, chain, shared_task
from django.db import transaction

from calls import recording_pipeline as pipeline
from calls.messaging import MessageSendRetryable
from calls.models import Call

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
BACKOFF_BASE_S = 5
BACKOFF_MAX_S = 600


def retry_countdown(retries: int) -> float:
    """Seconds before retry number ``retries + 1``: 5, 10, 20, ... up to 10 minutes, with jitter."""
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2**retries) + random.uniform(0, 1)


def _run_step(task: Task, name: str, sid: str, step: Callable[[bool], None]) -> None:
    """Run ``step(final_attempt)``, retrying a transient failure; give up after MAX_RETRIES."""
    attempt = task.request.retries
    while True:
        try:
            step(attempt >= MAX_RETRIES)
            return
        except pipeline.StepRetryable as exc:
            if attempt >= MAX_RETRIES:
                pipeline.recording_fail(sid=sid, error=f"{name} gave up after {MAX_RETRIES} retries: {exc}")
                return
            logger.info("recording %s: %s failed, retrying: %s", sid, name, exc, extra={"recording_sid": sid})
            if not task.request.is_eager:
                raise task.retry(exc=exc, countdown=retry_countdown(attempt), max_retries=MAX_RETRIES) from exc
            # Eager mode (embedded defaults, tests) runs inside the webhook, where Celery
            # would raise the Retry instead of running the task again: retry in place.
            attempt += 1


@shared_task(bind=True, acks_late=True, name="calls.recording_download")
def recording_download_task(self: Task, sid: str) -> None:
    _run_step(self, "download", sid, lambda final: pipeline.recording_download(sid))


@shared_task(bind=True, acks_late=True, name="calls.recording_transcribe")
def recording_transcribe_task(self: Task, sid: str) -> None:
    _run_step(self, "transcription", sid, lambda final: pipeline.recording_transcribe(sid))


@shared_task(bind=True, acks_late=True, name="calls.recording_reply")
def recording_reply_task(self: Task, sid: str) -> None:
    _run_step(self, "reply", sid, lambda final: pipeline.recording_reply(sid))


@shared_task(bind=True, acks_late=True, name="calls.recording_synthesize")
def recording_synthesize_task(self: Task, sid: str) -> None:
    _run_step(self, "synthesis", sid, lambda final: pipeline.recording_synthesize(sid, final_attempt=final))


@shared_task(bind=True, acks_late=True, name="calls.recording_send")
def recording_send_task(self: Task, sid: str) -> None:
    _run_step(self, "sending", sid, lambda final: pipeline.recording_send(sid))


RECORDING_CHAIN = (
    recording_download_task,
    recording_transcribe_task,
    recording_reply_task,
    recording_synthesize_task,
    recording_send_task,
)


def recording_chain(sid: str) -> chain:
    return chain(*(task.si(sid) for task in RECORDING_CHAIN))


def recording_chain_enqueue(sid: str) -> None:
    """Start processing a recording once the current transaction commits."""
    transaction.on_commit(lambda: recording_chain(sid).apply_async())


@shared_task(bind=True, acks_late=True, name="calls.call_confirmations", max_retries=MAX_RETRIES)
def call_confirmations_task(self: Task, call_id: int) -> None:
    call = Call.objects.select_related("business").filter(pk=call_id).first()
    if call is None:
        return
    try:
        pipeline.call_confirmations_send(call)
    except MessageSendRetryable as exc:
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc


def call_confirmations_enqueue(call: Call) -> None:
    """After a call ends, confirm the bookings it made (once each)."""
    call_id = call.pk
    transaction.on_commit(lambda: call_confirmations_task.delay(call_id))
