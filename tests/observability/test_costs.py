"""Per-call cost estimates from usage and unit prices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client, override_settings

from calls.costs import CallUsage, call_cost_update, call_usage_collect, cost_estimate, llm_tokens_estimate
from calls.models import Call, OutboundMessage, Recording
from tests.factories import CallFactory, TurnFactory
from tests.observability.conftest import sample, scrape

PRICES = {
    "telephony_per_minute": 0.01,
    "media_stream_per_minute": 0.005,
    "recording_per_minute": 0.002,
    "asr_per_audio_minute": {"deepgram": 0.006, "openai": 0.003},
    "tts_per_character": {"elevenlabs": 0.0001},
    "llm_per_1k_tokens": {"openai": {"input": 0.5, "output": 1.0}},
    "message": {"whatsapp": 0.005, "sms": 0.01},
    "llm_prompt_tokens": 100,
    "chars_per_token": 4,
}
VOICE = {"asr": "deepgram", "tts": "elevenlabs", "agent": "openai"}


def test_streaming_call_cost_by_hand():
    usage = CallUsage(
        path="streaming",
        call_seconds=61,
        asr_provider="deepgram",
        asr_audio_seconds=61,
        tts_provider="elevenlabs",
        tts_characters=200,
        llm_provider="openai",
        llm_input_tokens=1000,
        llm_output_tokens=200,
        messages={"whatsapp": 2},
    )
    cost = cost_estimate(usage, PRICES)
    assert cost.telephony == Decimal("0.030")  # 2 started minutes x (0.01 + 0.005)
    assert cost.asr == Decimal("0.0061")  # 61 s of 0.006 a minute
    assert cost.tts == Decimal("0.0200")
    assert cost.llm == Decimal("0.7")  # 1000 x 0.5/1k + 200 x 1.0/1k
    assert cost.messages == Decimal("0.010")
    assert cost.total == Decimal("0.7661")


def test_recording_call_pays_recording_not_media_stream():
    usage = CallUsage(
        path="recording",
        call_seconds=30,
        asr_provider="openai",
        asr_audio_seconds=30,
        tts_provider="elevenlabs",
        tts_characters=0,
        llm_provider="openai",
        llm_input_tokens=0,
        llm_output_tokens=0,
        recorded_seconds=30,
    )
    cost = cost_estimate(usage, PRICES)
    assert cost.telephony == Decimal("0.011")  # 1 minute x 0.01 + 0.5 minute recorded x 0.002
    assert cost.asr == Decimal("0.0015")
    assert cost.total == Decimal("0.0125")


def test_unknown_provider_costs_nothing_but_is_logged(caplog):
    usage = CallUsage(
        path="streaming",
        call_seconds=0,
        asr_provider="mystery",
        asr_audio_seconds=60,
        tts_provider="elevenlabs",
        tts_characters=0,
        llm_provider="openai",
        llm_input_tokens=0,
        llm_output_tokens=0,
    )
    assert cost_estimate(usage, PRICES).asr == 0
    assert "mystery" in caplog.text


def test_tokens_re_send_the_history_for_every_reply():
    greeting, question, answer = "x" * 22, "y" * 40, "z" * 20  # 6, 10 and 5 tokens
    turns = [("assistant", greeting), ("caller", question), ("assistant", answer)]
    # The greeting is not generated from a request; the answer sends prompt + greeting + question.
    assert llm_tokens_estimate(turns, prompt_tokens=100, chars_per_token=4) == (100 + 6 + 10, 5)


def _finished_call() -> Call:
    call = CallFactory(
        path=Call.Path.STREAMING, duration_seconds=95, ended_at=dt.datetime(2026, 3, 4, 15, 2, tzinfo=dt.UTC)
    )
    TurnFactory(call=call, index=0, speaker="assistant", text="a" * 40)  # 10 tokens
    TurnFactory(call=call, index=1, speaker="caller", text="b" * 80)  # 20 tokens
    TurnFactory(call=call, index=2, speaker="assistant", text="c" * 60)  # 15 tokens
    for key, status in (("sent", "delivered"), ("failed", "failed"), ("outbox", "outbox")):
        OutboundMessage.objects.create(
            business=call.business,
            call=call,
            to="+12125550100",
            body="See you",
            status=status,
            idempotency_key=f"{call.sid}-{key}",
        )
    return call


@pytest.mark.django_db
@override_settings(ZYLIN_PRICES=PRICES, VOICE=VOICE)
def test_usage_of_a_stored_streaming_call():
    usage = call_usage_collect(_finished_call())
    assert usage.call_seconds == 95
    assert usage.asr_audio_seconds == 95  # the live recognizer hears the whole call
    assert usage.tts_characters == 100
    assert (usage.llm_input_tokens, usage.llm_output_tokens) == (100 + 10 + 20, 15)
    assert dict(usage.messages) == {"whatsapp": 1}  # failed and outbox messages are not billed


@pytest.mark.django_db
@override_settings(ZYLIN_PRICES=PRICES, VOICE=VOICE, OPENAI_API_KEY="sk-test")
def test_usage_of_a_recording_call_counts_the_recordings():
    call = CallFactory(path=Call.Path.RECORDING, duration_seconds=50)
    Recording.objects.create(sid="RE1", call=call, duration_seconds=24, transcript="b" * 80, reply_text="c" * 60)
    usage = call_usage_collect(call)
    assert (usage.asr_provider, usage.asr_audio_seconds, usage.recorded_seconds) == ("openai", 24, 24)
    assert usage.tts_characters == 60
    assert (usage.llm_input_tokens, usage.llm_output_tokens) == (100 + 20, 15)


@pytest.mark.django_db
@override_settings(ZYLIN_PRICES=PRICES, VOICE=VOICE)
def test_cost_update_stores_the_estimate_and_counts_it_once(django_capture_on_commit_callbacks):
    call = _finished_call()
    client = Client()
    labels = {"path": "streaming", "business": ""}
    before = sample(scrape(client), "zylin_cost_estimate_usd_total", **labels)
    # 2 started minutes x 0.015 + 95 s deepgram + 100 chars + (130 in, 15 out) tokens + 1 WhatsApp.
    expected = (
        Decimal("0.030")
        + Decimal(95) / 60 * Decimal("0.006")
        + Decimal("0.0100")
        + (130 * Decimal("0.5") + 15 * Decimal("1.0")) / 1000
        + Decimal("0.005")
    ).quantize(Decimal("0.0001"))

    with django_capture_on_commit_callbacks(execute=True):
        assert call_cost_update(call) == expected
    call.refresh_from_db()
    assert call.cost_estimate == expected
    with django_capture_on_commit_callbacks(execute=True):
        call_cost_update(call)  # recomputing an unchanged call adds nothing
    after = sample(scrape(client), "zylin_cost_estimate_usd_total", **labels)
    assert after - before == pytest.approx(float(expected))
