"""Brute-force protection for the admin login: a lockout per username and client address.

After ``MAX_FAILURES_PER_USER`` failed logins for one username from one
address within ``WINDOW_S``, that pair is refused without the password even
being checked, so guessing gets nowhere; an address that fails
``MAX_FAILURES_PER_ADDRESS`` times over any usernames (password spraying) is
refused as well. The lockout ends when the window that started with the first
failure runs out. A successful login clears its pair's count.

Counts live in the cache, which is Redis in production and so shared by every
Zylin process. The client address is ``REMOTE_ADDR``: behind the proxy, daphne's
``--proxy-headers`` puts the caller's address there, and Django itself never
trusts ``X-Forwarded-For``.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW_S = 15 * 60
_PREFIX = "zylin:admin-login-failures:"


def client_address(request: HttpRequest | None) -> str:
    return (request.META.get("REMOTE_ADDR") if request is not None else "") or "unknown"


def _key(*parts: str) -> str:
    # Hashed: usernames are user input, and some cache backends refuse spaces or long keys.
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
    return f"{_PREFIX}{digest}"


def _pair_key(username: str, address: str) -> str:
    return _key("user", username.strip().casefold(), address)


def _address_key(address: str) -> str:
    return _key("address", address)


def login_locked(*, username: str, address: str) -> bool:
    """Whether logins for ``username`` from ``address`` are refused right now."""
    return (
        cache.get(_pair_key(username, address), 0) >= MAX_FAILURES_PER_USER
        or cache.get(_address_key(address), 0) >= MAX_FAILURES_PER_ADDRESS
    )


def _count(key: str) -> int:
    # add() starts the window only with the first failure; incr() never extends it.
    cache.add(key, 0, timeout=WINDOW_S)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=WINDOW_S)
        return 1


def login_failure_record(*, username: str, address: str) -> None:
    failures = _count(_pair_key(username, address))
    _count(_address_key(address))
    if failures == MAX_FAILURES_PER_USER:
        logger.warning("admin login locked for a username after %d failures from %s", failures, address)


def login_failures_clear(*, username: str, address: str) -> None:
    cache.delete(_pair_key(username, address))


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form, refusing a locked-out username and address before checking the password."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked_out": "Too many failed login attempts. Please wait 15 minutes and try again.",
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        if login_locked(username=username, address=address):
            raise forms.ValidationError(self.error_messages["locked_out"], code="locked_out")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            login_failure_record(username=username, address=address)
            raise
        login_failures_clear(username=username, address=address)
        return cleaned
