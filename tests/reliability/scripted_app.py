"""Zylin's ASGI application with a scripted recognizer, for a daphne child process in tests.

Everything is the real application (``zylin.asgi``: consumer, voice loop, local
agent, graceful shutdown) except what the caller "says": the recognizer of the
k-th call reports the lines of script k (``ZYLIN_TEST_SCRIPTS``, a JSON list
of lists), one line per turn, so a test can hold a real conversation with the
process and book a slot without speech recognition in the way.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

from calls import wiring
from tests.reliability.recognizer import LinesRecognizer
from zylin.asgi import application as zylin_application

SCRIPTS: list[list[str]] = json.loads(os.environ.get("ZYLIN_TEST_SCRIPTS", "[]"))
_next_script = itertools.count()


def _stt_build(*, business: Any) -> LinesRecognizer:
    index = next(_next_script)
    return LinesRecognizer(SCRIPTS[index % len(SCRIPTS)] if SCRIPTS else [])


wiring.stt_build = _stt_build  # type: ignore[assignment]
application = zylin_application
