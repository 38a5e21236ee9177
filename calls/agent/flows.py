"""The offline agent's dialogue steps: what they share, and booking.

Each step reads what the caller just said (``Heard``), updates the slots in
``AgentState`` and asks for the next missing thing. A step returns ``None``
when the sentence was of no use to it, and the agent then treats the turn as
a misunderstanding.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from calls.voice.ports import BusinessInfo, CallAction, Expecting, ServiceInfo

from . import intents as it
from . import replies
from .speech import (
    join_or,
    say_date,
    say_day_and_time,
    say_time,
    say_times,
    say_when,
    with_article,
)
from .spoken_time import SpokenWhen
from .state import AgentState
from .tools import AgentTools

Reply = tuple[str, CallAction | None]


@dataclass(frozen=True)
class Heard:
    """Everything the rules found in one caller sentence."""

    text: str
    guess: it.IntentGuess
    service: ServiceInfo | None
    when: SpokenWhen
    answer: bool | None
    topic: str | None
    name: str | None
    phone: str | None
    choice: int | None
    abort: bool

    @property
    def question(self) -> bool:
        return self.topic is not None and self.guess.name in (*it.QUESTION_INTENTS, it.UNKNOWN)

    @property
    def only_a_day(self) -> bool:
        """ "And on Sunday?": a day and nothing else to act on."""
        when = self.when
        return when.date_said and not (when.time_said or self.service or self.guess.name == it.BOOK)

    @property
    def wants_booking(self) -> bool:
        return self.guess.name == it.BOOK or self.service is not None or not self.when.empty


class FlowBase:
    """What the dialogue steps share: the agent's state, asking, offering times, refusals."""

    business: BusinessInfo
    state: AgentState
    tools: AgentTools
    caller_phone: str
    now: dt.datetime
    tz: zoneinfo.ZoneInfo
    _intent: it.IntentGuess | None

    async def _tool(self, name: str, **arguments: Any) -> dict[str, Any]: ...

    async def _misunderstood(self) -> Reply: ...

    async def _goodbye(self) -> Reply: ...

    # ------------------------------------------------------------------ shared

    def _ask(self, awaiting: str | None, expecting: Expecting, text: str) -> Reply:
        self.state.awaiting = awaiting
        self.state.expecting = expecting
        return text, None

    def _finish_flow(self) -> None:
        state = self.state
        state.flow, state.target_booking, state.candidates, state.offered = None, None, [], []
        if "service" in state.slots:
            state.slots["last_service"] = state.slots["service"]  # "how much is it?" after the booking
        for key in ("service", "date", "time", "time_wished", "part_of_day", "after", "before", "earliest"):
            state.slots.pop(key, None)

    def _phone(self) -> str:
        return str(self.state.slots.get("phone") or (self.caller_phone if self.caller_phone.startswith("+") else ""))

    def _start(self, iso_date: str, hhmm: str) -> dt.datetime:
        hour, minute = (int(x) for x in hhmm.split(":"))
        return dt.datetime.combine(dt.date.fromisoformat(iso_date), dt.time(hour, minute), tzinfo=self.tz)

    def _on_day(self, day: dt.date) -> str:
        spoken = say_date(day, self.now.date())
        return spoken if spoken in ("today", "tomorrow") else f"on {spoken}"

    def _prompt(self) -> str:
        """The question of the current step, asked again."""
        state, slots = self.state, self.state.slots
        held, target = state.pending_hold, state.target_booking
        prompts = {
            "service": f"Which service would you like: {replies.service_list(self.business)}?",
            "date": "What day would you like? You can say something like tomorrow, or Friday afternoon.",
            "time": self._offered_question(),
            "name": "Could you tell me your name, please?",
            "phone": "What's the best number to reach you? You can say the digits one by one.",
            "offer_book": "Would you like to book an appointment?",
            "anything_else": "Is there anything else I can help with?",
            "change": "What would you like to change: the day, the time or the service?",
            "choose_booking": f"Which appointment do you mean: {join_or([b['spoken'] for b in state.candidates])}?",
        }
        if held:
            start = dt.datetime.fromisoformat(held["start"])
            spoken = f"{with_article(held['service'])} {say_when(start, self.now.date())}"
            prompts["confirm_booking"] = f"Shall I book {spoken} for {slots.get('name', 'you')}? Please say yes or no."
        if target:
            prompts["confirm_cancel"] = f"Shall I cancel {self._target_spoken()}? Please say yes or no."
            if "date" in slots and "time" in slots:
                new = say_day_and_time(self._start(slots["date"], slots["time"]), self.now.date())
                prompts["confirm_move"] = f"Shall I move {self._target_spoken()} to {new}? Please say yes or no."
        default = f"{replies.OPEN_MENU} What would you like to do?"
        return prompts.get(state.awaiting or "", default)

    def _offered_question(self) -> str:
        if not self.state.offered:
            return "What time would you like?"
        times = say_times([dt.datetime.fromisoformat(start).time() for start in self.state.offered])
        return f"Which time would suit you: {times}?"

    def _availability(self, service: str, *, time: str | None = None) -> dict[str, Any]:
        """check_availability arguments from the slots: the day, and the caller's window or wished time."""
        slots = self.state.slots
        arguments = {"service": service, "date": slots["date"], "time": time}
        for key in ("part_of_day", "after", "before", "earliest"):
            arguments[key] = slots.get(key)
        return {key: value for key, value in arguments.items() if value is not None}

    def _offer(self, result: dict[str, Any], lead: str, *, same_day_as: str | None = None) -> Reply:
        """Offer the free times of a check_availability result, or the next free day."""
        if not result.get("ok"):
            self.state.slots.pop("service", None)
            return self._ask(
                "service", "open", f"{lead}Which service would you like: {replies.service_list(self.business)}?"
            )
        day = dt.date.fromisoformat(result["date"])
        if result["slots"] and self.state.slots.get("earliest"):
            return self._offering(result, lead + replies.earliest_sentence(result))
        if result["slots"]:
            return self._offering(result, lead + replies.offer_sentence(result, same_day_as=same_day_as))
        reason = (
            f"Sorry, we're closed {self._on_day(day)}."
            if result["closed"]
            else (f"Sorry, we're fully booked {self._on_day(day)}.")
        )
        alternative = result.get("alternative_day")
        if alternative and self.state.slots.get("earliest"):
            return self._offering(alternative, lead + replies.earliest_sentence(alternative))
        if alternative:
            return self._offering(alternative, f"{lead}{reason} {replies.next_day_sentence(alternative)}")
        self.state.slots.pop("date", None)
        return self._ask("date", "date", f"{lead}{reason} Which other day would suit you?")

    def _offering(self, offer: dict[str, Any], text: str) -> Reply:
        self.state.offered = [slot["start"] for slot in offer["slots"]]
        self.state.slots["date"] = offer["date"]
        self.state.slots.pop("time", None)
        return self._ask("time", "date", text)

    def _refused(self, result: dict[str, Any], day: dt.date, time: dt.time, lead: str = "") -> Reply:
        """The wished time cannot be had: say why and offer the nearest free times."""
        reason = replies.refusal_sentence(
            result.get("error", ""),
            time_spoken=say_time(time),
            day_spoken=self._on_day(day),
            day_hours=replies.day_hours(self.business, day),
        )
        self.state.slots["time_wished"] = f"{time:%H:%M}"
        alternatives = result.get("alternatives")
        if alternatives and alternatives["slots"]:
            if alternatives["date"] != day.isoformat():
                offer = replies.next_day_sentence(alternatives)
            else:
                offer = replies.nearest_sentence(alternatives)
            return self._offering(alternatives, f"{lead}{reason} {offer}")
        self.state.slots.pop("time", None)
        return self._ask("date", "date", f"{lead}{reason} Which other day would suit you?")

    def _apply_details(self, heard: Heard) -> bool:
        """Copy what the caller said into the slots; True when anything changed."""
        slots, before = self.state.slots, dict(self.state.slots)
        if self.state.awaiting == "time" and self.state.offered:
            pick = heard.choice
            if pick is None and len(self.state.offered) == 1 and heard.answer is True:
                pick = 0
            if pick is not None:
                start = dt.datetime.fromisoformat(self.state.offered[pick])
                slots["date"], slots["time"] = start.date().isoformat(), f"{start:%H:%M}"
        if heard.service:
            slots["service"] = heard.service.name
        when = heard.when
        if when.date_said and when.date:
            # "No, Thursday instead" keeps the time already chosen; if it is not free there, nearby ones are offered.
            slots["date"] = when.date.isoformat()
        if when.date_said and not when.time_said and "time" not in slots and "time_wished" in slots:
            slots["time"] = slots["time_wished"]  # "what about Thursday?" after the wished time was taken
        if when.time_said and when.time and when.date:
            slots.setdefault("date", when.date.isoformat())
            slots["time"] = f"{when.time:%H:%M}"
        if when.part_of_day:
            slots["part_of_day"] = when.part_of_day
        for bound in ("after", "before"):
            value = getattr(when, bound)
            if value is not None:
                slots[bound] = f"{value:%H:%M}"
                if not when.time_said:
                    slots.pop("time", None)  # "anything after five?" asks for other times
        if when.earliest:
            slots["earliest"] = True
        if heard.name:
            slots["name"] = heard.name
        if heard.phone:
            slots["phone"] = heard.phone
        return slots != before

    def _target_spoken(self) -> str:
        target = self.state.target_booking or {}
        start = dt.datetime.fromisoformat(target["start"])
        return f"your {target['service'].lower()} {say_when(start, self.now.date())}"


