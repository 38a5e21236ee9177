"""The per-business language model: vocabulary, structure, unknown words, grammar."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from calls.providers.domain_lm import build_domain_lm, digits_grammar, normalize_text, spell_pronunciation
from calls.providers.domain_vocabulary import number_words, ordinal_words
from calls.voice.ports import BusinessInfo, FaqInfo, ServiceInfo

ARPABET = {
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY",
    "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y",
    "Z", "ZH",
}  # fmt: skip


def business(*services: ServiceInfo, faqs: tuple[FaqInfo, ...] = ()) -> BusinessInfo:
    hours = ((dt.time(9), dt.time(17)),)
    return BusinessInfo(
        name="Bella Hair Studio",
        timezone="Europe/London",
        address="1 High Street",
        greeting="Hello",
        transfer_number="+441234",
        services=services or (ServiceInfo("Haircut", 30, "35.00", synonyms=("trim",)),),
        opening_hours=(hours,) * 5 + ((), ()),
        faqs=faqs,
    )


@pytest.fixture(scope="module")
def model():
    return build_domain_lm(
        business(
            ServiceInfo("Haircut", 30, "35.00", synonyms=("cut", "trim")),
            ServiceInfo("Beard trim", 15, "20.00", synonyms=("shave",)),
            ServiceInfo("Hair color", 90, "80.00", synonyms=("highlights",)),
            faqs=(FaqInfo("Can I bring my dog?", "Yes."),),
        )
    )


def test_vocabulary_covers_services_dates_times_names_and_faq_words(model) -> None:
    expected = {
        "haircut", "beard", "trim", "shave", "hair", "color", "highlights",
        "monday", "sunday", "january", "december", "tomorrow", "first", "twenty", "thirty", "fifteenth",
        "noon", "half", "past", "quarter", "a.m.", "p.m.", "o'clock",
        "zero", "oh", "nine", "yes", "no", "yeah", "correct",
        "maria", "lopez", "smith",
        "hours", "parking", "price", "address", "walk-ins", "pay", "card", "cancel", "reschedule", "move",
        "human", "person", "dog", "bella", "studio",
    }  # fmt: skip
    assert expected <= model.words


def test_arpa_model_is_a_trigram_model_with_sentence_markers(model) -> None:
    counts = dict(re.findall(r"ngram (\d)=(\d+)", model.arpa))
    assert set(counts) == {"1", "2", "3"}
    assert int(counts["1"]) == len(re.findall(r"^-?\d+\.\d+ \S+ -?\d+\.\d+$", model.arpa.split("\\2-grams:")[0], re.M))
    assert int(counts["3"]) > 1000
    assert "\\end\\" in model.arpa
    unigrams = set(re.findall(r"^-?\d+\.\d+ (\S+)", model.arpa.split("\\2-grams:")[0], re.M))
    assert {"<s>", "</s>"} <= unigrams
    # Every word the model can produce has a pronunciation.
    assert unigrams - {"<s>", "</s>"} <= model.words


def test_dictionary_text_lists_variants_in_cmudict_format(model) -> None:
    lines = model.dictionary_text().splitlines()
    assert "a.m. EY EH M" in lines
    assert any(line.startswith("thirty(2) ") for line in lines)
    for line in lines:
        label, phones = line.split(" ", 1)
        assert set(phones.split()) <= ARPABET, line


def test_unknown_service_words_are_spelled_by_rule_or_dropped() -> None:
    services = (ServiceInfo("Balayage", 120, "150.00"), ServiceInfo("Haircut", 30, "35.00"))
    spelled = build_domain_lm(business(*services))
    assert "balayage" in spelled.spelled_words
    assert "balayage" in spelled.words
    (phones,) = spelled.pronunciations["balayage"]
    assert phones.split()[:3] == ["B", "AE", "L"]
    assert set(phones.split()) <= ARPABET

    dropped = build_domain_lm(business(*services), oov_policy="drop")
    assert "balayage" in dropped.spelled_words
    assert "balayage" not in dropped.words
    assert " balayage " not in dropped.arpa


def test_plurals_of_known_words_are_pronounced_without_spelling() -> None:
    model = build_domain_lm(business())
    assert model.pronunciations["walk-ins"] == ("W AO K IH N Z",)
    assert "walk-ins" not in model.spelled_words


def test_the_key_follows_the_vocabulary() -> None:
    first = build_domain_lm(business())
    again = build_domain_lm(business())
    other = build_domain_lm(business(ServiceInfo("Massage", 60, "70.00")))
    hinted = build_domain_lm(business(), extra_words=["Zanzibar"])
    assert first.key == again.key
    assert len({first.key, other.key, hinted.key}) == 3
    assert "zanzibar" in hinted.words
    assert "zanzibar" not in first.words


def test_digits_grammar_allows_a_lead_in_and_any_digit_sequence() -> None:
    grammar = digits_grammar()
    assert grammar.startswith("#JSGF V1.0;")
    assert "public <number> = [<lead>] <digit>+;" in grammar
    for word in ("zero", "oh", "one", "nine"):
        assert word in grammar


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'd like a Haircut at 3 PM!", "i'd like a haircut at three pm"),
        ("at 10 a.m., please", "at ten a.m. please"),
        ("Maria López", "maria lopez"),
        ("It\u2019s 45 minutes", "it's forty five minutes"),
        ("Hair & Beard", "hair and beard"),
        ("Walk-ins?", "walk-ins"),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [(0, ["zero"]), (13, ["thirteen"]), (40, ["forty"]), (45, ["forty", "five"]), (105, ["one", "hundred", "five"])],
)
def test_number_words(value: int, words: list[str]) -> None:
    assert number_words(value) == words


@pytest.mark.parametrize(
    ("day", "words"),
    [(1, ["first"]), (2, ["second"]), (12, ["twelfth"]), (20, ["twentieth"]), (23, ["twenty", "third"]),
     (30, ["thirtieth"]), (31, ["thirty", "first"])],
)  # fmt: skip
def test_ordinal_words(day: int, words: list[str]) -> None:
    assert ordinal_words(day) == words


def test_spelling_rules_use_digraphs() -> None:
    assert spell_pronunciation("shampoo") == "SH AE M P UW"
    assert spell_pronunciation("--") == "AH"
