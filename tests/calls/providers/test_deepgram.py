"""DeepgramSpeechToText: deepgram-sdk against a local server speaking Deepgram's live protocol."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest

from calls.providers.deepgram import DeepgramConfig, DeepgramSpeechStream, DeepgramSpeechToText
from calls.voice.ports import ProviderError, SpeechEvent, SpeechStarted, Transcript, UtteranceEnd
from tests.fakes.servers import wait_until
from tests.fakes.servers.audio import tone_mulaw
from tests.fakes.servers.deepgram import FakeDeepgramServer, ScriptedUtterance

FRAME = 160  # 20 ms of 8 kHz mu-law


def adapter(server: FakeDeepgramServer, **options: object) -> DeepgramSpeechToText:
    return DeepgramSpeechToText(DeepgramConfig(api_key="k", base_url=server.url, **options))  # type: ignore[arg-type]


class Collector:
    """Reads a stream's events in the background, as the voice loop does."""

    def __init__(self, stream: DeepgramSpeechStream) -> None:
        self.events: list[SpeechEvent] = []
        self.error: ProviderError | None = None
        self.task = asyncio.create_task(self._run(stream.events()))

    async def _run(self, events: AsyncIterator[SpeechEvent]) -> None:
        try:
            async for event in events:
                self.events.append(event)
        except ProviderError as exc:
            self.error = exc

    def transcripts(self) -> list[Transcript]:
        return [e for e in self.events if isinstance(e, Transcript)]

    def finals(self) -> list[str]:
        return [t.text for t in self.transcripts() if t.is_final]


async def send_audio(stream: DeepgramSpeechStream, seconds: float, *, pace_s: float = 0.0) -> bytes:
    audio = tone_mulaw(seconds)
    for start in range(0, len(audio), FRAME):
        await stream.send_audio(audio[start : start + FRAME])
        await asyncio.sleep(pace_s)
    return audio


async def test_connect_sends_listen_options_and_key(deepgram_server: FakeDeepgramServer) -> None:
    stream = await adapter(deepgram_server, endpointing_ms=250, utterance_end_ms=1200).connect(
        hints=["haircut", "Maria Lopez", " ", "haircut"]
    )
    await stream.aclose()

    (connection,) = deepgram_server.connections
    assert connection.path.startswith("/v1/listen?")
    assert connection.headers["Authorization"] == "Token k"
    assert connection.option("model") == "nova-3"
    assert connection.option("encoding") == "mulaw"
    assert connection.option("sample_rate") == "8000"
    assert connection.option("channels") == "1"
    assert connection.option("interim_results") == "true"
    assert connection.option("vad_events") == "true"
    assert connection.option("endpointing") == "250"
    assert connection.option("utterance_end_ms") == "1200"
    assert connection.query["keyterm"] == ["haircut", "Maria Lopez"]
    assert "keywords" not in connection.query


async def test_older_models_get_keywords_instead_of_keyterms(deepgram_server: FakeDeepgramServer) -> None:
    stream = await adapter(deepgram_server, model="nova-2").connect(hints=["haircut"])
    await stream.aclose()

    (connection,) = deepgram_server.connections
    assert connection.option("model") == "nova-2"
    assert connection.query["keywords"] == ["haircut"]
    assert "keyterm" not in connection.query


async def test_audio_reaches_the_server_unchanged(deepgram_server: FakeDeepgramServer) -> None:
    stream = await adapter(deepgram_server).connect()
    audio = await send_audio(stream, 0.5)
    await wait_until(lambda: len(deepgram_server.connections[0].audio) == len(audio))
    await stream.aclose()

    assert bytes(deepgram_server.connections[0].audio) == audio


async def test_results_become_speech_events_in_order(deepgram_server: FakeDeepgramServer) -> None:
    deepgram_server.script = [
        ScriptedUtterance("I'd like a haircut.", at_bytes=8000),
        ScriptedUtterance("Tomorrow at 3 pm.", at_bytes=16000),
    ]
    stream = await adapter(deepgram_server).connect()
    collector = Collector(stream)
    await send_audio(stream, 2.5)
    await wait_until(lambda: len(collector.finals()) == 2)
    await stream.aclose()
    await collector.task

    assert collector.error is None
    assert collector.events == [
        SpeechStarted(),
        Transcript("I'd like", is_final=False, confidence=0.97),
        Transcript("I'd like a haircut.", is_final=True, speech_final=True, confidence=0.97),
        UtteranceEnd(),
        SpeechStarted(),
        Transcript("Tomorrow at", is_final=False, confidence=0.97),
        Transcript("Tomorrow at 3 pm.", is_final=True, speech_final=True, confidence=0.97),
        UtteranceEnd(),
    ]
    # The fake also sent the empty interim results Deepgram sends during silence.
    sent_types = [m["type"] for m in deepgram_server.connections[0].sent]
    assert sent_types.count("Results") > 4


async def test_finalize_flushes_words_still_interim(deepgram_server: FakeDeepgramServer) -> None:
    deepgram_server.script = [ScriptedUtterance("Maria Lopez", at_bytes=1600, finalize_only=True)]
    stream = await adapter(deepgram_server).connect()
    collector = Collector(stream)
    await send_audio(stream, 0.4)
    await wait_until(lambda: any(t.text == "Maria Lopez" for t in collector.transcripts()))
    assert collector.finals() == []

    await stream.finalize()
    await wait_until(lambda: collector.finals() == ["Maria Lopez"])
    await stream.aclose()

    assert "Finalize" in deepgram_server.connections[0].controls
    final = collector.transcripts()[-1]
    assert final.is_final
    assert not final.speech_final


