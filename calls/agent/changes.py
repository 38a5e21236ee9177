"""The offline agent's steps for an existing booking: reschedule and cancel.

The caller's bookings are found by the number they call from; Zylin names the
one it found, and moves or cancels it only after the caller's yes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from . import intents as it
from .flows import FlowBase, Heard, Reply
from .speech import join_and, number_words, say_day_and_time, say_time, say_when


class ChangeFlows(FlowBase):
    """Rescheduling and cancelling the caller's own booking."""

    async def _start_existing(self, flow: str, heard: Heard) -> Reply:
        await self.tools.release_hold()
        self._finish_flow()
        self.state.flow = flow
        result = await self._tool("find_bookings")
        bookings = result.get("bookings", [])
        if not bookings:
            self.state.flow = None
            return self._ask(
                "offer_book",
                "yes_no",
                "I can't find an upcoming appointment for the number you're "
                "calling from. Would you like to book a new one?",
            )
        target = self._pick_booking(bookings, heard)
        if target is None:
            self.state.candidates = bookings
            verb = "move" if flow == "reschedule" else "cancel"
            listing = join_and([b["spoken"] for b in bookings])
            return self._ask(
                "choose_booking",
                "open",
                f"I see {number_words(len(bookings))} appointments: {listing}. Which one would you like to {verb}?",
            )
        return await self._with_target(target, heard)

    def _pick_booking(self, bookings: list[dict[str, Any]], heard: Heard) -> dict[str, Any] | None:
        if len(bookings) == 1:
            return bookings[0]
        if heard.choice is not None and heard.choice < len(bookings):
            return bookings[heard.choice]
        for matches in (
            [b for b in bookings if heard.service and b["service"] == heard.service.name],
            [
                b
                for b in bookings
                if heard.when.date_said
                and heard.when.date
                and dt.datetime.fromisoformat(b["start"]).date() == heard.when.date
            ],
        ):
            if len(matches) == 1:
                return matches[0]
        return None

    async def _with_target(self, target: dict[str, Any], heard: Heard) -> Reply:
        self.state.target_booking = target
        self.state.candidates = []
        self.state.slots["service"] = target["service"]
        if self.state.flow == "cancel":
            return self._ask(
                "confirm_cancel", "yes_no", f"I see {self._target_spoken()}. Would you like me to cancel it?"
            )
        self._apply_move_details(heard)
        return await self._plan_move()

    def _apply_move_details(self, heard: Heard) -> bool:
        """The new day and time; a sentence naming only the booking's own day is not a new day."""
        target, when = self.state.target_booking or {}, heard.when
        current = dt.datetime.fromisoformat(target["start"]).date() if target else None
        if when.date_said and when.date == current and not (when.time_said or when.part_of_day):
            return False
        return self._apply_details(replace(heard, service=None, name=None, phone=None))

    async def _plan_move(self) -> Reply:
        slots, today = self.state.slots, self.now.date()
        if "date" not in slots:
            return self._ask("date", "date", f"I see {self._target_spoken()}. What day would you like to move it to?")
        if "time" not in slots:
            result = await self._tool("check_availability", **self._availability(slots["service"]))
            return self._offer(result, "")
        start = self._start(slots["date"], slots["time"])
        result = await self._tool("check_availability", **self._availability(slots["service"], time=slots["time"]))
        if result.get("ok") and result.get("requested_time_free"):
            same_day = self.state.target_booking and self.state.target_booking["start"][:10] == slots["date"]
            new = f"{say_time(start.time())} the same day" if same_day else say_day_and_time(start, today)
            return self._ask("confirm_move", "yes_no", f"I'll move {self._target_spoken()} to {new}. Is that right?")
        error = "closed" if result.get("closed") else "slot_taken"
        if not result.get("closed") and not any(
            o <= start.time() and (start + dt.timedelta(minutes=15)).time() <= c
            for o, c in self.business.opening_hours[start.weekday()]
        ):
            error = "outside_hours"
        alternatives = {"date": result["date"], "date_spoken": result["date_spoken"], "slots": result["slots"]}
        return self._refused(
            {"error": error, "alternatives": result.get("alternative_day") or alternatives}, start.date(), start.time()
        )

    async def _on_confirm_move(self, heard: Heard) -> Reply | None:
        slots = self.state.slots
        if not heard.when.empty and self._apply_move_details(heard):
            return await self._plan_move()
        if heard.answer is True:
            target = self.state.target_booking or {}
            result = await self._tool(
                "reschedule", booking_id=target["booking_id"], date=slots["date"], time=slots["time"]
            )
            if not result["ok"]:
                start = self._start(slots["date"], slots["time"])
                return self._refused(result, start.date(), start.time())
            start = dt.datetime.fromisoformat(result["start"])
            self._intent = it.IntentGuess(it.RESCHEDULE, 0.95)
            self._finish_flow()
            return self._ask(
                "anything_else",
                "open",
                f"Done. Your {result['service'].lower()} is now "
                f"{say_when(start, self.now.date())}. Is there anything "
                "else I can help with?",
            )
        if heard.answer is False:
            slots.pop("date", None)
            slots.pop("time", None)
            return self._ask("date", "date", "No problem. What day and time would suit you instead?")
        return None

    async def _on_confirm_cancel(self, heard: Heard) -> Reply | None:
        target = self.state.target_booking or {}
        if heard.answer is True:
            result = await self._tool("cancel", booking_id=target["booking_id"])
            if not result["ok"]:
                self._finish_flow()
                return self._ask(
                    "anything_else",
                    "open",
                    "I'm sorry, I couldn't cancel that one. Is there anything else I can help with?",
                )
            spoken = self._target_spoken()
            self._intent = it.IntentGuess(it.CANCEL, 0.95)
            self._finish_flow()
            self.state.slots["service"] = target["service"]
            return self._ask(
                "offer_book", "yes_no", f"All right, {spoken} is cancelled. Would you like to book another time?"
            )
        if heard.answer is False:
            self._finish_flow()
            return self._ask(
                "anything_else", "open", "Okay, I'll keep it as it is. Is there anything else I can help with?"
            )
        return None

    async def _on_choose_booking(self, heard: Heard) -> Reply | None:
        target = self._pick_booking(self.state.candidates, heard)
        return await self._with_target(target, heard) if target else None
