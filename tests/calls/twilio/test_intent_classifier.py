"""Hybrid routing's classifier: simple questions versus complex requests."""

from __future__ import annotations

import pytest

from calls.intent_classifier import intent_classify, vocabulary_build

VOCABULARY = vocabulary_build(
    services=["Haircut", "cut", "trim", "Beard trim", "Hair color", "highlights"],
    faq_questions=["Is there parking?", "Do you take walk-ins?", "How can I pay?", "What is your cancellation policy?"],
)


@pytest.mark.parametrize(
    ("sentence", "kind", "topic"),
    [
        ("What time do you open on Saturday?", "simple", "hours"),
        ("are you open today", "simple", "hours"),
        ("What are your opening hours", "simple", "hours"),
        ("How much is a haircut?", "simple", "prices"),
        ("what does hair color cost", "simple", "prices"),
        ("What's your address?", "simple", "address"),
        ("where are you located", "simple", "address"),
        ("Is there parking nearby", "simple", "address"),
        ("Do you take walk-ins?", "simple", "faq"),
        ("can I pay with apple pay", "simple", "faq"),
        ("What's your cancellation policy", "simple", "faq"),
        ("Do you do highlights", "simple", "services"),
        ("I'd like to book a haircut tomorrow at three", "complex", "booking"),
        ("I need to move my appointment to Friday", "complex", "booking"),
        ("Can I reschedule?", "complex", "booking"),
        ("I want to cancel my beard trim", "complex", "booking"),
        ("How much would it cost to move my appointment?", "complex", "booking"),
        ("Do you have anything available tomorrow morning", "complex", "booking"),
        ("Can I speak to a human please", "complex", "person"),
        ("I have a complaint about my last visit", "complex", "complaint"),
        ("um yeah so", "complex", "unclear"),
        ("", "complex", "unclear"),
        ("   ", "complex", "unclear"),
    ],
)
def test_classification(sentence: str, kind: str, topic: str) -> None:
    result = intent_classify(sentence, vocabulary=VOCABULARY)
    assert (result.kind, result.topic) == (kind, topic)


def test_service_questions_need_the_business_vocabulary() -> None:
    assert intent_classify("Do you do highlights").kind == "complex"
    assert intent_classify("Do you do highlights", vocabulary=VOCABULARY).kind == "simple"


def test_cues_match_whole_words_only() -> None:
    # "bookshelf" is not "book", "reopen..." is not a request: no cue, so unclear.
    assert intent_classify("I left my bookshelf catalogue").topic == "unclear"