async def test_keepalive_only_while_no_audio_is_sent(deepgram_server: FakeDeepgramServer) -> None:
    stream = await adapter(deepgram_server, keepalive_interval_s=0.3).connect()
    connection = deepgram_server.connections[0]
    # One second of audio, over three keep-alive intervals.
    await send_audio(stream, 1.0, pace_s=0.02)
    assert "KeepAlive" not in connection.controls

    await wait_until(lambda: connection.controls.count("KeepAlive") >= 2, within_s=3.0)
    await stream.aclose()


async def test_close_sends_close_stream_and_ends_events(deepgram_server: FakeDeepgramServer) -> None:
    stream = await adapter(deepgram_server).connect()
    collector = Collector(stream)
    await send_audio(stream, 0.2)
    await stream.aclose()
    await asyncio.wait_for(collector.task, 2.0)
    await stream.aclose()  # idempotent

    connection = deepgram_server.connections[0]
    assert connection.controls[-1] == "CloseStream"
    assert connection.closed_with == 1000
    assert collector.error is None
    # A late reader finds the stream ended, and late audio is ignored.
    assert [event async for event in stream.events()] == []
    await stream.send_audio(b"\xff" * FRAME)


async def test_dropped_socket_reconnects_once_and_the_stream_goes_on(
    deepgram_server: FakeDeepgramServer,
) -> None:
    deepgram_server.drop_connections = {0: 4000}
    deepgram_server.script = [ScriptedUtterance("Do you have anything on Friday?", at_bytes=9600)]
    stream = await adapter(deepgram_server).connect(hints=["Friday"])
    collector = Collector(stream)
    await send_audio(stream, 1.5, pace_s=0.002)
    await wait_until(lambda: collector.finals() == ["Do you have anything on Friday?"])
    await stream.aclose()

    first, second = deepgram_server.connections
    assert first.closed_with == 1011
    assert len(first.audio) == 4000
    assert second.query == first.query
    assert len(second.audio) > 0
    assert collector.error is None


async def test_second_drop_ends_the_stream_with_a_final_error(deepgram_server: FakeDeepgramServer) -> None:
    deepgram_server.drop_connections = {0: 1600, 1: 1600}
    stream = await adapter(deepgram_server).connect()
    collector = Collector(stream)
    with pytest.raises(ProviderError):
        await send_audio(stream, 2.0, pace_s=0.002)
    await asyncio.wait_for(collector.task, 2.0)
    await stream.aclose()

    assert len(deepgram_server.connections) == 2
    assert collector.error is not None
    assert collector.error.provider == "deepgram"
    assert collector.error.retryable is False
    assert "1011" in str(collector.error)


async def stream_until_failure(stream: DeepgramSpeechStream, collector: Collector, seconds: float) -> float:
    """Send audio at twice real time until the stream fails; returns the time taken."""
    started = time.monotonic()
    audio = tone_mulaw(seconds)
    for start in range(0, len(audio), FRAME):
        if collector.task.done():
            break
        try:
            await stream.send_audio(audio[start : start + FRAME])
        except ProviderError:
            break
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_stalled_server_becomes_a_provider_error_within_the_timeout(
    deepgram_server: FakeDeepgramServer,
) -> None:
    deepgram_server.silence_result_every_bytes = 800
    deepgram_server.stall_after_bytes = 2400
    stream = await adapter(deepgram_server, stall_timeout_s=0.3).connect()
    collector = Collector(stream)
    elapsed = await stream_until_failure(stream, collector, 3.0)
    await asyncio.wait_for(collector.task, 2.0)
    await stream.aclose()

    assert collector.error is not None
    assert collector.error.retryable is True
    assert "0.3" in str(collector.error)
    assert elapsed < 1.5
    assert len(deepgram_server.connections) == 1


async def test_a_server_that_keeps_answering_is_not_stalled(deepgram_server: FakeDeepgramServer) -> None:
    deepgram_server.silence_result_every_bytes = 800
    stream = await adapter(deepgram_server, stall_timeout_s=0.3).connect()
    collector = Collector(stream)
    await stream_until_failure(stream, collector, 1.0)
    await stream.aclose()
    await asyncio.wait_for(collector.task, 2.0)

    assert collector.error is None


async def test_refused_key_fails_at_once_and_is_not_retryable(deepgram_server: FakeDeepgramServer) -> None:
    deepgram_server.api_key = "another"
    with pytest.raises(ProviderError) as caught:
        await adapter(deepgram_server).connect()

    assert caught.value.retryable is False
    assert "401" in str(caught.value)
    assert len(deepgram_server.refused) == 1
    assert deepgram_server.refused[0]["Authorization"] == "Token k"


async def test_unreachable_server_is_retried_then_reported_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = DeepgramConfig(api_key="k", base_url=f"http://127.0.0.1:{closed_port}")

    with pytest.raises(ProviderError) as caught:
        await DeepgramSpeechToText(config).connect()

    assert caught.value.provider == "deepgram"
    assert caught.value.retryable is True
