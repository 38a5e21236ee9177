"""The agent's memory of one conversation, as plain JSON-ready data.

The voice loop checkpoints ``AgentState.to_dict()`` at every turn and hands it
back after a reconnect, so everything here is made of str, int, float, bool,
None, lists and dicts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from calls.voice.ports import Expecting

STATE_VERSION = 1


@dataclass
class AgentState:
    """Everything an agent must remember between caller turns.

    Attributes:
        history: Chat messages, oldest first (``role``/``content``, plus
            ``tool_calls``/``tool_call_id`` for the OpenAI agent).
        slots: What the caller has told us so far: service, date (ISO),
            time (HH:MM), part_of_day, name, phone.
        pending_hold: The slot held for this caller while they confirm
            (hold_id, service, start ISO, expires_at ISO, turn it was placed in).
        presented_bookings: Booking ids the caller has been told about, with
            the turn they were told in; cancel and reschedule only act on these.
        expecting: What the agent waits for next (turn-taking hint).
        misunderstandings: Caller turns in a row the agent could not use.
        turn_index: Caller turns handled so far.
        flow: The task under way: book, reschedule, cancel, or None.
        awaiting: What the last question asked for (service, date, time, name,
            phone, confirm_booking, confirm_move, confirm_cancel, choose_booking,
            offer_book, anything_else), or None.
        offered: ISO start times offered in the last reply.
        offered_service: The service those offered times are for.
        target_booking: The booking being moved or cancelled (plain data).
        candidates: The caller's bookings listed to choose from.
        last_topic: The question answered last (hours, price...), so "and on
            Sunday?" is read as the same question about another day.
        last_reply: The last full reply, for "sorry, can you repeat that?".
        ended: The conversation is over (end or transfer was requested).
    """

    history: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    pending_hold: dict[str, Any] | None = None
    presented_bookings: dict[str, int] = field(default_factory=dict)
    expecting: Expecting = "open"
    misunderstandings: int = 0
    turn_index: int = 0
    flow: str | None = None
    awaiting: str | None = None
    offered: list[str] = field(default_factory=list)
    offered_service: str | None = None
    target_booking: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    last_topic: str | None = None
    last_reply: str = ""
    ended: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentState:
        """Rebuild a state; unknown keys are ignored and missing ones take their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def history_add(self, role: str, content: str, **extra: Any) -> None:
        self.history.append({"role": role, "content": content, **extra})

    def last_assistant_replace(self, heard: str) -> None:
        """The caller interrupted the last reply: keep only what they heard."""
        for message in reversed(self.history):
            if message.get("role") == "assistant" and not message.get("tool_calls"):
                message["content"] = heard.strip()
                message["interrupted"] = True
                return
