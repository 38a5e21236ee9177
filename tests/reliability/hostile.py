"""Hypothesis strategies for what a broken or hostile peer sends on the media socket.

``Hostile`` is one frame: text (valid or not) or binary, tagged with its kind so
the ledger can count what was tried. Frames are built around a real stream's
identifiers, so a mutated frame differs from a valid one only where the
strategy chose to break it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from calls.twilio_media import MAX_MEDIA_PAYLOAD_BYTES

# Values of every JSON type, small: numbers where Twilio sends strings and the reverse.
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["", "-1", "1.5", "0x10", "１２", "8000", "NaN", " 7", "99999999999999999999"]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
)


@dataclass(frozen=True)
class Hostile:
    """One frame for the socket: ``text`` or ``data`` (binary)."""

    kind: str
    text: str | None = None
    data: bytes | None = None
    sequence_shift: int | None = None

    def for_stream(self, ids: StreamIds, last_sequence: int) -> Hostile:
        """The frame as sent on a stream whose last sequence number is ``last_sequence``."""
        if self.sequence_shift is None:
            return self
        number = max(0, last_sequence + self.sequence_shift)
        return Hostile(self.kind, dump(valid_messages(ids, number)["media"]))


@dataclass(frozen=True)
class StreamIds:
    stream_sid: str = "MZ00000000000000000000000000000000"
    account_sid: str = "AC00000000000000000000000000000000"
    call_sid: str = "CA00000000000000000000000000000000"


def valid_messages(ids: StreamIds, sequence: int) -> dict[str, dict[str, Any]]:
    """One well-formed frame of each kind, as Twilio sends them (numbers as strings)."""
    common = {"sequenceNumber": str(sequence), "streamSid": ids.stream_sid}
    return {
        "start": {
            "event": "start",
            **common,
            "start": {
                "streamSid": ids.stream_sid,
                "accountSid": ids.account_sid,
                "callSid": ids.call_sid,
                "tracks": ["inbound"],
                "customParameters": {},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        },
        "media": {
            "event": "media",
            **common,
            "media": {
                "track": "inbound",
                "chunk": str(sequence),
                "timestamp": str(sequence * 20),
                "payload": base64.b64encode(bytes([0xFF]) * 160).decode(),
            },
        },
        "mark": {"event": "mark", **common, "mark": {"name": "not-a-zylin-mark"}},
        "dtmf": {"event": "dtmf", **common, "dtmf": {"track": "inbound_track", "digit": "5"}},
        "stop": {"event": "stop", **common, "stop": {"accountSid": ids.account_sid, "callSid": ids.call_sid}},
    }


def _leaf_paths(message: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    if isinstance(message, dict):
        for key, value in message.items():
            paths.append((*prefix, key))
            paths.extend(_leaf_paths(value, (*prefix, key)))
    return paths


def _set(message: dict[str, Any], path: tuple[str, ...], value: Any, *, delete: bool) -> dict[str, Any]:
    copy = json.loads(json.dumps(message))
    target = copy
    for key in path[:-1]:
        target = target[key]
    if delete:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return copy


def dump(message: Any) -> str:
    return json.dumps(message, separators=(",", ":"))


@st.composite
def mutated_frame(draw: st.DrawFn, ids: StreamIds = StreamIds(), kinds: tuple[str, ...] = ()) -> Hostile:
    """A valid frame with one field replaced by a value of any type, or removed."""
    messages = valid_messages(ids, draw(st.integers(min_value=1, max_value=10**6)))
    kind = draw(st.sampled_from(kinds or tuple(messages)))
    message = messages[kind]
    path = draw(st.sampled_from(_leaf_paths(message)))
    delete = draw(st.booleans())
    value = None if delete else draw(JSON_VALUES)
    return Hostile(f"wrong type or missing field ({kind})", dump(_set(message, path, value, delete=delete)))


@st.composite
def bad_media(draw: st.DrawFn, ids: StreamIds = StreamIds()) -> Hostile:
    """Media whose payload is base64 garbage, of a wrong length, or far too large."""
    message = valid_messages(ids, draw(st.integers(min_value=1, max_value=10**6)))["media"]
    choice = draw(st.sampled_from(["garbage", "odd length", "oversize", "not padded"]))
    if choice == "garbage":
        payload = draw(st.text(alphabet="!@#$%^&*()_ ~.,;:ü€\n\t", min_size=1, max_size=40))
    elif choice == "odd length":
        audio = draw(st.binary(min_size=0, max_size=400).filter(lambda b: len(b) % 160 != 0))
        payload = base64.b64encode(audio).decode()
    elif choice == "oversize":
        size = draw(st.integers(min_value=MAX_MEDIA_PAYLOAD_BYTES + 1, max_value=MAX_MEDIA_PAYLOAD_BYTES * 4))
        payload = base64.b64encode(bytes(size)).decode()
    else:
        payload = base64.b64encode(draw(st.binary(min_size=1, max_size=30))).decode().rstrip("=") + "A"
    message["media"]["payload"] = payload
    return Hostile(f"media payload: {choice}", dump(message))


def sequence_anomaly() -> st.SearchStrategy[Hostile]:
    """A well-formed media frame whose sequence number jumps ahead, repeats or goes backwards.

    The shift is relative to the stream's last number, applied when the frame is sent
    (``Hostile.for_stream``), so the drawn data does not depend on the stream's state.
    """
    return st.one_of(
        st.integers(min_value=2, max_value=10**6).map(lambda d: Hostile("sequence number jump", sequence_shift=d)),
        st.just(Hostile("sequence number repeat", sequence_shift=0)),
        st.integers(min_value=1, max_value=10**6).map(
            lambda d: Hostile("sequence number backwards", sequence_shift=-d)
        ),
    )


def garbage_text() -> st.SearchStrategy[Hostile]:
    """Text that is not a JSON object: noise, truncated frames, other JSON types, deep nesting."""
    truncated = st.builds(
        lambda cut: dump(valid_messages(StreamIds(), 7)["media"])[:cut], st.integers(min_value=0, max_value=120)
    )
    return st.one_of(
        st.text(max_size=60).map(lambda text: Hostile("invalid JSON", text)),
        truncated.map(lambda text: Hostile("invalid JSON", text)),
        JSON_VALUES.filter(lambda value: not isinstance(value, dict)).map(
            lambda value: Hostile("JSON that is not an object", dump(value))
        ),
        st.integers(min_value=50, max_value=5000).map(
            lambda depth: Hostile("deeply nested JSON", "[" * depth + "]" * depth)
        ),
        st.just(Hostile("one megabyte frame", dump({"event": "media", "junk": "x" * 1_000_000}))),
    )


def unknown_event(ids: StreamIds = StreamIds()) -> st.SearchStrategy[Hostile]:
    names = st.text(min_size=1, max_size=12).filter(lambda n: n not in {"connected", "start", "media", "mark",
                                                                         "dtmf", "stop"})  # fmt: skip
    return names.map(
        lambda name: Hostile(
            "unknown event", dump({"event": name, "sequenceNumber": "9", "streamSid": ids.stream_sid, name: {}})
        )
    )


def binary_frame() -> st.SearchStrategy[Hostile]:
    return st.binary(max_size=400).map(lambda data: Hostile("binary frame", data=data))


def _running_kinds(ids: StreamIds) -> list[st.SearchStrategy[Hostile]]:
    return [
        mutated_frame(ids, kinds=("media", "mark", "dtmf")),
        bad_media(ids),
        sequence_anomaly(),
        garbage_text(),
        unknown_event(ids),
        binary_frame(),
    ]


def hostile_frame(ids: StreamIds = StreamIds()) -> st.SearchStrategy[Hostile]:
    """Any of the above, for a stream that is already running."""
    return st.one_of(_running_kinds(ids))


def pre_start_frame(ids: StreamIds = StreamIds()) -> st.SearchStrategy[Hostile]:
    """Anything but a valid ``start``: what a stream may send before (or instead of) starting."""
    return st.one_of(_pre_start_kinds(ids))


def _pre_start_kinds(ids: StreamIds) -> list[st.SearchStrategy[Hostile]]:
    messages = valid_messages(ids, 1)
    early = st.sampled_from(["media", "mark", "dtmf", "stop"]).map(
        lambda kind: Hostile(f"{kind} before start", dump(messages[kind]))
    )
    connected = Hostile("connected", dump({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    return [
        early,
        mutated_frame(ids, kinds=("start",)),
        bad_media(ids),
        garbage_text(),
        unknown_event(ids),
        binary_frame(),
        st.just(connected),
    ]


def _mid_call_kinds(ids: StreamIds) -> list[st.SearchStrategy[Hostile]]:
    second_start = st.integers(min_value=1, max_value=10**6).map(
        lambda n: Hostile("second start", dump(valid_messages(ids, n)["start"]))
    )
    return [*_running_kinds(ids), mutated_frame(ids, kinds=("start",)), second_start]


def mid_call_frame(ids: StreamIds) -> st.SearchStrategy[Hostile]:
    """Anything hostile once a stream runs, a second ``start`` (valid or broken) included."""
    return st.one_of(_mid_call_kinds(ids))


@st.composite
def _cycled(
    draw: st.DrawFn, kinds: list[st.SearchStrategy[Hostile]], min_size: int, max_size: int, offset: int = 0
) -> list[Hostile]:
    # Frame i is of kind (i + offset) mod len(kinds): even the simplest example Hypothesis
    # tries (it always starts with the simplest) covers every kind.
    count = draw(st.integers(min_value=min_size, max_value=max_size))
    return [draw(kinds[(index + offset) % len(kinds)]) for index in range(count)]


def mid_call_frames(ids: StreamIds, *, min_size: int, max_size: int) -> st.SearchStrategy[list[Hostile]]:
    return _cycled(_mid_call_kinds(ids), min_size, max_size)


def pre_start_frames(
    ids: StreamIds = StreamIds(), *, min_size: int, max_size: int, offset: int = 0
) -> st.SearchStrategy[list[Hostile]]:
    return _cycled(_pre_start_kinds(ids), min_size, max_size, offset)
