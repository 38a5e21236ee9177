"""The Grafana dashboard's queries against a real Prometheus that scraped a simulated call.

Prometheus (the Debian ``prometheus`` package; ``make test-tools`` installs it)
scrapes Zylin's ``/metrics`` on an in-process daphne server every second while
the call simulator places a call on the stand-in engines. Every panel query of
``deploy/grafana/dashboards/zylin.json`` must then be accepted, the panels a
streaming call feeds must show it, and Prometheus must count as many
voice-to-voice observations as the call stored.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from calls import metrics
from calls.models import Turn
from calls.simulator.server import free_port
from tests.observability.conftest import PlacedCall

pytestmark = [
    pytest.mark.skipif(
        shutil.which("prometheus") is None,
        reason="prometheus not installed (Debian package 'prometheus'; `make test` adds it)",
    ),
    pytest.mark.django_db(transaction=True),  # the in-process daphne server reads the database from its threads
    pytest.mark.slow,
]

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards" / "zylin.json"
JOB = "zylin-web"
SCRAPE_INTERVAL_S = 1
# Grafana's $__rate_interval is at least four scrape intervals; one minute covers the whole test.
GRAFANA_VARIABLES = {"$__rate_interval": "1m"}
# Panels a streaming call must put data in, by title; the ref ids are the queries that must show it.
FED_BY_A_STREAMING_CALL = {
    "Active calls": ("A",),
    "Calls started per minute": ("A",),
    "Turns per minute": ("A",),
    "p50 per stage": ("A", "B", "C", "D"),
    "p95 per stage": ("A", "B", "C", "D"),
    "Voice-to-voice by path": ("A", "B", "C"),
    "Voice-to-voice under 1 s (share of turns)": ("A",),
}
STREAMING_VOICE_TO_VOICE = f'sum(zylin_voice_to_voice_seconds_count{{job="{JOB}", path="streaming"}})'


@dataclass(frozen=True)
class PanelQuery:
    panel: str
    ref_id: str
    expr: str


def dashboard_queries() -> list[PanelQuery]:
    """Every panel's target expression, with Grafana's variables replaced as Grafana would."""
    queries = []
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, f"{panel['title']}: a Grafana variable this test does not replace: {expr}"
            queries.append(PanelQuery(panel=panel["title"], ref_id=target["refId"], expr=expr))
    return queries


class Prometheus:
    """A Prometheus server in a child process, and its HTTP query API."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log
        self.http = httpx.Client(base_url=url, trust_env=False, timeout=5.0)

    def query(self, expr: str) -> dict[str, Any]:
        """The API's whole answer to an instant query now (``status``, ``data`` or ``error``)."""
        return self.http.get("/api/v1/query", params={"query": expr}).json()

    def vector(self, expr: str) -> list[float]:
        answer = self.query(expr)
        assert answer["status"] == "success", (expr, answer)
        return [float(series["value"][1]) for series in answer["data"]["result"]]

    def wait_for(self, condition: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout_s} s for {what}; prometheus log: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def last_scrape_at(self) -> float:
        """When Prometheus last scraped Zylin (epoch seconds), 0 before the first scrape."""
        return max(self.vector(f'timestamp(up{{job="{JOB}"}} == 1)'), default=0.0)

    def scraped_after(self, moment: float, scrapes: int = 2) -> None:
        """Wait until Prometheus has scraped Zylin ``scrapes`` times since ``moment``."""
        self.wait_for(
            lambda: self.last_scrape_at() >= moment + (scrapes - 1) * SCRAPE_INTERVAL_S,
            f"{scrapes} scrapes after {moment:.1f}",
        )


def _prometheus_ready(http: httpx.Client) -> bool:
    try:
        return http.get("/-/ready").status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def prometheus(zylin_url: str, tmp_path: Path) -> Iterator[Prometheus]:
    """Prometheus scraping the in-process Zylin's ``/metrics`` every second, stopped after the test."""
    zylin_address = zylin_url.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        f"""
global:
  scrape_interval: {SCRAPE_INTERVAL_S}s
  evaluation_interval: {SCRAPE_INTERVAL_S}s
scrape_configs:
  - job_name: {JOB}
    metrics_path: /metrics
    static_configs:
      - targets: ["{zylin_address}"]
"""
    )
    address = f"127.0.0.1:{free_port()}"
    log = tmp_path / "prometheus.log"
    with log.open("wb") as output:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [
                shutil.which("prometheus") or "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address={address}",
                "--log.level=warn",
            ],
            stdout=output,
            stderr=output,
            cwd=tmp_path,
        )
    server = Prometheus(f"http://{address}", process, log)
    try:
        server.wait_for(lambda: _prometheus_ready(server.http), "prometheus to be ready")
        yield server
    finally:
        server.http.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _streaming_series_create() -> None:
    """Create the streaming call's series at their current values before the first scrape.

    In production they exist from the first call on. Here Prometheus must see
    them before the call as well, or rate() would start from the call's own
    increase and show nothing.
    """
    for histogram, _field in metrics.TURN_LATENCY_FIELDS:
        histogram.labels(path="streaming")
    for speaker in metrics.SPEAKERS:
        metrics.TURNS.labels(path="streaming", speaker=speaker)
    metrics.CALLS_STARTED.labels(path="streaming", business="")
    metrics.ACTIVE_CALLS.labels(path="streaming", business="")


def test_dashboard_queries_show_a_simulated_call(
    prometheus: Prometheus, place_simulated_call: Callable[[], PlacedCall]
) -> None:
    _streaming_series_create()
    prometheus.scraped_after(time.time())
    voice_to_voice_before = prometheus.vector(STREAMING_VOICE_TO_VOICE)
    assert len(voice_to_voice_before) == 1, "Prometheus must see the voice-to-voice histogram before the call"

    placed = place_simulated_call()
    prometheus.scraped_after(time.time())

    answers = Turn.objects.filter(call=placed.call, speaker="assistant", voice_to_voice_ms__isnull=False)
    assert answers.count() >= 2, "both caller lines must have been answered"
    [voice_to_voice_after] = prometheus.vector(STREAMING_VOICE_TO_VOICE)
    assert voice_to_voice_after - voice_to_voice_before[0] == answers.count()

    queries = dashboard_queries()
    titles = {query.panel for query in queries}
    assert set(FED_BY_A_STREAMING_CALL) <= titles, "a panel this test expects is gone from the dashboard"
    refused, empty = [], []
    for query in queries:
        answer = prometheus.query(query.expr)
        if answer.get("status") != "success":
            refused.append((query.panel, query.ref_id, answer.get("error")))
            continue
        if query.ref_id in FED_BY_A_STREAMING_CALL.get(query.panel, ()):
            values = [float(series["value"][1]) for series in answer["data"]["result"]]
            if not any(math.isfinite(value) for value in values):
                empty.append((query.panel, query.ref_id, query.expr, values))
    assert refused == [], "Prometheus refused dashboard queries"
    assert empty == [], "panels a streaming call feeds show no figure"
