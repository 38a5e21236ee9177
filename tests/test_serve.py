"""``python -m zylin.serve``: daphne on uvloop unless turned off."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _loop_in_child(env: dict[str, str]) -> str:
    """The loop policy and daphne's Twisted loop in a fresh interpreter, after the launcher's choice."""
    code = (
        "from zylin.serve import event_loop_choose; chosen = event_loop_choose(); "
        "import daphne.server as s; print(chosen, type(s.twisted_loop).__module__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_daphne_runs_twisted_on_uvloop() -> None:
    pytest.importorskip("uvloop")
    assert _loop_in_child({"ZYLIN_UVLOOP": "1"}) == "uvloop uvloop"


def test_uvloop_can_be_turned_off() -> None:
    chosen, loop_module = _loop_in_child({"ZYLIN_UVLOOP": "0"}).split()
    assert chosen == "asyncio"
    assert loop_module.startswith("asyncio")


def test_the_launcher_leaves_this_process_alone_when_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from zylin.serve import event_loop_choose

    monkeypatch.setenv("ZYLIN_UVLOOP", "0")
    policy = asyncio.get_event_loop_policy()
    assert event_loop_choose() == "asyncio"
    assert asyncio.get_event_loop_policy() is policy
