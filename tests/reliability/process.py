"""A Zylin daphne process of its own, for tests that need signals, real sockets or a separate core.

The process gets a throw-away SQLite database with the demo business (built
once per test run, then copied), stand-in voices, and the test's own signing
token and public URL so the simulator in the test process can sign for it.
The test reads the process's database directly (``query``) to check what it
stored.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from calls.simulator.server import PAGE_SIZE, free_port

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_BASE_URL = "http://zylin.test"
SIGNING_TOKEN = "reliability-process-token"
# Settings the process must not inherit from the test run's environment.
_DROPPED = ("DATABASE_URL", "REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_API_BASE_URL", "DEEPGRAM_API_KEY",
            "OPENAI_API_KEY", "ELEVENLABS_API_KEY", "CELERY_QUEUE", "DJANGO_SETTINGS_MODULE")  # fmt: skip


def process_environment(database: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED}
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SETTINGS_MODULE="zylin.settings",
        DEBUG="1",
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        # The auth token alone (no account SID) is the signing key; Zylin stays in embedded mode.
        TWILIO_AUTH_TOKEN=SIGNING_TOKEN,
        LOG_LEVEL="INFO",
        ZYLIN_DEMO_PASSWORD="reliability-only",
        ZYLIN_ASR="standin",
        ZYLIN_AGENT="local",
        ZYLIN_TTS="standin",
    )
    env.update(extra)
    return env


def database_template(directory: Path) -> Path:
    """A migrated database with the demo business, answering on streaming at any hour."""
    database = directory / "template.sqlite3"
    env = process_environment(database)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    subprocess.run([*manage, "seed_demo"], cwd=ROOT, env=env, check=True, timeout=120, capture_output=True)
    with sqlite3.connect(database) as db:
        db.execute("UPDATE businesses_business SET after_hours = 'stream' WHERE slug = 'bella-hair-studio'")
    return database


class ZylinProcess:
    """``daphne <app>`` in a child process on a free loopback port, with its own database copy.

    Args:
        template: the database to copy (see ``database_template``).
        directory: where the copy and the log go.
        app: the ASGI application path.
        env: extra environment (settings) for the process.
    """

    def __init__(self, *, template: Path, directory: Path, app: str = "zylin.asgi:application", **env: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.database = directory / "zylin.sqlite3"
        shutil.copy(template, self.database)
        self.log = directory / "daphne.log"
        self.port = free_port()
        self.app = app
        self.env = process_environment(self.database, **env)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ZylinProcess:
        command = [sys.executable, "-m", "zylin.serve", "-b", "127.0.0.1", "-p", str(self.port), self.app]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while not self.answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}:\n{self.log_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("daphne did not start within 60 s")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def answers(self) -> bool:
        try:
            httpx.get(f"{self.url}/metrics", timeout=0.5, trust_env=False)
        except httpx.HTTPError:
            return False
        return True

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout_s: float) -> int | None:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.database, timeout=10) as db:
            return db.execute(sql, params).fetchall()

    def cpu_seconds(self) -> float:
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        assert self.process is not None
        pages = int(Path(f"/proc/{self.process.pid}/statm").read_text().split()[1])
        return pages * PAGE_SIZE / 2**20
