"""The booking domain's one error type, shared with the agent's port."""

from calls.voice.ports import BookingError

__all__ = ["BookingError"]
