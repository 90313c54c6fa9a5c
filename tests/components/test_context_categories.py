"""Uncertainty, history, hypothetical, family and pseudo-triggers."""

from __future__ import annotations

import pytest
import spacy
from spacy.language import Language

import medlens.components.context  # noqa: F401  (registers the factory)
from medlens.doc.types import Assertion

FLAGS = ("negated", "uncertain", "historical", "hypothetical", "family")


@pytest.fixture(scope="module")
def nlp() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("medlens_context")
    return nlp


def assertions(nlp: Language, text: str, *mentions: str) -> dict[str, Assertion]:
    """Run the sentencizer and the context component with ``mentions`` as entities."""
    doc = nlp.get_pipe("sentencizer")(nlp.make_doc(text))
    spans = []
    for mention in mentions:
        start = text.index(mention)
        spans.append(doc.char_span(start, start + len(mention), label="DISEASE"))
    doc.ents = spans
    doc = nlp.get_pipe("medlens_context")(doc)
    return {ent.text: ent._.assertion for ent in doc.ents}


def raised(assertion: Assertion) -> set[str]:
    return {name for name in FLAGS if getattr(assertion, name)}


@pytest.mark.parametrize(
    ("text", "mention", "flags"),
    [
        ("Rule out MI.", "MI", {"uncertain"}),
        ("Admitted to r/o MI.", "MI", {"uncertain"}),
        ("Pneumonia is unlikely.", "Pneumonia", {"uncertain"}),
        ("Findings are concerning for malignancy.", "malignancy", {"uncertain"}),
        ("Metastatic disease cannot be excluded.", "Metastatic disease", {"uncertain"}),
        ("Viral infection vs. bacterial sepsis.", "bacterial sepsis", {"uncertain"}),
        ("Her mother had breast cancer.", "breast cancer", {"family"}),
        ("The patient's father has diabetes.", "diabetes", {"family"}),
        ("Colon cancer in his maternal grandmother.", "Colon cancer", {"family"}),
        ("Family history of colon cancer.", "colon cancer", {"family"}),
        ("No family history of colon cancer.", "colon cancer", {"family", "negated"}),
        ("History of stroke.", "stroke", {"historical"}),
        ("He is s/p appendectomy.", "appendectomy", {"historical"}),
        ("Myocardial infarction 3 years ago.", "Myocardial infarction", {"historical"}),
        ("Return if fever develops.", "fever", {"hypothetical"}),
        ("Call if you have chest pain.", "chest pain", {"hypothetical"}),
        ("Take acetaminophen as needed for headache.", "headache", {"hypothetical"}),
    ],
)
def test_context_trigger_categories(nlp: Language, text: str, mention: str, flags: set[str]) -> None:
    assert raised(assertions(nlp, text, mention)[mention]) == flags


def test_context_unlikely_is_uncertain_not_negated(nlp: Language) -> None:
    a = assertions(nlp, "Pneumonia is unlikely.", "Pneumonia")["Pneumonia"]
    assert a.uncertain and not a.negated
    assert a.status == "uncertain"


def test_context_pseudo_no_change(nlp: Language) -> None:
    a = assertions(nlp, "No change in the mass.", "mass")
    assert a["mass"] == Assertion()
    assert not a["mass"].negated


def test_context_pseudo_no_increase(nlp: Language) -> None:
    a = assertions(nlp, "No increase in the effusion.", "effusion")
    assert not a["effusion"].negated


def test_context_pseudo_gram_negative(nlp: Language) -> None:
    a = assertions(nlp, "Blood cultures grew gram negative rods.", "rods", "Blood cultures")
    assert not a["rods"].negated
    assert not a["Blood cultures"].negated
    a = assertions(nlp, "Sputum grew gram-negative rods.", "rods")
    assert not a["rods"].negated


def test_context_pseudo_not_only_but(nlp: Language) -> None:
    a = assertions(nlp, "Not only fever but also a rash.", "fever", "rash")
    assert a["fever"] == Assertion()
    assert a["rash"] == Assertion()


def test_context_two_categories_on_one_entity(nlp: Language) -> None:
    a = assertions(nlp, "Mother with possible breast cancer.", "breast cancer")["breast cancer"]
    assert raised(a) == {"family", "uncertain"}
    assert [c.category for c in a.cues] == ["FAMILY", "POSSIBLE_EXISTENCE"]
