"""Fixtures for agent tests: the fake OpenAI server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.fakes.servers.openai_chat import FakeOpenAIChatServer, running_in_thread


@pytest.fixture
async def openai_server() -> AsyncIterator[FakeOpenAIChatServer]:
    """The fake in the test's own event loop."""
    server = FakeOpenAIChatServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def openai_server_thread() -> Iterator[FakeOpenAIChatServer]:
    """The fake on its own thread, for code that runs its own event loop (manage.py talk)."""
    with running_in_thread(FakeOpenAIChatServer()) as server:
        yield server
