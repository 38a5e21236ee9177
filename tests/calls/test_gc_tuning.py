"""calls.gc_tuning: the collector settings of a process serving live calls."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from calls import gc_tuning


@pytest.fixture
def fresh_collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Untuned module state; the process's own settings come back afterwards."""
    threshold = gc.get_threshold()
    monkeypatch.setattr(gc_tuning, "_tuned", False)
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_startup_objects_leave_the_collectors_sight(fresh_collector: None) -> None:
    startup_object = [object()]  # a list: always tracked by the collector
    assert any(obj is startup_object for obj in gc.get_objects())
    gc_tuning.tune_for_live_audio()
    assert gc.get_freeze_count() > 0
    assert all(obj is not startup_object for obj in gc.get_objects())


def test_collections_run_less_often_than_cpythons_default(fresh_collector: None) -> None:
    gc_tuning.tune_for_live_audio()
    young, middle, old = gc.get_threshold()
    assert young > 700
    assert old > 10
    assert (young, middle, old) == (
        gc_tuning.YOUNG_THRESHOLD,
        gc_tuning.MIDDLE_THRESHOLD,
        gc_tuning.OLD_THRESHOLD,
    )


def test_only_the_first_call_collects(fresh_collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    collections: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *args: collections.append(1) or 0)
    gc_tuning.tune_for_live_audio()
    gc_tuning.tune_for_live_audio()
    assert collections == [1]
