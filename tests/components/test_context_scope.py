"""Scope: terminators, sentence boundaries, max_scope, categories that cut each other."""

from __future__ import annotations

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from medlens.components.context import ContextDetector
from medlens.doc.types import Assertion


@pytest.fixture(scope="module")
def nlp() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("medlens_context")
    return nlp


def assertions(nlp: Language, text: str, *mentions: str, component: ContextDetector | None = None) -> dict[str, Assertion]:
    """Run the sentencizer and the context component with ``mentions`` as entities."""
    doc = nlp.get_pipe("sentencizer")(nlp.make_doc(text))
    spans = []
    for mention in mentions:
        start = text.index(mention)
        spans.append(doc.char_span(start, start + len(mention), label="DISEASE"))
    doc.ents = spans
    doc = (component or nlp.get_pipe("medlens_context"))(doc)
    return {ent.text: ent._.assertion for ent in doc.ents}


def test_context_but_terminates_negation(nlp: Language) -> None:
    a = assertions(nlp, "No evidence of pneumonia but there is an effusion.", "pneumonia", "effusion")
    assert a["pneumonia"].negated
    assert a["effusion"] == Assertion()


def test_context_however_terminates_backward_scope(nlp: Language) -> None:
    a = assertions(nlp, "Fever persists, however pneumonia was ruled out.", "Fever", "pneumonia")
    assert a["pneumonia"].negated
    assert not a["Fever"].negated


def test_context_other_sentence_not_affected(nlp: Language) -> None:
    a = assertions(nlp, "No fever. Cough is present.", "fever", "Cough")
    assert a["fever"].negated
    assert a["Cough"] == Assertion()


def test_context_backward_trigger_stops_at_sentence_start(nlp: Language) -> None:
    a = assertions(nlp, "She has asthma. Pneumonia was ruled out.", "asthma", "Pneumonia")
    assert a["asthma"] == Assertion()
    assert a["Pneumonia"].negated


def test_context_history_scope_cut_by_negation(nlp: Language) -> None:
    a = assertions(nlp, "History of MI, no chest pain.", "MI", "chest pain")
    assert a["MI"].historical and not a["MI"].negated
    assert a["chest pain"].negated and not a["chest pain"].historical


def test_context_no_history_of_is_negated_and_historical(nlp: Language) -> None:
    a = assertions(nlp, "No history of stroke.", "stroke")
    assert a["stroke"].negated
    assert a["stroke"].historical


def test_context_positive_for_terminates_negation(nlp: Language) -> None:
    a = assertions(nlp, "Negative for fever, positive for cough.", "fever", "cough")
    assert a["fever"].negated
    assert not a["cough"].negated


def test_context_component_max_scope(nlp: Language) -> None:
    capped = ContextDetector(nlp, max_scope=2)
    text = "Denies fever and also the chest pain."
    a = assertions(nlp, text, "fever", "chest pain", component=capped)
    assert a["fever"].negated
    assert not a["chest pain"].negated
    a = assertions(nlp, text, "fever", "chest pain")
    assert a["chest pain"].negated


def test_context_rule_max_scope_limits_bidirectional_trigger(nlp: Language) -> None:
    # "are negative" is BACKWARD with max_scope 5 in the shipped rules
    a = assertions(nlp, "Pneumonia was treated with antibiotics and cultures are negative.", "Pneumonia", "cultures")
    assert not a["Pneumonia"].negated
    assert a["cultures"].negated


def test_context_without_sentence_boundaries_uses_whole_doc(nlp: Language) -> None:
    text = "No fever or cough"
    doc = nlp.make_doc(text)  # no sentencizer
    doc.ents = [Span(doc, 1, 2, label="DISEASE"), Span(doc, 3, 4, label="DISEASE")]
    doc = nlp.get_pipe("medlens_context")(doc)
    assert [e._.assertion.negated for e in doc.ents] == [True, True]


def test_context_manual_sentence_starts(nlp: Language) -> None:
    words = ["No", "fever", "cough", "present"]
    doc = Doc(nlp.vocab, words=words, sent_starts=[True, False, True, False])
    doc.ents = [Span(doc, 1, 2, label="DISEASE"), Span(doc, 2, 3, label="DISEASE")]
    doc = nlp.get_pipe("medlens_context")(doc)
    assert [e._.assertion.negated for e in doc.ents] == [True, False]


def test_context_entity_overlapping_trigger_is_not_its_target(nlp: Language) -> None:
    text = "Family history reviewed."
    doc = nlp.get_pipe("sentencizer")(nlp.make_doc(text))
    doc.ents = [Span(doc, 0, 2, label="DISEASE")]
    doc = nlp.get_pipe("medlens_context")(doc)
    assert doc.ents[0]._.assertion == Assertion()


def test_context_adjective_negation_covers_one_phrase(nlp: Language) -> None:
    a = assertions(nlp, "No acute distress, abdomen with tenderness.", "distress", "tenderness")
    assert a["distress"].negated
    assert not a["tenderness"].negated


def test_context_relative_who_brings_patient_is_not_family(nlp: Language) -> None:
    a = assertions(nlp, "Son brought her in for confusion.", "confusion")
    assert a["confusion"] == Assertion()
