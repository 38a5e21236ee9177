"""The Call page draws each answer's latency as a bar: ASR, agent, TTS and the rest, on one 2 s axis."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from calls import metrics
from calls.admin_latency import AXIS_MS, BAR_WIDTH_PX
from calls.models import Call, Turn
from tests import factories
from tests.admin.page_parsing import CallPage, PageTurn
from tests.observability.conftest import sample, scrape

PX_PER_MS = BAR_WIDTH_PX / AXIS_MS
ASSISTANT, CALLER = Turn.Speaker.ASSISTANT, Turn.Speaker.CALLER


@pytest.fixture
def owner_client(client: Client, demo_business) -> Client:
    client.force_login(factories.owner_create(demo_business, username="latency-reader"))
    return client


@pytest.fixture
def call(demo_business) -> Call:
    call = factories.CallFactory(business=demo_business, path=Call.Path.STREAMING)
    figures = {"asr_ms": 180.0, "llm_first_token_ms": 240.0, "tts_first_audio_ms": 130.0}
    factories.TurnFactory(call=call, index=0, speaker=ASSISTANT, text="Bella Hair Studio, how can I help?")
    factories.TurnFactory(call=call, index=1, speaker=CALLER, text="A haircut tomorrow", asr_ms=180.0)
    factories.TurnFactory(
        call=call, index=2, speaker=ASSISTANT, text="Tomorrow at three is free.", voice_to_voice_ms=612.4, **figures
    )
    factories.TurnFactory(call=call, index=3, speaker=CALLER, text="Yes please", asr_ms=None)
    # A slow answer: no ASR figure, and longer than the axis.
    factories.TurnFactory(
        call=call,
        index=4,
        speaker=ASSISTANT,
        text="Booked.",
        llm_first_token_ms=2600.0,
        tts_first_audio_ms=95.0,
        voice_to_voice_ms=3100.0,
    )
    return call


def _turns(client: Client, call: Call) -> list[PageTurn]:
    response = client.get(reverse("admin:calls_call_change", args=[call.pk]))
    assert response.status_code == 200
    return CallPage(response.content.decode()).turns


def _by_stage(turn: PageTurn) -> dict[str, int]:
    return {segment.stage: segment.ms for segment in turn.segments}


@pytest.mark.django_db
def test_a_measured_answer_has_a_bar_with_each_stage_in_milliseconds(owner_client: Client, call: Call):
    turn = _turns(owner_client, call)[2]
    assert "assistant" in turn.classes
    # 612 ms voice-to-voice = 180 + 240 + 130 measured, and 62 the stages do not cover.
    assert _by_stage(turn) == {"asr": 180, "agent": 240, "tts": 130, "other": 62}
    assert [segment.stage for segment in turn.segments] == ["asr", "agent", "tts", "other"]
    assert turn.bar_label == "Latency: ASR 180 ms, agent 240 ms, TTS 130 ms, other 62 ms; voice-to-voice 612 ms"
    assert turn.segments[0].title.startswith("ASR 180 ms: ")
    # One scale for every bar, segments end to end from the left.
    position = 0.0
    for segment, milliseconds in zip(turn.segments, (180, 240, 130, 62.4), strict=True):
        assert segment.x == pytest.approx(position, abs=0.1)
        assert segment.width == pytest.approx(milliseconds * PX_PER_MS, abs=0.1)
        position += segment.width
    # Each stage's figure is on the turn as text; the rest, not a stored figure, is beside the bar.
    for text in ("ASR 180 ms", "agent 240 ms", "TTS 130 ms", "voice-to-voice 612 ms"):
        assert text in turn.text
    assert turn.beside == ["other 62 ms"]


@pytest.mark.django_db
def test_a_long_answer_is_cut_at_the_axis_and_says_so(owner_client: Client, call: Call):
    turn = _turns(owner_client, call)[4]
    assert _by_stage(turn) == {"agent": 2600, "tts": 95, "other": 405}
    assert sum(segment.width for segment in turn.segments) == pytest.approx(BAR_WIDTH_PX)
    assert all(segment.x + segment.width <= BAR_WIDTH_PX for segment in turn.segments)
    assert turn.bar_label is not None
    assert "not measured: ASR" in turn.bar_label
    assert "cut at its end" in turn.bar_label
    assert turn.beside == ["other 405 ms", "longer than 2 s, cut"]


@pytest.mark.django_db
def test_turns_without_figures_have_no_bar(owner_client: Client, call: Call):
    turns = _turns(owner_client, call)
    greeting, caller, _, unmeasured_caller, _ = turns
    for turn in (greeting, caller, unmeasured_caller):
        assert turn.segments == []
        assert turn.bar_label is None
    assert "ASR 180 ms" in caller.text  # a caller turn keeps its figure as text


@pytest.mark.django_db
def test_a_recording_path_call_renders_without_bars(owner_client: Client, demo_business):
    call = factories.CallFactory(business=demo_business, path=Call.Path.RECORDING)
    factories.TurnFactory(call=call, index=0, speaker=CALLER, text="Please call me back")
    factories.TurnFactory(call=call, index=1, speaker=ASSISTANT, text="We will call you back.")
    response = owner_client.get(reverse("admin:calls_call_change", args=[call.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "We will call you back." in page
    assert 'id="latency-legend"' not in page
    assert all(turn.segments == [] for turn in CallPage(page).turns)


@pytest.mark.django_db
def test_the_bars_show_the_numbers_the_histograms_observe(owner_client: Client, call: Call):
    before = scrape(Client())
    for turn in call.turns.order_by("index"):
        metrics.turn_observe(turn, path=call.path)  # as the call store does when it saves each turn
    after = scrape(Client())

    def observed_ms(name: str) -> float:
        total = sample(after, f"{name}_sum", path="streaming") - sample(before, f"{name}_sum", path="streaming")
        return total * 1000

    answers = [turn for turn in _turns(owner_client, call) if "assistant" in turn.classes]
    drawn = {stage: sum(_by_stage(turn).get(stage, 0) for turn in answers) for stage in ("asr", "agent", "tts")}
    # One observation per recognition: the answer's ASR figure is its caller turn's.
    assert observed_ms("zylin_asr_final_seconds") == pytest.approx(drawn["asr"])
    assert observed_ms("zylin_agent_first_token_seconds") == pytest.approx(drawn["agent"])
    assert observed_ms("zylin_tts_first_audio_seconds") == pytest.approx(drawn["tts"])
