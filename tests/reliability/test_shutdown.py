"""Graceful shutdown: on SIGTERM a Zylin process takes no new calls, lets live ones finish,
hands the rest to the recording path after the grace period, and loses no Turn or booking.
"""

from __future__ import annotations

import asyncio
import json
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

from calls import shutdown
from calls.audio import tone_pcm, write_wav
from calls.capacity import streaming_capacity
from calls.simulator import CallOptions, SimulatedCall, Target
from calls.simulator.script import line_from_audio
from calls.simulator.webhooks import TwilioWebhooks
from calls.twilio_signature import signature_compute
from tests.fakes.voice_line import voiced_mulaw
from tests.reliability.conftest import CALLER, DEMO_NUMBER
from tests.reliability.phone import PUBLIC_BASE_URL as EDGE_PUBLIC_BASE_URL
from tests.reliability.process import PUBLIC_BASE_URL, SIGNING_TOKEN, ZylinProcess, database_template
from tests.reliability.scenarios import booking_lines, weekday_ahead

# -- the drain, in this process -----------------------------------------------------------------


class Session:
    """Stands in for a live ``VoiceSession``: it ends by itself after ``ends_after_s``, or when handed over."""

    def __init__(self, ends_after_s: float | None) -> None:
        self.ended = False
        self.handed_over: list[str] = []
        self._ender = asyncio.get_running_loop().call_later(ends_after_s, self._end) if ends_after_s else None

    def _end(self) -> None:
        self.ended = True

    async def hand_over(self, reason: str) -> None:
        self.handed_over.append(reason)
        await asyncio.sleep(0.1)  # one sentence, then the REST call
        self.ended = True


@pytest.fixture
def fresh_drain() -> Iterator[None]:
    shutdown.reset()
    yield
    shutdown.reset()


async def test_the_drain_waits_for_live_calls_then_hands_over_the_rest(fresh_drain: None) -> None:
    finishing, talking = Session(ends_after_s=0.2), Session(ends_after_s=None)
    for session in (finishing, talking):
        shutdown.session_started(session)  # type: ignore[arg-type]
    started = time.monotonic()
    await shutdown.drain(grace_s=0.6, wind_down_s=1.0)
    assert shutdown.draining()
    assert finishing.handed_over == []  # it finished within the grace period
    assert talking.handed_over == ["shutdown"]
    assert 0.6 <= time.monotonic() - started < 1.5
    assert shutdown.live_sessions() == []


