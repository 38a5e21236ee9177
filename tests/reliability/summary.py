"""The reliability ledger: what the suites injected, tried and checked, and the table printed at the end.

Every number in the table is counted by a test while it runs, before it
asserts: a suite that injects a fault records it, and records whether the call
survived it; a suite that sends hostile frames counts each one; a suite that
expects bookings or messages counts what the database really holds. A failing
test therefore still leaves its honest numbers in the table.

``ZYLIN_RELIABILITY_REPORT=path.json`` also writes the figures as JSON (CI
artifacts).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

REPORT_ENV = "ZYLIN_RELIABILITY_REPORT"


class Ledger:
    """Counters shared by every reliability test of one pytest run."""

    def __init__(self) -> None:
        self.faults_injected: Counter[str] = Counter()
        self.faults_survived: Counter[str] = Counter()
        self.bad_inputs: Counter[str] = Counter()
        self.calls_checked = 0
        self.calls_disturbed = 0
        self.bookings_expected = 0
        self.bookings_lost = 0
        self.bookings_duplicated = 0
        self.messages_expected = 0
        self.messages_duplicated = 0
        self.figures: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # short: Hypothesis prints it with every failing example
        return "<reliability ledger>"

    # -- recording --------------------------------------------------------------

    def fault(self, kind: str, *, survived: bool) -> None:
        """One injected fault; ``survived``: the caller still got an answer and the call went on (or fell back)."""
        with self._lock:
            self.faults_injected[kind] += 1
            if survived:
                self.faults_survived[kind] += 1

    def bad_input(self, kind: str, count: int = 1) -> None:
        """Hostile or malformed input sent to Zylin."""
        with self._lock:
            self.bad_inputs[kind] += count

    def call(self, *, disturbed: bool) -> None:
        """A well-behaved call that ran next to the faults or the hostile traffic."""
        with self._lock:
            self.calls_checked += 1
            self.calls_disturbed += int(disturbed)

    def bookings(self, *, expected: int, found: int) -> None:
        """Bookings a scenario should have produced, against the rows the database holds."""
        with self._lock:
            self.bookings_expected += expected
            self.bookings_lost += max(0, expected - found)
            self.bookings_duplicated += max(0, found - expected)

    def messages(self, *, expected: int, sent: int) -> None:
        """Messages (WhatsApp) a scenario should have sent, against what reached Twilio."""
        with self._lock:
            self.messages_expected += expected
            self.messages_duplicated += max(0, sent - expected)

    def figure(self, name: str, value: Any) -> None:
        """A measured figure (load limits, memory per call) to print under the table."""
        with self._lock:
            self.figures[name] = value

    # -- reporting --------------------------------------------------------------

    @property
    def empty(self) -> bool:
        return not (
            self.faults_injected
            or self.bad_inputs
            or self.calls_checked
            or self.bookings_expected
            or self.messages_expected
            or self.figures
        )

    def rows(self) -> list[tuple[str, int]]:
        return [
            ("faults injected", sum(self.faults_injected.values())),
            ("faults survived", sum(self.faults_survived.values())),
            ("bad inputs tried", sum(self.bad_inputs.values())),
            ("well-behaved calls checked", self.calls_checked),
            ("calls disturbed", self.calls_disturbed),
            ("bookings expected", self.bookings_expected),
            ("bookings lost", self.bookings_lost),
            ("bookings duplicated", self.bookings_duplicated),
            ("messages expected", self.messages_expected),
            ("messages duplicated", self.messages_duplicated),
        ]

    def lines(self) -> list[str]:
        width = max(len(label) for label, _ in self.rows())
        out = [f"{label:<{width}}  {value:>7}" for label, value in self.rows()]
        if self.faults_injected:
            out.append("")
            out.append("faults by kind (survived / injected):")
            for kind in sorted(self.faults_injected):
                out.append(f"  {kind:<{width - 2}}  {self.faults_survived[kind]:>3} / {self.faults_injected[kind]}")
        if self.bad_inputs:
            out.append("")
            out.append("bad inputs by kind:")
            for kind, count in self.bad_inputs.most_common():
                out.append(f"  {kind:<{width - 2}}  {count:>7}")
        if self.figures:
            out.append("")
            out.append("measured:")
            for name, value in self.figures.items():
                out.append(f"  {name}: {value}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            **{label.replace(" ", "_").replace("-", "_"): value for label, value in self.rows()},
            "faults_by_kind": {k: [self.faults_survived[k], v] for k, v in self.faults_injected.items()},
            "bad_inputs_by_kind": dict(self.bad_inputs),
            "figures": self.figures,
        }


LEDGER = Ledger()


def terminal_summary(terminalreporter: Any) -> None:
    """Print the table (and write the JSON report) when any reliability test counted something."""
    if LEDGER.empty:
        return
    terminalreporter.write_sep("=", "Zylin reliability summary")
    for line in LEDGER.lines():
        terminalreporter.write_line(line)
    path = os.environ.get(REPORT_ENV)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(LEDGER.as_dict(), indent=2, default=str))
        terminalreporter.write_line(f"(written to {path})")
