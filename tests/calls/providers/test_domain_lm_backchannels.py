"""Backchannels in the language model: the recognizer can say "mm-hmm" instead of garbage words."""

from __future__ import annotations

import datetime as dt

import pytest

from calls.providers.domain_lm import DomainLanguageModel, build_domain_lm
from calls.providers.domain_vocabulary import BACKCHANNEL_PRONUNCIATIONS, BACKCHANNEL_SENTENCES
from calls.voice.ports import BusinessInfo, ServiceInfo
from calls.voice.turns import is_backchannel


@pytest.fixture(scope="module")
def model() -> DomainLanguageModel:
    return build_domain_lm(
        BusinessInfo(
            name="Bella Hair Studio",
            timezone="America/New_York",
            address="12 Main Street",
            greeting="Thanks for calling.",
            transfer_number="+15550100",
            services=(ServiceInfo("Haircut", 30, "35.00"),),
            opening_hours=(((dt.time(9), dt.time(18)),),) * 7,
        )
    )


@pytest.mark.parametrize("sentence", BACKCHANNEL_SENTENCES)
def test_every_modelled_backchannel_is_one_for_the_barge_in_policy(sentence: str) -> None:
    # Whatever backchannel the recognizer outputs, the voice loop must not treat it as words.
    assert is_backchannel(sentence)


def test_backchannel_words_are_in_the_model_with_a_hummed_mm_hmm(model: DomainLanguageModel) -> None:
    for sentence in BACKCHANNEL_SENTENCES:
        assert set(sentence.split()) <= model.words
    assert "M HH M" in model.pronunciations["mm-hmm"]
    assert model.pronunciations["uh-huh"][0] == BACKCHANNEL_PRONUNCIATIONS["uh-huh"][0]
    assert "mm-hmm" not in model.spelled_words
    assert "\nmm-hmm M HH M\n" in "\n" + model.dictionary_text()


def test_a_lone_backchannel_is_a_whole_sentence_of_the_model(model: DomainLanguageModel) -> None:
    bigrams = ngram_entries(model.arpa, 2)
    for word in ("mm-hmm", "okay", "uh-huh", "yeah"):
        assert ("<s>", word) in bigrams
        assert (word, "</s>") in bigrams
    assert ("got", "it") in bigrams


def ngram_entries(arpa: str, order: int) -> set[tuple[str, ...]]:
    section = arpa.split(f"\\{order}-grams:", 1)[1].split("\\", 1)[0]
    entries: set[tuple[str, ...]] = set()
    for line in section.strip().splitlines():
        fields = line.split()
        if len(fields) >= order + 1:
            entries.add(tuple(fields[1 : order + 1]))
    return entries
