"""Provider faults handled below the voice loop, noted for the call they happened on.

Adapters retry a failed request, reconnect a dropped socket, or (the agent)
hand the call over when the model stays down. The caller may never notice,
but the Call page and the metrics must show the fault and what was done
about it. Adapters call :func:`provider_fault_note`; a ``VoiceSession``
installs a sink for the duration of its call (a context variable, so every
task the call starts reports to its own call), and writes each note as a
``CallEvent``. With no sink (a test, the recording path) a note is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Literal

Handling = Literal["retried", "reconnected", "handed_over"]


@dataclass(frozen=True)
class ProviderFault:
    """A fault an adapter handled: ``handling`` says how (retried, reconnected, handed over)."""

    provider: str
    error: str
    handling: Handling


FaultSink = Callable[[ProviderFault], None]

_sink: ContextVar[FaultSink | None] = ContextVar("zylin_provider_fault_sink", default=None)


def provider_fault_note(provider: str, error: object, *, handling: Handling) -> None:
    """Tell the current call (if any) that ``provider`` failed and how the failure was handled."""
    sink = _sink.get()
    if sink is not None:
        sink(ProviderFault(provider=provider, error=str(error)[:300], handling=handling))


def provider_fault_sink_set(sink: FaultSink | None) -> Token[FaultSink | None]:
    return _sink.set(sink)


def provider_fault_sink_reset(token: Token[FaultSink | None]) -> None:
    _sink.reset(token)
