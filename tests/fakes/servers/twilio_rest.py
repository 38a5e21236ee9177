"""A local server that speaks the parts of Twilio's REST API Zylin uses.

* ``GET /2010-04-01/Accounts/{AC}/Recordings/{RE}.wav``: a recording added with
  ``add_recording`` (404 with Twilio's JSON error otherwise);
* ``POST /2010-04-01/Accounts/{AC}/Messages.json``: accepts a message, answers
  with a ``SM...`` sid and status ``queued``;
* ``POST /2010-04-01/Accounts/{AC}/Calls/{CA}.json``: updates a live call (``Twiml``,
  ``Url`` or ``Status``); a call listed in ``ended_calls`` answers Twilio's
  error 21220 ("not in-progress").

Every request needs HTTP Basic auth with the account SID and auth token (401
otherwise) and is recorded. Faults are queued per kind (``recording``,
``message``, ``call``): an HTTP status to answer with, or ``"stall"`` to hold
the request for ``stall_s`` seconds before answering normally.

It is a threaded stdlib server, so synchronous code under test (the twilio SDK,
a Celery worker in another process) can call it while the test waits.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

FaultKind = Literal["recording", "message", "call"]
Fault = int | Literal["stall"]

_RECORDING = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Recordings/(RE\w+?)(\.wav|\.mp3)?$")
_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages\.json$")
_CALL = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Calls/(CA\w+)\.json$")


@dataclass
class TwilioRequest:
    """One request as the fake received it."""

    method: str
    path: str
    kind: str
    headers: dict[str, str]
    form: dict[str, list[str]] = field(default_factory=dict)
    authorized: bool = False
    answered: int = 0

    def value(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


class FakeTwilioRest:
    """Twilio's REST API on 127.0.0.1, for one account."""

    def __init__(self, *, account_sid: str = "AC" + "0" * 32, auth_token: str = "fake-twilio-token") -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.recordings: dict[str, bytes] = {}
        self.ended_calls: set[str] = set()
        self.requests: list[TwilioRequest] = []
        self.stall_s = 2.0
        self._faults: dict[str, list[Fault]] = {"recording": [], "message": [], "call": []}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- control -----------------------------------------------------------

    def start(self) -> FakeTwilioRest:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-twilio", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTwilioRest:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_recording(self, recording_sid: str, wav: bytes) -> str:
        """Serve a recording; returns the ``RecordingUrl`` Twilio would post (no extension)."""
        self.recordings[recording_sid] = wav
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording_sid}"

    def fail_next(self, kind: FaultKind, *faults: Fault) -> None:
        with self._lock:
            self._faults[kind].extend(faults)

    def of_kind(self, kind: str) -> list[TwilioRequest]:
        with self._lock:
            return [r for r in self.requests if r.kind == kind]

    @property
    def messages(self) -> list[TwilioRequest]:
        """Messages Twilio accepted (not the refused or faulted attempts)."""
        return [r for r in self.of_kind("message") if r.answered == HTTPStatus.CREATED]

    # --- serving -------------------------------------------------------------

    def _take_fault(self, kind: str) -> Fault | None:
        with self._lock:
            return self._faults[kind].pop(0) if self._faults[kind] else None

    def _authorized(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        kind = (
            "recording"
            if _RECORDING.match(path)
            else "message"
            if _MESSAGES.match(path)
            else "call"
            if _CALL.match(path)
            else "unknown"
        )
        request = TwilioRequest(
            method=handler.command,
            path=path,
            kind=kind,
            headers={k.lower(): v for k, v in handler.headers.items()},
            form=parse_qs(body, keep_blank_values=True),
            authorized=self._authorized(handler.headers.get("Authorization", "")),
        )
        with self._lock:
            self.requests.append(request)
        status, payload, content_type = self._answer(request, kind, path)
        request.answered = status
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def _answer(self, request: TwilioRequest, kind: str, path: str) -> tuple[int, bytes, str]:
        if kind == "unknown":
            return _error(404, 20404, "The requested resource was not found")
        if not request.authorized:
            return _error(401, 20003, "Authentication Error - invalid username")
        fault = self._take_fault(kind)
        if fault == "stall":
            time.sleep(self.stall_s)
        elif fault is not None:
            return _error(int(fault), 20500 if int(fault) >= 500 else 20001, "Injected fault")
        if kind == "recording":
            return self._recording(path)
        if kind == "message":
            return self._message(request)
        return self._call(request, path)

    def _recording(self, path: str) -> tuple[int, bytes, str]:
        match = _RECORDING.match(path)
        assert match is not None
        if match.group(1) != self.account_sid or match.group(2) not in self.recordings:
            return _error(404, 20404, "The requested resource was not found")
        return 200, self.recordings[match.group(2)], "audio/x-wav"

    def _message(self, request: TwilioRequest) -> tuple[int, bytes, str]:
        if not request.value("To") or not (
            request.value("Body") or request.value("ContentSid") or request.value("MediaUrl")
        ):
            return _error(400, 21619, "A text message body, media URL or content SID is required")
        sid = "SM" + uuid.uuid4().hex
        payload = {
            "sid": sid,
            "account_sid": self.account_sid,
            "status": "queued",
            "to": request.value("To"),
            "from": request.value("From"),
            "body": request.value("Body") or "",
            "num_media": str(len(request.form.get("MediaUrl", []))),
            "direction": "outbound-api",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        return 201, json.dumps(payload).encode(), "application/json"

    def _call(self, request: TwilioRequest, path: str) -> tuple[int, bytes, str]:
        match = _CALL.match(path)
        assert match is not None
        call_sid = match.group(2)
        if call_sid in self.ended_calls:
            return _error(400, 21220, "Call is not in-progress. Cannot redirect.")
        status = "completed" if request.value("Status") == "completed" else "in-progress"
        if status == "completed":
            self.ended_calls.add(call_sid)
        payload = {
            "sid": call_sid,
            "account_sid": self.account_sid,
            "status": status,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call_sid}.json",
        }
        return 200, json.dumps(payload).encode(), "application/json"


def _error(status: int, code: int, message: str) -> tuple[int, bytes, str]:
    payload = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return status, json.dumps(payload).encode(), "application/json"
