"""Metrics from several processes (multiprocess mode) and from Celery's recording-path tasks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery import shared_task
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from calls import metrics
from tests.observability.conftest import sample, scrape

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import os, sys
from calls import metrics
from calls.voice.ports import TurnRecord

metrics.call_started("streaming")
turn = TurnRecord(index=1, speaker="assistant", text="", started_at=0.0, ended_at=0.0,
                  voice_to_voice_ms=float(sys.argv[1]))
metrics.turn_observe(turn, path="streaming")
if sys.argv[2] == "end":
    metrics.call_ended("streaming", "completed")
print(os.getpid())
"""

# The /metrics view of django-prometheus, in a process that recorded nothing itself.
READER = """
import sys
import django
django.setup()
from django.test import RequestFactory
from django_prometheus.exports import ExportToDjangoView
from calls import metrics

if len(sys.argv) > 1:
    metrics.process_exited(int(sys.argv[1]))
print(ExportToDjangoView(RequestFactory().get("/metrics")).content.decode())
"""


def _run(code: str, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _samples(text: str) -> dict:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_of_several_processes_are_merged(tmp_path):
    env = {
        **{key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"},
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "zylin.settings_test",
    }
    _run(WRITER, "400", "end", env=env)  # a call that ended
    live_pid = _run(WRITER, "1600", "keep", env=env).strip()  # a call still up when its process went away

    merged = _samples(_run(READER, env=env))
    streaming = {"path": "streaming"}
    assert sample(merged, "zylin_calls_started_total", business="", **streaming) == 2
    assert sample(merged, "zylin_voice_to_voice_seconds_count", **streaming) == 2
    assert sample(merged, "zylin_voice_to_voice_seconds_sum", **streaming) == pytest.approx(2.0)
    assert sample(merged, "zylin_voice_to_voice_seconds_bucket", le="0.4", **streaming) == 1
    assert sample(merged, "zylin_active_calls", business="", **streaming) == 1

    # Once the second process is known dead its live gauge stops counting; counters stay.
    after_exit = _samples(_run(READER, live_pid, env=env))
    assert sample(after_exit, "zylin_active_calls", business="", **streaming) == 0
    assert sample(after_exit, "zylin_calls_started_total", business="", **streaming) == 2


@shared_task(name="calls.recording_observability_probe")
def recording_probe(fail: bool = False) -> str:
    if fail:
        raise RuntimeError("download failed")
    return "done"


@shared_task(name="calls.call_observability_probe")
def other_probe() -> str:
    return "done"


def test_recording_task_outcomes_come_from_celery_signals(metrics_client: Client):
    metrics.celery_signals_connect()
    metrics.celery_signals_connect()  # connecting twice must not count twice
    before = scrape(metrics_client)
    recording_probe.apply()
    recording_probe.apply(kwargs={"fail": True}, throw=False)
    other_probe.apply()
    after = scrape(metrics_client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    task = {"task": "observability_probe"}
    assert delta("zylin_recording_tasks_started_total", **task) == 2
    assert delta("zylin_recording_tasks_total", outcome="success", **task) == 1
    assert delta("zylin_recording_tasks_total", outcome="failure", **task) == 1
    assert delta("zylin_recording_tasks_in_progress", **task) == 0
    assert metrics.recording_task_label("calls.call_observability_probe") is None
    assert metrics.recording_task_label("calls.recording_transcribe") == "transcribe"


# A Celery worker's main process, serving what its children wrote.
WORKER_EXPORTER = """
import urllib.request
from calls import metrics

server = metrics.worker_exporter_start(0, addr="127.0.0.1")
with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10) as response:
    print(response.read().decode())
server.shutdown()
"""


def test_worker_exporter_serves_the_workers_metrics(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    _run(WRITER, "700", "end", env=env)  # a prefork child's work
    served = _samples(_run(WORKER_EXPORTER, env=env))
    assert sample(served, "zylin_calls_ended_total", path="streaming", outcome="completed", business="") == 1
    assert sample(served, "zylin_voice_to_voice_seconds_bucket", path="streaming", le="0.7") == 1
