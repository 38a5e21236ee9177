"""Drive an agent turn by turn and collect what it said and did."""

from __future__ import annotations

from dataclasses import dataclass, field

from calls.voice.ports import AgentEvent, CallAction, IntentUpdate, LanguageModel, TextDelta, ToolUsed


@dataclass
class Reply:
    events: list[AgentEvent] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))

    @property
    def tools(self) -> list[ToolUsed]:
        return [e for e in self.events if isinstance(e, ToolUsed)]

    @property
    def intent(self) -> IntentUpdate | None:
        return next((e for e in self.events if isinstance(e, IntentUpdate)), None)

    @property
    def action(self) -> CallAction | None:
        return next((e for e in self.events if isinstance(e, CallAction)), None)


async def say(agent: LanguageModel, text: str) -> Reply:
    reply = Reply()
    async for event in agent.respond(text):
        reply.events.append(event)
    return reply
