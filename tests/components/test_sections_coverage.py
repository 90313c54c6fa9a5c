"""medlens_sections: sections tile the document; span._.section; fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

import medlens.components.sections  # noqa: F401  (registers the factory)

NOTES = Path(__file__).parent.parent / "fixtures" / "notes"


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("en")
    nlp.add_pipe("medlens_sections")
    return nlp


def assert_tiles(text: str, sections) -> None:
    assert sections[0].start_char == 0
    assert sections[-1].end_char == len(text)
    for prev, nxt in zip(sections, sections[1:]):
        assert prev.end_char == nxt.start_char
    for s in sections:
        assert s.start_char <= s.body_start_char <= s.end_char


def test_sections_text_before_first_header_is_unknown(nlp):
    text = "Seen in clinic today.\nHPI: cough."
    first, second = nlp(text)._.sections
    assert (first.category, first.title, first.start_char, first.end_char) == ("unknown", "", 0, len("Seen in clinic today.\n"))
    assert second.category == "history_of_present_illness"


def test_sections_no_header_gives_one_unknown_section(nlp):
    text = "Patient doing well, no complaints."
    (section,) = nlp(text)._.sections
    assert (section.category, section.start_char, section.end_char) == ("unknown", 0, len(text))


def test_sections_document_starting_with_header_has_no_unknown(nlp):
    sections = nlp("CC: cough\nHPI: 3 days")._.sections
    assert [s.category for s in sections] == ["chief_complaint", "history_of_present_illness"]


def test_sections_empty_document_has_no_sections(nlp):
    assert nlp("")._.sections == []


@pytest.mark.parametrize("path", sorted(NOTES.glob("*.txt")), ids=lambda p: p.name)
def test_sections_cover_whole_fixture_note(nlp, path):
    text = path.read_text(encoding="utf-8")
    assert_tiles(text, nlp(text)._.sections)


def test_sections_discharge_summary_categories(nlp):
    text = (NOTES / "discharge_summary.txt").read_text(encoding="utf-8")
    assert [s.category for s in nlp(text)._.sections] == [
        "unknown",
        "chief_complaint",
        "history_of_present_illness",
        "past_medical_history",
        "medications",
        "allergies",
        "physical_exam",
        "vital_signs",
        "physical_exam",  # Lungs: (a body-system subsection: the exam's, not the vital signs')
        "physical_exam",  # Ext:
        "labs",
        "hospital_course",
        "discharge_diagnoses",
        "discharge_medications",
        "discharge_condition",
        "discharge_instructions",
        "follow_up",
    ]


def test_sections_soap_note_categories(nlp):
    text = (NOTES / "progress_note_soap.txt").read_text(encoding="utf-8")
    assert [s.category for s in nlp(text)._.sections] == [
        "unknown", "subjective", "objective", "vital_signs",
        "physical_exam", "physical_exam",  # Gen:, CV: (body-system subsections after the vitals)
        "assessment", "plan", "follow_up",
    ]


def test_sections_radiology_report_categories(nlp):
    text = (NOTES / "radiology_report.txt").read_text(encoding="utf-8")
    assert [s.category for s in nlp(text)._.sections][1:] == [
        "indication", "technique", "comparison", "findings", "impression",
    ]


def test_sections_span_section_of_entity(nlp):
    text = (NOTES / "discharge_summary.txt").read_text(encoding="utf-8")
    doc = nlp(text)

    def section_of(phrase: str, after: str = "") -> str:
        start = text.index(phrase, text.index(after) if after else 0)
        span = doc.char_span(start, start + len(phrase), label="PROBLEM")
        assert span is not None
        doc.ents = [span]
        return doc.ents[0]._.section

    assert section_of("Shortness of breath") == "chief_complaint"
    assert section_of("orthopnea") == "history_of_present_illness"
    assert section_of("Diabetes mellitus") == "past_medical_history"
    assert section_of("Penicillin") == "allergies"
    assert section_of("Metoprolol succinate") == "medications"
    assert section_of("Metoprolol succinate", after="DISCHARGE MEDICATIONS") == "discharge_medications"
    assert section_of("Admission Date") == "unknown"


def test_sections_predict_is_pure(nlp):
    doc = nlp.make_doc("HPI: cough")
    detector = nlp.get_pipe("medlens_sections")
    sections = detector.predict(doc)
    assert doc._.sections is None
    assert not any(t._.is_section_header for t in doc)
    detector.set_annotations(doc, sections)
    assert doc._.sections == sections


def test_sections_pipe_matches_call(nlp):
    texts = [p.read_text(encoding="utf-8") for p in sorted(NOTES.glob("*.txt"))]
    piped = [d._.sections for d in nlp.pipe(texts)]
    assert piped == [nlp(t)._.sections for t in texts]


def test_sections_crlf_line_endings(nlp):
    text = "Intro.\r\nHOSPITAL COURSE\r\nUneventful.\r\nPlan: home"
    sections = nlp(text)._.sections
    assert [s.category for s in sections] == ["unknown", "hospital_course", "plan"]
    assert_tiles(text, sections)
