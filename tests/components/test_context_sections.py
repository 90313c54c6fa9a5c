"""Section defaults and cues (trigger text and offsets, SECTION cues)."""

from __future__ import annotations

import pytest
import spacy
from spacy.language import Language

from medlens.components.context import ContextDetector
from medlens.doc import extensions
from medlens.doc.types import Assertion, Cue, Section


@pytest.fixture(scope="module")
def nlp() -> Language:
    extensions.register()
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("medlens_context")
    return nlp


def run(
    nlp: Language,
    text: str,
    mentions: tuple[str, ...],
    sections: list[Section] | None = None,
    component: ContextDetector | None = None,
) -> dict[str, Assertion]:
    """Sentencize ``text``, set entities and sections, run the context component."""
    doc = nlp.get_pipe("sentencizer")(nlp.make_doc(text))
    spans = []
    for mention in mentions:
        start = text.index(mention)
        spans.append(doc.char_span(start, start + len(mention), label="DISEASE"))
    doc.ents = spans
    doc._.sections = sections
    doc = (component or nlp.get_pipe("medlens_context"))(doc)
    return {ent.text: ent._.assertion for ent in doc.ents}


def one_section(category: str, title: str, text: str) -> list[Section]:
    return [Section(category, title, 0, len(text), len(title))]


def test_context_family_history_section_default(nlp: Language) -> None:
    text = "Family History: diabetes."
    a = run(nlp, text, ("diabetes",), one_section("family_history", "Family History:", text))["diabetes"]
    assert a.family and not (a.negated or a.uncertain or a.historical or a.hypothetical)
    assert a.cues == (Cue("SECTION", "Family History:", 0, len("Family History:")),)


def test_context_pmh_section_default(nlp: Language) -> None:
    text = "PMH: hypertension, diabetes."
    a = run(nlp, text, ("hypertension", "diabetes"), one_section("past_medical_history", "PMH:", text))
    for mention in ("hypertension", "diabetes"):
        assert a[mention].historical and not a[mention].family
        assert a[mention].cues[0].category == "SECTION"


def test_context_section_default_combines_with_trigger(nlp: Language) -> None:
    text = "Family History: no diabetes."
    a = run(nlp, text, ("diabetes",), one_section("family_history", "Family History:", text))["diabetes"]
    assert a.family and a.negated
    assert [c.category for c in a.cues] == ["SECTION", "NEGATED_EXISTENCE"]


def test_context_plan_section_has_no_default(nlp: Language) -> None:
    text = "Plan: start metformin for diabetes."
    a = run(nlp, text, ("diabetes",), one_section("plan", "Plan:", text))
    assert a["diabetes"] == Assertion()


def test_context_section_default_only_inside_its_section(nlp: Language) -> None:
    text = "HPI: chest pain. Family History: diabetes."
    fh = text.index("Family History:")
    sections = [
        Section("history_of_present_illness", "HPI:", 0, fh, len("HPI:")),
        Section("family_history", "Family History:", fh, len(text), fh + len("Family History:")),
    ]
    a = run(nlp, text, ("chest pain", "diabetes"), sections)
    assert a["chest pain"] == Assertion()
    assert a["diabetes"].family


def test_context_no_sections_means_no_defaults(nlp: Language) -> None:
    assert run(nlp, "Diabetes.", ("Diabetes",), None)["Diabetes"] == Assertion()
    assert run(nlp, "Diabetes.", ("Diabetes",), [])["Diabetes"] == Assertion()


def test_context_section_defaults_can_be_disabled(nlp: Language) -> None:
    text = "PMH: hypertension."
    off = ContextDetector(nlp, section_defaults=False)
    a = run(nlp, text, ("hypertension",), one_section("past_medical_history", "PMH:", text), component=off)
    assert a["hypertension"] == Assertion()


def test_context_header_words_trigger_only_without_section_defaults(nlp: Language) -> None:
    text = "Family History: diabetes."
    sections = one_section("family_history", "Family History:", text)
    on = run(nlp, text, ("diabetes",), sections)["diabetes"]
    assert [c.category for c in on.cues] == ["SECTION"]
    off = run(nlp, text, ("diabetes",), sections, component=ContextDetector(nlp, section_defaults=False))
    assert off["diabetes"].family
    assert [(c.category, c.text) for c in off["diabetes"].cues] == [("FAMILY", "Family History")]


def test_context_cue_carries_trigger_text_and_offsets(nlp: Language) -> None:
    text = "He denies chest pain."
    a = run(nlp, text, ("chest pain",))["chest pain"]
    start = text.index("denies")
    assert a.cues == (Cue("NEGATED_EXISTENCE", "denies", start, start + len("denies")),)
    assert text[a.cues[0].start_char : a.cues[0].end_char] == "denies"


def test_context_cue_keeps_original_casing_of_multiword_trigger(nlp: Language) -> None:
    text = "CXR: No Evidence Of pneumonia."
    cue = run(nlp, text, ("pneumonia",))["pneumonia"].cues[0]
    assert cue.text == "No Evidence Of"
    assert text[cue.start_char : cue.end_char] == cue.text
