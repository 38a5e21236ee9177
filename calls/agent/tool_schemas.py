"""The agent's tools as OpenAI function declarations (JSON schema).

``AgentTools`` in ``tools.py`` implements each one; the names and arguments
here are the contract the model is given.
"""

from __future__ import annotations

from typing import Any


def _function(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


_SERVICE = {"type": "string", "description": "Service name exactly as listed in the business's services."}
_DATE = {"type": "string", "description": "Day as YYYY-MM-DD in the business's timezone."}
_TIME = {"type": "string", "description": "Start time as HH:MM, 24-hour, business timezone."}
_BOOKING_ID = {"type": "integer", "description": "booking_id from find_bookings; omit when the caller has one."}

TOOL_SCHEMAS: list[dict[str, Any]] = [
    _function(
        "business_info",
        "Opening hours, address, services with prices and durations, and FAQ answers.",
        {"topic": {"type": "string", "enum": ["all", "hours", "address", "services", "faq"]}},
        [],
    ),
    _function(
        "check_availability",
        "Free start times for a service on a day. Call before offering or holding any time. If the day is "
        "closed or full, the result includes the next day with free times.",
        {
            "service": _SERVICE,
            "date": _DATE,
            "time": {**_TIME, "description": "Preferred time, if any."},
            "part_of_day": {"type": "string", "enum": ["morning", "afternoon", "evening"]},
            "after": {**_TIME, "description": "Only times from this one on (HH:MM)."},
            "before": {**_TIME, "description": "Only times before this one (HH:MM)."},
            "earliest": {"type": "boolean", "description": "Offer only the first free time."},
        },
        ["service", "date"],
    ),
    _function(
        "hold_slot",
        "Hold a free time for the caller for a few minutes. Then read the details back and ask the caller "
        "to confirm; do not confirm in the same turn.",
        {"service": _SERVICE, "date": _DATE, "time": _TIME},
        ["service", "date", "time"],
    ),
    _function(
        "confirm_booking",
        "Book the held time, only after the caller heard the details and said yes.",
        {
            "customer_name": {"type": "string"},
            "phone": {"type": "string", "description": "E.164; omit to use the number they call from."},
        },
        ["customer_name"],
    ),
    _function("find_bookings", "The caller's upcoming bookings, found by the number they call from.", {}, []),
    _function(
        "reschedule",
        "Move one of the caller's bookings to a new free time, after they confirmed.",
        {"booking_id": _BOOKING_ID, "date": _DATE, "time": _TIME},
        ["date", "time"],
    ),
    _function("cancel", "Cancel one of the caller's bookings, after they confirmed.", {"booking_id": _BOOKING_ID}, []),
    _function(
        "transfer_to_human",
        "Hand the call to a person (or take a message when nobody can answer).",
        {"reason": {"type": "string"}},
        [],
    ),
    _function("end_call", "End the call after saying goodbye.", {"reason": {"type": "string"}}, []),
]
TOOL_NAMES = frozenset(schema["function"]["name"] for schema in TOOL_SCHEMAS)
# Tool name -> its parameters' JSON schemas, to check the model's arguments before running a tool.
TOOL_PARAMETERS: dict[str, dict[str, dict[str, Any]]] = {
    schema["function"]["name"]: schema["function"]["parameters"]["properties"] for schema in TOOL_SCHEMAS
}
