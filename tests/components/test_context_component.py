"""The component contract: factory, predict / set_annotations, config."""

from __future__ import annotations

import spacy
from spacy.tokens import Span

from medlens.components.context import ContextDetector
from medlens.doc.types import Assertion


def make_doc(nlp: spacy.language.Language):
    doc = nlp.get_pipe("sentencizer")(nlp.make_doc("Denies fever. Has cough."))
    doc.ents = [Span(doc, 1, 2, label="DISEASE"), Span(doc, 5, 6, label="DISEASE")]
    return doc


def test_context_factory_defaults() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    component = nlp.add_pipe("medlens_context")
    assert isinstance(component, ContextDetector)
    assert nlp.get_pipe_config("medlens_context") == {
        "factory": "medlens_context",
        "rules": None,
        "max_scope": None,
        "section_defaults": True,
    }
    meta = nlp.get_pipe_meta("medlens_context")
    assert meta.assigns == ["span._.assertion"]
    assert "doc.ents" in meta.requires


def test_context_factory_config_is_passed_through() -> None:
    nlp = spacy.blank("en")
    component = nlp.add_pipe("medlens_context", config={"max_scope": 4, "section_defaults": False})
    assert component.max_scope == 4
    assert component.section_defaults is False


def test_context_predict_is_pure() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    component = nlp.add_pipe("medlens_context")
    doc = make_doc(nlp)
    assertions = component.predict(doc)
    assert len(assertions) == len(doc.ents) == 2
    assert all(ent._.assertion is None for ent in doc.ents)
    assert assertions[0].negated and assertions[1] == Assertion()
    component.set_annotations(doc, assertions)
    assert doc.ents[0]._.is_negated
    assert not doc.ents[1]._.is_negated


def test_context_full_pipeline_call() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("medlens_context")
    doc = nlp("Denies fever.")
    assert doc.ents == ()  # nothing to assert on, nothing breaks
    doc = nlp.get_pipe("medlens_context")(make_doc(nlp))
    assert doc.ents[0]._.assertion.negated


def test_context_pipe_streams_docs() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    component = nlp.add_pipe("medlens_context")
    docs = list(component.pipe(make_doc(nlp) for _ in range(3)))
    assert [d.ents[0]._.is_negated for d in docs] == [True, True, True]
