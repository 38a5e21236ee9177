"""Signed voice-note links: they work, expire, and cannot be forged."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from calls.media_urls import recording_sid_from_token, reply_audio_token, reply_audio_url
from calls.models import Recording
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db

OGG = b"OggS" + b"\x00" * 60


@pytest.fixture
def recording(settings, tmp_path, demo_business) -> Recording:
    settings.MEDIA_ROOT = tmp_path
    recording = Recording.objects.create(sid="RE" + "4" * 32, call=CallFactory(business=demo_business))
    recording.reply_audio.save("reply.ogg", ContentFile(OGG))
    return recording


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_link_is_public_and_serves_the_audio(recording: Recording, client: Client) -> None:
    url = reply_audio_url(recording)
    assert url.startswith("https://zylin.example.com/voice-notes/")
    assert url.endswith(".ogg")
    response = client.get(path_of(url))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/ogg"
    assert b"".join(response.streaming_content) == OGG


def test_expired_link_is_refused(recording: Recording, client: Client, settings) -> None:
    url = reply_audio_url(recording)
    settings.ZYLIN_MEDIA_URL_MAX_AGE_S = -1  # every signature is now older than allowed
    assert client.get(path_of(url)).status_code == 403


def test_link_expires_after_the_configured_age(recording: Recording, monkeypatch) -> None:
    token = reply_audio_token(recording)
    assert recording_sid_from_token(token, max_age_s=60) == recording.sid
    import time

    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 61)
    from django.core import signing

    with pytest.raises(signing.SignatureExpired):
        recording_sid_from_token(token, max_age_s=60)


def test_forged_or_altered_tokens_are_not_found(recording: Recording, client: Client) -> None:
    token = reply_audio_token(recording)
    other_sid = "RE" + "5" * 32
    altered = token.replace(recording.sid, other_sid)
    for bad in (altered, other_sid, token[:-2] + "xx", "nonsense"):
        assert client.get(f"/voice-notes/{bad}.ogg").status_code == 404


def test_a_token_for_a_recording_without_audio_is_not_found(recording: Recording, client: Client) -> None:
    silent = Recording.objects.create(sid="RE" + "9" * 32, call=recording.call)
    assert client.get(path_of(reply_audio_url(silent))).status_code == 404


def test_only_get_is_served(recording: Recording, client: Client) -> None:
    assert client.post(path_of(reply_audio_url(recording))).status_code == 405
