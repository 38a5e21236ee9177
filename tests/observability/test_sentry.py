"""Error events leave without phone numbers or what callers said."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from zylin.observability import FILTERED, call_context, scrub_breadcrumb, scrub_event, sentry_init

ROOT = Path(__file__).resolve().parents[2]
PHONE = "+15551230000"
MASKED = "+1555***0000"
SPEECH = "I would like a haircut on Friday at three"


def test_scrubber_masks_numbers_and_drops_transcripts_and_bodies():
    event = {
        "message": f"call from {PHONE}",
        "logentry": {
            "message": "could not book for %s: %s",
            "params": [PHONE, SPEECH],
            "formatted": f"could not book for {PHONE}: {SPEECH}",
        },
        "exception": {"values": [{"type": "ValueError", "value": f"no customer {PHONE}"}]},
        "extra": {"transcript": SPEECH, "call_id": 42, "nested": {"Body": "see you", "reply_text": SPEECH}},
        "request": {
            "url": "https://zylin.example/twilio/voice",
            "data": {"From": PHONE, "SpeechResult": SPEECH},
            "query_string": f"From={PHONE}",
            "headers": {"User-Agent": "TwilioProxy/1.1"},
        },
        "breadcrumbs": {"values": [{"message": f"sent to whatsapp:{PHONE}", "data": {"to": PHONE}}]},
    }
    with call_context("CA123"):
        scrubbed = scrub_event(event, {})
    text = json.dumps(scrubbed)
    assert PHONE not in text
    assert "haircut" not in text
    assert "see you" not in text
    assert scrubbed["message"] == f"call from {MASKED}"
    assert scrubbed["logentry"] == {
        "message": "could not book for %s: %s",
        "params": [MASKED, FILTERED],
        "formatted": "could not book for %s: %s",
    }
    assert scrubbed["exception"]["values"][0]["value"] == f"no customer {MASKED}"
    assert scrubbed["extra"]["transcript"] == FILTERED
    assert scrubbed["extra"]["call_id"] == 42
    assert scrubbed["request"]["data"] == FILTERED
    assert scrubbed["request"]["headers"] == {"User-Agent": "TwilioProxy/1.1"}
    assert scrubbed["tags"]["call_sid"] == "CA123"


def test_log_breadcrumbs_keep_only_their_template():
    import logging

    record = logging.LogRecord("calls", logging.INFO, __file__, 1, "caller said %s", (SPEECH,), None)
    crumb = scrub_breadcrumb({"message": record.getMessage(), "category": "calls"}, {"log_record": record})
    assert crumb["message"] == "caller said %s"


def test_no_dsn_no_sentry():
    assert sentry_init("") is False


# Runs in its own process: Sentry patches logging and Django globally. A local
# HTTP server plays sentry.io, so the SDK's real transport sends real envelopes.
SENTRY_PROCESS = r"""
import gzip, json, logging, os, sys, threading, zlib
from http.server import BaseHTTPRequestHandler, HTTPServer

received = []

class FakeSentry(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli
            body = brotli.decompress(body)
        received.append(body.decode())
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), FakeSentry)
threading.Thread(target=server.serve_forever, daemon=True).start()
os.environ["SENTRY_DSN"] = f"http://publickey@127.0.0.1:{server.server_port}/1"

import django
django.setup()
import sentry_sdk
from zylin.observability import call_context

log = logging.getLogger("calls.voice")
phone, speech = os.environ["TEST_PHONE"], os.environ["TEST_SPEECH"]
with call_context("CA0000000000000000000000000000beef"):
    log.info("caller said %s", speech)
    log.error("no slot for %s who said %s", phone, speech)
    try:
        raise ValueError(f"customer {phone} not found")
    except ValueError:
        sentry_sdk.capture_exception()
sentry_sdk.flush(timeout=5)
server.shutdown()
print(json.dumps(received))
"""


def test_real_sdk_sends_scrubbed_events_to_the_dsn(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "zylin.settings_test",
        "HOME": str(tmp_path),
        "TEST_PHONE": PHONE,
        "TEST_SPEECH": SPEECH,
    }
    result = subprocess.run(
        [sys.executable, "-c", SENTRY_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    envelopes = json.loads(result.stdout.strip().splitlines()[-1])
    events = [
        json.loads(line)
        for envelope in envelopes
        for line in envelope.splitlines()
        if line.startswith("{") and '"event_id"' in line and '"level"' in line
    ]
    assert len(events) == 2, envelopes
    sent = "\n".join(envelopes)
    assert PHONE not in sent
    assert "haircut" not in sent
    assert MASKED in sent
    for event in events:
        assert event["tags"]["call_sid"] == "CA0000000000000000000000000000beef"
    logged = next(event for event in events if event.get("logentry"))
    assert logged["logentry"]["params"] == [MASKED, FILTERED]
    assert any(crumb.get("message") == "caller said %s" for crumb in logged["breadcrumbs"]["values"])
