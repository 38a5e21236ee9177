"""The OpenAI receptionist: streaming chat completions with the booking tools.

Per caller turn the agent streams a completion; text deltas go out at once
(the voice loop speaks the first sentence while the rest is generated), and
tool calls, whose arguments arrive in pieces across chunks, are assembled by
index, run against the booking port, fed back, and the model is asked again
until it speaks. Each request has a deadline for its first chunk and between
chunks and is retried once while nothing of it has been said; when the model
stays unavailable the caller hears one calm sentence and the call goes to a
person or to message taking.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zoneinfo
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionChunk

from calls.providers.retry import RetryPolicy, status_error, stream_with_retries
from calls.voice.faults import provider_fault_note
from calls.voice.ports import (
    AgentEvent,
    BookingPort,
    BusinessInfo,
    CallAction,
    ProviderError,
    TextDelta,
    ToolUsed,
)

from . import intents as it
from . import replies
from .conversing import ConversationStateMixin
from .intents import expecting_from_reply
from .prompt import system_prompt
from .speech import speakable
from .state import AgentState
from .tool_schemas import TOOL_SCHEMAS
from .tools import AgentTools

logger = logging.getLogger(__name__)

PROVIDER = "openai"
_MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id")
_TOOL_INTENTS = {
    "check_availability": it.BOOK,
    "hold_slot": it.BOOK,
    "confirm_booking": it.BOOK,
    "reschedule": it.RESCHEDULE,
    "cancel": it.CANCEL,
    "transfer_to_human": it.TRANSFER,
    "end_call": it.GOODBYE,
}


@dataclass(frozen=True)
class OpenAIAgentConfig:
    """Attributes:
    api_key: OpenAI key.
    model: Chat model name.
    base_url: API base (``.../v1``); None for OpenAI's own.
    timeout_s: Deadline for the first chunk of each model request.
    idle_timeout_s: Deadline between two chunks of one request.
    attempts: Tries per request while nothing of it has been spoken.
    filler_after_s: Say ``filler_text`` when the first words take longer than
        this; None when the voice loop plays its own filler.
    max_tool_rounds: Model requests per caller turn before giving up.
    max_history_messages: Messages of history sent with each request.
    """

    api_key: str
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    timeout_s: float = 8.0
    idle_timeout_s: float = 8.0
    attempts: int = 2
    filler_after_s: float | None = None
    filler_text: str = "One moment. "
    max_tool_rounds: int = 6
    max_history_messages: int = 40
    temperature: float = 0.3
    backoff_s: float = 0.2

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=self.attempts,
            timeout_s=self.timeout_s,
            backoff_s=self.backoff_s,
            idle_timeout_s=self.idle_timeout_s,
        )


def _classify(exc: BaseException) -> ProviderError | None:
    if isinstance(exc, openai.APIStatusError):
        return status_error(PROVIDER, exc.status_code, exc.message)
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return ProviderError(f"openai connection failed: {exc!r}", provider=PROVIDER, retryable=True)
    if isinstance(exc, openai.APIError):  # an error event inside the stream
        return ProviderError(f"openai stream error: {exc}", provider=PROVIDER, retryable=False)
    return None


@dataclass
class _ToolCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class OpenAIAgent(ConversationStateMixin):
    """The receptionist on OpenAI chat completions with function tools.

    Args:
        config: Model, endpoint, timeouts.
        business: The business as plain data (for the system prompt).
        port: How bookings are read and written.
        caller_phone: The caller's number (E.164).
        client: An SDK client to use instead of one built from ``config``.
    """

    name = "openai"

    def __init__(
        self,
        *,
        config: OpenAIAgentConfig,
        business: BusinessInfo,
        port: BookingPort,
        caller_phone: str,
        client: AsyncOpenAI | None = None,
    ) -> None:
        self.config = config
        self.business = business
        self.port = port
        self.caller_phone = caller_phone
        self.tz = zoneinfo.ZoneInfo(business.timezone)
        self.client = client or AsyncOpenAI(
            api_key=config.api_key,
            base_url=config.base_url or None,
            timeout=config.timeout_s + config.idle_timeout_s,
            max_retries=0,  # retries follow config.retry_policy(), not the SDK's own backoff
        )
        self.state = AgentState()
        self.tools = AgentTools(port=port, business=business, caller_phone=caller_phone, state=self.state)
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}

    # ------------------------------------------------------------------ protocol

    async def aclose(self) -> None:
        await self.client.close()

    async def respond(self, caller_text: str) -> AsyncIterator[AgentEvent]:
        state = self.state
        self._history_repair()
        state.turn_index += 1
        state.history_add("user", caller_text)
        used: list[str] = []
        action: CallAction | None = None
        spoken: list[str] = []
        finished = False
        try:
            for _ in range(self.config.max_tool_rounds):
                calls: dict[int, _ToolCall] = {}
                round_text: list[str] = []
                async for item in self._completion(first_round=not used and not spoken):
                    if isinstance(item, str):
                        spoken.append(item)
                        yield TextDelta(item)
                        continue
                    self._count_usage(item)
                    for choice in item.choices:
                        if choice.delta.content:
                            text = speakable(choice.delta.content)
                            round_text.append(text)
                            spoken.append(text)
                            yield TextDelta(text)
                        for piece in choice.delta.tool_calls or ():
                            call = calls.setdefault(piece.index, _ToolCall())
                            call.id = piece.id or call.id
                            if piece.function is not None:
                                call.name = piece.function.name or call.name
                                call.arguments.append(piece.function.arguments or "")
                if not calls:
                    if not "".join(spoken).strip():
                        retry = "Sorry, I didn't catch that. Could you say it again?"
                        spoken.append(retry)
                        yield TextDelta(retry)
                    state.history_add("assistant", "".join(spoken).strip())
                    finished = True
                    break
                async for event in self._run_tools(calls, round_text):
                    used.append(event.name)
                    action = self._action_of(event) or action
                    yield event
            else:
                raise ProviderError("the model kept calling tools", provider=PROVIDER, retryable=False)
        except ProviderError as exc:
            logger.warning("OpenAI agent failed, handing over: %s", exc)
            provider_fault_note(exc.provider, exc, handling="handed_over")
            sentence = replies.failure_sentence(self.business)
            prefix = " " if spoken else ""
            spoken.append(prefix + sentence)
            yield TextDelta(prefix + sentence)
            state.history_add("assistant", "".join(spoken).strip())
            finished = True
            reason = "agent_error" if self.business.transfer_number else "take_message"
            action = CallAction("transfer", reason=reason)
        finally:
            if not finished and spoken:
                # Cancelled mid-reply (barge-in): keep what was said so note_heard trims this turn.
                state.history_add("assistant", "".join(spoken).strip())
        yield self._intent(caller_text, used)
        state.expecting = expecting_from_reply("".join(spoken), holding=state.pending_hold is not None)
        if action is not None:
            state.ended = True
            yield action

    # ------------------------------------------------------------------ model

    async def _completion(self, *, first_round: bool) -> AsyncIterator[ChatCompletionChunk | str]:
        """Chunks of one model reply (retried per the policy); a filler string if the first is slow."""
        messages = await self._messages()
        source = stream_with_retries(
            lambda: self._request(messages), provider=PROVIDER, policy=self.config.retry_policy(), classify=_classify
        )
        filler_after = self.config.filler_after_s if first_round else None
        pending: asyncio.Task[ChatCompletionChunk] | None = None
        try:
            if filler_after is not None:
                # Wait for the first chunk in a task, so saying the filler does not cancel the request.
                pending = asyncio.create_task(_next_chunk(source))
                done, _ = await asyncio.wait({pending}, timeout=filler_after)
                if not done:
                    yield self.config.filler_text
                try:
                    first = await pending
                except StopAsyncIteration:
                    return
                pending = None
                yield first
            async for chunk in source:
                yield chunk
        finally:
            if pending is not None:
                pending.cancel()
                await asyncio.wait({pending})  # unlike awaiting it, never raises the task's own error
                if not pending.cancelled():
                    pending.exception()  # retrieved: the caller already has the outcome it needs
            await source.aclose()

    async def _request(self, messages: list[dict[str, Any]]) -> AsyncIterator[ChatCompletionChunk]:
        stream = await self.client.chat.completions.create(
            model=self.config.model,
            messages=messages,  # type: ignore[arg-type]
            tools=TOOL_SCHEMAS,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
            temperature=self.config.temperature,
        )
        try:
            async for chunk in stream:
                yield chunk
        finally:
            await stream.close()

    async def _messages(self) -> list[dict[str, Any]]:
        now = (await self.port.now()).astimezone(self.tz)
        history = self.state.history[-self.config.max_history_messages :]
        while history and history[0].get("role") == "tool":  # never start on an orphaned tool result
            history = history[1:]
        sent = [{key: message[key] for key in _MESSAGE_KEYS if key in message} for message in history]
        prompt = system_prompt(self.business, now=now, caller_phone=self.caller_phone)
        return [{"role": "system", "content": prompt}, *sent]

    def _count_usage(self, chunk: ChatCompletionChunk) -> None:
        if chunk.usage is not None:
            self.usage["prompt_tokens"] += chunk.usage.prompt_tokens
            self.usage["completion_tokens"] += chunk.usage.completion_tokens

    # ------------------------------------------------------------------ tools

    async def _run_tools(self, calls: dict[int, _ToolCall], round_text: list[str]) -> AsyncIterator[ToolUsed]:
        ordered = [calls[index] for index in sorted(calls)]
        self.state.history.append(
            {
                "role": "assistant",
                "content": "".join(round_text) or None,
                "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": "".join(c.arguments)}}
                    for c in ordered
                ],
            }
        )
        for call in ordered:
            raw = "".join(call.arguments) or "{}"
            try:
                arguments = json.loads(raw)
                if not isinstance(arguments, dict):
                    raise ValueError("arguments must be an object")
            except ValueError as exc:
                arguments = {}
                result: dict[str, Any] = {"ok": False, "error": "invalid", "message": f"Arguments not JSON: {exc}"}
            else:
                result = await self.tools.run(call.name, arguments)
            self.state.history.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
            self._remember_slots(call.name, arguments)
            yield ToolUsed(name=call.name, arguments=arguments, result=result)

    def _remember_slots(self, name: str, arguments: dict[str, Any]) -> None:
        slots = self.state.slots
        for key, slot in (
            ("service", "service"),
            ("date", "date"),
            ("time", "time"),
            ("customer_name", "name"),
            ("phone", "phone"),
        ):
            if isinstance(arguments.get(key), str) and arguments[key]:
                slots[slot] = arguments[key]
        if name == "confirm_booking" or name == "cancel" or name == "reschedule":
            slots.pop("time", None)

    @staticmethod
    def _action_of(event: ToolUsed) -> CallAction | None:
        if not event.result.get("ok"):
            return None
        if event.result.get("action") == "transfer":
            reason = "take_message" if event.result.get("take_message") else "caller_request"
            return CallAction("transfer", reason=reason)
        if event.result.get("action") == "end":
            return CallAction("end", reason=str(event.result.get("reason") or "caller_goodbye"))
        return None

    def _history_repair(self) -> None:
        """Answer tool calls left without results (a cancelled turn), or the next request is refused."""
        history, answered = self.state.history, set()
        for message in history:
            if message.get("role") == "tool":
                answered.add(message.get("tool_call_id"))
        repaired: list[dict[str, Any]] = []
        for message in history:
            repaired.append(message)
            for call in message.get("tool_calls") or ():
                if call["id"] not in answered:
                    content = json.dumps({"ok": False, "error": "interrupted"})
                    repaired.append({"role": "tool", "tool_call_id": call["id"], "content": content})
        self.state.history = repaired

    def _intent(self, caller_text: str, used: list[str]) -> AgentEvent:
        guess = it.intent_classify(caller_text)
        for tool in reversed(used):
            if tool in _TOOL_INTENTS:
                guess = it.IntentGuess(_TOOL_INTENTS[tool], 0.9)
                break
        else:
            if "find_bookings" in used and guess.name not in (it.CANCEL, it.RESCHEDULE):
                guess = it.IntentGuess(it.RESCHEDULE, 0.6)
            elif "business_info" in used and guess.name not in it.QUESTION_INTENTS:
                guess = it.IntentGuess(it.FAQ, 0.7)
        return it.intent_update(guess, self.state.slots)


async def _next_chunk(source: AsyncIterator[ChatCompletionChunk]) -> ChatCompletionChunk:
    return await anext(source)
