"""Errors to Sentry without personal data, and logs that carry the CallSid.

* :func:`sentry_init` starts Sentry when a DSN is configured. Every event and
  breadcrumb passes :func:`scrub_event` / :func:`scrub_breadcrumb` first: phone
  numbers are masked, and transcripts, message bodies and request bodies never
  leave (Twilio posts the caller's number and speech in webhook bodies).
* :data:`call_sid_var` holds the CallSid of the call being handled. The voice
  session, webhooks and tasks set it with :func:`call_context`;
  :class:`CallContextFilter` copies it onto every log record (``%(call_sid)s``)
  and masks phone numbers in the message. asyncio tasks copy the context when
  created, so every task of a call logs its CallSid.

This module is imported by the settings, so it must not import Django settings.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

FILTERED = "[Filtered]"
NO_CALL = "-"

call_sid_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("zylin_call_sid", default=None)

# Compact E.164 (also inside "whatsapp:+1555..."), then "+" numbers written with
# separators, then North-American numbers written with separators. Bare digit runs
# without "+" are left alone: they are ids, amounts and timestamps far more often.
_PHONE_PATTERNS = (
    re.compile(r"(?<![\w+])\+\d{8,15}(?!\d)"),
    re.compile(r"(?<![\w+])\+\d{1,3}[\s.-]\(?\d{1,4}\)?(?:[\s.-]\d{2,4}){1,4}(?!\d)"),
    re.compile(r"(?<![\w+(])\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}(?!\d)"),
)

# Keys whose values are what a caller said or wrote, or who they are. Matched
# case-insensitively anywhere in an event (extra, request, frame vars, breadcrumbs).
SENSITIVE_KEYS = frozenset(
    {
        "text",
        "transcript",
        "body",
        "reply_text",
        "heard_text",
        "caller_text",
        "utterance",
        "speechresult",
        "unstablespeechresult",
        "from",
        "to",
        "caller",
        "called",
        "from_number",
        "to_number",
        "phone",
        "caller_phone",
        "customer_name",
    }
)


def _mask_match(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = re.sub(r"\D", "", raw)
    tail = 4 if len(digits) >= 10 else 2
    head = max(min(4, len(digits) - tail - 3), 0)
    return ("+" if raw.startswith("+") else "") + digits[:head] + "***" + digits[len(digits) - tail :]


def mask_phone_numbers(text: str) -> str:
    """``+15551230000`` becomes ``+1555***0000``; formatted numbers are masked too."""
    for pattern in _PHONE_PATTERNS:
        text = pattern.sub(_mask_match, text)
    return text


# --- Sentry ---------------------------------------------------------------------


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: (FILTERED if str(key).lower() in SENSITIVE_KEYS and value_ else _scrub(value_))
            for key, value_ in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    if isinstance(value, str):
        return mask_phone_numbers(value)
    return value


def _scrub_log_param(param: Any) -> Any:
    # A parameter that is a sentence is most likely something a caller said.
    if isinstance(param, str) and re.search(r"\s", param.strip()):
        return FILTERED
    return _scrub(param)


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry ``before_send``: mask phone numbers, drop transcripts and bodies, tag the CallSid."""
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        template = mask_phone_numbers(str(logentry.get("message") or ""))
        params = logentry.get("params") or ()
        if isinstance(params, Mapping):
            params = {key: _scrub_log_param(value) for key, value in params.items()}
        else:
            params = [_scrub_log_param(param) for param in params]
        event["logentry"] = {"message": template, "params": params}
        if "formatted" in logentry:
            # The interpolated message would carry the raw parameters again.
            event["logentry"]["formatted"] = template
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies"):
            if request.get(key):
                request[key] = FILTERED
        if request.get("query_string"):
            request["query_string"] = FILTERED
    scrubbed = {key: (value if key == "logentry" else _scrub(value)) for key, value in event.items()}
    call_sid = call_sid_var.get()
    if call_sid:
        scrubbed.setdefault("tags", {})
        if isinstance(scrubbed["tags"], dict):
            scrubbed["tags"]["call_sid"] = call_sid
    return scrubbed


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry ``before_breadcrumb``: log breadcrumbs keep their template, never the caller's words."""
    record = (hint or {}).get("log_record")
    if isinstance(record, logging.LogRecord) and crumb.get("message") is not None:
        crumb["message"] = str(record.msg)
    return _scrub(crumb)


def sentry_init(
    dsn: str, *, environment: str = "production", release: str | None = None, traces_sample_rate: float = 0.0
) -> bool:
    """Start Sentry when ``dsn`` is set; returns whether it started."""
    if not dsn:
        return False
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
    )
    return True


# --- Logging --------------------------------------------------------------------


@contextmanager
def call_context(call_sid: str) -> Iterator[None]:
    """Log (and report to Sentry) everything inside with this CallSid."""
    token = call_sid_var.set(call_sid)
    try:
        yield
    finally:
        call_sid_var.reset(token)


def call_sid_bind(call_sid: str) -> contextvars.Token[str | None]:
    """Set the CallSid for the rest of the current task (for code that cannot use a ``with``)."""
    return call_sid_var.set(call_sid)


def _mask_log_arg(arg: Any) -> Any:
    if arg is None or isinstance(arg, int | float | bool):
        return arg  # keeps %d and %.2f working
    text = str(arg)  # objects too: a Call prints its caller's number
    masked = mask_phone_numbers(text)
    return arg if masked == text else masked


class CallContextFilter(logging.Filter):
    """Adds ``call_sid`` to every record and masks phone numbers in its message.

    Install it on handlers (filters on a logger do not see records propagated
    from child loggers). An explicit ``extra={"call_sid": ...}`` wins.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "call_sid", None):
            record.call_sid = call_sid_var.get() or NO_CALL
        # Template and arguments are masked separately, not merged: Sentry and
        # other handlers still see which part is the template and which the data.
        if isinstance(record.msg, str):
            record.msg = mask_phone_numbers(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {key: _mask_log_arg(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_mask_log_arg(arg) for arg in record.args)
        return True


class MaskingFormatter(logging.Formatter):
    """Masks phone numbers in the whole line, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "call_sid"):
            record.call_sid = call_sid_var.get() or NO_CALL
        return mask_phone_numbers(super().format(record))


class JsonFormatter(MaskingFormatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "call_sid"):
            record.call_sid = call_sid_var.get() or NO_CALL
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "call_sid": record.call_sid,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return mask_phone_numbers(json.dumps(payload, ensure_ascii=False))
