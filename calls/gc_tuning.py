"""Garbage-collector settings for a process that keeps real time for live calls.

CPython's cyclic collector stops the event loop while it runs, and a full
(generation 2) collection walks every tracked object. In a started Django
process that is a couple of hundred thousand objects (modules, settings, URL
patterns, the ORM's metadata): under load of 200 calls such a pass took 100
to 300 ms, long enough to drain every caller's playback window at once. Those
objects live as long as the process, so once it serves calls they are moved
out of the collector's sight (``gc.freeze``).

What the calls create is mostly freed by reference counting as soon as a
frame is handled; the collector only needs to find cycles, so it runs less
often than CPython's default (700 new objects per young collection, a full
one every 100 older collections): fewer, and so fewer long, pauses.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # CPython: 700
MIDDLE_THRESHOLD = 10  # as CPython
OLD_THRESHOLD = 100  # CPython: 10

_tuned = False


def tune_for_live_audio() -> None:
    """Collect once, exempt everything alive now from later collections, collect less often.

    Idempotent: the first call in a process does the work.
    """
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
