"""What every agent shares: its conversation state, greeting and snapshots."""

from __future__ import annotations

from typing import Any

from calls.voice.ports import BusinessInfo, Expecting

from .state import AgentState
from .tools import AgentTools


class ConversationStateMixin:
    """The state half of the ``LanguageModel`` protocol, over ``self.state``.

    The agent sets ``business``, ``state`` and ``tools`` (whose state must be the
    same object) in its constructor.
    """

    business: BusinessInfo
    state: AgentState
    tools: AgentTools

    def greeting(self) -> str:
        text = self.business.greeting or f"Thank you for calling {self.business.name}. How can I help you today?"
        if not self.state.history:
            self.state.history_add("assistant", text)
            self.state.last_reply = text
        return text

    @property
    def expecting(self) -> Expecting:
        return self.state.expecting

    def snapshot(self) -> dict[str, Any]:
        return self.state.to_dict()

    def restore(self, state: dict[str, Any]) -> None:
        self.state = AgentState.from_dict(state)
        self.tools.state = self.state

    def note_heard(self, heard_text: str) -> None:
        self.state.last_assistant_replace(heard_text)
