"""Negation: triggers before and after the entity, lists, coordinations."""

from __future__ import annotations

import pytest
import spacy
from spacy.language import Language

from medlens.components.context import ContextDetector
from medlens.doc.types import Assertion


@pytest.fixture(scope="module")
def nlp() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("medlens_context")
    return nlp


def assertions(nlp: Language, text: str, *mentions: str) -> dict[str, Assertion]:
    """Run the pipeline on ``text`` with ``mentions`` as DISEASE entities."""
    doc = nlp.make_doc(text)
    doc = nlp.get_pipe("sentencizer")(doc)
    spans = []
    for mention in mentions:
        start = text.index(mention)
        spans.append(doc.char_span(start, start + len(mention), label="DISEASE"))
    doc.ents = spans
    doc = nlp.get_pipe("medlens_context")(doc)
    return {ent.text: ent._.assertion for ent in doc.ents}


def only(assertion: Assertion, flag: str) -> bool:
    names = ("negated", "uncertain", "historical", "hypothetical", "family")
    return all(getattr(assertion, n) == (n == flag) for n in names)


def test_context_is_negative_for(nlp: Language) -> None:
    a = assertions(nlp, "Chest x-ray is negative for pneumonia.", "Chest x-ray", "pneumonia")
    assert only(a["pneumonia"], "negated")
    assert a["Chest x-ray"] == Assertion()


def test_context_no_further_after_header(nlp: Language) -> None:
    a = assertions(nlp, "HPI: No further chest pain since admission.", "chest pain")
    assert only(a["chest pain"], "negated")
    assert a["chest pain"].cues[0].text == "No further"


def test_context_denies_coordination_both_negated(nlp: Language) -> None:
    a = assertions(nlp, "Patient denies chest pain or shortness of breath.", "chest pain", "shortness of breath")
    assert only(a["chest pain"], "negated")
    assert only(a["shortness of breath"], "negated")


def test_context_denies_list_all_negated(nlp: Language) -> None:
    mentions = ("fever", "chills", "nausea", "vomiting")
    a = assertions(nlp, "He denies fever, chills, nausea, or vomiting.", *mentions)
    for mention in mentions:
        assert only(a[mention], "negated"), mention


def test_context_ruled_out_backward(nlp: Language) -> None:
    a = assertions(nlp, "Pulmonary embolism was ruled out.", "Pulmonary embolism")
    assert only(a["Pulmonary embolism"], "negated")
    assert a["Pulmonary embolism"].cues[0].text == "was ruled out"


def test_context_negative_after_entity(nlp: Language) -> None:
    a = assertions(nlp, "Blood cultures were negative.", "Blood cultures")
    assert only(a["Blood cultures"], "negated")


def test_context_not_on_drug(nlp: Language) -> None:
    a = assertions(nlp, "Pt is not on insulin.", "insulin")
    assert only(a["insulin"], "negated")


def test_context_without(nlp: Language) -> None:
    a = assertions(nlp, "Abdomen soft without tenderness or guarding.", "tenderness", "guarding")
    assert only(a["tenderness"], "negated")
    assert only(a["guarding"], "negated")


def test_context_affirmed_entity_has_no_cues(nlp: Language) -> None:
    a = assertions(nlp, "He has pneumonia.", "pneumonia")
    assert a["pneumonia"] == Assertion()
    assert a["pneumonia"].cues == ()
    assert a["pneumonia"].status == "present"


def test_context_detector_is_the_registered_component(nlp: Language) -> None:
    assert isinstance(nlp.get_pipe("medlens_context"), ContextDetector)
