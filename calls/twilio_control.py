"""Acting on a live call: hang up, transfer to a person, fall back to recording.

``TwilioCallControl`` changes the call through Twilio's REST API
(``calls(sid).update``: new TwiML, or ``status="completed"``). The SDK is
synchronous, so each request runs in a worker thread and the voice loop never
blocks. ``RecordingCallControl`` stands in when Zylin has no Twilio
credentials: it records the wish on the Call so the admin shows what would
have happened. Both write a ``CallEvent`` for every action.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from asgiref.sync import sync_to_async
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from calls import twiml
from calls.services import call_control_record
from calls.voice.ports import ProviderError

logger = logging.getLogger(__name__)

PROVIDER = "twilio"
# Twilio error codes for a call that is no longer live (it ended first): nothing to do.
_CALL_GONE_CODES = frozenset({20404, 21220})


class RecordingCallControl:
    """``CallControl`` without Twilio credentials: records each wish on the Call."""

    def __init__(self, *, call_id: int, call_sid: str, transfer_number: str = "") -> None:
        self._call_id = call_id
        self._call_sid = call_sid
        self._transfer_number = transfer_number

    async def _record(self, action: str, **detail: object) -> None:
        await sync_to_async(call_control_record)(call_id=self._call_id, action=action, detail={"sent": False, **detail})

    async def hang_up(self) -> None:
        await self._record("hang-up")

    async def transfer_to_human(self) -> None:
        if not self._transfer_number:
            await self._record("transfer-unavailable")
            await self.redirect_to_recording()
            return
        await self._record("transfer", number=self._transfer_number)

    async def redirect_to_recording(self) -> None:
        await self._record("redirect-to-recording")


class TwilioCallControl(RecordingCallControl):
    """``CallControl`` through Twilio's REST API.

    Args:
        call_id: the Call row's primary key (events are written to it).
        call_sid: Twilio's CallSid of the live call.
        transfer_number: the business's person, in E.164; empty means take a message.
        client_factory: builds the twilio ``Client`` (pointed at a fake in tests).
    """

    def __init__(
        self, *, call_id: int, call_sid: str, transfer_number: str, client_factory: Callable[[], Client]
    ) -> None:
        super().__init__(call_id=call_id, call_sid=call_sid, transfer_number=transfer_number)
        self._client_factory = client_factory

    async def hang_up(self) -> None:
        await self._update("hang-up", status="completed")

    async def transfer_to_human(self) -> None:
        if not self._transfer_number:
            await self._record("transfer-unavailable")
            await self.redirect_to_recording()
            return
        await self._update("transfer", twiml=twiml.transfer_response(number=self._transfer_number))

    async def redirect_to_recording(self) -> None:
        await self._update("redirect-to-recording", twiml=twiml.fallback_record_response())

    async def _update(self, action: str, **params: str) -> None:
        """Send the change to Twilio, then record it; a call that already ended is not an error."""

        def send() -> None:
            self._client_factory().calls(self._call_sid).update(**params)

        try:
            await asyncio.to_thread(send)
        except TwilioRestException as exc:
            if exc.code in _CALL_GONE_CODES or exc.status == 404:
                logger.info("%s skipped: the call already ended", action, extra={"call_sid": self._call_sid})
                await sync_to_async(call_control_record)(
                    call_id=self._call_id,
                    action=action,
                    detail={"sent": False, "error": "call already ended"},
                    applied=False,
                )
                return
            await sync_to_async(call_control_record)(
                call_id=self._call_id,
                action=action,
                detail={"sent": False, "error": f"HTTP {exc.status}"},
                applied=False,
            )
            raise ProviderError(
                f"Twilio refused {action}: HTTP {exc.status} ({exc.code})",
                provider=PROVIDER,
                retryable=exc.status >= 500 or exc.status == 429,
            ) from exc
        except (TwilioException, OSError) as exc:
            await sync_to_async(call_control_record)(
                call_id=self._call_id, action=action, detail={"sent": False, "error": str(exc)[:200]}, applied=False
            )
            raise ProviderError(f"Twilio unreachable for {action}: {exc}", provider=PROVIDER, retryable=True) from exc
        await sync_to_async(call_control_record)(call_id=self._call_id, action=action, detail={"sent": True})
