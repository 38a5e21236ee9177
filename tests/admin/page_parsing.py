"""Reading the Call page's HTML: the turns, their latency bars, the audio players."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class BarSegment:
    stage: str
    ms: int
    x: float
    width: float
    title: str = ""


@dataclass
class PageTurn:
    classes: list[str]
    text: str = ""
    bar_label: str | None = None
    segments: list[BarSegment] = field(default_factory=list)
    beside: list[str] = field(default_factory=list)


@dataclass
class AudioPlayer:
    src: str
    preload: str
    label: str


class CallPage(HTMLParser):
    """The turns (``li.turn``) in order, each with its bar, and every ``<audio>`` element."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.turns: list[PageTurn] = []
        self.players: list[AudioPlayer] = []
        self._turn: PageTurn | None = None
        self._segment: BarSegment | None = None
        self._in_title = False
        self._beside_depth = 0
        self._open_li = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        classes = attributes.get("class", "").split()
        if tag == "li" and "turn" in classes:
            self._turn = PageTurn(classes=classes)
            self.turns.append(self._turn)
            self._open_li = 1
        elif tag == "li" and self._turn is not None:
            self._open_li += 1
        elif tag == "audio":
            player = AudioPlayer(
                attributes.get("src", ""), attributes.get("preload", ""), attributes.get("aria-label", "")
            )
            self.players.append(player)
        if self._turn is None:
            return
        if tag == "svg" and attributes.get("role") == "img":
            self._turn.bar_label = attributes.get("aria-label", "")
        elif tag == "rect" and "segment" in classes:
            self._segment = BarSegment(
                stage=attributes["data-stage"],
                ms=int(attributes["data-ms"]),
                x=float(attributes["x"]),
                width=float(attributes["width"]),
            )
            self._turn.segments.append(self._segment)
        elif tag == "title" and self._segment is not None:
            self._in_title = True
        elif tag == "span" and ("beside" in classes or self._beside_depth):
            if self._beside_depth:
                self._turn.beside.append("")
            self._beside_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "rect":
            self._segment = None
        elif tag == "span" and self._beside_depth:
            self._beside_depth -= 1
        elif tag == "li" and self._turn is not None:
            self._open_li -= 1
            if self._open_li == 0:
                self._turn = None

    def handle_data(self, data: str) -> None:
        if self._turn is None:
            return
        if self._in_title and self._segment is not None:
            self._segment.title += data
        elif self._beside_depth > 1:
            self._turn.beside[-1] += data
        else:
            self._turn.text += data