class BookFlow(FlowBase):
    """Booking: service, day, time, name, phone, read-back, yes."""

    async def _continue_book(self, heard: Heard) -> Reply | None:
        starting = self.state.flow != "book"
        self.state.flow = "book"
        if not self._apply_details(heard) and not starting and heard.guess.name != it.BOOK:
            if self.state.awaiting == "time" and heard.answer is True and self.state.offered:
                return self._ask("time", "date", f"Sure. {self._offered_question()}")
            return None
        lead = f"{replies.price_answer(self.business, heard.service)} " if heard.topic == it.PRICE else ""
        return await self._plan_book(lead)

    async def _plan_book(self, lead: str = "") -> Reply:
        state, slots = self.state, self.state.slots
        state.flow = "book"
        service = self.tools.service_named(slots.get("service"))
        if service is None:
            return self._ask(
                "service", "open", f"{lead}Sure. Which service would you like: {replies.service_list(self.business)}?"
            )
        if "date" not in slots and slots.get("earliest"):
            slots["date"] = self.now.date().isoformat()
        if "date" not in slots:
            return self._ask(
                "date", "date", f"{lead}Sure, {with_article(service.name)}. What day would you like to come in?"
            )
        if "time" not in slots:
            result = await self._tool("check_availability", **self._availability(service.name))
            return self._offer(result, lead)
        start = self._start(slots["date"], slots["time"])
        held = state.pending_hold
        if not (held and held["start"] == start.isoformat() and held["service"] == service.name):
            result = await self._tool("hold_slot", service=service.name, date=slots["date"], time=slots["time"])
            if not result["ok"]:
                return self._refused(result, start.date(), start.time(), lead)
            state.offered = []
            if not slots.get("name"):
                return self._ask(
                    "name",
                    "name",
                    f"{lead}Great, I can fit you in "
                    f"{say_when(start, self.now.date(), full=True)}. "
                    "Can I have your name, please?",
                )
        if not slots.get("name"):
            return self._ask("name", "name", f"{lead}Can I have your name, please?")
        if not self._phone():
            return self._ask("phone", "phone", f"{lead}And what's the best number to reach you?")
        spoken = f"{with_article(service.name)} {say_when(start, self.now.date(), full=True)}"
        return self._ask("confirm_booking", "yes_no", f"{lead}That's {spoken} for {slots['name']}. Shall I book it?")

    async def _on_confirm_booking(self, heard: Heard) -> Reply | None:
        slots = self.state.slots
        if (heard.service or not heard.when.empty or heard.name or heard.phone) and self._apply_details(heard):
            return await self._plan_book()
        if heard.answer is True:
            result = await self._tool("confirm_booking", customer_name=slots.get("name", ""), phone=self._phone())
            if not result["ok"]:
                start = self._start(slots["date"], slots["time"])
                return self._refused(result, start.date(), start.time())
            start = dt.datetime.fromisoformat(result["start"])
            self._intent = it.IntentGuess(it.BOOK, 0.95)
            self._finish_flow()
            return self._ask(
                "anything_else",
                "open",
                f"You're all set, {replies.first_name(result['customer_name'])}. We'll see you "
                f"{say_when(start, self.now.date())}. Is there anything else I can help with?",
            )
        if heard.answer is False:
            return self._ask(
                "change", "open", "No problem. What would you like to change: the day, the time or the service?"
            )
        return None

    async def _on_change(self, heard: Heard) -> Reply | None:
        slots, text = self.state.slots, heard.text.lower()
        if self._apply_details(heard):
            return await self._plan_book()
        for pattern, keys in (
            (r"\btime\b", ("time",)),
            (r"\b(?:day|date)\b", ("date", "time")),
            (r"\bservice\b", ("service",)),
            (r"\bname\b", ("name",)),
        ):
            if re.search(pattern, text):
                for key in keys:
                    slots.pop(key, None)
                if "name" in keys:
                    return self._ask("name", "name", "Of course. What name should I put it under?")
                if keys == ("date", "time"):
                    return self._ask("date", "date", "Of course. What day would suit you better?")
                return await self._plan_book("Of course. ")
        return None

    async def _on_offer_book(self, heard: Heard) -> Reply | None:
        name = heard.guess.name
        if it.is_farewell(heard.text):
            return await self._goodbye()
        if name in (it.DENY, it.GOODBYE):
            self._finish_flow()
            return self._ask("anything_else", "open", "No problem. Is there anything else I can help with?")
        if name in (it.CONFIRM, it.BOOK) or (name == it.UNKNOWN and heard.wants_booking):
            self._apply_details(heard)
            return await self._plan_book()
        return None  # another request ("no, I want to cancel"): the agent takes it from here

    async def _on_anything_else(self, heard: Heard) -> Reply | None:
        name = heard.guess.name
        if name in (it.GOODBYE, it.DENY) and not heard.wants_booking:
            return await self._goodbye()
        if name == it.CONFIRM and not heard.wants_booking:
            return self._ask(None, "open", "Sure, what can I help you with?")
        return None
