"""A Zylin to call: one already running, daphne in a thread of this process, or a daphne process.

Twisted's reactor runs once per process, so the in-process server is started
once and shared by everything in the process that needs it (the simulator
command, tests). A separate daphne process is what load tests use: the
simulator and the server then do not share a core or a GIL, and the
server's CPU time and memory can be read from ``/proc``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

_server_lock = threading.Lock()
_server_url: str | None = None
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def server_answers(base_url: str, *, timeout_s: float = 0.5) -> bool:
    """Whether an HTTP server answers at ``base_url`` (any status counts)."""
    try:
        httpx.get(base_url.rstrip("/") + "/metrics", timeout=timeout_s, trust_env=False)
    except httpx.HTTPError:
        return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def in_process_server(host: str = "127.0.0.1", *, timeout_s: float = 15.0) -> str:
    """Serve Zylin's ASGI application with daphne in a daemon thread; returns its base URL.

    Django must be set up. The first call starts the server; later calls
    return the same URL.
    """
    global _server_url
    with _server_lock:
        if _server_url is not None:
            return _server_url
        from daphne.server import Server

        from zylin.asgi import application

        server = Server(
            application=application,
            endpoints=[f"tcp:port=0:interface={host}"],
            signal_handlers=False,  # not the main thread
            verbosity=0,
        )
        threading.Thread(target=server.run, name="zylin-daphne", daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while not server.listening_addresses:
            if time.monotonic() > deadline:
                raise RuntimeError("daphne did not start listening")
            time.sleep(0.02)
        listen_host, port = server.listening_addresses[0]
        _server_url = f"http://{listen_host}:{port}"
        return _server_url


class DaphneProcess:
    """``daphne zylin.asgi:application`` in a child process on a free loopback port.

    Args:
        env: the child's environment (settings come from it, as for ``make run``).
        cwd: the project directory.
        log: where the child's output goes (discarded by default).
    """

    def __init__(self, *, env: dict[str, str], cwd: Path, host: str = "127.0.0.1", log: Path | None = None) -> None:
        self.host = host
        self.port = free_port(host)
        self._env = env
        self._cwd = cwd
        self._log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> DaphneProcess:
        command = [sys.executable, "-m", "zylin.serve", "-b", self.host, "-p", str(self.port), "zylin.asgi:application"]
        if self._log is None:
            self.process = subprocess.Popen(
                command, env=self._env, cwd=self._cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        else:
            with open(self._log, "ab") as log:  # the child keeps its own copy of the descriptor
                self.process = subprocess.Popen(command, env=self._env, cwd=self._cwd, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while not server_answers(self.url):
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("daphne did not start within 30 s")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far (Linux ``/proc``)."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def rss_mb(self) -> float:
        """Resident memory of the server now, in MiB."""
        assert self.process is not None
        pages = int(Path(f"/proc/{self.process.pid}/statm").read_text().split()[1])
        return pages * PAGE_SIZE / 2**20
