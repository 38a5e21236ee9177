"""VoiceSession: greeting, turns, streaming replies, fillers, turn-taking, agent actions."""

from __future__ import annotations

import pytest

from calls.voice.config import VoiceConfig
from calls.voice.ports import CallAction, IntentUpdate
from tests.fakes.scripted import FakeReply, Script
from tests.fakes.voice_line import VoiceCall

GREETING = "Thanks for calling Bella Hair Studio, how can I help?"


async def test_greeting_plays_as_soon_as_the_stream_starts() -> None:
    call = await VoiceCall().start()
    await call.run(0.04)
    assert call.line.messages("media")[0][0] == pytest.approx(0.0, abs=0.021)
    await call.run(3.5)
    assert call.heard() == [GREETING]
    assert [(t.speaker, t.text, t.interrupted) for t in call.store.turns] == [("assistant", GREETING, False)]
    assert call.sessions.states["session-1"]["turn_index"] == 1
    await call.close()


async def test_no_greeting_when_the_agent_has_none() -> None:
    call = VoiceCall()
    call.llm._greeting = ""
    await call.start()
    await call.run(1)
    assert call.line.messages("media") == []
    await call.close()


async def test_words_said_before_the_stream_are_answered_instead_of_greeting_again() -> None:
    # Hybrid routing: Twilio played the greeting and heard the first sentence with <Gather>.
    call = await VoiceCall(first_utterance=" When do you open? ", replies=["We open at nine."]).start()
    await call.run(3)
    assert call.llm.received == ["When do you open?"]
    assert call.heard() == ["We open at nine."]
    assert [(t.speaker, t.text) for t in call.store.turns] == [
        ("caller", "When do you open?"),
        ("assistant", "We open at nine."),
    ]
    await call.close()


async def test_a_resumed_stream_does_not_answer_the_first_sentence_twice() -> None:
    first = await VoiceCall(first_utterance="When do you open?", replies=["We open at nine."]).start()
    await first.run(3)
    state = first.sessions.states["session-1"]
    await first.close()
    again = await VoiceCall(first_utterance="When do you open?", resume_state=state).start()
    await again.run(3)
    assert again.llm.received == ["When do you open?"]  # restored, not asked again
    assert [t.speaker for t in again.store.turns] == ["assistant"]  # only "where were we"
    assert again.heard() == [again.config.phrases.resumed]
    await again.close()


async def test_multi_turn_exchange_is_heard_stored_and_timed() -> None:
    script = (
        Script()
        .user_says("I'd like a haircut on Friday", at=4.0, dur=1.5)
        .user_says("Three pm please", at=10.0, dur=1.0)
    )
    replies = [
        FakeReply(
            "Sure, I can book that. What time suits you?", intent=IntentUpdate("book", 0.9, {"service": "Haircut"})
        ),
        "Three pm on Friday is free. Shall I book it?",
    ]
    call = await VoiceCall(script=script, replies=replies).start()
    await call.run(16)

    assert call.llm.received == ["I'd like a haircut on Friday", "Three pm please"]
    assert call.heard() == [
        GREETING,
        "Sure,",
        "I can book that.",
        "What time suits you?",
        "Three pm on Friday is free.",
        "Shall I book it?",
    ]
    turns = call.store.turns
    assert [(t.index, t.speaker) for t in turns] == [
        (0, "assistant"),
        (1, "caller"),
        (2, "assistant"),
        (3, "caller"),
        (4, "assistant"),
    ]
    assert turns[2].text == "Sure, I can book that. What time suits you?"
    assert turns[2].intent == IntentUpdate("book", 0.9, {"service": "Haircut"})
    assert not any(t.interrupted for t in turns)

    reply = turns[2]
    allowance_ms = VoiceConfig().silence.open * 1000
    # Caller speech end -> VAD silence allowance -> recognizer final (50 ms) -> agent (300 ms) -> TTS (100 ms).
    assert reply.asr_ms == pytest.approx(allowance_ms + 50, abs=30)
    assert reply.llm_first_token_ms == pytest.approx(300, abs=1)
    assert reply.tts_first_audio_ms == pytest.approx(100, abs=1)
    assert reply.voice_to_voice_ms == pytest.approx(allowance_ms + 50 + 300 + 100, abs=40)
    assert turns[1].ended_at - turns[1].started_at == pytest.approx(1.5, abs=0.1)

    saved = call.sessions.states["session-1"]
    assert saved["turn_index"] == 5
    assert saved["agent"]["received"] == call.llm.received
    assert saved["last_reply"]["complete"] is True
    assert call.sessions.ttls[-1] == VoiceConfig().resume_window_s
    await call.close()
    assert call.store.ended == ["closed"]


