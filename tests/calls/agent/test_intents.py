"""Caller sentences, as a recognizer writes them, read into intents and details."""

from __future__ import annotations

import pytest

from calls.agent import intents as it
from tests.calls.agent.memory_port import bella_hair_studio

BUSINESS = bella_hair_studio()


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("i'd like to book a haircut", it.BOOK),
        ("can i get a hair cot tomorrow", it.BOOK),
        ("do you have any openings friday", it.BOOK),
        ("i need to cancel my appointment", it.CANCEL),
        ("i can't make it on friday", it.CANCEL),
        ("what's your cancellation policy", it.FAQ),
        ("i need to move my appointment", it.RESCHEDULE),
        ("can we change the time of my booking", it.RESCHEDULE),
        ("how much is a beard trim", it.PRICE),
        ("what are your hours", it.HOURS),
        ("are you open on sunday", it.HOURS),
        ("where are you located", it.ADDRESS),
        ("what services do you offer", it.SERVICES),
        ("can i speak to a real person", it.TRANSFER),
        ("let me talk to someone please", it.TRANSFER),
        ("sorry what", it.REPEAT),
        ("could you repeat that", it.REPEAT),
        ("no that's all thanks bye", it.GOODBYE),
        ("yes please", it.CONFIRM),
        ("nope", it.DENY),
        ("blorp flibber zzz", it.UNKNOWN),
    ],
)
def test_intent_classify(text: str, intent: str) -> None:
    assert it.intent_classify(text).name == intent


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("a haircut please", "Haircut"),
        ("just a trim", "Haircut"),
        ("i want a beard trim", "Beard trim"),
        ("some highlights", "Hair color"),
        ("hair cot", "Haircut"),
        ("bear trim", "Beard trim"),
        ("i heard you were good", None),
    ],
)
def test_service_find_by_name_synonym_or_near_miss(text: str, service: str | None) -> None:
    found = it.service_find(text, BUSINESS.services)
    assert (found.name if found else None) == service


@pytest.mark.parametrize(
    ("text", "asked", "name"),
    [
        ("my name is maria lopez", False, "Maria Lopez"),
        ("hi this is maria i'd like a haircut", False, "Maria"),
        ("maria lopez", True, "Maria Lopez"),
        ("maria lopez", False, None),
        ("yeah it's john mcdonald", True, "John McDonald"),
        ("my name is siobhan o'neill", False, "Siobhan O'Neill"),
        ("it\u2019s d\u2019angelo", True, "D'Angelo"),
        ("i'm looking for a haircut", True, None),
        ("thursday instead", True, None),
    ],
)
def test_name_extract(text: str, asked: bool, name: str | None) -> None:
    assert it.name_extract(text, asked=asked) == name


def test_phone_extract_from_spoken_digits() -> None:
    assert it.phone_extract("five five five one two three four five six seven") == "+15551234567"
    assert it.phone_extract("it's double five five one two three oh oh oh oh") == "+15551230000"
    assert it.phone_extract("one two three") is None


def test_yes_no_first_cue_decides() -> None:
    assert it.yes_no("yeah that's right") is True
    assert it.yes_no("no thursday instead") is False
    assert it.yes_no("that's not right") is False
    assert it.yes_no("the weather is nice") is None


def test_choice_extract() -> None:
    assert it.choice_extract("the first one", 3) == 0
    assert it.choice_extract("the second", 3) == 1
    assert it.choice_extract("the later one", 2) == 1
    assert it.choice_extract("that one works", 1) == 0
    assert it.choice_extract("the third", 2) is None


def test_faq_find_matches_question_and_answer_words() -> None:
    assert it.faq_find("is there parking", BUSINESS.faqs).question == "Is there parking?"
    assert it.faq_find("do you take credit cards", BUSINESS.faqs).question == "How can I pay?"
    assert it.faq_find("what's the weather", BUSINESS.faqs) is None
