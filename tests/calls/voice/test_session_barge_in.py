"""Barge-in: talking over Zylin stops it at once; backchannels and short noises do not."""

from __future__ import annotations

import pytest

from tests.fakes.scripted import Script
from tests.fakes.voice_line import VoiceCall

LONG_REPLY = (
    "Sure, I can help you with that. Let me look up the details for you right now. "
    "It may take a moment while I check our booking system for the whole week."
)


def clear_times(call: VoiceCall) -> list[float]:
    return [t for t, _ in call.line.messages("clear")]


def heard_in_full(call: VoiceCall, reply: str) -> bool:
    """The caller heard ``reply`` from start to end after the greeting (a pause may repeat a little)."""
    return " ".join(text for text in call.heard()[1:] if text) == reply


async def test_talking_over_a_long_answer_clears_and_keeps_only_what_was_heard() -> None:
    script = (
        Script()
        .user_says("What can you do for me?", at=4.0, dur=1.0)
        .user_says("Wait, actually I meant Tuesday", at=7.5, dur=1.5)
    )
    call = await VoiceCall(script=script, replies=[LONG_REPLY, "Tuesday works. What time?"]).start()
    await call.run(14)

    [cleared_at] = clear_times(call)
    assert 7.5 < cleared_at <= 7.5 + 0.3  # clear within 300 ms of the caller starting
    [event] = call.store.named("barge_in")
    assert event is not None
    assert event["clear_sent"]
    assert event["reaction_ms"] <= 300

    interrupted = [t for t in call.store.turns if t.interrupted]
    assert len(interrupted) == 1
    heard = interrupted[0].text
    assert heard.startswith("Sure, I can help you with that.")
    assert LONG_REPLY.startswith(heard)
    assert heard != LONG_REPLY
    assert "booking system" not in heard
    assert call.llm.heard == [heard]  # the agent knows what the caller heard

    # Nothing of the interrupted answer reaches the caller after the clear.
    old_codes = {call.tts.code_for(text) for text in call.tts.requests if text in LONG_REPLY}
    after_clear = [code for t, code in call.line.played if t > cleared_at]
    assert not old_codes & set(after_clear)
    assert call.llm.received == ["What can you do for me?", "Wait, actually I meant Tuesday"]
    assert call.heard()[-2:] == ["Tuesday works.", "What time?"]
    # Twilio's buffer was never more than the window (plus one message) ahead of playback.
    assert call.session.pacer.unacked_ms <= 300
    await call.close()


async def test_clear_lands_within_the_window_of_the_interruption() -> None:
    script = Script().user_says("Tell me everything", at=4.0, dur=1.0).user_says("Stop please", at=8.0, dur=1.0)
    call = await VoiceCall(script=script, replies=[LONG_REPLY, "Okay."]).start()
    await call.run(8.4)
    [cleared_at] = clear_times(call)
    played_after = [t for t, code in call.line.played if t > cleared_at and code != call.tts.code_for("Okay.")]
    assert played_after == []  # the caller hears silence right after the clear
    await call.close()


@pytest.mark.parametrize("backchannel", ["mm-hm", "okay", "yeah", "uh-huh", "right"])
async def test_backchannels_do_not_interrupt(backchannel: str) -> None:
    script = Script().user_says("Tell me about prices", at=4.0, dur=1.0).user_says(backchannel, at=7.0, dur=0.45)
    call = await VoiceCall(script=script, replies=[LONG_REPLY]).start()
    await call.run(16)
    # Zylin paused while the caller hummed, then played on from where it was cut.
    [paused_at] = clear_times(call)
    assert 7.0 < paused_at <= 7.3
    assert call.store.named("barge_in") == []
    assert len(call.store.named("false_barge_in")) == 1
    assert heard_in_full(call, LONG_REPLY)
    assert call.store.texts("assistant")[-1] == LONG_REPLY
    assert not any(t.interrupted for t in call.store.turns)
    assert call.llm.received == ["Tell me about prices"]  # the backchannel is not a turn
    await call.close()


async def test_a_200_ms_noise_does_not_interrupt() -> None:
    script = Script().user_says("Tell me about prices", at=4.0, dur=1.0).noise(at=7.0, dur=0.2)
    call = await VoiceCall(script=script, replies=[LONG_REPLY]).start()
    await call.run(16)
    assert clear_times(call) == []
    assert not any(t.interrupted for t in call.store.turns)
    assert call.llm.received == ["Tell me about prices"]
    await call.close()


async def test_long_speech_interrupts_even_without_words_from_the_recognizer() -> None:
    script = Script().user_says("Tell me about prices", at=4.0, dur=1.0).noise(at=7.0, dur=1.0)
    call = await VoiceCall(script=script, replies=[LONG_REPLY]).start()
    await call.run(9)
    policy = call.config.barge_in
    [cleared_at] = clear_times(call)  # the pause
    assert cleared_at == pytest.approx(7.0 + policy.pause_after_ms / 1000, abs=0.05)
    [event] = call.store.named("barge_in")
    assert event is not None
    assert event["clear_sent"]
    assert [t.interrupted for t in call.store.turns if t.speaker == "assistant"][-1]
    assert not heard_in_full(call, LONG_REPLY)
    await call.close()


async def test_interrupting_the_greeting_truncates_it_without_telling_the_agent() -> None:
    script = Script().user_says("Hi, I need a haircut tomorrow", at=0.8, dur=1.5)
    call = await VoiceCall(script=script, replies=["Sure. What time?"]).start()
    await call.run(6)
    assert len(clear_times(call)) == 1
    greeting = call.store.turns[0]
    assert greeting.interrupted
    assert greeting.speaker == "assistant"
    assert call.llm.greeting().startswith(greeting.text)
    assert greeting.text != call.llm.greeting()
    assert call.llm.heard == []
    assert call.llm.received == ["Hi, I need a haircut tomorrow"]
    await call.close()


async def test_caller_continuing_after_a_pause_cancels_the_unspoken_reply() -> None:
    script = Script().user_says("I'd like a haircut", at=4.0, dur=1.0).user_says("on Friday at noon", at=5.65, dur=1.2)
    call = VoiceCall(script=script, replies=["A haircut, sure.", "Friday at noon is free."])
    call.llm.first_token_s = 0.4
    await call.start()
    await call.run(10)
    assert clear_times(call) == []  # nothing had been sent yet
    assert call.llm.received == ["I'd like a haircut", "on Friday at noon"]
    assert call.llm.heard == [""]  # the first answer was never heard
    assert "A haircut, sure." not in call.heard()
    assert call.heard()[-1] == "Friday at noon is free."
    await call.close()
