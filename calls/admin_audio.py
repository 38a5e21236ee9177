"""A recording's audio for the admin's player, streamed from storage, with byte ranges.

The admin view decides who may hear what; this module only serves a stored
file: in blocks (never the whole file in memory) and, for a single
``Range: bytes=...`` request, the part asked for (206), so the player can seek.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import PurePath
from typing import IO

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse

# Which file of a Recording each player plays.
AUDIO_FIELDS = {"caller": "audio", "reply": "reply_audio"}
CONTENT_TYPES = {".wav": "audio/wav", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
_SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Window:
    """The ``length`` bytes of ``file`` from its current position; closing it closes the file."""

    def __init__(self, file: IO[bytes], length: int) -> None:
        self._file = file
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size < 0 else min(size, self._left)
        data = self._file.read(size)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._file.close()


def content_type_of(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The first and last byte a single-range header asks for; None if it asks for none of ``size``.

    Raises:
        ValueError: the header is not one ``bytes=`` range (the whole file is served instead).
    """
    match = _SINGLE_RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        raise ValueError(header)
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        return (max(size - length, 0), size - 1) if length and size else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return None
    return start, end


def audio_response(request: HttpRequest, audio: FieldFile) -> HttpResponse:
    """Stream ``audio``; 404 when the file is gone from storage."""
    try:
        size = audio.size
        file = audio.open("rb")
    except FileNotFoundError as exc:
        raise Http404("No such audio.") from exc
    content_type = content_type_of(audio.name)
    header = request.headers.get("Range", "")
    # If-Range asks for the part only if the file is still the version the client saw:
    # without comparing validators, the whole file is the answer that is always right.
    whole = not header or "If-Range" in request.headers
    wanted = None
    if not whole:
        try:
            wanted = byte_range(header, size)
        except ValueError:
            whole = True  # several ranges or a malformed one: a server may ignore Range
    if whole:
        response = FileResponse(file, content_type=content_type)
    elif wanted is None:
        file.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    else:
        start, end = wanted
        file.seek(start)
        response = FileResponse(_Window(file, end - start + 1), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response
