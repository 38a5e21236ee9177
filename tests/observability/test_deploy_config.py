"""The Grafana dashboard and the alert rules are valid and use only metrics Zylin exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django_prometheus.middleware import Metrics as DjangoPrometheusMetrics
from prometheus_client import REGISTRY

import calls.metrics  # noqa: F401  (registers Zylin's metrics)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/grafana/dashboards/zylin.json"
ALERTS = ROOT / "deploy/prometheus/alerts.yml"
ALERT_TESTS = Path(__file__).with_name("alerts_test.yml")
METRIC_NAME = re.compile(r"\b((?:zylin|django)_[a-z0-9_]+)\b")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
}

requires_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (Debian package 'prometheus'; `make test` adds it)"
)


def exported_names() -> set[str]:
    """Every sample name the process's registry can expose (Zylin's and django-prometheus's)."""
    DjangoPrometheusMetrics.get_instance()  # its request metrics register on first use
    names = set()
    for family in REGISTRY.collect():
        for suffix in SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def test_dashboard_is_valid_grafana_json():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"]
    assert dashboard["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert {"type", "title", "gridPos"} <= panel.keys()
        for target in panel.get("targets", []):
            assert target["expr"].strip()
            assert target["refId"]


def test_dashboard_references_only_exported_metrics():
    exported = exported_names()
    used = {name for expr in dashboard_exprs() for name in METRIC_NAME.findall(expr)}
    assert used, "the dashboard queries no metric"
    assert used - exported == set()


def test_dashboard_shows_what_operators_need():
    exprs = "\n".join(dashboard_exprs())
    for needed in (
        "zylin_active_calls",
        "zylin_asr_final_seconds_bucket",
        "zylin_agent_first_token_seconds_bucket",
        "zylin_tts_first_audio_seconds_bucket",
        "zylin_voice_to_voice_seconds_bucket",
        "zylin_barge_ins_total",
        "zylin_provider_errors_total",
        "zylin_bookings_total",
    ):
        assert needed in exprs
    assert "histogram_quantile(0.95" in exprs
    assert "sum by (path, change) (rate(zylin_bookings_total" in exprs


def test_alert_rules_are_valid_and_use_exported_metrics():
    rules = alert_rules()
    names = {rule["alert"] for rule in rules}
    assert {"ZylinVoiceToVoiceP95High", "ZylinProviderErrorRateHigh", "ZylinRecordingTasksNotStarting"} <= names
    exported = exported_names()
    for rule in rules:
        assert rule["expr"].strip()
        assert rule["labels"]["severity"] in {"page", "warning"}
        assert set(METRIC_NAME.findall(rule["expr"])) - exported == set(), rule["alert"]
    p95 = next(rule for rule in rules if rule["alert"] == "ZylinVoiceToVoiceP95High")
    assert "histogram_quantile(0.95" in p95["expr"]
    assert p95["expr"].strip().endswith("> 2")


@requires_promtool
def test_promtool_checks_the_rules():
    result = subprocess.run(["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@requires_promtool
def test_promtool_parses_every_dashboard_query(tmp_path):
    # Grafana's $__rate_interval is not PromQL; any range stands in for it.
    rules = [
        {"record": f"zylin:dashboard_query:{index}", "expr": expr.replace("$__rate_interval", "5m")}
        for index, expr in enumerate(dashboard_exprs())
    ]
    rules_file = tmp_path / "dashboard_rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(["promtool", "check", "rules", str(rules_file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@requires_promtool
def test_alerts_fire_on_synthetic_series():
    result = subprocess.run(
        ["promtool", "test", "rules", ALERT_TESTS.name], cwd=ALERT_TESTS.parent, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
