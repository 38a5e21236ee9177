"""Turn-taking targets: what may interrupt Zylin, how fast, and names said with a pause."""

from __future__ import annotations

import pytest

from calls.voice.config import VoiceConfig
from calls.voice.turns import BargeInPolicy, SilenceAllowance
from tests.fakes.scripted import FakeReply, Script
from tests.fakes.voice_line import VoiceCall

LONG_REPLY = (
    "Sure, I can help you with that. Let me look up the details for you right now. "
    "It may take a moment while I check our booking system for the whole week."
)
# The window used with a recognizer whose first words are guesses (the embedded one).
CAUTIOUS = VoiceConfig(barge_in=BargeInPolicy(min_speech_ms=350))


def clear_times(call: VoiceCall) -> list[float]:
    return [t for t, _ in call.line.messages("clear")]


def interrupted(call: VoiceCall) -> bool:
    """Zylin abandoned its answer (a pause that resumed does not count)."""
    return bool(call.store.named("barge_in")) or any(t.interrupted for t in call.store.turns)


def heard_in_full(call: VoiceCall, reply: str) -> bool:
    return " ".join(text for text in call.heard()[1:] if text) == reply


async def run_over_long_reply(script: Script, config: VoiceConfig, *, seconds: float = 16) -> VoiceCall:
    call = await VoiceCall(script=script, replies=[LONG_REPLY], config=config).start()
    await call.run(seconds)
    return call


@pytest.mark.parametrize(("config", "interrupts"), [(VoiceConfig(), True), (CAUTIOUS, False)])
async def test_a_short_utterance_heard_as_a_wrong_word_needs_the_longer_window(
    config: VoiceConfig, interrupts: bool
) -> None:
    # 300 ms of speech that the recognizer guesses as "book" (an "okay" misheard).
    script = Script().user_says("Tell me about prices", at=4.0, dur=1.0).user_says("book", at=7.0, dur=0.3)
    call = await run_over_long_reply(script, config)
    assert interrupted(call) is interrupts
    assert heard_in_full(call, LONG_REPLY) is not interrupts
    await call.close()


async def test_a_real_interruption_silences_zylin_at_once_and_is_decided_after_the_longer_window() -> None:
    script = (
        Script().user_says("Tell me about prices", at=4.0, dur=1.0).user_says("Wait, I need Tuesday", at=7.0, dur=1.2)
    )
    call = await run_over_long_reply(script, CAUTIOUS, seconds=12)
    [cleared_at] = clear_times(call)  # the pause is the clear; the interruption sends no second one
    assert 7.0 < cleared_at <= 7.0 + 0.3
    [event] = call.store.named("barge_in")
    assert event is not None
    assert event["clear_sent"]
    assert event["reaction_ms"] <= 300
    played_after = [t for t, code in call.line.played if t > cleared_at and code in call.codes_of(LONG_REPLY)]
    assert played_after == []  # the answer never resumed
    assert call.llm.received == ["Tell me about prices", "Wait, I need Tuesday"]
    await call.close()


@pytest.mark.parametrize("backchannel", ["mm-hmm yeah okay", "okay got it", "uh-huh right right", "i see okay"])
async def test_long_backchannels_never_interrupt(backchannel: str) -> None:
    script = Script().user_says("Tell me about prices", at=4.0, dur=1.0).user_says(backchannel, at=7.0, dur=1.2)
    call = await run_over_long_reply(script, CAUTIOUS)
    assert not interrupted(call)
    assert heard_in_full(call, LONG_REPLY)
    assert call.store.texts("assistant")[-1] == LONG_REPLY
    assert call.llm.received == ["Tell me about prices"]
    await call.close()


@pytest.mark.parametrize("config", [VoiceConfig(), CAUTIOUS])
@pytest.mark.parametrize(("seconds", "pauses"), [(0.2, False), (0.3, True)])
async def test_noise_bursts_do_not_interrupt(config: VoiceConfig, seconds: float, pauses: bool) -> None:
    script = Script().user_says("Tell me about prices", at=4.0, dur=1.0).noise(at=7.0, dur=seconds)
    call = await run_over_long_reply(script, config)
    assert bool(clear_times(call)) is pauses  # 200 ms never even pauses Zylin
    assert not interrupted(call)
    assert heard_in_full(call, LONG_REPLY)
    assert call.llm.received == ["Tell me about prices"]
    await call.close()


async def test_a_caller_talking_on_over_a_pause_takes_the_floor() -> None:
    # Backchannel words for longer than the longest pause: the caller clearly wants to talk.
    script = (
        Script()
        .user_says("Tell me about prices", at=4.0, dur=1.0)
        .user_says("okay yeah okay yeah okay yeah okay", at=7.0, dur=3.5)
    )
    call = await run_over_long_reply(script, CAUTIOUS)
    [event] = call.store.named("barge_in")
    assert event is not None
    assert interrupted(call)
    await call.close()


async def test_bursts_separated_by_pauses_do_not_add_up_to_an_interruption() -> None:
    # Two 200 ms bumps: their 400 ms together would pass the window if pauses counted.
    script = (
        Script()
        .user_says("Tell me about prices", at=4.0, dur=1.0)
        .user_says("book", at=7.0, dur=0.2)
        .user_says("book", at=7.3, dur=0.2)
    )
    call = await run_over_long_reply(script, CAUTIOUS)
    assert not interrupted(call)
    assert heard_in_full(call, LONG_REPLY)
    await call.close()


def name_script(pause: float) -> Script:
    return (
        Script()
        .user_says("I'd like a haircut tomorrow", at=4.0, dur=1.4)
        .user_says("Maria", at=9.0, dur=0.5)
        .user_says("Lopez", at=9.5 + pause, dur=0.5)
    )


async def test_a_pause_inside_a_name_does_not_end_the_turn() -> None:
    script = name_script(pause=0.6)  # longer than the open allowance, shorter than the name one
    replies = [FakeReply("Sure. May I have your name?", expecting="name"), "Thanks, Maria."]
    call = await VoiceCall(script=script, replies=replies).start()
    await call.run(14)
    assert len(call.llm.received) == 2  # one turn for the whole name
    assert call.llm.received[1] != "Maria"
    name_end = 9.5 + 0.6 + 0.5
    [finalized_at] = [t for t in call.stt.streams[-1].finalize_calls if t > 9.0]
    # The name turn ends after the name allowance, not the 1 s it used to take.
    allowance = SilenceAllowance().name
    assert allowance <= 0.8
    assert finalized_at == pytest.approx(name_end + allowance, abs=0.05)
    await call.close()


async def test_a_pause_longer_than_the_name_allowance_ends_the_turn() -> None:
    script = name_script(pause=1.0)
    replies = [FakeReply("Sure. May I have your name?", expecting="name"), "And your last name?"]
    call = await VoiceCall(script=script, replies=replies).start()
    await call.run(14)
    assert call.llm.received[1] == "Maria"
    await call.close()


@pytest.mark.parametrize(
    ("heard", "interrupts"),
    [
        ("i", False),  # may become "i see"
        ("i see", False),
        ("i need", True),
        ("okay got", False),  # may become "okay got it"
        ("okay got it", False),
        ("all right", False),
        ("all of them", True),
        ("book", True),  # a word that opens no backchannel counts at once
        ("wait i", True),
    ],
)
def test_the_latest_word_waits_when_it_may_open_a_backchannel(heard: str, interrupts: bool) -> None:
    assert BargeInPolicy().should_interrupt(speech_ms=400, heard_text=heard) is interrupts