async def test_first_clause_is_spoken_while_the_agent_is_still_writing() -> None:
    script = Script().user_says("What are your hours?", at=4.0, dur=1.0)
    reply = "Sure, we are open from nine to six on weekdays and from ten to four on Saturdays."
    call = VoiceCall(script=script, replies=[reply])
    call.llm.word_interval_s = 0.2  # a slow writer: about 3 s for the whole reply
    await call.start()
    await call.run(6.5)
    first_reply_audio = call.line.first_audio_after(5.0)
    assert first_reply_audio is not None
    assert first_reply_audio < 5.0 + 0.6 + 0.3 + 0.2 + 0.15  # end + allowance/final + first token + next word + TTS
    assert call.tts.requests[0] == "Sure,"  # the greeting came from the phrase cache
    await call.close()


async def test_filler_covers_a_slow_agent_and_is_not_stored_as_its_words() -> None:
    script = Script().user_says("Can I move my booking?", at=4.0, dur=1.0)
    call = VoiceCall(script=script, replies=["Yes, to which day?"])
    call.llm.first_token_s = 2.5
    await call.start()
    await call.run(10)
    assert call.heard() == [GREETING, "One moment.", "Yes,", "to which day?"]
    filler_start = call.line.first_audio_after(5.0)
    assert filler_start == pytest.approx(5.0 + VoiceConfig().filler_after_s, abs=0.05)
    assert call.store.texts("assistant")[-1] == "Yes, to which day?"
    await call.close()


async def test_no_filler_when_the_agent_is_quick() -> None:
    script = Script().user_says("Hi", at=4.0, dur=0.6)
    call = await VoiceCall(script=script, replies=["Hello!"]).start()
    await call.run(8)
    assert "One moment." not in call.heard()
    await call.close()


async def test_recognizer_endpoint_ends_the_turn_before_the_vad_allowance() -> None:
    script = Script().user_says("What time do you close?", at=4.0, dur=1.0)
    call = await VoiceCall(script=script, replies=["Six pm."], stt_options={"endpointing": 0.2}).start()
    await call.run(7)
    assert call.llm.received == ["What time do you close?"]
    assert call.stt.streams[0].finalize_calls == []  # the recognizer's own final was used
    assert call.store.turns[-1].asr_ms == pytest.approx(200, abs=30)
    await call.close()


async def test_pauses_inside_a_phone_number_do_not_end_the_turn() -> None:
    script = (
        Script()
        .user_says("Can I book a trim?", at=4.0, dur=1.0)
        .user_says("five five five", at=9.0, dur=1.0)
        .user_says("one two three four", at=10.8, dur=1.2)  # 0.8 s pause
    )
    replies = [FakeReply("Sure. What is your phone number?", expecting="phone"), "Thanks, got it."]
    call = await VoiceCall(script=script, replies=replies).start()
    await call.run(16)
    assert len(call.llm.received) == 2
    assert call.llm.received[1].endswith("one two three four")
    await call.close()


async def test_the_same_pause_ends_an_open_turn() -> None:
    script = Script().user_says("five five five", at=4.0, dur=1.0).user_says("one two three four", at=5.8, dur=1.2)
    call = await VoiceCall(script=script, replies=["Okay.", "Okay."]).start()
    await call.run(10)
    assert call.llm.received[0] == "five five five"
    await call.close()


@pytest.mark.parametrize(
    ("action", "control", "reason"),
    [
        (CallAction("end", "caller said goodbye"), "hang_up", "agent_ended"),
        (CallAction("transfer"), "transfer", "transferred"),
    ],
)
async def test_agent_actions_run_after_the_reply_has_played(action: CallAction, control: str, reason: str) -> None:
    script = Script().user_says("That's all, thanks", at=4.0, dur=1.0)
    call = await VoiceCall(script=script, replies=[FakeReply("You're welcome, goodbye!", action=action)]).start()
    await call.run(5.9)
    assert call.control.actions == []  # still speaking
    await call.run(6)
    assert call.control.actions == [control]
    last_audio = call.line.messages("media")[-1][0]
    assert call.store.named("call_action") == [{"kind": action.kind, "reason": action.reason}]
    assert call.heard()[-1] == "goodbye!"
    assert call.session.ended
    await call.close()
    assert call.store.ended == [reason]
    assert last_audio < 8.0


async def test_noise_while_idle_gets_no_reply() -> None:
    script = Script().noise(at=4.0, dur=0.3)
    call = await VoiceCall(script=script).start()
    await call.run(6)
    assert call.stt.streams[0].finalize_calls  # the VAD took it for a turn...
    assert call.llm.received == []  # ...but the recognizer heard no words
    await call.close()


async def test_no_filler_right_after_a_long_pause_allowance() -> None:
    # While a phone number is expected the caller has already waited 1.4 s when the turn ends;
    # a quick answer must not be preceded by "One moment."
    script = Script().user_says("Book a trim", at=4.0, dur=1.0).user_says("five five five one two", at=8.0, dur=1.5)
    replies = [FakeReply("Sure. Your number?", expecting="phone"), "Thanks."]
    call = await VoiceCall(script=script, replies=replies).start()
    await call.run(14)
    assert call.llm.received[-1] == "five five five one two"
    assert "One moment." not in call.heard()
    await call.close()
