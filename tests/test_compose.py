"""docker-compose.yml, checked without a Docker engine: services, builds, environment, files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import environ
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
APP_SERVICES = ("web", "worker")
VENDOR_KEYS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "DEEPGRAM_API_KEY", "OPENAI_API_KEY", "ELEVENLABS_API_KEY")
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<op>:-|:\?|-|\?)?(?P<default>[^}]*)\}")


def interpolate(value: str, environment: dict[str, str]) -> str:
    """Compose's ${VAR:-default} substitution, for the forms this file uses."""

    def substitute(match: re.Match[str]) -> str:
        name, op, default = match["name"], match["op"], match["default"]
        current = environment.get(name)
        if op == ":-":
            return current if current else default
        if op == "-":
            return default if current is None else current
        if current is None:
            raise AssertionError(f"${{{name}}} has no default, so `docker compose config` needs it set")
        return current

    return VARIABLE.sub(substitute, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _environment(service: dict, outer: dict[str, str] | None = None) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate(str(value), outer or {}) for key, value in env.items()}


def _command(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def test_it_has_the_six_services(compose):
    assert {"postgres", "redis", "web", "worker", "prometheus", "grafana"} <= set(compose["services"])


def test_every_variable_has_a_default_so_config_parses_with_an_empty_environment():
    text = COMPOSE.read_text()
    for match in VARIABLE.finditer(text):
        assert match["op"] == ":-", f"${{{match['name']}}} should be written ${{{match['name']}:-...}}"
    assert "$" not in VARIABLE.sub("", text.replace("$$", "")), "a $ that compose would not understand"


def test_web_and_worker_build_the_python_image(compose):
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert "pip install -r requirements.txt" in dockerfile
    for name in APP_SERVICES:
        service = compose["services"][name]
        build = service["build"]
        context = build if isinstance(build, str) else build["context"]
        assert (ROOT / context / "Dockerfile").is_file()
    for name in ("postgres", "redis", "prometheus", "grafana"):
        image = compose["services"][name]["image"]
        assert ":" in image, f"{name} should pin its image"
        assert not image.endswith(":latest"), f"{name} should pin its image"


def test_web_migrates_then_runs_daphne_behind_the_proxy(compose):
    command = _command(compose["services"]["web"])
    assert command.index("manage.py migrate") < command.index("zylin.serve")  # daphne on uvloop
    assert "--proxy-headers" in command
    assert "zylin.asgi:application" in command
    assert "8000" in " ".join(compose["services"]["web"]["ports"])


def test_worker_runs_celery_for_the_zylin_app(compose):
    assert re.search(r"celery -A zylin worker\b", _command(compose["services"]["worker"]))


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_are_configured_through_the_environment(compose, name):
    env = _environment(compose["services"][name])
    database = environ.Env.db_url_config(env["DATABASE_URL"])
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["HOST"] == "postgres"
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"
    for key in ("SECRET_KEY", "PUBLIC_BASE_URL", *VENDOR_KEYS):
        assert key in env
    assert env["DEBUG"] == "0"
    assert "web" in env["ALLOWED_HOSTS"].split(",")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_values_from_the_host_environment_pass_through(compose, name):
    outer = {
        "SECRET_KEY": "s3cret",
        "PUBLIC_BASE_URL": "https://zylin.example.com",
        "ALLOWED_HOSTS": "zylin.example.com",
        "POSTGRES_PASSWORD": "pg-s3cret",
        **{key: f"value-of-{key}" for key in VENDOR_KEYS},
    }
    env = _environment(compose["services"][name], outer)
    assert env["SECRET_KEY"] == "s3cret"
    assert env["PUBLIC_BASE_URL"] == "https://zylin.example.com"
    assert environ.Env.db_url_config(env["DATABASE_URL"])["PASSWORD"] == "pg-s3cret"
    assert _environment(compose["services"]["postgres"], outer)["POSTGRES_PASSWORD"] == "pg-s3cret"
    assert env["ALLOWED_HOSTS"].split(",")[0] == "zylin.example.com"
    for key in VENDOR_KEYS:
        assert env[key] == f"value-of-{key}"


def test_no_secret_is_written_into_the_file(compose):
    for name in APP_SERVICES:
        env = _environment(compose["services"][name])
        assert env["SECRET_KEY"] == ""
        assert all(env[key] == "" for key in VENDOR_KEYS)


def test_app_services_wait_for_healthy_databases(compose):
    for name in APP_SERVICES:
        depends = compose["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    for name in ("postgres", "redis", "web"):
        assert compose["services"][name]["healthcheck"]["test"]


def _bind_mounts(service: dict) -> list[tuple[Path, str]]:
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append(((ROOT / source).resolve(), target))
    return mounts


def _host_path(service: dict, container_path: str) -> Path:
    for source, target in _bind_mounts(service):
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return source / container_path[len(target) :].lstrip("/")
    raise AssertionError(f"{container_path} is not mounted from the repository")


def test_every_mounted_file_exists_and_named_volumes_are_declared(compose):
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for source, _target in _bind_mounts(service):
            assert source.exists(), f"{name} mounts missing {source}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} uses undeclared volume {source}"


def test_prometheus_scrapes_web_and_worker_metrics(compose):
    prometheus = compose["services"]["prometheus"]
    config_flag = next(arg for arg in prometheus["command"] if arg.startswith("--config.file="))
    config_path = _host_path(prometheus, config_flag.split("=", 1)[1])
    config = yaml.safe_load(config_path.read_text())
    for rule_file in config.get("rule_files", []):
        rules = yaml.safe_load((config_path.parent / rule_file).read_text())
        assert rules["groups"], rule_file
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
        if job.get("metrics_path", "/metrics") == "/metrics"
    }
    worker_port = _environment(compose["services"]["worker"])["ZYLIN_WORKER_METRICS_PORT"]
    assert {"web:8000", f"worker:{worker_port}"} <= targets
    for target in targets:
        host = target.split(":")[0]
        assert host == "localhost" or host in compose["services"], target


def test_grafana_is_provisioned_with_prometheus_and_the_dashboards(compose):
    grafana = compose["services"]["grafana"]
    provisioning = _host_path(grafana, "/etc/grafana/provisioning")
    datasources = [
        source
        for path in sorted((provisioning / "datasources").glob("*.yml"))
        for source in yaml.safe_load(path.read_text())["datasources"]
    ]
    prometheus = next(source for source in datasources if source["type"] == "prometheus")
    assert urlsplit(prometheus["url"]).hostname == "prometheus"
    assert prometheus["isDefault"] is True

    providers = [
        provider
        for path in sorted((provisioning / "dashboards").glob("*.yml"))
        for provider in yaml.safe_load(path.read_text())["providers"]
    ]
    assert providers
    for provider in providers:
        folder = _host_path(grafana, provider["options"]["path"])
        dashboards = sorted(folder.glob("*.json"))
        assert dashboards, folder
        for path in dashboards:
            dashboard = json.loads(path.read_text())
            assert dashboard["uid"], path
            assert dashboard["title"], path
            assert dashboard["panels"], path


def test_the_docker_build_context_leaves_out_local_state():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".venv", ".git", "*.sqlite3", ".env"):
        assert entry in ignored


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed")
def test_prometheus_config_passes_promtool():
    result = subprocess.run(
        ["promtool", "check", "config", str(ROOT / "deploy" / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
