"""Is the caller's opening sentence a simple question or something complex?

Hybrid routing sends simple questions (opening hours, prices, the address, a
FAQ) one way and complex requests (booking, moving or cancelling an
appointment, asking for a person, anything unclear) the other. The classifier is
keyword based and pure: it reads the sentence against fixed cue words plus the
business's own service names and FAQ questions. A booking cue wins over a
simple one ("how much to move my appointment" is complex), and a sentence with
no cue at all is complex, because unclear callers need the richer path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from calls.routing import FirstIntent

# Single words or short phrases; matched on word boundaries in the lower-cased sentence.
_COMPLEX_CUES: dict[str, tuple[str, ...]] = {
    "booking": (
        "book",
        "booking",
        "appointment",
        "appointments",
        "schedule",
        "reschedule",
        "reserve",
        "reservation",
        "move my",
        "change my",
        "cancel",
        "cancellation for",
        "push back",
        "bring forward",
        "available",
        "availability",
        "free slot",
        "slot",
        "come in",
        "make an",
        "set up",
    ),
    "person": ("speak to", "talk to", "human", "person", "manager", "someone", "operator", "representative"),
    "complaint": ("complaint", "refund", "problem", "wrong", "unhappy"),
}
_SIMPLE_CUES: dict[str, tuple[str, ...]] = {
    "hours": (
        "open",
        "opening",
        "close",
        "closing",
        "closed",
        "hours",
        "what time",
        "when are you",
        "today",
        "weekend",
        "saturday",
        "sunday",
        "holiday",
    ),
    "prices": ("price", "prices", "cost", "costs", "how much", "charge", "fee", "fees", "expensive", "cheap", "rates"),
    "address": (
        "address",
        "where are you",
        "where is",
        "located",
        "location",
        "directions",
        "find you",
        "get there",
        "parking",
        "park",
    ),
}
# Words too common to say anything about a FAQ match.
_STOPWORDS_TEXT = """
    a an and are as at be can could do does for from have how i if in is it me my of on or our
    please the there this to we what when where which who will with would you your
"""
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class Vocabulary:
    """What the classifier knows about one business."""

    services: tuple[str, ...] = ()
    faq_questions: tuple[str, ...] = ()


def vocabulary_build(*, services: Iterable[str], faq_questions: Iterable[str]) -> Vocabulary:
    return Vocabulary(
        services=tuple(s.strip().lower() for s in services if s.strip()),
        faq_questions=tuple(q.strip().lower() for q in faq_questions if q.strip()),
    )


def intent_classify(sentence: str, *, vocabulary: Vocabulary = Vocabulary()) -> FirstIntent:
    """Classify a caller's opening sentence as simple or complex, with its topic."""
    text = " ".join(_WORD.findall(sentence.lower()))
    if not text:
        return FirstIntent(kind="complex", topic="unclear")
    for topic, cues in _COMPLEX_CUES.items():
        if _contains_any(text, cues):
            return FirstIntent(kind="complex", topic=topic)
    for topic, cues in _SIMPLE_CUES.items():
        if _contains_any(text, cues):
            return FirstIntent(kind="simple", topic=topic)
    if _mentions_service(text, vocabulary.services):
        # "Do you do beard trims?" — a question about what is offered.
        return FirstIntent(kind="simple", topic="services")
    if _matches_faq(text, vocabulary.faq_questions):
        return FirstIntent(kind="simple", topic="faq")
    return FirstIntent(kind="complex", topic="unclear")


def _contains_any(text: str, cues: Sequence[str]) -> bool:
    padded = f" {text} "
    return any(f" {cue} " in padded for cue in cues)


def _mentions_service(text: str, services: Sequence[str]) -> bool:
    words = set(text.split())
    for service in services:
        service_words = [w for w in _WORD.findall(service) if w not in _STOPWORDS]
        # Plural or singular: "haircuts" matches "haircut".
        if service_words and all(w in words or f"{w}s" in words for w in service_words):
            return True
    return False


def _matches_faq(text: str, questions: Sequence[str]) -> bool:
    words = {w for w in text.split() if w not in _STOPWORDS}
    for question in questions:
        keywords = {w for w in _WORD.findall(question) if w not in _STOPWORDS}
        if keywords and len(words & keywords) >= min(2, len(keywords)):
            return True
    return False
