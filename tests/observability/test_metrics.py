"""Zylin's metrics at /metrics: names, buckets, counts that agree with the stored turns."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client, override_settings

from calls import metrics
from calls.models import Call, Turn
from calls.voice.ports import TurnRecord
from tests.factories import CallFactory, TurnFactory
from tests.observability.conftest import PlacedCall, sample, scrape

ROOT = Path(__file__).resolve().parents[2]
STAGES = {
    "zylin_asr_final_seconds": "asr_ms",
    "zylin_agent_first_token_seconds": "llm_first_token_ms",
    "zylin_tts_first_audio_seconds": "tts_first_audio_ms",
    "zylin_voice_to_voice_seconds": "voice_to_voice_ms",
}


def test_buckets_resolve_50_ms_steps_below_2_seconds():
    below_two = [bound for bound in metrics.LATENCY_BUCKETS if bound <= 2.0]
    assert below_two == [round(0.05 * step, 2) for step in range(1, 41)]
    assert metrics.LATENCY_BUCKETS[-1] >= 10.0


def test_histograms_are_exposed_with_their_buckets(metrics_client: Client):
    record = TurnRecord(
        index=1,
        speaker="assistant",
        text="Sure.",
        started_at=0.0,
        ended_at=1.0,
        asr_ms=120.0,
        llm_first_token_ms=300.0,
        tts_first_audio_ms=90.0,
        voice_to_voice_ms=640.0,
    )
    metrics.turn_observe(record, path="streaming")
    metrics.echo_latency(35.0)
    text = metrics_client.get("/metrics").content.decode()
    expected_bounds = [f'le="{bound}"' for bound in ("0.05", "0.1", "0.65", "1.95", "2.0", "2.5", "30.0", "+Inf")]
    for name in [*STAGES, "zylin_echo_seconds"]:
        assert f"# TYPE {name} histogram" in text
        bucket_lines = [line for line in text.splitlines() if line.startswith(f"{name}_bucket")]
        assert len(bucket_lines) >= len(metrics.LATENCY_BUCKETS) + 1
        for bound in expected_bounds:
            assert any(bound in line for line in bucket_lines), (name, bound)
    # django-prometheus's own metrics are served on the same page.
    assert "django_http_requests_before_middlewares_total" in text


def _turns_from_factory() -> Call:
    """A streaming call with stored turns, as the call store writes them.

    An answer carries the ASR figure of the caller turn it answers (its Call
    page bar starts with it), so each ASR figure is stored twice.
    """
    call = CallFactory(path=Call.Path.STREAMING)
    TurnFactory(
        call=call,
        index=0,
        speaker="assistant",
        text="Bella Hair Studio, how can I help?",
        tts_first_audio_ms=180.0,
        voice_to_voice_ms=None,
    )
    TurnFactory(call=call, index=1, speaker="caller", text="A haircut on Friday", asr_ms=210.0)
    TurnFactory(
        call=call,
        index=2,
        speaker="assistant",
        text="Friday at 3 is free.",
        asr_ms=210.0,
        llm_first_token_ms=420.0,
        tts_first_audio_ms=150.0,
        voice_to_voice_ms=980.0,
    )
    TurnFactory(call=call, index=3, speaker="caller", text="Yes please", asr_ms=1990.0)
    TurnFactory(
        call=call,
        index=4,
        speaker="assistant",
        text="Booked.",
        interrupted=True,
        asr_ms=1990.0,
        llm_first_token_ms=2600.0,
        tts_first_audio_ms=95.0,
        voice_to_voice_ms=3100.0,
    )
    return call


def _factory_call_observed() -> Call:
    """The factory call, each stored turn observed as the call store does when it saves one."""
    call = _turns_from_factory()
    for turn in call.turns.order_by("index"):
        metrics.turn_observe(turn, path=call.path)
    return call


@pytest.fixture
def factory_call() -> Callable[[], Call]:
    return _factory_call_observed


@pytest.fixture
def simulated_call(place_simulated_call: Callable[[], PlacedCall]) -> Callable[[], Call]:
    """A call placed with the call simulator through the real voice loop, on stand-in engines."""
    return lambda: place_simulated_call().call


# Each source is a fixture giving a function that produces a finished call whose
# turns went to /metrics the way production sends them; the test below only
# compares the stored Turns with /metrics.
CALL_SOURCES = [
    pytest.param("factory_call", marks=pytest.mark.django_db, id="factory-call"),
    # The in-process daphne server reads the database from its own threads.
    pytest.param(
        "simulated_call", marks=[pytest.mark.django_db(transaction=True), pytest.mark.slow], id="simulated-call"
    ),
]


@pytest.mark.parametrize("source", CALL_SOURCES)
def test_histogram_counts_match_the_stored_turns(request: pytest.FixtureRequest, metrics_client: Client, source: str):
    call_produce = request.getfixturevalue(source)
    before = scrape(metrics_client)
    call = call_produce()
    after = scrape(metrics_client)
    turns = list(Turn.objects.filter(call=call))
    assert turns, "the call must have stored turns"
    path = call.path

    for name, field in STAGES.items():
        # ASR is observed once per recognition, from the caller turn (its answer repeats the figure).
        observed_turns = [turn for turn in turns if field != "asr_ms" or turn.speaker == "caller"]
        values = [getattr(turn, field) for turn in observed_turns if getattr(turn, field) is not None]
        assert values, f"the call measured no {field}"
        count = sample(after, f"{name}_count", path=path) - sample(before, f"{name}_count", path=path)
        total = sample(after, f"{name}_sum", path=path) - sample(before, f"{name}_sum", path=path)
        assert count == len(values), name
        assert total == pytest.approx(sum(values) / 1000), name
        # Cumulative buckets: the 1 s bucket holds exactly the turns at or under 1000 ms.
        under_one = sample(after, f"{name}_bucket", path=path, le="1.0") - sample(
            before, f"{name}_bucket", path=path, le="1.0"
        )
        assert under_one == len([value for value in values if value <= 1000]), name

    for speaker in ("caller", "assistant"):
        counted = sample(after, "zylin_turns_total", path=path, speaker=speaker) - sample(
            before, "zylin_turns_total", path=path, speaker=speaker
        )
        assert counted == len([turn for turn in turns if turn.speaker == speaker])


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_finished_simulated_call_leaves_the_active_calls(
    metrics_client: Client, place_simulated_call: Callable[[], PlacedCall]
):
    active = {"path": "streaming", "business": ""}
    ended = {"path": "streaming", "outcome": "completed", "business": ""}
    before = scrape(metrics_client)
    place_simulated_call()
    after = scrape(metrics_client)
    assert (
        sample(after, "zylin_calls_started_total", **active) - sample(before, "zylin_calls_started_total", **active)
        == 1
    )
    assert sample(after, "zylin_calls_ended_total", **ended) - sample(before, "zylin_calls_ended_total", **ended) == 1
    assert sample(after, "zylin_active_calls", **active) == sample(before, "zylin_active_calls", **active)


def _delta(client: Client, action: Callable[[], None], name: str, **labels: str) -> float:
    before = sample(scrape(client), name, **labels)
    action()
    return sample(scrape(client), name, **labels) - before


def test_active_calls_rise_and_fall(metrics_client: Client):
    assert (
        _delta(
            metrics_client,
            lambda: metrics.call_started("streaming"),
            "zylin_active_calls",
            path="streaming",
            business="",
        )
        == 1
    )
    assert (
        _delta(
            metrics_client,
            lambda: metrics.call_ended("streaming", "completed"),
            "zylin_active_calls",
            path="streaming",
            business="",
        )
        == -1
    )


@pytest.mark.parametrize(
    ("action", "name", "labels"),
    [
        (lambda: metrics.call_started("recording"), "zylin_calls_started_total", {"path": "recording", "business": ""}),
        (
            lambda: metrics.call_ended("streaming", "no-answer"),
            "zylin_calls_ended_total",
            {"path": "streaming", "outcome": "no_answer", "business": ""},
        ),
        (lambda: metrics.barge_in(), "zylin_barge_ins_total", {}),
        (lambda: metrics.barge_in(false_alarm=True), "zylin_false_barge_ins_total", {}),
        (lambda: metrics.ws_disconnect("timeout"), "zylin_ws_disconnects_total", {"cause": "timeout"}),
        (lambda: metrics.underrun(), "zylin_outbound_underruns_total", {}),
        (lambda: metrics.provider_error("deepgram"), "zylin_provider_errors_total", {"provider": "deepgram"}),
        (
            lambda: metrics.provider_error("elevenlabs", fallback=True),
            "zylin_provider_fallbacks_total",
            {"provider": "elevenlabs"},
        ),
        (
            lambda: metrics.booking_changed("moved", "streaming"),
            "zylin_bookings_total",
            {"change": "moved", "path": "streaming", "business": ""},
        ),
        (lambda: metrics.transfer("streaming"), "zylin_transfers_total", {"path": "streaming", "business": ""}),
        (
            lambda: metrics.message_status("delivered"),
            "zylin_messages_total",
            {"channel": "whatsapp", "status": "delivered"},
        ),
        (
            lambda: metrics.task_outcome("transcribe", "retry", was_started=False),
            "zylin_recording_tasks_total",
            {"task": "transcribe", "outcome": "retry"},
        ),
        (
            lambda: metrics.cost_add("recording", 0.25),
            "zylin_cost_estimate_usd_total",
            {"path": "recording", "business": ""},
        ),
    ],
)
def test_each_recorder_moves_its_metric_by_one_step(metrics_client: Client, action, name, labels):
    expected = 0.25 if name == "zylin_cost_estimate_usd_total" else 1
    assert _delta(metrics_client, action, name, **labels) == pytest.approx(expected)


def test_media_gap_counts_missing_frames(metrics_client: Client):
    assert _delta(metrics_client, lambda: metrics.media_gap(3), "zylin_inbound_media_gaps_total") == 3
    assert _delta(metrics_client, lambda: metrics.media_gap(0), "zylin_inbound_media_gaps_total") == 0


def test_labels_stay_bounded(metrics_client: Client):
    # A made-up outcome or status never becomes a new series, nor does a CallSid.
    assert (
        _delta(
            metrics_client,
            lambda: metrics.call_ended("CA0123abc", "CA0123abc"),
            "zylin_calls_ended_total",
            path="other",
            outcome="other",
            business="",
        )
        == 1
    )
    assert (
        _delta(
            metrics_client,
            lambda: metrics.message_status("weird"),
            "zylin_messages_total",
            channel="whatsapp",
            status="other",
        )
        == 1
    )
    text = metrics_client.get("/metrics").content.decode()
    assert "CA0123abc" not in text


def test_business_label_only_when_configured(metrics_client: Client):
    with override_settings(ZYLIN_METRICS_BUSINESS_LABEL=False):
        assert (
            _delta(
                metrics_client,
                lambda: metrics.call_started("streaming", business="bella"),
                "zylin_calls_started_total",
                path="streaming",
                business="",
            )
            == 1
        )
    with override_settings(ZYLIN_METRICS_BUSINESS_LABEL=True):
        assert (
            _delta(
                metrics_client,
                lambda: metrics.call_started("streaming", business="bella"),
                "zylin_calls_started_total",
                path="streaming",
                business="bella",
            )
            == 1
        )
    metrics.call_ended("streaming", "completed")
    with override_settings(ZYLIN_METRICS_BUSINESS_LABEL=True):
        metrics.call_ended("streaming", "completed", business="bella")


@pytest.mark.parametrize(
    ("name", "detail", "metric", "labels", "expected"),
    [
        ("barge_in", {"turn": 2, "heard": "Friday at"}, "zylin_barge_ins_total", {}, 1),
        ("false_barge_in", {}, "zylin_false_barge_ins_total", {}, 1),
        ("underrun", {}, "zylin_outbound_underruns_total", {}, 1),
        (
            "provider_failure",
            {"provider": "deepgram", "retryable": True},
            "zylin_provider_errors_total",
            {"provider": "deepgram"},
            1,
        ),
        (
            "fallback",
            {"to": "recording", "provider": "elevenlabs"},
            "zylin_provider_fallbacks_total",
            {"provider": "elevenlabs"},
            1,
        ),
        ("inbound_stats", {"media_frames": 500, "lost": 4}, "zylin_inbound_media_gaps_total", {}, 4),
        (
            "fallback",
            {"to": "recording", "failures": 3, "reason": "provider_failures", "provider": "deepgram"},
            "zylin_provider_fallbacks_total",
            {"provider": "deepgram"},
            1,
        ),
        # A shutdown hands its calls over: no provider failed, whatever failed earlier in the call.
        (
            "fallback",
            {"to": "recording", "failures": 1, "reason": "shutdown", "provider": "deepgram"},
            "zylin_provider_fallbacks_total",
            {"provider": "deepgram"},
            0,
        ),
        # The echo summary holds percentiles; each frame was observed when it was echoed.
        (
            "echo_latency",
            {"frames": 3, "p50_ms": 20.0, "p99_ms": 45.0, "max_ms": 45.0},
            "zylin_echo_seconds_count",
            {},
            0,
        ),
        ("call_action", {"kind": "transfer"}, "zylin_transfers_total", {"path": "streaming", "business": ""}, 1),
        ("call_action", {"kind": "end"}, "zylin_transfers_total", {"path": "streaming", "business": ""}, 0),
        ("dtmf_ignored", {"digit": "5"}, "zylin_barge_ins_total", {}, 0),
    ],
)
def test_voice_loop_events_map_to_metrics(metrics_client: Client, name, detail, metric, labels, expected):
    observe = lambda: metrics.call_event_observe(name, detail, path="streaming")  # noqa: E731
    assert _delta(metrics_client, observe, metric, **labels) == expected


def test_metrics_module_loads_without_django():
    # So Celery signal handlers and scripts can record metrics before Django is set up.
    code = "import sys, calls.metrics; print('django' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("fields", "outcome"),
    [
        ({"status": "completed", "answered": True, "transferred": False}, "completed"),
        ({"status": "completed", "answered": True, "transferred": True}, "transferred"),
        ({"status": "completed", "answered": True, "transferred": False, "end_reason": "fallback: tts"}, "fallback"),
        ({"status": "canceled", "answered": False, "transferred": False}, "hangup_before_answer"),
        ({"status": "failed", "answered": True, "transferred": False}, "failed"),
    ],
)
def test_call_outcome(fields, outcome):
    assert metrics.call_outcome(**fields) == outcome


@pytest.mark.django_db
def test_call_ended_observe_uses_the_stored_call(metrics_client: Client):
    call = CallFactory(path=Call.Path.RECORDING, status=Call.Status.NO_ANSWER)
    labels = {"path": "recording", "outcome": "hangup_before_answer", "business": ""}
    assert _delta(metrics_client, lambda: metrics.call_ended_observe(call), "zylin_calls_ended_total", **labels) == 1
