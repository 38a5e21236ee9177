"""Silence on the line: ask once whether the caller is still there, then say goodbye and hang up."""

from __future__ import annotations

import pytest

from calls.voice.config import VoiceConfig
from tests.fakes.scripted import Script
from tests.fakes.voice_line import VoiceCall

CONFIG = VoiceConfig(silence_prompt_after_s=5.0, silence_hangup_after_s=4.0)


def spoken_at(call: VoiceCall, text: str) -> float:
    code = call.tts.code_for(text)
    return next(t for t, played in call.line.played if played == code)


async def test_silent_caller_is_asked_once_then_the_call_ends() -> None:
    call = await VoiceCall(config=CONFIG).start()
    await call.run(30)
    phrases = CONFIG.phrases
    assert call.heard() == [call.llm.greeting(), phrases.still_there, phrases.goodbye]
    greeting_end = call.store.turns[0].ended_at - call.store.turns[0].started_at + spoken_at(call, call.llm.greeting())
    assert spoken_at(call, phrases.still_there) == pytest.approx(greeting_end + 5.0, abs=0.15)
    assert call.control.actions == ["hang_up"]
    assert call.session.ended
    await call.close()
    assert call.store.ended == ["silence"]
    assert call.store.texts("assistant")[1:] == [phrases.still_there, phrases.goodbye]


async def test_an_answer_to_the_prompt_keeps_the_call_going() -> None:
    prompt_at = 2.2 + 5.0  # greeting (about 2.2 s) + allowance
    script = Script().user_says("Yes, sorry, I'm here", at=prompt_at + 2.0, dur=1.0)
    call = await VoiceCall(config=CONFIG, script=script, replies=["No problem. How can I help?"]).start()
    await call.run(prompt_at + 6.5)
    assert call.control.actions == []
    assert call.llm.received == ["Yes, sorry, I'm here"]
    assert CONFIG.phrases.goodbye not in call.heard()
    await call.run(10)  # silent again: asked afresh, not hung up at once
    assert call.heard().count(CONFIG.phrases.still_there) == 2
    assert call.control.actions == []
    await call.close()


async def test_no_prompt_while_the_caller_talks_or_zylin_speaks() -> None:
    script = Script().user_says("Let me think about what I want to book this week", at=6.0, dur=4.0)
    call = await VoiceCall(config=CONFIG, script=script, replies=["Take your time."]).start()
    await call.run(12)
    assert CONFIG.phrases.still_there not in call.heard()
    await call.close()
