"""Unauthenticated access, brute force, production hardening and personal data in logs.

An audit across the whole surface rather than one endpoint at a time: every
Twilio-facing URL refuses an unsigned request and stores nothing, every admin
page needs a login, the media socket refuses an unsigned upgrade before any
session exists, the admin login locks out guessing, production settings set
secure cookies and pass ``check --deploy``, and a real call's log output holds
neither the caller's number nor what they said.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.contrib import admin
from django.core import signing
from django.core.cache.backends import locmem
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from bookings.models import Booking, Customer
from businesses.models import Business
from calls import wiring
from calls.media_urls import reply_audio_url
from calls.models import Call, CallEvent, OutboundMessage, Recording, Turn
from calls.twilio_signature import SIGNATURE_HEADER, signature_compute
from tests.factories import UserFactory
from tests.reliability.conftest import CALLER, DEMO_NUMBER, stream_parameters, streaming_call
from tests.reliability.phone import PUBLIC_BASE_URL, Phone, media_socket, upgrade_signature
from tests.reliability.scenarios import booking_lines, converse, weekday_ahead
from zylin import admin_security
from zylin.observability import CallContextFilter, MaskingFormatter

ROOT = Path(__file__).resolve().parents[2]
OTHER_NUMBER = "+12125550199"
CALL_SID = "CA" + "7" * 32
ACCOUNT_SID = "AC" + "0" * 32

# Every Twilio-facing POST endpoint with the parameters Twilio sends it.
WEBHOOKS: dict[str, dict[str, str]] = {
    "/twilio/voice": {"CallSid": CALL_SID, "AccountSid": ACCOUNT_SID, "From": CALLER, "To": DEMO_NUMBER,
                      "CallStatus": "ringing", "Direction": "inbound"},
    "/twilio/route": {"CallSid": CALL_SID, "SpeechResult": "I want a haircut", "Confidence": "0.9"},
    "/twilio/status": {"CallSid": CALL_SID, "CallStatus": "completed", "CallDuration": "30"},
    "/twilio/stream-status": {"CallSid": CALL_SID, "StreamSid": "MZ" + "1" * 32, "StreamEvent": "stream-started"},
    "/twilio/recording": {"CallSid": CALL_SID, "RecordingSid": "RE" + "1" * 32, "RecordingStatus": "completed",
                          "RecordingUrl": "https://api.twilio.com/rec", "RecordingDuration": "5"},
    "/twilio/recording-done": {"CallSid": CALL_SID, "RecordingSid": "RE" + "1" * 32, "RecordingDuration": "5"},
    "/twilio/dial-done": {"CallSid": CALL_SID, "DialCallStatus": "completed"},
    "/twilio/message-status": {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"},
    "/twilio/whatsapp": {"From": "whatsapp:" + CALLER, "To": "whatsapp:+14155238886", "Body": "hello"},
}  # fmt: skip
STORED = (Call, CallEvent, Recording, OutboundMessage, Turn, Booking, Customer)


def stored_rows() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in STORED}


def forged_signatures(path: str, params: dict[str, str]) -> dict[str, str]:
    """The ways a request can fail Twilio's check, each a signature header value."""
    url = f"{PUBLIC_BASE_URL}{path}"
    genuine = signature_compute(url=url, params=params)
    return {
        "missing": "",
        "garbage": "bm90IGEgc2lnbmF0dXJl",
        "replayed with changed params": genuine,  # sent with one parameter altered
        "signed for another URL": signature_compute(url=f"{PUBLIC_BASE_URL}/twilio/other", params=params),
        "signed over http": signature_compute(url=url.replace("https://", "http://"), params=params),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("path", list(WEBHOOKS))
def test_every_webhook_refuses_an_unsigned_request_and_stores_nothing(
    path: str, demo_business: Business, edge_settings: Any, client: Client, ledger: Any
) -> None:
    params = WEBHOOKS[path]
    before = stored_rows()
    for how, signature in forged_signatures(path, params).items():
        body = (
            {**params, next(iter(params)): params[next(iter(params))] + "0"} if how.startswith("replayed") else params
        )
        headers = {f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": signature} if signature else {}
        ledger.bad_input(f"webhook: {how}")
        response = client.post(path, body, **headers)
        assert response.status_code == 403, (path, how)
    assert client.get(path).status_code == 405
    assert stored_rows() == before


@pytest.mark.django_db
def test_a_correctly_signed_webhook_gets_through(demo_business: Business, edge_settings: Any, client: Client) -> None:
    """The refusals above are the signature's doing, not a broken endpoint."""
    params = WEBHOOKS["/twilio/voice"]
    signature = signature_compute(url=f"{PUBLIC_BASE_URL}/twilio/voice", params=params)
    response = client.post("/twilio/voice", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200
    assert Call.objects.filter(sid=CALL_SID).exists()


# -- the media socket ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "signature",
    ["", "bm90IGEgc2lnbmF0dXJl", "other path", "other token"],
    ids=["missing", "garbage", "signed for another path", "signed with another token"],
)
async def test_an_unsigned_media_stream_is_refused_before_anything_is_built(
    signature: str,
    demo_business: Business,
    edge_settings: Any,
    capacity: Any,
    monkeypatch: pytest.MonkeyPatch,
    ledger: Any,
) -> None:
    built: list[str] = []

    async def session_build(*args: Any, **kwargs: Any) -> Any:
        built.append("session")
        raise AssertionError("no session may be built for an unsigned stream")

    monkeypatch.setattr(wiring, "session_build", session_build)
    if signature == "other path":
        signature = upgrade_signature("/media-stream-2")
    elif signature == "other token":
        edge_settings.TWILIO_SIGNING_TOKEN = "someone-elses-token"
        signature = upgrade_signature()
        edge_settings.TWILIO_SIGNING_TOKEN = "reliability-signing-token"
    call = await sync_to_async(streaming_call)(demo_business)
    before = await sync_to_async(stored_rows)()
    ledger.bad_input("media socket: unsigned upgrade")
    socket = media_socket(signature)
    connected, code = await socket.connect()
    assert (connected, code) == (False, 4403)
    assert built == []
    assert await sync_to_async(stored_rows)() == before
    assert await sync_to_async(lambda: Call.objects.get(pk=call.pk).stream_sid)() == ""


# -- the admin -----------------------------------------------------------------------------


def admin_pages() -> list[str]:
    pages = [reverse("admin:index"), reverse("calls_admin:comparison")]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(reverse("admin:{}_{}_changelist".format(*info)))
    return pages


@pytest.mark.django_db
def test_every_admin_page_needs_a_login(demo_business: Business, client: Client) -> None:
    pages = admin_pages()
    assert len(pages) > 5
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith(reverse("admin:login")), page


LOGIN_URL = "/admin/login/"
PASSWORD = "pw-for-tests-1"


def attempt(client: Client, username: str, password: str, address: str = "203.0.113.7") -> bool:
    """One login; True when it let the user in."""
    response = client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=address)
    return response.status_code == 302 and "_auth_user_id" in client.session


@pytest.fixture
def locked_out_client() -> Iterator[Client]:
    from django.core.cache import cache

    cache.clear()
    yield Client()
    cache.clear()


@pytest.mark.django_db
def test_admin_login_locks_out_password_guessing(locked_out_client: Client, ledger: Any) -> None:
    client = locked_out_client
    UserFactory(username="owner", is_staff=True)
    UserFactory(username="colleague", is_staff=True)
    for guess in range(admin_security.MAX_FAILURES_PER_USER):
        ledger.bad_input("admin login: wrong password")
        assert not attempt(client, "owner", f"guess-{guess}")
    # Locked: even the right password is refused, and the page says why.
    response = client.post(LOGIN_URL, {"username": "owner", "password": PASSWORD}, REMOTE_ADDR="203.0.113.7")
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.content.decode()
    # Another account from that address, and the same account from elsewhere, still work.
    assert attempt(Client(), "colleague", PASSWORD)
    assert attempt(Client(), "owner", PASSWORD, address="198.51.100.4")


@pytest.mark.django_db
def test_admin_lockout_ends_with_its_window(locked_out_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    UserFactory(username="owner", is_staff=True)
    for guess in range(admin_security.MAX_FAILURES_PER_USER):
        attempt(locked_out_client, "owner", f"guess-{guess}")
    assert not attempt(Client(), "owner", PASSWORD)
    import time

    later = time.time() + admin_security.WINDOW_S + 1
    monkeypatch.setattr(locmem, "time", types.SimpleNamespace(time=lambda: later))
    assert attempt(Client(), "owner", PASSWORD)


@pytest.mark.django_db
def test_admin_login_locks_out_password_spraying_from_one_address(locked_out_client: Client, ledger: Any) -> None:
    UserFactory(username="owner", is_staff=True)
    for index in range(admin_security.MAX_FAILURES_PER_ADDRESS):
        ledger.bad_input("admin login: sprayed password")
        assert not attempt(Client(), f"user{index}", "Summer2026!")
    assert not attempt(Client(), "owner", PASSWORD)
    assert attempt(Client(), "owner", PASSWORD, address="198.51.100.4")


def test_a_successful_login_clears_the_failures(locked_out_client: Client, db: None) -> None:
    UserFactory(username="owner", is_staff=True)
    for guess in range(admin_security.MAX_FAILURES_PER_USER - 1):
        attempt(Client(), "owner", f"guess-{guess}")
    assert attempt(Client(), "owner", PASSWORD)
    for guess in range(admin_security.MAX_FAILURES_PER_USER - 1):
        attempt(Client(), "owner", f"again-{guess}")
    assert attempt(Client(), "owner", PASSWORD)


# -- voice notes for WhatsApp ---------------------------------------------------------------


@pytest.mark.django_db
def test_voice_note_links_are_signed_and_expire(
    demo_business: Business, edge_settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ledger: Any
) -> None:
    edge_settings.MEDIA_ROOT = tmp_path
    call = streaming_call(demo_business)
    recording = Recording.objects.create(sid="RE" + "5" * 32, call=call)
    recording.reply_audio.save("reply.ogg", ContentFile(b"OggS" + bytes(60)))
    client = Client()
    path = reply_audio_url(recording).removeprefix(PUBLIC_BASE_URL)
    assert client.get(path).status_code == 200
    token = path.removeprefix("/voice-notes/").removesuffix(".ogg")
    sid, timestamp, mac = token.split(":")
    ledger.bad_input("voice note: forged link", 3)
    assert client.get(f"/voice-notes/{'RE' + '6' * 32}:{timestamp}:{mac}.ogg").status_code == 404
    assert client.get(f"/voice-notes/{sid}:{timestamp}:{mac[:-2]}xx.ogg").status_code == 404
    assert client.get(f"/voice-notes/{sid}.ogg").status_code == 404
    # A link made longer ago than the allowed age no longer works.
    age = edge_settings.ZYLIN_MEDIA_URL_MAX_AGE_S + 60
    real_timestamp = signing.TimestampSigner.timestamp
    monkeypatch.setattr(
        signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(int(signing.time.time()) - age)
    )
    old = reply_audio_url(recording).removeprefix(PUBLIC_BASE_URL)
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", real_timestamp)
    ledger.bad_input("voice note: expired link")
    assert client.get(old).status_code == 403


# -- production settings ------------------------------------------------------------------------

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "production-secret-key-" + "k3y" * 20,
    "ALLOWED_HOSTS": "zylin.example.com",
    "PUBLIC_BASE_URL": "https://zylin.example.com",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "DJANGO_SETTINGS_MODULE": "zylin.settings",
}


def production(*command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **PRODUCTION_ENV}
    return subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_production_settings_set_secure_cookies_and_pass_check_deploy(tmp_path: Path) -> None:
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ('SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
        "'SESSION_COOKIE_HTTPONLY', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER', "
        "'X_FRAME_OPTIONS', 'SECURE_CONTENT_TYPE_NOSNIFF')}))"
    )
    flags = json.loads(production("-c", script, tmp_path=tmp_path).stdout)
    assert flags["SESSION_COOKIE_SECURE"]
    assert flags["CSRF_COOKIE_SECURE"]
    assert flags["SESSION_COOKIE_HTTPONLY"]
    assert flags["SECURE_SSL_REDIRECT"]
    assert flags["SECURE_HSTS_SECONDS"] >= 31536000
    assert flags["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert flags["X_FRAME_OPTIONS"] == "DENY"
    assert flags["SECURE_CONTENT_TYPE_NOSNIFF"]
    check = production("manage.py", "check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


# -- personal data in logs ----------------------------------------------------------------------


@pytest.fixture
def server_log() -> Iterator[io.StringIO]:
    """What Zylin's console handler would print (its filter and formatter), at DEBUG."""
    import zylin.asgi  # noqa: F401  (its first import sets logging up again, which would drop this handler)

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CallContextFilter())
    handler.setFormatter(MaskingFormatter(django_settings.LOGGING["formatters"]["plain"]["format"]))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.django_db(transaction=True)
async def test_a_calls_log_holds_neither_the_callers_number_nor_their_words(
    demo_business: Business,
    edge_settings: Any,
    capacity: Any,
    scripted_speech: Any,
    server_log: io.StringIO,
) -> None:
    demo_business.after_hours = Business.AfterHours.STREAM  # streamed whatever the hour the suite runs at
    await sync_to_async(demo_business.save)()
    _, day_name = weekday_ahead(demo_business.tz)
    lines = booking_lines(day_name, name="rosalind okafor")
    scripted_speech(demo_business, lines)
    # The call arrives through the signed voice webhook, as from Twilio, then talks on the media socket.
    params = {**WEBHOOKS["/twilio/voice"], "CallSid": "CA" + "8" * 32}
    signature = signature_compute(url=f"{PUBLIC_BASE_URL}/twilio/voice", params=params)
    response = await sync_to_async(Client().post)("/twilio/voice", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200
    call = await sync_to_async(Call.objects.get)(sid=params["CallSid"])
    assert call.path == Call.Path.STREAMING
    socket = media_socket()
    assert (await socket.connect())[0]
    phone = await Phone(socket, call_sid=call.sid, parameters=stream_parameters(call)).start()
    report = await converse(phone, 2, zylin_hangs_up=False)  # asks for a slot, gives a name
    assert report.problems() == []
    # A call to a number no business owns is logged with that number: masked.
    stray = {**params, "CallSid": "CA" + "9" * 32, "To": OTHER_NUMBER}
    signature = signature_compute(url=f"{PUBLIC_BASE_URL}/twilio/voice", params=stray)
    assert (
        await sync_to_async(Client().post)("/twilio/voice", stray, HTTP_X_TWILIO_SIGNATURE=signature)
    ).status_code == 200
    text = server_log.getvalue()
    assert "+1212***0199" in text  # logged, masked
    assert "media stream started" in text  # the log really was captured
    for number in (CALLER, OTHER_NUMBER):
        assert number.removeprefix("+")[-7:] not in text
    for line in lines[:2]:
        for word in line.split():
            if len(word) > 5:  # "rosalind", "okafor", "haircut"...: what the caller said
                assert word not in text.lower(), f"the caller's word {word!r} is in the log"
