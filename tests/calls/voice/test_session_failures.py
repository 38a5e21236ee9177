"""Provider failures: retry once, apologize, and after too many fall back to a message or a person."""

from __future__ import annotations

from calls.voice.config import VoiceConfig
from calls.voice.ports import ProviderError
from tests.fakes.scripted import Script
from tests.fakes.voice_line import VoiceCall

APOLOGY = VoiceConfig().phrases.apology
FALLBACK = VoiceConfig().phrases.fallback


def flaky(provider: str, *, retryable: bool) -> ProviderError:
    return ProviderError(f"{provider} is down", provider=provider, retryable=retryable)


def two_turns() -> Script:
    return Script().user_says("Do you do beard trims?", at=4.0, dur=1.0).user_says("And on Sunday?", at=10.0, dur=1.0)


async def test_a_retryable_agent_error_is_retried_once_unnoticed() -> None:
    call = VoiceCall(script=two_turns(), replies=["Yes, we do.", "Sorry, closed on Sundays."])
    call.llm.failures.append(flaky("openai", retryable=True))
    await call.start()
    await call.run(9)
    assert call.llm.received == ["Do you do beard trims?", "Do you do beard trims?"]
    assert call.heard()[-2:] == ["Yes,", "we do."]
    assert call.store.named("provider_failure") == []
    await call.close()


async def test_an_agent_failure_gets_an_apology_and_the_call_goes_on() -> None:
    call = VoiceCall(script=two_turns(), replies=["Sorry, closed on Sundays."])
    call.llm.failures.append(flaky("openai", retryable=False))
    await call.start()
    await call.run(15)
    assert call.heard()[1] == APOLOGY
    assert call.heard()[-2:] == ["Sorry,", "closed on Sundays."]
    [failure] = call.store.named("provider_failure")
    assert failure == {"provider": "openai", "retryable": False, "error": "openai is down", "count": 1}
    assert call.control.actions == []
    await call.close()


async def test_repeated_failures_redirect_to_the_recording_path_after_one_sentence() -> None:
    call = VoiceCall(script=two_turns(), config=VoiceConfig(max_provider_failures=2))
    call.llm.failures += [flaky("openai", retryable=False), flaky("openai", retryable=False)]
    await call.start()
    await call.run(18)
    assert call.heard()[1:] == [APOLOGY, FALLBACK]
    assert call.control.actions == ["redirect_to_recording"]
    assert call.store.named("fallback") == [
        {"to": "recording", "failures": 2, "reason": "provider_failures", "provider": "openai"}
    ]
    assert call.session.ended
    await call.close()
    assert call.store.ended == ["fallback"]


async def test_fallback_can_go_to_a_person() -> None:
    call = VoiceCall(script=two_turns(), config=VoiceConfig(max_provider_failures=1, fallback="transfer"))
    call.llm.failures.append(flaky("openai", retryable=False))
    await call.start()
    await call.run(12)
    assert call.heard()[-1] == FALLBACK
    assert call.control.actions == ["transfer"]
    await call.close()


async def test_tts_errors_are_retried_then_apologized_for() -> None:
    call = VoiceCall(script=two_turns(), replies=["Yes, we do.", "No, sorry."])
    call.tts.failures += [flaky("elevenlabs", retryable=True)]  # first sentence, first attempt: retried
    await call.start()
    await call.run(9)
    assert call.heard()[-2:] == ["Yes,", "we do."]
    call.tts.failures += [flaky("elevenlabs", retryable=False)]
    await call.run(7)
    assert call.heard()[-1] == APOLOGY
    assert [f["provider"] for f in call.store.named("provider_failure")] == ["elevenlabs"]
    await call.close()


async def test_a_failed_recognizer_connect_is_retried_once() -> None:
    call = VoiceCall(script=two_turns(), stt_options={"connect_failures": [flaky("deepgram", retryable=True)]})
    await call.start()
    await call.run(9)
    assert len(call.stt.streams) == 1
    assert call.llm.received == ["Do you do beard trims?"]
    assert call.store.named("provider_failure") == []
    await call.close()


async def test_a_dropped_recognizer_is_reconnected_and_the_caller_asked_to_repeat() -> None:
    call = VoiceCall(script=two_turns(), replies=["Yes.", "No."], stt_options={"fail_at": 8.0})
    await call.start()
    await call.run(15)
    assert len(call.stt.streams) == 2
    assert call.stt.streams[0].closed
    assert APOLOGY in call.heard()
    assert call.llm.received == ["Do you do beard trims?", "And on Sunday?"]  # heard on the new stream
    assert [f["provider"] for f in call.store.named("provider_failure")] == ["fake-stt"]
    await call.close()


async def test_a_recognizer_that_never_connects_ends_in_fallback() -> None:
    errors = [flaky("deepgram", retryable=False) for _ in range(5)]
    call = VoiceCall(config=VoiceConfig(max_provider_failures=3), stt_options={"connect_failures": errors})
    await call.start()
    await call.run(10)
    assert call.control.actions == ["redirect_to_recording"]
    assert FALLBACK in call.heard()
    assert len(call.store.named("provider_failure")) == 3
    await call.close()


async def test_talking_over_the_hand_over_sentence_does_not_stop_the_hand_over() -> None:
    script = two_turns().user_says("Hello? Hello, are you still there? Can you hear me?", at=5.8, dur=3.0)
    call = VoiceCall(script=script, config=VoiceConfig(max_provider_failures=1))
    call.llm.failures.append(flaky("openai", retryable=False))
    await call.start()
    await call.run(16)
    assert call.heard()[-1] == FALLBACK
    assert call.line.messages("clear") == []  # the sentence was neither paused nor cut
    assert call.store.named("barge_in") == []
    assert call.control.actions == ["redirect_to_recording"]
    assert call.llm.received == ["Do you do beard trims?"]  # what was said over it is not a turn
    await call.close()
