"""Only requests Twilio signed get in; a refused request stores nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from calls.models import Call, CallEvent, Recording
from calls.twilio_signature import (
    request_public_url,
    signature_compute,
    signature_valid,
    websocket_signature_valid,
)
from tests.calls.twilio.conftest import CALLER, DEMO_NUMBER, PUBLIC, signed_post

VOICE = {
    "CallSid": "CA" + "1" * 32,
    "AccountSid": "AC" + "0" * 32,
    "From": CALLER,
    "To": DEMO_NUMBER,
    "CallStatus": "ringing",
    "Direction": "inbound",
}


@pytest.mark.django_db
class TestWebhookSignatures:
    def test_correctly_signed_voice_webhook_passes_and_stores_the_call(self, demo_business, client: Client) -> None:
        response = signed_post(client, "/twilio/voice", VOICE)
        assert response.status_code == 200
        assert Call.objects.filter(sid=VOICE["CallSid"], business=demo_business).exists()

    def test_missing_signature_is_refused_and_nothing_stored(self, demo_business, client: Client) -> None:
        response = signed_post(client, "/twilio/voice", VOICE, signature="")
        assert response.status_code == 403
        assert not Call.objects.exists()

    def test_forged_signature_is_refused_and_nothing_stored(self, demo_business, client: Client) -> None:
        forged = "dGhpcyBpcyBub3QgYSBzaWduYXR1cmU="
        response = signed_post(client, "/twilio/voice", VOICE, signature=forged)
        assert response.status_code == 403
        assert not Call.objects.exists()

    def test_signature_made_with_another_token_is_refused(self, demo_business, client: Client, settings) -> None:
        settings.TWILIO_SIGNING_TOKEN = "someone-elses-token"
        other = signature_compute(url=f"{PUBLIC}/twilio/voice", params=VOICE)
        settings.TWILIO_SIGNING_TOKEN = "test-signing-token"
        response = signed_post(client, "/twilio/voice", VOICE, signature=other)
        assert response.status_code == 403
        assert not Call.objects.exists()

    def test_replay_with_changed_params_is_refused(self, demo_business, client: Client) -> None:
        genuine = signature_compute(url=f"{PUBLIC}/twilio/voice", params=VOICE)
        tampered = {**VOICE, "From": "+19999999999"}
        response = signed_post(client, "/twilio/voice", tampered, signature=genuine)
        assert response.status_code == 403
        assert not Call.objects.exists()

    def test_replay_with_an_added_param_is_refused(self, demo_business, client: Client) -> None:
        genuine = signature_compute(url=f"{PUBLIC}/twilio/voice", params=VOICE)
        response = signed_post(client, "/twilio/voice", {**VOICE, "Extra": "1"}, signature=genuine)
        assert response.status_code == 403

    def test_signature_for_another_url_is_refused(self, demo_business, client: Client) -> None:
        for_status = signature_compute(url=f"{PUBLIC}/twilio/status", params=VOICE)
        response = signed_post(client, "/twilio/voice", VOICE, signature=for_status)
        assert response.status_code == 403

    def test_signature_over_the_proxy_side_http_url_is_refused(self, demo_business, client: Client) -> None:
        # Twilio signs the public https URL; a signature over what the app itself sees
        # (http://testserver/...) must not be accepted.
        internal = signature_compute(url="http://testserver/twilio/voice", params=VOICE)
        response = signed_post(client, "/twilio/voice", VOICE, signature=internal)
        assert response.status_code == 403

    def test_query_string_is_part_of_the_signed_url(self, demo_business, client: Client) -> None:
        signed = signature_compute(url=f"{PUBLIC}/twilio/voice?attempt=1", params=VOICE)
        ok = signed_post(client, "/twilio/voice?attempt=1", VOICE, signature=signed)
        assert ok.status_code == 200
        refused = signed_post(client, "/twilio/voice?attempt=2", VOICE, signature=signed)
        assert refused.status_code == 403

    @pytest.mark.parametrize(
        "path",
        [
            "/twilio/route",
            "/twilio/status",
            "/twilio/stream-status",
            "/twilio/recording",
            "/twilio/recording-done",
            "/twilio/dial-done",
            "/twilio/message-status",
            "/twilio/whatsapp",
        ],
    )
    def test_every_webhook_refuses_unsigned_requests(self, demo_business, client: Client, path: str) -> None:
        Call.objects.create(sid=VOICE["CallSid"], business=demo_business, from_number=CALLER)
        params = {
            **VOICE,
            "CallStatus": "completed",
            "RecordingSid": "RE" + "2" * 32,
            "RecordingStatus": "completed",
            "RecordingUrl": "https://api.twilio.com/x",
            "StreamEvent": "stream-started",
            "StreamSid": "MZ" + "3" * 32,
        }
        response = signed_post(client, path, params, signature="")
        assert response.status_code == 403
        call = Call.objects.get(sid=VOICE["CallSid"])
        assert call.status == Call.Status.RINGING
        assert not CallEvent.objects.exists()
        assert not Recording.objects.exists()

    def test_get_is_not_allowed(self, client: Client) -> None:
        assert client.get("/twilio/voice").status_code == 405

    def test_no_signing_token_refuses_even_an_empty_key_signature(
        self, demo_business, client: Client, settings
    ) -> None:
        settings.TWILIO_SIGNING_TOKEN = ""
        # HMAC with an empty key is computable by anyone: it must not pass.
        from twilio.request_validator import RequestValidator

        empty_key_signature = RequestValidator("").compute_signature(f"{PUBLIC}/twilio/voice", VOICE)
        response = signed_post(client, "/twilio/voice", VOICE, signature=empty_key_signature)
        assert response.status_code == 403
        assert not Call.objects.exists()


def test_public_url_comes_from_settings_not_the_request(rf) -> None:
    request = rf.post("/twilio/voice?x=1", {"a": "b"}, HTTP_HOST="internal:8000", secure=False)
    assert request_public_url(request) == f"{PUBLIC}/twilio/voice?x=1"


def test_websocket_upgrade_is_checked_over_wss_with_no_params() -> None:
    signature = signature_compute(url="wss://zylin.example.com/media-stream", params={})
    headers = [(b"host", b"internal:8000"), (b"x-twilio-signature", signature.encode())]
    assert websocket_signature_valid(path="/media-stream", headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        [(b"host", b"zylin.example.com")],
        [(b"x-twilio-signature", b"forged")],
        [(b"x-twilio-signature", b"")],
    ],
)
def test_websocket_upgrade_without_a_valid_signature_is_refused(headers) -> None:
    assert not websocket_signature_valid(path="/media-stream", headers=headers)


def test_websocket_signature_for_another_path_is_refused() -> None:
    signature = signature_compute(url="wss://zylin.example.com/other", params={})
    assert not websocket_signature_valid(path="/media-stream", headers=[(b"x-twilio-signature", signature.encode())])


def test_development_token_applies_only_in_debug() -> None:
    """The settings module's rule: the dev token is the key in DEBUG without an auth token, never otherwise."""
    import subprocess
    import sys

    code = "import zylin.settings as s; print(repr(s.TWILIO_SIGNING_TOKEN))"

    def run(env_extra: dict[str, str]) -> str:
        import os

        env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_AUTH_TOKEN", "DEBUG")}
        env.update(env_extra)
        return subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    assert run({"DEBUG": "1"}) == repr("zylin-dev-twilio-auth-token")
    assert run({"DEBUG": "0", "SECRET_KEY": "k" * 50, "PUBLIC_BASE_URL": "https://z.example.com"}) == "''"
    assert (
        run(
            {
                "DEBUG": "0",
                "SECRET_KEY": "k" * 50,
                "PUBLIC_BASE_URL": "https://z.example.com",
                "TWILIO_AUTH_TOKEN": "real",
            }
        )
        == "'real'"
    )


def test_signature_valid_rejects_an_empty_signature() -> None:
    assert not signature_valid(url=f"{PUBLIC}/twilio/voice", params={}, signature="")
