"""The OpenAI agent through the real SDK streaming path, against a local fake OpenAI server."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from calls.agent.openai_agent import OpenAIAgent, OpenAIAgentConfig
from calls.agent.speech import speakable
from calls.voice.ports import CallAction, TextDelta
from tests.calls.agent.conversation import say
from tests.calls.agent.memory_port import NY, MemoryBookingPort, bella_hair_studio
from tests.fakes.servers.openai_chat import ChatReply, FakeOpenAIChatServer, ToolCallScript

CALLER = "+15551230000"
HOLD = {"service": "Haircut", "date": "2030-01-08", "time": "15:00"}


def agent_for(server: FakeOpenAIChatServer, port: MemoryBookingPort, **config: float | str | None) -> OpenAIAgent:
    settings = {"timeout_s": 2.0, "idle_timeout_s": 2.0, "backoff_s": 0.01, **config}
    return OpenAIAgent(
        config=OpenAIAgentConfig(api_key="test-key", model="gpt-test", base_url=server.base_url, **settings),
        business=port.business,
        port=port,
        caller_phone=CALLER,
    )


def tool(name: str, arguments: dict | None = None) -> ChatReply:
    return ChatReply(tool_calls=(ToolCallScript(name, arguments or {}),), argument_pieces=4)


async def test_streams_text_runs_split_tool_calls_and_books(openai_server: FakeOpenAIChatServer) -> None:
    port = MemoryBookingPort(bella_hair_studio())
    agent = agent_for(openai_server, port)
    openai_server.add(
        tool("check_availability", HOLD),
        # Text before the call, two calls in one reply, arguments in 7 fragments each.
        ChatReply(
            text="Three is free.",
            tool_calls=(ToolCallScript("hold_slot", HOLD), ToolCallScript("business_info", {"topic": "services"})),
            argument_pieces=7,
        ),
        ChatReply(text="That's a haircut tomorrow at three p.m. for Maria Lopez. Shall I book it?"),
        tool("confirm_booking", {"customer_name": "Maria Lopez"}),
        ChatReply(text="You're all set, Maria."),
    )
    agent.greeting()
    first = await say(agent, "a haircut tomorrow at three, I'm Maria Lopez")
    assert [t.name for t in first.tools] == ["check_availability", "hold_slot", "business_info"]
    assert first.tools[1].arguments == HOLD
    assert first.tools[1].result["ok"]
    assert first.text == "Three is free.That's a haircut tomorrow at three p.m. for Maria Lopez. Shall I book it?"
    assert sum(isinstance(e, TextDelta) for e in first.events) > 10  # streamed word by word
    assert agent.expecting == "yes_no"
    assert port.confirmed() == []

    second = await say(agent, "yes")
    assert second.tools[0].result["change"] == "booked"
    assert second.intent is not None
    assert second.intent.name == "book"
    assert [(b.start, b.customer_name, b.phone) for b in port.confirmed()] == [
        (dt.datetime(2030, 1, 8, 15, tzinfo=NY), "Maria Lopez", CALLER)
    ]

    request = openai_server.requests[1].body
    assert request["model"] == "gpt-test"
    assert request["stream"] is True
    assert request["stream_options"] == {"include_usage": True}
    assert {t["function"]["name"] for t in request["tools"]} >= {"check_availability", "hold_slot", "confirm_booking"}
    assert request["messages"][0]["role"] == "system"
    assert "Bella Hair Studio" in request["messages"][0]["content"]
    assert "Monday, 2030-01-07" in request["messages"][0]["content"]
    assert openai_server.requests[1].tool_results()[0]["requested_time_free"] is True
    assistant_calls = [m for m in openai_server.requests[2].body["messages"] if m.get("tool_calls")]
    assert json.loads(assistant_calls[-1]["tool_calls"][0]["function"]["arguments"]) == HOLD
    assert agent.usage == {"prompt_tokens": 120 * 5, "completion_tokens": 12 * 5}  # from the choices-less chunks
    await agent.aclose()


async def test_model_confirming_in_the_hold_turn_is_refused(openai_server: FakeOpenAIChatServer) -> None:
    port = MemoryBookingPort(bella_hair_studio())
    agent = agent_for(openai_server, port)
    openai_server.add(
        ChatReply(
            tool_calls=(
                ToolCallScript("hold_slot", HOLD),
                ToolCallScript("confirm_booking", {"customer_name": "Maria Lopez"}),
            )
        ),
        ChatReply(text="Shall I book a haircut tomorrow at three p.m.?"),
    )
    reply = await say(agent, "book me a haircut tomorrow at three")
    assert reply.tools[1].result["error"] == "not_confirmed"
    assert openai_server.requests[1].tool_results()[1]["error"] == "not_confirmed"
    assert port.confirmed() == []
    await agent.aclose()


async def test_a_stalled_request_times_out_and_is_retried(openai_server: FakeOpenAIChatServer) -> None:
    port = MemoryBookingPort(bella_hair_studio())
    agent = agent_for(openai_server, port, timeout_s=0.3)
    openai_server.add(ChatReply(text="never sent", stall_s=10), ChatReply(text="We're at 12 Main Street."))
    reply = await say(agent, "where are you")
    assert reply.text == "We're at 12 Main Street."
    assert len(openai_server.requests) == 2
    assert reply.action is None
    await agent.aclose()


async def test_a_500_is_retried(openai_server: FakeOpenAIChatServer) -> None:
    agent = agent_for(openai_server, MemoryBookingPort(bella_hair_studio()))
    openai_server.add(ChatReply(status=500), ChatReply(text="We open at nine."))
    reply = await say(agent, "when do you open")
    assert reply.text == "We open at nine."
    assert len(openai_server.requests) == 2
    await agent.aclose()


@pytest.mark.parametrize(
    ("transfer_number", "reason", "said"),
    [
        ("+15005550007", "agent_error", "put you through"),
        ("", "take_message", "take a message"),
    ],
)
async def test_when_the_model_stays_down_the_caller_is_handed_over(
    openai_server: FakeOpenAIChatServer, transfer_number: str, reason: str, said: str
) -> None:
    port = MemoryBookingPort(bella_hair_studio(transfer_number=transfer_number))
    agent = agent_for(openai_server, port, timeout_s=0.3)
    openai_server.add(ChatReply(status=500), ChatReply(stall_s=10))
    reply = await say(agent, "hello")
    assert said in reply.text
    assert reply.text.startswith("I'm sorry, I'm having trouble on my end.")
    assert reply.action == CallAction("transfer", reason=reason)
    assert len(openai_server.requests) == 2
    await agent.aclose()


async def test_a_401_is_not_retried(openai_server: FakeOpenAIChatServer) -> None:
    port = MemoryBookingPort(bella_hair_studio())
    agent = OpenAIAgent(
        config=OpenAIAgentConfig(api_key="wrong-key", base_url=openai_server.base_url, backoff_s=0.01),
        business=port.business,
        port=port,
        caller_phone=CALLER,
    )
    reply = await say(agent, "hello")
    assert reply.action is not None
    assert reply.action.kind == "transfer"
    assert len(openai_server.requests) == 1
    await agent.aclose()


async def test_slow_first_words_get_a_filler(openai_server: FakeOpenAIChatServer) -> None:
    agent = agent_for(openai_server, MemoryBookingPort(bella_hair_studio()), filler_after_s=0.05)
    openai_server.add(ChatReply(text="We're at 12 Main Street.", stall_s=0.4))
    reply = await say(agent, "where are you")
    texts = [e.text for e in reply.events if isinstance(e, TextDelta)]
    assert texts[0] == "One moment. "
    assert reply.text == "One moment. We're at 12 Main Street."
    assert len(openai_server.requests) == 1  # the filler did not cancel the request
    await agent.aclose()


async def test_snapshot_and_restore_mid_booking(openai_server: FakeOpenAIChatServer) -> None:
    port = MemoryBookingPort(bella_hair_studio())
    first = agent_for(openai_server, port)
    openai_server.add(tool("hold_slot", HOLD), ChatReply(text="Shall I book it for Maria Lopez?"))
    await say(first, "haircut tomorrow at three for maria lopez")
    saved = json.loads(json.dumps(first.snapshot()))
    await first.aclose()

    second = agent_for(openai_server, port)
    second.restore(saved)
    openai_server.add(tool("confirm_booking", {"customer_name": "Maria Lopez"}), ChatReply(text="Booked."))
    reply = await say(second, "yes")
    assert reply.tools[0].result["ok"]
    sent = openai_server.requests[2].body["messages"]
    assert [m["role"] for m in sent[1:]] == ["user", "assistant", "tool", "assistant", "user"]
    assert len(port.confirmed()) == 1
    await second.aclose()


async def test_an_interrupted_reply_keeps_what_was_heard(openai_server: FakeOpenAIChatServer) -> None:
    agent = agent_for(openai_server, MemoryBookingPort(bella_hair_studio()))
    openai_server.add(ChatReply(text="We are open from nine until six on weekdays.", chunk_delay_s=0.02))
    stream = agent.respond("when are you open")
    heard = [(await anext(stream)).text for _ in range(3)]
    await stream.aclose()  # barge-in: the voice loop cancels the reply
    agent.note_heard("".join(heard))
    assert agent.snapshot()["history"][-1]["content"] == "We are open"
    openai_server.add(ChatReply(text="Sure."))
    reply = await say(agent, "sorry go on")
    assert reply.text == "Sure."
    assert openai_server.requests[-1].body["messages"][-2] == {"role": "assistant", "content": "We are open"}
    await agent.aclose()


async def test_end_call_tool_ends_the_call(openai_server: FakeOpenAIChatServer) -> None:
    agent = agent_for(openai_server, MemoryBookingPort(bella_hair_studio()))
    openai_server.add(tool("end_call", {"reason": "goodbye"}), ChatReply(text="Goodbye!"))
    reply = await say(agent, "that's all bye")
    assert reply.text == "Goodbye!"
    assert reply.action == CallAction("end", reason="goodbye")
    await agent.aclose()


def test_speakable_drops_markdown() -> None:
    assert speakable("**Sure!** We offer:\n- a haircut\n- a beard trim") == "Sure! We offer: a haircut a beard trim"


async def test_cancelled_turn_does_not_leave_tool_calls_unanswered(openai_server: FakeOpenAIChatServer) -> None:
    port = MemoryBookingPort(bella_hair_studio())
    agent = agent_for(openai_server, port)
    agent.state.history.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_x", "type": "function", "function": {"name": "find_bookings", "arguments": "{}"}}
            ],
        }
    )
    openai_server.add(ChatReply(text="Hello again."))
    await say(agent, "hello")
    sent = openai_server.requests[0].body["messages"]
    assert {"role": "tool", "tool_call_id": "call_x", "content": json.dumps({"ok": False, "error": "interrupted"})} in (
        sent
    )
    await agent.aclose()


async def test_cancellation_is_not_swallowed(openai_server: FakeOpenAIChatServer) -> None:
    agent = agent_for(openai_server, MemoryBookingPort(bella_hair_studio()))
    openai_server.add(ChatReply(text="slow", stall_s=5))

    async def consume() -> None:
        async for _ in agent.respond("hello"):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await agent.aclose()
