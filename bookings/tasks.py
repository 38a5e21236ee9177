"""Celery tasks of the bookings app: thin wrappers over one service each."""

from __future__ import annotations

import logging

from celery import shared_task

from bookings.services import holds_release_expired

logger = logging.getLogger(__name__)


@shared_task(name="bookings.holds_release_expired", ignore_result=True)
def holds_release_expired_task() -> int:
    """Cancel the holds whose few minutes ran out (a caller who hung up before confirming).

    Availability already ignores expired holds; this makes them show as released in
    the admin and frees the rows. Running it twice, or on two workers, is harmless.
    """
    released = holds_release_expired()
    if released:
        logger.info("released %d expired holds", released)
    return released
