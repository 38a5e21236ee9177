"""Provider faults injected through local fakes of Deepgram, OpenAI and ElevenLabs.

A real call runs through the media socket with the real adapters pointed at
the fakes. Each test breaks one vendor mid-call and checks what the caller
gets: something audible within 2 s of finishing speaking (the answer after a
retry, a filler, or an apology), never dead air; after repeated failures the
call leaves for the recording path or a person. Every fault, and what was done
about it, is on the Call (CallEvent rows) and in the metrics.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured

from businesses.models import Business
from calls import wiring
from calls.models import Call
from tests.fakes.servers.openai_chat import ChatReply, ToolCallScript
from tests.fakes.servers.twilio_rest import FakeTwilioRest
from tests.reliability.vendors import AGENT_TIMEOUT_S, HEARD_WITHIN_S, Caller, Vendors, handled, provider_errors

# Two faults run in every test run; the rest (each several seconds of real time) under `make reliability`.
pytestmark = pytest.mark.django_db(transaction=True)

# -- speech recognition ------------------------------------------------------------------------------


async def test_asr_socket_closed_with_1011_mid_call_reconnects_and_the_call_goes_on(
    demo_business: Business, vendors: Vendors, capacity: Any, ledger: Any
) -> None:
    dg, llm = vendors.deepgram, vendors.openai
    llm.add(ChatReply(text="We close at four on Saturdays."), ChatReply(text="Yes, we have free parking."))
    caller = await Caller.ring(demo_business, vendors)
    errors_before = provider_errors("deepgram")
    heard = await caller.heard_after(await caller.says("when do you close on saturday"))
    await caller.phone.quiet(0.4)
    # Deepgram drops the socket (1011) in the middle of the call.
    dg.drop_connections = {0: len(dg.connections[0].audio) + 1600}
    await asyncio.sleep(0.5)
    heard_after_drop = await caller.heard_after(await caller.says("is there parking"))
    await caller.hang_up()
    faults = await caller.events("provider_fault")
    survived = heard_after_drop is not None and heard_after_drop <= HEARD_WITHIN_S
    ledger.fault("ASR socket closed (1011)", survived=survived)

    assert heard is not None
    assert heard <= HEARD_WITHIN_S
    assert survived, heard_after_drop
    assert [c.closed_with for c in dg.connections[:1]] == [1011]
    assert len(dg.connections) == 2
    assert await caller.assistant_turns() == [
        demo_business.greeting_text, "We close at four on Saturdays.", "Yes, we have free parking."
    ]  # fmt: skip
    assert handled(faults, "deepgram", "reconnected")
    assert provider_errors("deepgram") > errors_before


@pytest.mark.slow
async def test_a_stalled_asr_gets_an_apology_within_two_seconds_and_a_new_stream(
    demo_business: Business, vendors: Vendors, capacity: Any, ledger: Any
) -> None:
    dg, llm = vendors.deepgram, vendors.openai
    llm.add(ChatReply(text="Yes, we have free parking."))
    caller = await Caller.ring(demo_business, vendors)
    dg.stall_after_bytes = dg.total_audio + 800  # silent from now on, socket open
    end = await caller.says("is there parking", recognized=False)
    heard = await caller.heard_after(end)
    await caller.phone.quiet(0.4)
    dg.stall_after_bytes = None  # the vendor is back; the new stream works
    heard_again = await caller.heard_after(await caller.says("is there parking"))
    await caller.hang_up()
    survived = heard is not None and heard <= HEARD_WITHIN_S and heard_again is not None
    ledger.fault("ASR stalled", survived=survived)

    assert heard is not None
    assert heard <= HEARD_WITHIN_S, heard
    assert caller.phone.earpiece.received > 0
    assert len(dg.connections) >= 2
    assert heard_again is not None
    assert heard_again <= HEARD_WITHIN_S
    assert (await caller.assistant_turns())[-1] == "Yes, we have free parking."
    failures = await caller.events("provider_failure")
    assert failures
    assert {failure["provider"] for failure in failures} == {"deepgram"}


# -- the language model ------------------------------------------------------------------------------


async def test_an_llm_500_is_retried_and_the_answer_comes_in_time(
    demo_business: Business, vendors: Vendors, capacity: Any, ledger: Any
) -> None:
    vendors.openai.add(ChatReply(status=500), ChatReply(text="We close at four on Saturdays."))
    caller = await Caller.ring(demo_business, vendors)
    heard = await caller.heard_after(await caller.says("when do you close on saturday"))
    await caller.hang_up()
    ledger.fault("LLM HTTP 500", survived=heard is not None and heard <= HEARD_WITHIN_S)

    assert heard is not None
    assert heard <= HEARD_WITHIN_S
    assert (await caller.assistant_turns())[-1] == "We close at four on Saturdays."
    assert handled(await caller.events("provider_fault"), "openai", "retried")


@pytest.mark.slow
async def test_an_llm_timeout_is_covered_by_a_filler_then_answered(
    demo_business: Business, vendors: Vendors, capacity: Any, ledger: Any
) -> None:
    vendors.openai.add(ChatReply(stall_s=AGENT_TIMEOUT_S + 3), ChatReply(text="We close at four on Saturdays."))
    caller = await Caller.ring(demo_business, vendors)
    heard = await caller.heard_after(await caller.says("when do you close on saturday"))
    answered = await caller.answered("We close at four on Saturdays.")
    await caller.hang_up()
    ledger.fault("LLM timeout", survived=heard is not None and heard <= HEARD_WITHIN_S and answered)

    assert heard is not None
    assert heard <= HEARD_WITHIN_S
    assert answered
    assert handled(await caller.events("provider_fault"), "openai", "retried")


@pytest.mark.slow
async def test_a_malformed_tool_call_does_not_break_the_call(
    demo_business: Business, vendors: Vendors, capacity: Any, ledger: Any
) -> None:
    vendors.openai.add(
        ChatReply(tool_calls=(ToolCallScript("teleport_customer", {"where": "moon"}),
                              ToolCallScript("check_availability", {"service": 42, "date": ["not", "a", "date"]}))),
        ChatReply(text="Sorry, which day would you like?"),
    )  # fmt: skip
    caller = await Caller.ring(demo_business, vendors)
    heard = await caller.heard_after(await caller.says("book me in"))
    await caller.answered("Sorry, which day would you like?")
    await caller.hang_up()
    results = [r for request in vendors.openai.requests[1:] for r in request.tool_results()]
    ledger.fault("LLM malformed tool call", survived=heard is not None and heard <= HEARD_WITHIN_S)

    assert heard is not None
    assert heard <= HEARD_WITHIN_S
    assert (await caller.assistant_turns())[-1] == "Sorry, which day would you like?"
    assert len(results) == 2
    assert not any(result.get("ok") for result in results)


@pytest.mark.slow
async def test_an_llm_that_stays_down_hands_the_call_to_a_person(
    demo_business: Business, vendors: Vendors, capacity: Any, ledger: Any
) -> None:
    vendors.openai.add(*[ChatReply(status=500)] * 4)
    caller = await Caller.ring(demo_business, vendors)
    heard = await caller.heard_after(await caller.says("when do you close on saturday"))
    closed = await caller.phone.until_closed(8.0)
    await caller.phone.drop()
    actions = await caller.events("call_action")
    transfers = await caller.events("transfer")
    ledger.fault("LLM down for good", survived=bool(heard is not None and heard <= HEARD_WITHIN_S and transfers))

    assert heard is not None
    assert heard <= HEARD_WITHIN_S
    assert closed  # Zylin let go of the stream: the call continues with a person
    assert actions == [{"kind": "transfer", "reason": "agent_error"}]
    assert transfers
    assert transfers[0]["number"] == demo_business.transfer_number
    assert handled(await caller.events("provider_fault"), "openai", "handed_over")
    final = await sync_to_async(Call.objects.get)(pk=caller.call.pk)
    assert final.transferred


# -- the voice ---------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_tts_500_is_retried_and_the_answer_comes_in_time(
    demo_business: Business, vendors: Vendors, capacity: Any, ledger: Any
) -> None:
    vendors.openai.add(ChatReply(text="We close at four on Saturdays."))
    caller = await Caller.ring(demo_business, vendors)
    vendors.elevenlabs.statuses = [500]
    heard = await caller.heard_after(await caller.says("when do you close on saturday"))
    await caller.hang_up()
    ledger.fault("TTS HTTP 500", survived=heard is not None and heard <= HEARD_WITHIN_S)

    assert heard is not None
    assert heard <= HEARD_WITHIN_S
    assert (await caller.assistant_turns())[-1] == "We close at four on Saturdays."
    assert handled(await caller.events("provider_fault"), "elevenlabs", "retried")


@pytest.mark.slow
async def test_a_tts_that_stalls_before_any_audio_gets_a_filler_then_an_apology(
    demo_business: Business, vendors: Vendors, capacity: Any, ledger: Any
) -> None:
    vendors.openai.add(ChatReply(text="We close at four on Saturdays."))
    caller = await Caller.ring(demo_business, vendors)
    vendors.elevenlabs.stall_before_audio = True
    end = await caller.says("when do you close on saturday")
    heard = await caller.heard_after(end)
    await caller.reported("provider_failure", timeout_s=20.0)
    await caller.phone.quiet(0.4, timeout_s=20.0)
    vendors.elevenlabs.stall_before_audio = False
    await caller.hang_up()
    failures = await caller.events("provider_failure")
    ledger.fault("TTS stalled before audio", survived=heard is not None and heard <= HEARD_WITHIN_S)
    until_apology = last_burst_start(caller.phone.earpiece.arrivals) - end
    ledger.figure("TTS stalled before audio: seconds until the apology", round(until_apology, 1))

    assert heard is not None
    assert heard <= HEARD_WITHIN_S
    assert [f["provider"] for f in failures] == ["elevenlabs"]
    assert handled(await caller.events("provider_fault"), "elevenlabs", "retried")
    assert until_apology <= 6.0  # the filler, then the apology once the vendor's own retry failed


@pytest.mark.slow
async def test_a_tts_that_stalls_mid_stream_is_cut_short_with_an_apology(
    demo_business: Business, vendors: Vendors, capacity: Any, ledger: Any
) -> None:
    vendors.openai.add(ChatReply(text="We close at four on Saturdays, and we open at ten."))
    caller = await Caller.ring(demo_business, vendors)
    vendors.elevenlabs.stall_after_bytes = 1600
    end = await caller.says("when do you close on saturday")
    heard = await caller.heard_after(end)
    await caller.reported("provider_failure", timeout_s=20.0)
    await caller.phone.quiet(0.4, timeout_s=20.0)
    vendors.elevenlabs.stall_after_bytes = None
    await caller.hang_up()
    failures = await caller.events("provider_failure")
    ledger.fault("TTS stalled mid-stream", survived=heard is not None and heard <= HEARD_WITHIN_S and bool(failures))

    assert heard is not None
    assert heard <= HEARD_WITHIN_S
    assert [f["provider"] for f in failures] == ["elevenlabs"]


# -- repeated failures -----------------------------------------------------------------------------


@pytest.mark.slow
async def test_repeated_failures_send_the_call_to_the_recording_path(
    demo_business: Business, vendors: Vendors, capacity: Any, edge_settings: Any, ledger: Any
) -> None:
    with FakeTwilioRest() as twilio:
        edge_settings.TWILIO_ACCOUNT_SID = twilio.account_sid
        edge_settings.TWILIO_AUTH_TOKEN = twilio.auth_token
        edge_settings.TWILIO_API_BASE_URL = twilio.url
        caller = await Caller.ring(demo_business, vendors)
        dg = vendors.deepgram
        for attempt in range(3):  # the recognizer stalls on every stream
            dg.stall_after_bytes = dg.total_audio + 800
            end = await caller.says("hello", recognized=False)
            heard = await caller.heard_after(end)
            ledger.fault("ASR stalled (repeatedly)", survived=heard is not None and heard <= HEARD_WITHIN_S)
            assert heard is not None, attempt
            assert heard <= HEARD_WITHIN_S, (attempt, heard)
            await caller.phone.quiet(0.4)
        closed = await caller.phone.until_closed(8.0)
        await caller.phone.drop()
        updates = await asyncio.to_thread(lambda: twilio.of_kind("call"))
    fallback = await caller.events("fallback")
    redirected = await caller.events("fallback-to-recording")

    assert closed
    assert fallback
    assert fallback[0]["to"] == "recording"
    assert redirected
    assert redirected[0]["sent"] is True
    [update] = updates
    assert "<Record" in (update.value("Twiml") or "")
    assert len(await caller.events("provider_failure")) == 3


@pytest.mark.parametrize("destination", ["recording", "transfer"])
def test_where_a_failing_call_goes_is_configured(demo_business: Business, settings: Any, destination: str) -> None:
    settings.VOICE = {**settings.VOICE, "fallback": destination}
    assert wiring.voice_config_build(business=demo_business).fallback == destination


def test_an_unknown_fallback_destination_is_refused(demo_business: Business, settings: Any) -> None:
    settings.VOICE = {**settings.VOICE, "fallback": "voicemail"}
    with pytest.raises(ImproperlyConfigured):
        wiring.voice_config_build(business=demo_business)


def last_burst_start(arrivals: list[tuple[float, int]], gap_s: float = 0.5) -> float:
    """When Zylin's last stretch of speech began: the first audio after the last silence of ``gap_s``."""
    times = [at for at, _ in arrivals]
    start = times[0]
    for before, after in zip(times, times[1:], strict=False):
        if after - before > gap_s:
            start = after
    return start
