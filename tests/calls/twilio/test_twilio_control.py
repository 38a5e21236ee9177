"""Live-call control: the real twilio SDK against the fake Twilio REST server."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from calls import wiring
from calls.models import Call, CallEvent
from calls.twilio_control import RecordingCallControl, TwilioCallControl
from calls.voice.ports import ProviderError
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db(transaction=True)

SID = "CA" + "c" * 32


@pytest.fixture(autouse=True)
async def close_worker_thread_connections() -> AsyncIterator[None]:
    """``sync_to_async`` runs the ORM in a shared thread; close its connection after each test.

    Otherwise the connection outlives the test and blocks dropping the test database.
    """
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def call(demo_business) -> Call:
    return CallFactory(business=demo_business, sid=SID)


async def events(call: Call) -> list[tuple[str, dict]]:
    return await sync_to_async(lambda: list(CallEvent.objects.filter(call=call).values_list("name", "detail")))()


async def reload(call: Call) -> Call:
    return await sync_to_async(Call.objects.get)(pk=call.pk)


async def build(call: Call):
    loaded = await sync_to_async(Call.objects.select_related("business").get)(pk=call.pk)
    return await sync_to_async(wiring.call_control_build)(loaded)


class TestWithTwilio:
    async def test_wiring_builds_the_twilio_control_with_credentials(self, call, fake_twilio) -> None:
        assert isinstance(await build(call), TwilioCallControl)

    async def test_hang_up_completes_the_call(self, call, fake_twilio) -> None:
        await (await build(call)).hang_up()
        (request,) = fake_twilio.of_kind("call")
        assert request.path.endswith(f"/Calls/{SID}.json")
        assert request.authorized
        assert request.value("Status") == "completed"
        assert (await reload(call)).end_reason == "hung up by Zylin"
        assert await events(call) == [("hang-up", {"sent": True})]

    async def test_transfer_dials_the_business_person(self, call, fake_twilio) -> None:
        await (await build(call)).transfer_to_human()
        (request,) = fake_twilio.of_kind("call")
        root = ET.fromstring(request.value("Twiml"))
        dial = root.find("Dial")
        assert dial is not None
        assert dial.text == "+15005550007"
        assert (await reload(call)).transferred
        assert [name for name, _ in await events(call)] == ["transfer"]

    async def test_transfer_without_a_person_takes_a_message(self, call, fake_twilio) -> None:
        business = await sync_to_async(lambda: call.business)()
        business.transfer_number = ""
        await sync_to_async(business.save)()
        await (await build(call)).transfer_to_human()
        (request,) = fake_twilio.of_kind("call")
        assert ET.fromstring(request.value("Twiml")).find("Record") is not None
        assert not (await reload(call)).transferred
        assert [name for name, _ in await events(call)] == ["transfer-unavailable", "fallback-to-recording"]

    async def test_redirect_to_recording_sends_record_twiml(self, call, fake_twilio) -> None:
        await (await build(call)).redirect_to_recording()
        (request,) = fake_twilio.of_kind("call")
        record = ET.fromstring(request.value("Twiml")).find("Record")
        assert record is not None
        assert record.get("recordingStatusCallback") == "https://zylin.example.com/twilio/recording"
        assert (await reload(call)).route_reason.endswith("fell back to recording")

    async def test_a_call_that_already_ended_is_not_an_error(self, call, fake_twilio) -> None:
        fake_twilio.ended_calls.add(SID)
        await (await build(call)).redirect_to_recording()
        assert await events(call) == [("fallback-to-recording", {"sent": False, "error": "call already ended"})]
        assert "fell back" not in (await reload(call)).route_reason

    async def test_twilio_5xx_becomes_a_retryable_provider_error(self, call, fake_twilio) -> None:
        fake_twilio.fail_next("call", 503)
        with pytest.raises(ProviderError) as raised:
            await (await build(call)).hang_up()
        assert raised.value.retryable
        assert raised.value.provider == "twilio"

    async def test_twilio_4xx_is_not_retryable_and_marks_nothing(self, call, fake_twilio) -> None:
        fake_twilio.fail_next("call", 400)
        with pytest.raises(ProviderError) as raised:
            await (await build(call)).transfer_to_human()
        assert not raised.value.retryable
        assert not (await reload(call)).transferred
        assert await events(call) == [("transfer", {"sent": False, "error": "HTTP 400"})]


class TestWithoutCredentials:
    async def test_wishes_are_recorded_on_the_call(self, call) -> None:
        control = await build(call)
        assert isinstance(control, RecordingCallControl)
        assert not isinstance(control, TwilioCallControl)
        await control.transfer_to_human()
        await control.redirect_to_recording()
        await control.hang_up()
        refreshed = await reload(call)
        assert refreshed.transferred
        assert refreshed.end_reason == "hung up by Zylin"
        assert await events(call) == [
            ("transfer", {"sent": False, "number": "+15005550007"}),
            ("fallback-to-recording", {"sent": False}),
            ("hang-up", {"sent": False}),
        ]
