"""Keypad entry: digits are accepted where a number is expected, '#' ends, a pause submits."""

from __future__ import annotations

from calls.voice.config import VoiceConfig
from tests.fakes.scripted import FakeReply, Script
from tests.fakes.voice_line import VoiceCall

ASK_PHONE = FakeReply("Great. What is the best phone number to reach you?", expecting="phone")


async def test_digits_and_hash_become_the_callers_turn() -> None:
    script = Script().user_says("Book me a trim", at=4.0, dur=1.0).presses("5551234567#", at=9.0, gap=0.25)
    call = await VoiceCall(script=script, replies=[ASK_PHONE, "Thanks, I have 555 123 4567."]).start()
    await call.run(16)
    assert call.llm.received == ["Book me a trim", "5551234567"]
    assert call.store.texts("caller")[-1] == "5551234567"
    assert call.heard()[-1] == "I have 555 123 4567."
    await call.close()


async def test_a_keypress_over_the_question_interrupts_it() -> None:
    script = Script().user_says("Book me a trim", at=4.0, dur=1.0).presses("5551234567#", at=6.2, gap=0.25)
    call = await VoiceCall(script=script, replies=[ASK_PHONE, "Thanks."]).start()
    await call.run(14)
    assert len(call.line.messages("clear")) == 1
    assert call.llm.received[-1] == "5551234567"
    assert [t.interrupted for t in call.store.turns if t.speaker == "assistant"] == [False, True, False]
    await call.close()


async def test_digits_without_hash_are_submitted_after_a_pause() -> None:
    script = Script().user_says("Book me a trim", at=4.0, dur=1.0).presses("5550001", at=9.0, gap=0.3)
    call = await VoiceCall(script=script, replies=[ASK_PHONE, "Thanks."]).start()
    last_key = 9.0 + 6 * 0.3
    await call.run(last_key + VoiceConfig().dtmf_timeout_s - 0.2)
    assert len(call.llm.received) == 1
    await call.run(1.0)
    assert call.llm.received[-1] == "5550001"
    await call.close()


async def test_star_starts_the_entry_over() -> None:
    script = Script().user_says("Book me a trim", at=4.0, dur=1.0).presses("123*5550001#", at=9.0, gap=0.2)
    call = await VoiceCall(script=script, replies=[ASK_PHONE, "Thanks."]).start()
    await call.run(14)
    assert call.llm.received[-1] == "5550001"
    await call.close()


async def test_digits_are_ignored_when_no_number_is_expected() -> None:
    script = Script().presses("12#", at=4.0)
    call = await VoiceCall(script=script).start()
    await call.run(7)
    assert call.llm.received == []
    assert call.store.named("dtmf_ignored") == [{"digit": "1"}, {"digit": "2"}, {"digit": "#"}]
    await call.close()


async def test_a_recognizer_with_modes_listens_for_digits_while_a_number_is_expected() -> None:
    script = Script().user_says("Book me a trim", at=4.0, dur=1.0).user_says("five five five one two", at=9.0, dur=1.5)
    call = await VoiceCall(script=script, replies=[ASK_PHONE, "Thanks. Anything else?"]).start()
    await call.run(15)
    assert call.stt.streams[0].modes == ["digits", "open"]
    await call.close()
