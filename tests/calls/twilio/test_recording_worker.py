"""The recording path through a real Celery worker process on the Redis broker.

The worker is ``celery -A zylin worker`` configured from the environment as in
production, pointed at the fake Twilio REST and OpenAI servers this test runs;
it speaks with piper. Runs when ``REDIS_URL`` answers and the test database can
be shared with another process (PostgreSQL, as in CI); skips with the reason
otherwise.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from calls.models import OutboundMessage, Recording, Turn
from calls.tasks import recording_chain
from tests.calls.twilio.conftest import OPENAI_KEY, PUBLIC, REPLY_TEMPLATE, OpenAIFakes
from tests.calls.twilio.recording_flow import CLIP_TEXT, recorded_call
from tests.fakes.servers.openai_chat import ChatReply
from tests.fakes.servers.twilio_rest import FakeTwilioRest
from zylin.celery import app as celery_app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
CALL_SID = "CA" + "d" * 32
RECORDING_SID = "RE" + "e" * 32
MODEL_REPLY = "A haircut is forty-five dollars. Would you like to book one?"
WAIT_S = 90.0


def shared_database_url() -> str | None:
    """A DATABASE_URL reaching the test database from another process, or None."""
    settings = connection.settings_dict
    engine = settings["ENGINE"]
    if engine.endswith("sqlite3"):
        return None if connection.is_in_memory_db() else f"sqlite:///{settings['NAME']}"
    if "postgresql" in engine:
        user = quote(settings.get("USER") or "", safe="")
        password = quote(settings.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings.get("HOST") or "localhost"
        port = settings.get("PORT") or "5432"
        return f"postgres://{credentials}{host}:{port}/{settings['NAME']}"
    return None


@pytest.fixture
def broker(redis_url: str | None) -> str:
    if redis_url is None:
        pytest.skip("REDIS_URL is not set or Redis does not answer: no broker for a worker")
    return redis_url


@pytest.fixture
def database_url() -> str:
    url = shared_database_url()
    if url is None:
        pytest.skip(
            "the test database is in-memory SQLite, which a worker process cannot share "
            "(run with DATABASE_URL=postgres://... as CI does)"
        )
    return url


@pytest.fixture
def queue() -> str:
    return f"zylin-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def producer(broker: str, queue: str) -> Iterator[None]:
    """Send this process's tasks to the Redis broker, on the test's own queue."""
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url", "task_default_queue")}
    celery_app.conf.update(task_always_eager=False, broker_url=broker, task_default_queue=queue)
    celery_app._after_fork()  # drop connection pools made for the old broker
    yield
    celery_app.conf.update(saved)
    celery_app._after_fork()


@pytest.fixture
def worker(
    broker: str,
    database_url: str,
    queue: str,
    pipeline: FakeTwilioRest,
    openai_fakes: OpenAIFakes,
    media_root: Path,
) -> Iterator[subprocess.Popen[bytes]]:
    fake_twilio = pipeline
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "zylin.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_QUEUE": queue,
        "MEDIA_ROOT": str(media_root),
        "PUBLIC_BASE_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
        "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_API_BASE_URL": fake_twilio.url,
        "TWILIO_WHATSAPP_REPLY_TEMPLATE_SID": REPLY_TEMPLATE,
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": openai_fakes.chat.base_url,
        "OPENAI_TRANSCRIBE_BASE_URL": f"{openai_fakes.audio.url}/v1",
        "ZYLIN_AGENT": "openai",
        "ZYLIN_TTS": "piper",
    }
    log = (media_root / "worker.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--app=zylin",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            f"--queues={queue}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    log.close()


def wait_for(predicate: Any, *, what: str, log: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()[-4000:]}")


def queue_drained(broker: str, queue: str) -> bool:
    import redis

    client = redis.Redis.from_url(broker)
    return client.llen(queue) == 0 and client.hlen("unacked") == 0


def test_worker_answers_a_recorded_call_once(
    worker, producer, pipeline, openai_fakes, broker, queue, client, media_root
) -> None:
    openai_fakes.chat.add(ChatReply(text=MODEL_REPLY))
    fake_twilio = pipeline
    recorded_call(client, fake_twilio, call_sid=CALL_SID, recording_sid=RECORDING_SID, status_posts=3)
    # A redelivered chain (worker restart, duplicate enqueue) must find the work done.
    recording_chain(RECORDING_SID).apply_async()
    recording_chain(RECORDING_SID).apply_async()

    log = media_root / "worker.log"
    wait_for(lambda: Recording.objects.get(sid=RECORDING_SID).state == Recording.State.SENT, what="the reply", log=log)
    wait_for(lambda: queue_drained(broker, queue), what="the duplicate chains", log=log)

    recording = Recording.objects.get(sid=RECORDING_SID)
    assert recording.transcript == CLIP_TEXT
    assert recording.reply_text == MODEL_REPLY
    assert recording.reply_audio.read(4) == b"OggS"
    assert len(fake_twilio.of_kind("recording")) == 1
    assert len(openai_fakes.audio.requests) == 1
    assert len(openai_fakes.chat.requests) == 1
    (message,) = fake_twilio.messages
    assert message.value("ContentSid") == REPLY_TEMPLATE
    assert OutboundMessage.objects.count() == 1
    assert list(Turn.objects.order_by("index").values_list("speaker", "text")) == [
        (Turn.Speaker.CALLER, CLIP_TEXT),
        (Turn.Speaker.ASSISTANT, MODEL_REPLY),
    ]
    assert "calls.recording_send" in log.read_text()
