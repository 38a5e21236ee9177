"""The agent is plain asyncio: importing it loads no Django, Channels or Celery (style guide, rule 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_agent_modules_import_without_django() -> None:
    code = (
        "import sys\n"
        "import calls.agent.local, calls.agent.openai_agent, calls.agent.tools, calls.agent.intents\n"
        "import calls.agent.spoken_time, calls.agent.speech, calls.agent.state\n"
        "loaded = [m for m in ('django', 'channels', 'celery') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
