"""The simulator's earpiece: real-time playback, mark echoes, clear, and telling underruns from turn gaps."""

from __future__ import annotations

from calls.simulator.earpiece import Earpiece, playback_of

FRAME = b"\x10" * 160


def play(earpiece: Earpiece, start: float, ticks: int) -> list[str]:
    echoed: list[str] = []
    for tick in range(ticks):
        echoed += earpiece.play(start + tick * 0.02)
    return echoed


def test_a_mark_is_echoed_once_the_audio_before_it_has_played() -> None:
    earpiece = Earpiece()
    earpiece.media(FRAME * 3, at=0.0)
    assert earpiece.mark("t1.1") == []
    assert play(earpiece, 0.0, 2) == []
    assert earpiece.busy
    assert play(earpiece, 0.04, 1) == ["t1.1"]
    assert not earpiece.busy
    assert earpiece.acked == 1


def test_a_mark_after_audio_already_played_is_echoed_at_once() -> None:
    earpiece = Earpiece()
    earpiece.media(FRAME, at=0.0)
    play(earpiece, 0.0, 1)
    assert earpiece.mark("t1.1") == ["t1.1"]


def test_clear_drops_the_buffer_and_echoes_every_pending_mark() -> None:
    earpiece = Earpiece(keep_audio=True)
    earpiece.media(FRAME * 10, at=0.0)
    earpiece.mark("t1.1")
    earpiece.media(FRAME * 10, at=0.0)
    earpiece.mark("t1.2")
    play(earpiece, 0.0, 2)
    assert earpiece.clear(at=0.04) == ["t1.1", "t1.2"]
    assert play(earpiece, 0.06, 3) == []
    assert earpiece.heard is not None
    assert earpiece.heard == FRAME * 2 + b"\xff" * 480  # silence after the clear
    assert earpiece.clears == [0.04]
    assert earpiece.gaps() == []  # cut off on purpose, not a stall


def test_a_stall_inside_one_reply_is_an_underrun_and_a_pause_between_replies_is_not() -> None:
    earpiece = Earpiece()
    earpiece.media(FRAME * 2, at=0.0)
    earpiece.mark("t2.1")
    play(earpiece, 0.0, 2)
    play(earpiece, 0.04, 5)  # 100 ms with nothing to play
    earpiece.media(FRAME * 2, at=0.13)
    earpiece.mark("t2.2")  # the same reply went on
    play(earpiece, 0.14, 2)
    play(earpiece, 0.18, 10)
    earpiece.media(FRAME, at=0.37)
    earpiece.mark("t3.1")  # the next reply
    play(earpiece, 0.38, 1)
    first, second = earpiece.gaps()
    assert (first.before, first.after, first.underrun) == ("t2", "t2", True)
    assert round(first.ms) == 100
    assert (second.before, second.after, second.underrun) == ("t2", "t3", False)
    assert earpiece.underruns() == [first]


def test_audio_arriving_just_in_time_is_no_gap() -> None:
    earpiece = Earpiece()
    earpiece.media(FRAME, at=0.0)
    play(earpiece, 0.0, 1)
    earpiece.media(FRAME, at=0.019)
    play(earpiece, 0.02, 1)
    earpiece.mark("t1.1")
    assert earpiece.gaps() == []


def test_first_audio_after_a_moment() -> None:
    earpiece = Earpiece()
    earpiece.media(FRAME, at=1.0)
    earpiece.media(FRAME, at=2.5)
    assert earpiece.first_audio_after(1.2) == 2.5
    assert earpiece.first_audio_after(3.0) is None
    assert playback_of("t12.345") == "t12"
