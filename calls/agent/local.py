"""The offline receptionist: a deterministic dialogue over the booking tools.

No model and no keys: each caller turn is read with the rules in
``intents``/``spoken_time`` and moves a small state machine. The flows are
book (service, day, time, name, phone defaulting to caller id, read-back,
yes), reschedule and cancel (find the caller's booking, confirm, act), plus
questions answered from the business data at any point, a repeat on request,
and a hand-over to a person on request or after repeated misunderstanding.
Every reply says something useful and ends with a question while something is
needed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import zoneinfo
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from calls.voice.ports import AgentEvent, BookingPort, BusinessInfo, CallAction, TextDelta, ToolUsed

from . import intents as it
from . import replies
from .changes import ChangeFlows
from .conversing import ConversationStateMixin
from .flows import BookFlow, Heard, Reply
from .spoken_time import when_parse
from .state import AgentState
from .tools import AgentTools

logger = logging.getLogger(__name__)

_ABORT = r"\b(?:never mind|nevermind|forget it|forget about it|cancel that|scratch that|dont bother)\b"


@dataclass(frozen=True)
class LocalAgentConfig:
    """Attributes:
    max_misunderstandings: Caller turns in a row Zylin may fail to use before
        handing the call to a person.
    """

    max_misunderstandings: int = 3


class LocalAgent(ConversationStateMixin, BookFlow, ChangeFlows):
    """The embedded agent: same tools and bookings as the OpenAI agent, no network.

    Args:
        business: The business as plain data.
        port: How bookings are read and written.
        caller_phone: The caller's number (E.164), used as the booking's phone.
        config: Tuning knobs.
    """

    name = "local"

    def __init__(
        self,
        *,
        business: BusinessInfo,
        port: BookingPort,
        caller_phone: str,
        config: LocalAgentConfig | None = None,
    ) -> None:
        self.business = business
        self.port = port
        self.caller_phone = caller_phone
        self.config = config or LocalAgentConfig()
        self.tz = zoneinfo.ZoneInfo(business.timezone)
        self.state = AgentState()
        self.tools = AgentTools(port=port, business=business, caller_phone=caller_phone, state=self.state)
        self.now = dt.datetime.now(self.tz)
        self._events: list[AgentEvent] = []
        self._intent: it.IntentGuess | None = None
        self._heard_guess = it.IntentGuess(it.UNKNOWN, 0.2)
        self._confused = False

    # ------------------------------------------------------------------ protocol

    async def respond(self, caller_text: str) -> AsyncIterator[AgentEvent]:
        state = self.state
        state.turn_index += 1
        state.history_add("user", caller_text)
        self._events, self._intent, self._confused = [], None, False
        self._heard_guess = it.IntentGuess(it.UNKNOWN, 0.2)
        slots_before = self._slots_view()
        try:
            self.now = (await self.port.now()).astimezone(self.tz)
            text, action = await self._turn(caller_text) if not state.ended else self._goodbye_now()
        except asyncio.CancelledError:
            raise
        except Exception:  # a broken port must not leave the caller in silence
            logger.exception("local agent failed on a caller turn")
            text, action = replies.failure_sentence(self.business), self._handover("agent_error")
        if not self._confused:
            state.misunderstandings = 0
        if self._intent is None or self._intent.name not in it.QUESTION_INTENTS:
            state.last_topic = None
        for event in self._events:
            yield event
        # A task finished this turn clears its slots; the intent still shows what was settled.
        yield it.intent_update(self._turn_intent(), {**slots_before, **self._slots_view()})
        text = replies.tidy(text)
        state.last_reply = text
        state.history_add("assistant", text)
        yield TextDelta(text)
        if action is not None:
            state.ended = True
            state.expecting = "open"
            yield action

    # ------------------------------------------------------------------ turn

    async def _tool(self, name: str, **arguments: Any) -> dict[str, Any]:
        result = await self.tools.run(name, arguments)
        self._events.append(ToolUsed(name=name, arguments=arguments, result=result))
        return result

    def _hear(self, text: str) -> Heard:
        awaiting = self.state.awaiting
        choice = it.choice_extract(text, len(self.state.offered or self.state.candidates))
        return Heard(
            text=text,
            guess=it.intent_classify(text),
            service=it.service_find(text, self.business.services),
            # "The last one" picks an offered time; only without a pick is a lone number an hour.
            when=when_parse(
                text, self.now, bare_hour=awaiting == "time" and choice is None, discussed=self._discussed_day()
            ),
            answer=it.yes_no(text),
            topic=it.question_topic(text, self.business.faqs),
            name=it.name_extract(text, asked=awaiting == "name"),
            phone=it.phone_extract(text),
            choice=choice,
            abort=re.search(_ABORT, text.lower().replace("'", "")) is not None,
        )

    def _discussed_day(self) -> dt.date | None:
        """The day of the booking being arranged, while one is (not after it is done)."""
        day = self.state.slots.get("date") if self.state.flow else None
        try:
            return dt.date.fromisoformat(day) if day else None
        except ValueError:
            return None

    async def _turn(self, text: str) -> Reply:
        state = self.state
        heard = self._hear(text)
        self._heard_guess = heard.guess
        name = heard.guess.name
        if name == it.REPEAT and state.last_reply:
            self._intent = it.IntentGuess(it.REPEAT, 0.9)
            return f"Sure. {state.last_reply}", None
        if name == it.TRANSFER:
            return await self._transfer(after_trouble=False)
        if name == it.GREETING:
            if state.flow:
                return f"Yes, I'm still here. {self._prompt()}", None
            return self._ask(None, "open", replies.hello_sentence())
        if heard.question:
            return self._answer(heard)
        if state.last_topic == it.HOURS and heard.only_a_day:
            return self._answer(replace(heard, topic=it.HOURS))
        if heard.abort and state.flow:
            return await self._abort_flow()
        step = {
            "confirm_booking": self._on_confirm_booking,
            "confirm_move": self._on_confirm_move,
            "confirm_cancel": self._on_confirm_cancel,
            "choose_booking": self._on_choose_booking,
            "offer_book": self._on_offer_book,
            "anything_else": self._on_anything_else,
            "change": self._on_change,
        }.get(state.awaiting or "")
        if step is not None:
            reply = await step(heard)
            if reply is not None:
                return reply
        if name == it.GOODBYE:
            return await self._goodbye()
        switch = self._flow_switch(heard)
        if switch:
            return await self._start_existing(switch, heard)
        if state.flow == "book" or (state.flow is None and heard.wants_booking):
            reply = await self._continue_book(heard)
            if reply is not None:
                return reply
        if state.flow == "reschedule" and state.target_booking and self._apply_move_details(heard):
            return await self._plan_move()
        return await self._misunderstood()

    def _flow_switch(self, heard: Heard) -> str | None:
        name, flow = heard.guess.name, self.state.flow
        mentions_existing = re.search(r"\b(?:my|existing|current) (?:appointment|booking)\b", heard.text.lower())
        if name == it.CANCEL and flow != "cancel" and (flow != "book" or mentions_existing):
            return "cancel"
        if name == it.RESCHEDULE and flow not in ("reschedule", "book"):
            return "reschedule"
        if name == it.RESCHEDULE and flow == "book" and mentions_existing:
            return "reschedule"
        return None

    # ------------------------------------------------------------------ answers and endings

    def _answer(self, heard: Heard) -> Reply:
        topic = heard.topic
        if topic in (it.PRICE, it.DURATION):
            slots = self.state.slots
            service = heard.service or self.tools.service_named(slots.get("service") or slots.get("last_service"))
            text = replies.price_answer(self.business, service)
        elif topic == it.HOURS:
            text = replies.hours_answer(self.business, heard.when.date if heard.when.date_said else None)
        elif topic == it.ADDRESS:
            text = replies.address_answer(self.business)
        elif topic == it.SERVICES:
            text = replies.services_answer(self.business)
        else:
            text = replies.faq_answer(it.faq_find(heard.text, self.business.faqs))
        self._intent = it.IntentGuess(topic or it.FAQ, heard.guess.confidence if topic == heard.guess.name else 0.75)
        self.state.last_topic = topic
        if self.state.flow and self.state.awaiting:
            return f"{text} {self._prompt()}", None
        if topic in (it.PRICE, it.DURATION, it.SERVICES, it.HOURS):
            if heard.service:
                self.state.slots["service"] = heard.service.name
            return self._ask("offer_book", "yes_no", f"{text} Would you like to book an appointment?")
        return self._ask("anything_else", "open", f"{text} Is there anything else I can help with?")

    async def _transfer(self, *, after_trouble: bool) -> Reply:
        await self.tools.release_hold()
        await self._tool("transfer_to_human", reason="misunderstanding" if after_trouble else "caller asked")
        self._intent = it.IntentGuess(it.TRANSFER, 0.95 if not after_trouble else 0.5)
        reason = "misunderstanding" if after_trouble else "caller_request"
        return replies.transfer_sentence(self.business, after_trouble=after_trouble), self._handover(reason)

    def _handover(self, reason: str) -> CallAction:
        # Without a number to transfer to, the call goes to the recording path, which takes a message.
        return CallAction("transfer", reason=reason if self.business.transfer_number else "take_message")

    async def _goodbye(self) -> Reply:
        await self.tools.release_hold()
        await self._tool("end_call", reason="caller said goodbye")
        self._intent = it.IntentGuess(it.GOODBYE, 0.9)
        return self._goodbye_now()

    def _goodbye_now(self) -> Reply:
        return replies.goodbye_sentence(self.business), CallAction("end", reason="caller_goodbye")

    async def _abort_flow(self) -> Reply:
        flow = self.state.flow
        await self.tools.release_hold()
        self._finish_flow()
        self._intent = it.IntentGuess(flow or it.UNKNOWN, 0.8)
        done = "I haven't booked anything" if flow == "book" else "I'll leave your appointment as it is"
        return self._ask("anything_else", "open", f"No problem, {done}. Is there anything else I can help with?")

    async def _misunderstood(self) -> Reply:
        state = self.state
        state.misunderstandings += 1
        self._confused = True
        self._intent = it.IntentGuess(it.UNKNOWN, 0.2)
        if state.misunderstandings >= self.config.max_misunderstandings:
            return await self._transfer(after_trouble=True)
        lead = "Sorry, I didn't catch that." if state.misunderstandings == 1 else "Sorry, I still didn't get that."
        return f"{lead} {self._prompt()}", None

    def _turn_intent(self) -> it.IntentGuess:
        """The turn's intent: what a step decided, else the task under way, else the sentence's own."""
        if self._intent is not None:
            return self._intent
        flow, heard = self.state.flow, self._heard_guess
        if flow:
            return it.IntentGuess(flow, max(0.8, heard.confidence) if heard.name == flow else 0.8)
        return heard

    def _slots_view(self) -> dict[str, Any]:
        view = {k: v for k, v in self.state.slots.items() if k in ("service", "date", "time", "name", "phone")}
        if self.state.target_booking:
            view["booking_id"] = self.state.target_booking["booking_id"]
        return view
