"""Zylin's Prometheus metrics, all prefixed ``zylin_``, and one small function to record each.

Served at ``/metrics`` by django-prometheus together with its request, database
and cache metrics.

Several processes
-----------------
Production runs several daphne processes and Celery workers. Zylin uses the
Prometheus client's **multiprocess mode**, one directory per container:

* set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory private to the
  container *before* its processes start (wipe it at each start). Every process
  writes its samples to memory-mapped files there, named by process id: a
  directory must never be shared between containers, whose process ids repeat;
* web container: the ``/metrics`` view of any daphne process (django-prometheus
  switches to ``MultiProcessCollector`` when the variable is set) merges the
  files of every daphne process in it;
* worker container: Celery's prefork children write to the directory, and the
  worker's main process serves the merged files on ``ZYLIN_WORKER_METRICS_PORT``
  (:func:`worker_exporter_start`, run on ``worker_ready``);
* counters and histograms are summed across processes; the active-calls and
  tasks-in-progress gauges use ``livesum``, so a process that exits stops
  counting once :func:`process_exited` removes its files (connected to
  Celery's ``worker_process_shutdown`` by :func:`celery_signals_connect`).

Prometheus scrapes one target per container. One port per process
(``PROMETHEUS_METRICS_EXPORT_PORT_RANGE``) would need Prometheus to discover
every process's port and would lose a short-lived child's last samples.

Labels stay bounded: paths, outcomes, causes and statuses come from fixed
vocabularies (anything else is recorded as ``other``); provider and task names
come from code. A CallSid is never a label. The business slug is a label only
when ``settings.ZYLIN_METRICS_BUSINESS_LABEL`` is on (few businesses); otherwise
the ``business`` label is empty, which Prometheus treats as absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess, start_http_server

# 50 ms steps up to 2 s resolve the latencies that matter for a phone call;
# coarser buckets above catch the slow tail without many more series.
LATENCY_BUCKETS: tuple[float, ...] = tuple(round(step * 0.05, 2) for step in range(1, 41)) + (
    2.5,
    3.0,
    4.0,
    5.0,
    7.5,
    10.0,
    15.0,
    30.0,
)

PATHS = frozenset({"streaming", "recording"})
CALL_OUTCOMES = frozenset(
    {"completed", "transferred", "hangup_before_answer", "fallback", "failed", "busy", "no_answer", "canceled"}
)
BOOKING_CHANGES = frozenset({"created", "moved", "cancelled"})
DISCONNECT_CAUSES = frozenset({"stop", "remote_closed", "server_closed", "timeout", "error", "resumed"})
MESSAGE_STATUSES = frozenset({"outbox", "queued", "sent", "delivered", "read", "undelivered", "failed"})
MESSAGE_CHANNELS = frozenset({"whatsapp", "sms"})
TASK_OUTCOMES = frozenset({"success", "retry", "failure", "skipped", "rejected", "ignored"})
SPEAKERS = frozenset({"caller", "assistant"})

# Celery tasks whose names start with one of these are the recording path's
# (calls.recording_download, ..._transcribe, ..._reply, ..._synthesize, ..._send).
RECORDING_TASK_PREFIXES: tuple[str, ...] = ("calls.recording_",)

OTHER = "other"

ACTIVE_CALLS = Gauge(
    "zylin_active_calls",
    "Calls in progress, by path.",
    ["path", "business"],
    multiprocess_mode="livesum",
)
CALLS_STARTED = Counter("zylin_calls_started_total", "Calls started, by path.", ["path", "business"])
CALLS_ENDED = Counter("zylin_calls_ended_total", "Calls ended, by path and outcome.", ["path", "outcome", "business"])

ASR_FINAL = Histogram(
    "zylin_asr_final_seconds",
    "From the end of the caller's speech to the final transcript.",
    ["path"],
    buckets=LATENCY_BUCKETS,
)
AGENT_FIRST_TOKEN = Histogram(
    "zylin_agent_first_token_seconds",
    "From the final transcript to the agent's first token.",
    ["path"],
    buckets=LATENCY_BUCKETS,
)
TTS_FIRST_AUDIO = Histogram(
    "zylin_tts_first_audio_seconds",
    "From the first sentence sent to the voice to its first audio.",
    ["path"],
    buckets=LATENCY_BUCKETS,
)
VOICE_TO_VOICE = Histogram(
    "zylin_voice_to_voice_seconds",
    "From the end of the caller's speech to the first reply frame sent.",
    ["path"],
    buckets=LATENCY_BUCKETS,
)
ECHO = Histogram(
    "zylin_echo_seconds",
    "Line check: from a caller frame received to the same audio sent back.",
    buckets=LATENCY_BUCKETS,
)

TURNS = Counter("zylin_turns_total", "Conversation turns stored, by path and speaker.", ["path", "speaker"])
BARGE_INS = Counter("zylin_barge_ins_total", "Caller speech that interrupted Zylin.")
FALSE_BARGE_INS = Counter(
    "zylin_false_barge_ins_total", "Caller sounds that paused Zylin but were not speech (cough, mm-hm)."
)
WS_DISCONNECTS = Counter("zylin_ws_disconnects_total", "Media Stream WebSocket disconnects, by cause.", ["cause"])
MEDIA_GAPS = Counter(
    "zylin_inbound_media_gaps_total", "Inbound media frames missing (gaps in Twilio sequence numbers)."
)
UNDERRUNS = Counter("zylin_outbound_underruns_total", "Times the outbound audio ran dry in the middle of a reply.")
PROVIDER_ERRORS = Counter("zylin_provider_errors_total", "Provider errors, by provider.", ["provider"])
PROVIDER_FALLBACKS = Counter(
    "zylin_provider_fallbacks_total", "Calls or requests moved off a failing provider, by provider.", ["provider"]
)
BOOKINGS = Counter(
    "zylin_bookings_total", "Bookings created, moved or cancelled, by path.", ["change", "path", "business"]
)
TRANSFERS = Counter("zylin_transfers_total", "Calls handed to a human, by path.", ["path", "business"])
MESSAGES = Counter(
    "zylin_messages_total", "Outbound messages reaching a status, by channel and status.", ["channel", "status"]
)
TASKS_STARTED = Counter(
    "zylin_recording_tasks_started_total", "Recording-path Celery tasks started, by task.", ["task"]
)
TASKS_FINISHED = Counter(
    "zylin_recording_tasks_total", "Recording-path Celery task runs finished, by task and outcome.", ["task", "outcome"]
)
TASKS_IN_PROGRESS = Gauge(
    "zylin_recording_tasks_in_progress",
    "Recording-path Celery tasks running now, by task.",
    ["task"],
    multiprocess_mode="livesum",
)
COST = Counter(
    "zylin_cost_estimate_usd_total",
    "Estimated provider cost of calls in US dollars, by path.",
    ["path", "business"],
)


# The stored Turn field each latency histogram observes. The admin's Call page draws
# its latency bars from the same fields, so the page and /metrics agree.
TURN_LATENCY_FIELDS: tuple[tuple[Histogram, str], ...] = (
    (ASR_FINAL, "asr_ms"),
    (AGENT_FIRST_TOKEN, "llm_first_token_ms"),
    (TTS_FIRST_AUDIO, "tts_first_audio_ms"),
    (VOICE_TO_VOICE, "voice_to_voice_ms"),
)

# A fallback event with this reason moved the call off a failing provider; other
# reasons (a shutdown handing its calls over) are not a provider's fault.
PROVIDER_FAILURES_REASON = "provider_failures"


class TurnTimings(Protocol):
    """What :func:`turn_observe` reads: a ``TurnRecord`` or a stored ``Turn`` both fit."""

    speaker: str
    asr_ms: float | None
    llm_first_token_ms: float | None
    tts_first_audio_ms: float | None
    voice_to_voice_ms: float | None


def _bounded(value: str, allowed: Iterable[str]) -> str:
    if value in allowed:
        return value
    normalized = (value or "").strip().lower().replace("-", "_")  # Twilio says "no-answer"
    return normalized if normalized in allowed else OTHER


def _path(path: str) -> str:
    return path if path in PATHS else OTHER


def _business(business: str | None) -> str:
    if not business:
        return ""
    # Imported here so the module loads without Django (Celery signal handlers, scripts).
    from django.conf import settings

    return business if settings.configured and getattr(settings, "ZYLIN_METRICS_BUSINESS_LABEL", False) else ""


def _seconds(milliseconds: float | None) -> float | None:
    return None if milliseconds is None else max(milliseconds, 0.0) / 1000.0


# --- Calls ---------------------------------------------------------------------


def call_started(path: str, *, business: str | None = None) -> None:
    """A call took ``path``: count it and add it to the active calls."""
    labels = {"path": _path(path), "business": _business(business)}
    CALLS_STARTED.labels(**labels).inc()
    ACTIVE_CALLS.labels(**labels).inc()


def call_ended(path: str, outcome: str, *, business: str | None = None) -> None:
    """A call ended with ``outcome`` (see ``CALL_OUTCOMES``); it leaves the active calls."""
    path_label, business_label = _path(path), _business(business)
    CALLS_ENDED.labels(path=path_label, outcome=_bounded(outcome, CALL_OUTCOMES), business=business_label).inc()
    ACTIVE_CALLS.labels(path=path_label, business=business_label).dec()


def call_outcome(*, status: str, answered: bool, transferred: bool, end_reason: str = "") -> str:
    """How a call ended, in the words of ``CALL_OUTCOMES`` (the comparison page's definitions)."""
    if transferred:
        return "transferred"
    if end_reason.startswith("fallback"):
        return "fallback"
    if not answered:
        return "hangup_before_answer"
    return "failed" if status == "failed" else "completed"


def call_ended_observe(call: Any, *, business: str | None = None) -> None:
    """:func:`call_ended` for a finished ``Call`` row; call it once, when the call first turns final.

    ``business``: the business slug when the caller has it (no query for ``call.business``).
    """
    outcome = call_outcome(
        status=call.status,
        answered=call.answered_at is not None,
        transferred=call.transferred,
        end_reason=call.end_reason or "",
    )
    call_ended(call.path, outcome, business=business if business is not None else call.business.slug)


def transfer(path: str, *, business: str | None = None) -> None:
    TRANSFERS.labels(path=_path(path), business=_business(business)).inc()


def cost_add(path: str, amount: Decimal | float, *, business: str | None = None) -> None:
    """Add a call's estimated cost (or the change to it); negative changes are ignored."""
    if amount > 0:
        COST.labels(path=_path(path), business=_business(business)).inc(float(amount))


# --- Turns and latency ---------------------------------------------------------


def turn_observe(turn: TurnTimings, *, path: str) -> None:
    """Count a stored turn and observe each latency stage it measured."""
    path_label = _path(path)
    TURNS.labels(path=path_label, speaker=_bounded(turn.speaker, SPEAKERS)).inc()
    for histogram, field in TURN_LATENCY_FIELDS:
        if histogram is ASR_FINAL and turn.speaker != "caller":
            continue  # the answer repeats its caller turn's figure: one recognition, one observation
        seconds = _seconds(getattr(turn, field))
        if seconds is not None:
            histogram.labels(path=path_label).observe(seconds)


def echo_latency(ms: float) -> None:
    """One echoed frame's latency; the echo loop reports each frame as it sends it back."""
    ECHO.observe(max(ms, 0.0) / 1000.0)


def barge_in(*, false_alarm: bool = False) -> None:
    """Caller speech interrupted Zylin, or (``false_alarm``) a sound paused it and it resumed."""
    (FALSE_BARGE_INS if false_alarm else BARGE_INS).inc()


# --- Transport -----------------------------------------------------------------


def ws_disconnect(cause: str) -> None:
    WS_DISCONNECTS.labels(cause=_bounded(cause, DISCONNECT_CAUSES)).inc()


def media_gap(missing_frames: int) -> None:
    """``missing_frames`` inbound frames never arrived (a jump in sequence numbers)."""
    if missing_frames > 0:
        MEDIA_GAPS.inc(missing_frames)


def underrun() -> None:
    UNDERRUNS.inc()


# --- Providers, bookings, messages ---------------------------------------------


def provider_error(provider: str, *, fallback: bool = False) -> None:
    """A provider failed; ``fallback`` when Zylin moved off it because of this."""
    name = provider or OTHER
    PROVIDER_ERRORS.labels(provider=name).inc()
    if fallback:
        PROVIDER_FALLBACKS.labels(provider=name).inc()


def booking_changed(change: str, path: str, *, business: str | None = None) -> None:
    """A booking was ``created``, ``moved`` or ``cancelled`` from a call on ``path``."""
    BOOKINGS.labels(change=_bounded(change, BOOKING_CHANGES), path=_path(path), business=_business(business)).inc()


def message_status(status: str, *, channel: str = "whatsapp") -> None:
    """An outbound message reached ``status`` (Twilio's status names, plus ``outbox``)."""
    MESSAGES.labels(channel=_bounded(channel, MESSAGE_CHANNELS), status=_bounded(status, MESSAGE_STATUSES)).inc()


# --- Events the voice loop reports through CallStore.event ---------------------


def call_event_observe(name: str, detail: dict[str, Any] | None, *, path: str, business: str | None = None) -> None:
    """Record the metric behind one event a ``VoiceSession`` reports (others are ignored).

    ``barge_in``, ``false_barge_in``, ``underrun``; ``provider_failure`` and
    ``provider_fault`` (``detail["provider"]``); ``fallback`` with the reason
    ``provider_failures`` (``detail["provider"]``, the provider whose failures
    ended the call's streaming); ``inbound_stats`` (``detail["lost"]`` frames);
    ``call_action`` with ``kind == "transfer"``. The ``echo_latency`` summary is
    not observed: the echo loop observes each frame (:func:`echo_latency`).
    """
    detail = detail or {}
    if name == "barge_in":
        barge_in()
    elif name == "false_barge_in":
        barge_in(false_alarm=True)
    elif name == "underrun":
        underrun()
    elif name in ("provider_failure", "provider_fault"):  # a fault the loop saw, or one an adapter handled
        provider_error(str(detail.get("provider") or OTHER))
    elif name == "fallback" and detail.get("reason", PROVIDER_FAILURES_REASON) == PROVIDER_FAILURES_REASON:
        PROVIDER_FALLBACKS.labels(provider=str(detail.get("provider") or OTHER)).inc()
    elif name == "inbound_stats":
        media_gap(int(detail.get("lost") or 0))
    elif name == "call_action" and detail.get("kind") == "transfer":
        transfer(path, business=business)


# --- Recording-path tasks ------------------------------------------------------


def task_started(task: str) -> None:
    TASKS_STARTED.labels(task=task).inc()
    TASKS_IN_PROGRESS.labels(task=task).inc()


def task_outcome(task: str, outcome: str, *, was_started: bool = True) -> None:
    """A task run finished with ``outcome``; ``was_started`` if :func:`task_started` counted it."""
    TASKS_FINISHED.labels(task=task, outcome=_bounded(outcome, TASK_OUTCOMES)).inc()
    if was_started:
        TASKS_IN_PROGRESS.labels(task=task).dec()


def recording_task_label(task_name: str) -> str | None:
    """The short label of a recording-path task name, or None for other tasks."""
    for prefix in RECORDING_TASK_PREFIXES:
        if task_name.startswith(prefix):
            return task_name[len(prefix) :]
    return None


def _on_task_prerun(sender: Any = None, **_: Any) -> None:
    label = recording_task_label(getattr(sender, "name", "") or "")
    if label:
        task_started(label)


def _on_task_postrun(sender: Any = None, state: str | None = None, **_: Any) -> None:
    label = recording_task_label(getattr(sender, "name", "") or "")
    if label:
        task_outcome(label, (state or "failure").lower())


def _on_worker_process_shutdown(pid: int | None = None, **_: Any) -> None:
    process_exited(pid or os.getpid())


def _on_worker_ready(**_: Any) -> None:
    port = os.environ.get("ZYLIN_WORKER_METRICS_PORT")
    if port:
        worker_exporter_start(int(port))


def celery_signals_connect() -> None:
    """Record recording-path task runs from Celery's signals and serve a worker's metrics (idempotent)."""
    from celery import signals

    signals.task_prerun.connect(_on_task_prerun, weak=False, dispatch_uid="zylin-metrics-prerun")
    signals.task_postrun.connect(_on_task_postrun, weak=False, dispatch_uid="zylin-metrics-postrun")
    signals.worker_process_shutdown.connect(
        _on_worker_process_shutdown, weak=False, dispatch_uid="zylin-metrics-process-shutdown"
    )
    signals.worker_ready.connect(_on_worker_ready, weak=False, dispatch_uid="zylin-metrics-worker-ready")


def worker_exporter_start(port: int, addr: str = "0.0.0.0") -> Any:
    """Serve this container's metrics over HTTP from a daemon thread; returns the server.

    In multiprocess mode it merges every process's files (the prefork children
    do the work, the main process serves); otherwise it serves this process.
    """
    registry: CollectorRegistry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    return server


def process_exited(pid: int) -> None:
    """Drop a dead process's live gauges in multiprocess mode (no-op otherwise)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
