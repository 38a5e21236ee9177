"""Log lines carry the CallSid and never a whole phone number."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from zylin.observability import (
    CallContextFilter,
    JsonFormatter,
    MaskingFormatter,
    call_context,
    call_sid_bind,
    call_sid_var,
    mask_phone_numbers,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("caller +15551230000 booked", "caller +1555***0000 booked"),
        ("whatsapp:+447911123456", "whatsapp:+4479***3456"),
        ("call +1 (555) 123-0000 now", "call +1555***0000 now"),
        ("+44 20 7946 0958", "+4420***0958"),
        ("(555) 123-4567", "555***4567"),
        ("555.123.4567 and 555-123-4567", "555***4567 and 555***4567"),
        # Not phone numbers: dates, times, ids, amounts, bare digit runs.
        ("2026-03-04 10:30:00", "2026-03-04 10:30:00"),
        ("CA0123456789abcdef0123456789abcdef", "CA0123456789abcdef0123456789abcdef"),
        ("took 1234567 ms for booking 42", "took 1234567 ms for booking 42"),
        ("timestamp 1700000000.123", "timestamp 1700000000.123"),
    ],
)
def test_mask_phone_numbers(text: str, expected: str):
    assert mask_phone_numbers(text) == expected


def _logger_with(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(CallContextFilter())
    logger = logging.getLogger(f"zylin.test.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_filter_adds_call_sid_and_masks_arguments():
    logger, stream = _logger_with(MaskingFormatter("%(call_sid)s %(message)s"))
    with call_context("CA111"):
        logger.info("booking for %s confirmed", "+15551230000")
    logger.info("no call here")
    logger.info("explicit", extra={"call_sid": "CA222"})
    assert stream.getvalue().splitlines() == [
        "CA111 booking for +1555***0000 confirmed",
        "- no call here",
        "CA222 explicit",
    ]


def test_tracebacks_are_masked_too():
    logger, stream = _logger_with(MaskingFormatter("%(message)s"))
    try:
        raise ValueError("no customer for +15551230000")
    except ValueError:
        logger.exception("lookup failed")
    assert "+15551230000" not in stream.getvalue()
    assert "+1555***0000" in stream.getvalue()


def test_json_lines_for_log_shippers():
    logger, stream = _logger_with(JsonFormatter())
    with call_context("CA333"):
        logger.warning("sending to %s", "whatsapp:+15551230000")
    line = json.loads(stream.getvalue())
    assert line["call_sid"] == "CA333"
    assert line["level"] == "WARNING"
    assert line["message"] == "sending to whatsapp:+1555***0000"


async def test_every_task_of_a_call_logs_its_call_sid():
    logger, stream = _logger_with(MaskingFormatter("%(call_sid)s %(message)s"))

    async def call(sid: str) -> None:
        call_sid_bind(sid)  # as the consumer does on the stream's start event

        async def respond() -> None:
            await asyncio.sleep(0)
            logger.info("reply")

        async with asyncio.TaskGroup() as group:
            group.create_task(respond())
        logger.info("ended")

    await asyncio.gather(call("CA-A"), call("CA-B"))
    assert sorted(stream.getvalue().splitlines()) == ["CA-A ended", "CA-A reply", "CA-B ended", "CA-B reply"]
    assert call_sid_var.get() is None  # each call's binding stayed inside its own task


def test_settings_logging_uses_the_filter():
    from django.conf import settings

    handler = settings.LOGGING["handlers"]["console"]
    assert "call_context" in handler["filters"]
    assert settings.LOGGING["filters"]["call_context"]["()"] == "zylin.observability.CallContextFilter"
    assert "%(call_sid)s" in settings.LOGGING["formatters"]["plain"]["format"]