@pytest.mark.django_db
def test_a_draining_process_sends_new_calls_to_recording(
    fresh_drain: None, demo_business: Any, edge_settings: Any, capacity: Any
) -> None:
    demo_business.after_hours = demo_business.AfterHours.STREAM
    demo_business.save()
    assert streaming_capacity().available()
    asyncio.run(shutdown.drain(grace_s=0.0, wind_down_s=0.0))
    assert not streaming_capacity().available()
    params = {"CallSid": "CA" + "d" * 32, "AccountSid": "AC" + "0" * 32, "From": CALLER, "To": DEMO_NUMBER,
              "CallStatus": "ringing", "Direction": "inbound"}  # fmt: skip
    signature = signature_compute(url=f"{EDGE_PUBLIC_BASE_URL}/twilio/voice", params=params)
    response = Client().post("/twilio/voice", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200
    assert b"<Record" in response.content
    assert b"<Stream" not in response.content


# -- SIGTERM to a daphne process ---------------------------------------------------------------

GRACE_S = 16.0
# httpx errors of a request that reached the process as it exited.
PROCESS_GONE = ("ConnectError", "RemoteProtocolError", "ReadError")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return database_template(tmp_path_factory.mktemp("zylin-shutdown"))


def spoken_line(seconds: float = 1.0) -> Any:
    return line_from_audio("speech", voiced_mulaw(seconds))


def rows(zylin: ZylinProcess, sql: str, *params: Any) -> list[Any]:
    return [row[0] if len(row) == 1 else row for row in zylin.query(sql, *params)]


@pytest.mark.slow
def test_sigterm_lets_calls_finish_hands_over_the_rest_and_loses_nothing(
    template: Path, tmp_path: Path, settings: Any, ledger: Any
) -> None:
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.TWILIO_SIGNING_TOKEN = SIGNING_TOKEN
    clip = tmp_path / "clip.wav"
    write_wav(clip, tone_pcm(500.0, 400))
    _, day_name = weekday_ahead(zoneinfo.ZoneInfo("America/New_York"))  # the demo business's timezone
    booking = booking_lines(day_name)
    chatty = ["what time do you close on saturday", "is there parking"] * 30
    scripts = json.dumps([booking, chatty])
    with ZylinProcess(template=template, directory=tmp_path, app="tests.reliability.scripted_app:application",
                      ZYLIN_SHUTDOWN_GRACE_S=str(GRACE_S), ZYLIN_STANDIN_CLIP=str(clip),
                      ZYLIN_TEST_SCRIPTS=scripts) as zylin:  # fmt: skip
        outcome = asyncio.run(calls_through_a_shutdown(zylin, len(booking)))
        exit_code = zylin.wait(timeout_s=GRACE_S + 25)
        log = zylin.log_text()
    finishing, talking, late_path, late_stream = outcome
    assert exit_code is not None, "the process did not stop after draining"

    # The call that finished within the grace period booked, and every line it said is a Turn.
    sid = finishing.call_sid
    booked = rows(zylin, "SELECT b.status FROM bookings_booking b JOIN calls_call c ON b.source_call_id = c.id "
                         "WHERE c.sid = ?", sid)  # fmt: skip
    ledger.bookings(expected=1, found=booked.count("confirmed"))
    assert (finishing.error, finishing.protocol_errors) == ("", [])
    assert booked == ["confirmed"]
    assert_turns_complete(zylin, finishing.call_sid, said=len(finishing.turns))

    # The call still talking after the grace period was handed to the recording path, nothing lost.
    events = rows(zylin, "SELECT e.name FROM calls_callevent e JOIN calls_call c ON e.call_id = c.id "
                         "WHERE c.sid = ?", talking.call_sid)  # fmt: skip
    assert "hand_over" in events
    assert "fallback" in events
    assert "fallback-to-recording" in events
    assert talking.close_code is not None  # Zylin closed the stream after the sentence
    # Twilio's last callbacks for it may find the process gone (another one takes them in production).
    assert talking.error.split(":")[0] in ("", *PROCESS_GONE), talking.error
    assert_turns_complete(zylin, talking.call_sid, said=len(talking.turns))
    ledger.fault("SIGTERM with live calls", survived=booked == ["confirmed"] and "hand_over" in events)
    for result in (finishing, talking):
        ledger.call(disturbed=bool(result.underruns or result.protocol_errors))

    # After SIGTERM the process took no new calls.
    assert late_path == "recording"
    assert late_stream == "refused"
    assert "shutdown drain complete" in log


def assert_turns_complete(zylin: ZylinProcess, call_sid: str, *, said: int) -> None:
    """Every line the caller finished is a caller Turn, and the Turns are numbered without a gap."""
    turns = zylin.query(
        'SELECT t."index", t.speaker FROM calls_turn t JOIN calls_call c ON t.call_id = c.id '
        'WHERE c.sid = ? ORDER BY t."index"',
        call_sid,
    )
    indexes = [index for index, _ in turns]
    assert indexes == list(range(len(indexes))), indexes
    callers = sum(1 for _, speaker in turns if speaker == "caller")
    assert callers >= said - 1, (callers, said)  # the line cut off by the hand-over may be unfinished


async def calls_through_a_shutdown(zylin: ZylinProcess, booking_turns: int) -> tuple[Any, Any, str, str]:
    target = Target(base_url=zylin.url, public_url=PUBLIC_BASE_URL)
    async with httpx.AsyncClient(trust_env=False, timeout=30.0) as http:
        finishing = SimulatedCall(target, [spoken_line() for _ in range(booking_turns)], CallOptions(), http)
        talking = SimulatedCall(target, [spoken_line()], CallOptions(duration_s=120.0), http)
        first = asyncio.create_task(finishing.run())
        await asyncio.sleep(1.0)  # the booking call's recognizer is built first
        second = asyncio.create_task(talking.run())
        await asyncio.sleep(2.0)
        zylin.terminate()
        await asyncio.sleep(0.5)
        late_path = await new_call_path(target, http)
        late_stream = await stream_refused(zylin)
        results = await asyncio.gather(first, second)
    return results[0], results[1], late_path, late_stream


async def new_call_path(target: Target, http: httpx.AsyncClient) -> str:
    answer = await TwilioWebhooks(target, http).voice(
        call_sid="CA" + "e" * 32, account_sid="AC" + "0" * 32, caller=CALLER, to=DEMO_NUMBER
    )
    return answer.path


async def stream_refused(zylin: ZylinProcess) -> str:
    """Open a signed media stream during the drain: 'refused' when the upgrade is turned down."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    url = f"ws://127.0.0.1:{zylin.port}/media-stream"
    signature = signature_compute(url=PUBLIC_BASE_URL.replace("http", "ws") + "/media-stream", params={})
    try:
        async with connect(url, additional_headers={"X-Twilio-Signature": signature}, proxy=None) as ws:
            await ws.recv()
    except InvalidStatus:
        return "refused"
    except Exception as error:  # closed after accepting
        return f"closed: {error}"
    return "accepted"
