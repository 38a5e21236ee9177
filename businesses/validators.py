"""Phone number and timezone validation."""

from __future__ import annotations

import zoneinfo

import phonenumbers
from django.core.exceptions import ValidationError


def e164_normalize(raw: str, *, region: str = "US") -> str:
    """Return ``raw`` as an E.164 string, or raise ValidationError."""
    text = (raw or "").strip()
    if text.startswith("whatsapp:"):
        text = text.removeprefix("whatsapp:")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"{raw!r} is not a phone number.") from exc
    # Twilio's magic test numbers (+1500555xxxx) are not "valid" numbers to the
    # numbering plan but are real inputs in test and demo setups.
    if not (phonenumbers.is_valid_number(parsed) or phonenumbers.is_possible_number(parsed)):
        raise ValidationError(f"{raw!r} is not a valid phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    if not value:
        return
    if e164_normalize(value) != value:
        raise ValidationError(f"{value!r} must be in E.164 form, like +15551234567.")


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not a known time zone.") from exc
