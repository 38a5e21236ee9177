"""Checkpoints and resume: a new stream with the same session continues without repeating itself."""

from __future__ import annotations

import json

from tests.fakes.scripted import FakeReply, Script
from tests.fakes.voice_line import VoiceCall


async def first_call() -> VoiceCall:
    script = Script().user_says("I'd like a haircut on Friday", at=4.0, dur=1.2)
    call = await VoiceCall(script=script, replies=[FakeReply("Sure. What time on Friday?", expecting="date")]).start()
    await call.run(9)
    await call.close()  # the socket drops
    return call


async def test_checkpoint_holds_agent_state_turn_index_and_what_was_heard() -> None:
    call = await first_call()
    state = call.sessions.states["session-1"]
    json.dumps(state)  # JSON-serializable for Redis
    assert state["agent"] == call.llm.snapshot()
    assert state["turn_index"] == 3
    assert state["last_reply"] == {
        "text": "Sure. What time on Friday?",
        "heard": "Sure. What time on Friday?",
        "complete": True,
    }
    assert state["marks_acked"] > 0


async def test_resumed_call_continues_without_greeting_or_repeating() -> None:
    before = await first_call()
    state = before.sessions.states["session-1"]
    script = Script().user_says("At three pm", at=3.0, dur=1.0)
    call = VoiceCall(script=script, replies=["Three pm on Friday is booked."], resume_state=state)
    await call.start()
    assert call.llm.restored == state["agent"]
    assert call.llm.expecting == "date"
    await call.run(8)
    heard = call.heard()
    assert heard[0] == call.config.phrases.resumed
    assert call.llm.greeting() not in heard
    assert not set(heard) & set(before.heard())  # nothing said twice
    assert call.llm.received[-1] == "At three pm"
    assert [t.index for t in call.store.turns] == [3, 4, 5]  # numbering continues
    assert call.sessions.states["session-1"]["turn_index"] == 6
    await call.close()


async def test_a_broken_checkpoint_starts_afresh_with_a_greeting() -> None:
    call = VoiceCall(resume_state={"agent": "not a dict"})
    await call.start()
    await call.run(3)
    assert call.heard()[0] == call.llm.greeting()
    await call.close()
