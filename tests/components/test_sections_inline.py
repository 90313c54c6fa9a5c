"""medlens_sections: headers inside a line (transcribed notes flattened to one line)
and body-system subsections that take their category from the section they are in."""

from __future__ import annotations

import pytest
import spacy

import medlens.components.sections  # noqa: F401  (registers the factory)
from medlens.pipeline import split_joined_lines


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("en")
    split_joined_lines(nlp)
    nlp.add_pipe("medlens_sections")
    return nlp


def layout(nlp, text: str) -> list[tuple[str, str, str]]:
    """(category, title, first words of the body) of every section."""
    return [(s.category, s.title, text[s.body_start_char:s.body_start_char + 12]) for s in nlp(text)._.sections]


def test_sections_headers_after_comma_line_breaks(nlp):
    text = ("PREOPERATIVE DIAGNOSIS: , Need for access.,POSTOPERATIVE DIAGNOSIS: , Same.,"
            "PAST MEDICAL HISTORY:,1.  Hypertension.,FAMILY HISTORY:,  Diabetes.")
    assert layout(nlp, text) == [
        ("admission_diagnoses", "PREOPERATIVE DIAGNOSIS:", "Need for acc"),
        ("diagnoses", "POSTOPERATIVE DIAGNOSIS:", "Same.,PAST M"),
        ("past_medical_history", "PAST MEDICAL HISTORY:", "1.  Hyperten"),
        ("family_history", "FAMILY HISTORY:", "Diabetes."),
    ]


def test_sections_capitalized_header_after_sentence_end(nlp):
    cats = [c for c, _, _ in layout(nlp, "He is stable.  PLAN:  Follow up in a week.")]
    assert cats == ["unknown", "plan"]


def test_sections_lower_case_phrase_mid_line_is_not_a_header(nlp):
    # "plan:" in prose after a sentence end is not written as a header
    assert [c for c, _, _ in layout(nlp, "He is stable. Our plan: follow up. Medications: none.")] == ["unknown"]


def test_sections_inline_header_needs_a_colon(nlp):
    assert [c for c, _, _ in layout(nlp, "Stable.,PLAN to follow up.")] == ["unknown"]


def test_sections_subsections_after_vitals_belong_to_the_exam(nlp):
    text = "Physical Exam:\nVitals: T 38.9 C, HR 108.\nLungs: crackles.\nHeart: tachycardic.\nLabs: WBC 15."
    assert [c for c, _, _ in layout(nlp, text)] == [
        "physical_exam", "vital_signs", "physical_exam", "physical_exam", "labs"]


def test_sections_subsections_in_review_of_systems_stay_there(nlp):
    text = "REVIEW OF SYSTEMS:,  GI:  No nausea.  GU:  Voids well.,PHYSICAL EXAMINATION:,NECK:  Supple."
    assert [c for c, _, _ in layout(nlp, text)] == [
        "review_of_systems", "review_of_systems", "review_of_systems", "physical_exam", "physical_exam"]


def test_sections_subsection_header_needs_a_colon(nlp):
    text = "Physical Exam:\nLungs clear.\nHeart\nregular."
    assert [c for c, _, _ in layout(nlp, text)] == ["physical_exam"]


def test_sections_subsection_elsewhere_continues_its_section(nlp):
    text = "FINDINGS:,  CHEST:  No pneumothorax."
    assert [c for c, _, _ in layout(nlp, text)] == ["findings", "findings"]


def test_sections_capitalized_header_alone_on_a_flattened_line(nlp):
    # "PHYSICAL EXAMINATION" alone on its line, the line break flattened to a comma, then "VITAL SIGNS:"
    text = ("SOCIAL HISTORY:,  Nonsmoker.,REVIEW OF SYSTEMS,Patient denies any fever.,"
            "PHYSICAL EXAMINATION,VITAL SIGNS:  Temp is 37.6.,HEENT:  Head is normocephalic.")
    assert [(c, t) for c, t, _ in layout(nlp, text)] == [
        ("social_history", "SOCIAL HISTORY:"), ("review_of_systems", "REVIEW OF SYSTEMS"),
        ("physical_exam", "PHYSICAL EXAMINATION"), ("vital_signs", "VITAL SIGNS:"), ("physical_exam", "HEENT:")]
    # not in lower case, nor mid-sentence
    cats = [c for c, _, _ in layout(nlp, "SOCIAL HISTORY:,  No review of systems, he says.,Physical examination, normal.")]
    assert cats == ["social_history"]


def test_sections_exam_field_names_are_headers_of_the_same_category(nlp):
    text = ("PHYSICAL EXAM:,  Temp:  99.6.,Head & Face:  Inspection shows no abnormality.,"
            "MENTAL STATUS EXAMINATION:  ,Affect:  Labile.,Psychosis:  Grandiose delusions.,PLAN:  Depakote.")
    assert layout(nlp, text) == [
        ("physical_exam", "PHYSICAL EXAM:", "Temp:  99.6."),  # "Temp:" is followed by a value: no field
        ("physical_exam", "Head & Face:", "Inspection s"),
        ("mental_status_exam", "MENTAL STATUS EXAMINATION:", "Labile.,Psyc"),  # its first field runs on
        ("mental_status_exam", "Psychosis:", "Grandiose de"),
        ("plan", "PLAN:", "Depakote."),
    ]
    inline = layout(nlp, "PHYSICAL EXAM:,  TMs are clear.  Oropharynx:  Mucous membranes are moist.")
    assert [(c, t) for c, t, _ in inline] == [("physical_exam", "PHYSICAL EXAM:"), ("physical_exam", "Oropharynx:")]
    # outside an exam a "Name:" is no field ("Hypertension: controlled" of an assessment)
    assert [c for c, _, _ in layout(nlp, "ASSESSMENT:,  Stable.,Hypertension:  Controlled.")] == ["assessment"]
