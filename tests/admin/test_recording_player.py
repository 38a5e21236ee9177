"""The Call page plays a call's recordings, served only to those who may see the call."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from calls.models import Call, Recording
from tests import factories
from tests.admin.page_parsing import CallPage

CALLER_AUDIO = b"RIFF" + bytes(range(256)) * 40  # stands for the caller's WAV
REPLY_AUDIO = b"OggS" + bytes(reversed(range(256))) * 8


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def owner(demo_business):
    return factories.owner_create(demo_business, username="recording-listener")


@pytest.fixture
def owner_client(client: Client, owner) -> Client:
    client.force_login(owner)
    return client


@pytest.fixture
def call(demo_business) -> Call:
    return factories.CallFactory(business=demo_business, path=Call.Path.RECORDING)


@pytest.fixture
def recording(call: Call) -> Recording:
    recording = factories.RecordingFactory(call=call, reply_text="We will call you back.")
    recording.audio.save(f"{recording.sid}.wav", ContentFile(CALLER_AUDIO), save=False)
    recording.reply_audio.save(f"{recording.sid}.ogg", ContentFile(REPLY_AUDIO), save=False)
    recording.save()
    return recording


def audio_url(recording: Recording, kind: str) -> str:
    return reverse("admin:calls_recording_audio", args=[recording.pk, kind])


def _players(client: Client, call: Call) -> list:
    response = client.get(reverse("admin:calls_call_change", args=[call.pk]))
    assert response.status_code == 200
    return CallPage(response.content.decode()).players


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_the_page_has_a_player_for_each_audio_of_a_recording(owner_client: Client, call: Call, recording: Recording):
    players = _players(owner_client, call)
    assert [(player.src, player.preload) for player in players] == [
        (audio_url(recording, "caller"), "none"),
        (audio_url(recording, "reply"), "none"),
    ]
    assert all(player.label for player in players)


@pytest.mark.django_db
def test_no_player_without_a_recording_or_its_audio(owner_client: Client, call: Call):
    assert _players(owner_client, call) == []
    factories.RecordingFactory(call=call)  # Twilio has not delivered the audio yet
    assert _players(owner_client, call) == []


@pytest.mark.django_db
def test_the_owner_hears_their_calls_recording_and_reply(owner_client: Client, recording: Recording):
    response = owner_client.get(audio_url(recording, "caller"))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Accept-Ranges"] == "bytes"
    assert int(response["Content-Length"]) == len(CALLER_AUDIO)
    assert _body(response) == CALLER_AUDIO

    response = owner_client.get(audio_url(recording, "reply"))
    assert (response.status_code, response["Content-Type"]) == (200, "audio/ogg")
    assert _body(response) == REPLY_AUDIO


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=100-199", 100, 199),
        ("bytes=10000-", 10000, len(CALLER_AUDIO) - 1),
        ("bytes=-24", len(CALLER_AUDIO) - 24, len(CALLER_AUDIO) - 1),
    ],
)
def test_a_range_request_gets_that_part(owner_client: Client, recording: Recording, header: str, first: int, last: int):
    response = owner_client.get(audio_url(recording, "caller"), HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(CALLER_AUDIO)}"
    assert int(response["Content-Length"]) == last - first + 1
    assert _body(response) == CALLER_AUDIO[first : last + 1]


@pytest.mark.django_db
def test_a_range_beyond_the_end_is_refused_and_a_malformed_one_ignored(owner_client: Client, recording: Recording):
    beyond = owner_client.get(audio_url(recording, "caller"), HTTP_RANGE=f"bytes={len(CALLER_AUDIO)}-")
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{len(CALLER_AUDIO)}"
    several = owner_client.get(audio_url(recording, "caller"), HTTP_RANGE="bytes=0-1,5-6")
    assert several.status_code == 200
    assert _body(several) == CALLER_AUDIO


@pytest.mark.django_db
def test_another_business_recording_looks_missing(client: Client, recording: Recording):
    other = factories.BusinessFactory()
    client.force_login(factories.owner_create(other, username="other-owner"))
    foreign = client.get(audio_url(recording, "caller"))
    missing = client.get(reverse("admin:calls_recording_audio", args=[recording.pk + 1000, "caller"]))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content


@pytest.mark.django_db
def test_staff_hear_every_business(client: Client, recording: Recording):
    client.force_login(get_user_model().objects.create_superuser("audio-staff", "staff@example.com", "pw-for-tests-1"))
    response = client.get(audio_url(recording, "reply"))
    assert response.status_code == 200
    assert _body(response) == REPLY_AUDIO


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login(client: Client, recording: Recording):
    url = audio_url(recording, "caller")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url}"


@pytest.mark.django_db
def test_unknown_or_absent_audio_is_a_404(owner_client: Client, call: Call, recording: Recording):
    assert owner_client.get(audio_url(recording, "transcript")).status_code == 404
    silent = factories.RecordingFactory(call=call)
    assert owner_client.get(audio_url(silent, "caller")).status_code == 404
    recording.audio.storage.delete(recording.audio.name)  # the row outlived its file
    assert owner_client.get(audio_url(recording, "caller")).status_code == 404


@pytest.mark.django_db
def test_the_audio_is_only_read(owner_client: Client, recording: Recording):
    assert owner_client.post(audio_url(recording, "caller")).status_code == 405
