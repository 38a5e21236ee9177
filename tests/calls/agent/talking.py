"""Run ``manage.py talk`` with scripted caller lines and split what it printed."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.core.management import call_command

from calls.models import Call

MONDAY_10AM = "2030-01-07T10:00"


@dataclass
class Talk:
    replies: list[str]
    summary: list[str]
    stderr: str
    call: Call

    @property
    def greeting(self) -> str:
        return self.replies[0]

    def reply_to(self, caller_turn: int) -> str:
        """Zylin's answer to the caller's n-th line (1-based)."""
        return self.replies[caller_turn]


def talk(
    *lines: str, caller: str = "+15551230000", now: str = MONDAY_10AM, business: str = "bella-hair-studio"
) -> Talk:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "talk",
        business=business,
        caller=caller,
        now=now,
        stdin=io.StringIO("".join(f"{line}\n" for line in lines)),
        stdout=out,
        stderr=err,
    )
    printed = out.getvalue().splitlines()
    replies = [line for line in printed if not line.startswith("#")]
    summary = [line for line in printed if line.startswith("#")]
    call = Call.objects.filter(sid__startswith="TALK").order_by("-pk").first()
    assert call is not None
    return Talk(replies, summary, err.getvalue(), call)
