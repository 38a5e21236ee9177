"""The voice loop and the agent are plain asyncio: importing them must not pull in Django."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import importlib, json, pkgutil, sys
import calls.agent, calls.voice
names = ["calls.audio", "calls.twilio_media", "calls.providers.standin"]
for package in (calls.voice, calls.agent):
    names += [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
frameworks = sorted({m.split(".")[0] for m in sys.modules} & {"django", "channels", "celery", "daphne"})
print(json.dumps({"imported": names, "frameworks": frameworks}))
"""


def test_voice_and_agent_import_without_django() -> None:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "calls.voice.session" in report["imported"]
    assert report["frameworks"] == []
