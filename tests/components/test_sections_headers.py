"""medlens_sections: which lines are headers, and of which category."""

from __future__ import annotations

import pytest
import spacy

import medlens.components.sections  # noqa: F401  (registers the factory)
from medlens.components.sections import SectionDetector


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("en")
    nlp.add_pipe("medlens_sections")
    return nlp


def categories(nlp, text: str) -> list[str]:
    return [s.category for s in nlp(text)._.sections]


# (header line as written, expected category): varied case, colons, markdown, abbreviations
HEADER_FORMS = [
    ("CC: chest pain", "chief_complaint"),
    ("NEWBORN EXAM: Apgars 8 and 9.", "physical_exam"),
    ("FAMILY, SOCIAL, AND ALLERGY HISTORY:", "social_history"),
    ("Chief Complaint:", "chief_complaint"),
    ("Reason for Visit: annual exam", "chief_complaint"),
    ("REASON FOR ADMISSION:", "chief_complaint"),
    ("HPI: 54 yo man with chest pain", "history_of_present_illness"),
    ("History of Present Illness:", "history_of_present_illness"),
    ("Present illness: cough for 3 days", "history_of_present_illness"),
    ("Interval History: no events", "interval_history"),
    ("PMH: DM2, HTN", "past_medical_history"),
    ("PAST MEDICAL HISTORY:", "past_medical_history"),
    ("Past medical history: asthma", "past_medical_history"),
    ("Medical History", "past_medical_history"),
    ("PSH: appendectomy", "past_surgical_history"),
    ("Past Surgical History:", "past_surgical_history"),
    ("FH: mother with breast cancer", "family_history"),
    ("Family History:", "family_history"),
    ("SH: quit smoking in 2010", "social_history"),
    ("Social History:", "social_history"),
    ("Meds: aspirin", "medications"),
    ("Current Medications:", "medications"),
    ("Home Medications:", "medications"),
    ("Medications on Admission:", "medications"),
    ("Allergies: NKDA", "allergies"),
    ("ALLERGIES", "allergies"),
    ("Immunizations: up to date", "immunizations"),
    ("ROS: negative except as in HPI", "review_of_systems"),
    ("Review of Systems:", "review_of_systems"),
    ("Vital Signs: T 37.0", "vital_signs"),
    ("Vitals:", "vital_signs"),
    ("PE: NAD", "physical_exam"),
    ("Physical Examination:", "physical_exam"),
    ("Exam:", "physical_exam"),
    ("Mental Status Exam: alert", "mental_status_exam"),
    ("Labs: Na 140", "labs"),
    ("Laboratory Data:", "labs"),
    ("Pertinent Results:", "labs"),
    ("Imaging: CXR clear", "imaging"),
    ("Radiology:", "imaging"),
    ("Studies:", "imaging"),
    ("Pathology: benign", "pathology"),
    ("Procedures: EGD", "procedures"),
    ("Consults: cardiology", "consults"),
    ("ED Course: given aspirin", "ed_course"),
    ("MDM: low risk", "medical_decision_making"),
    ("Subjective: feels better", "subjective"),
    ("S: feels better", "subjective"),
    ("Objective:", "objective"),
    ("O: afebrile", "objective"),
    ("Assessment: stable", "assessment"),
    ("A: stable", "assessment"),
    ("Plan: continue", "plan"),
    ("P: continue", "plan"),
    ("Recommendations:", "plan"),
    ("A/P: CHF exacerbation", "assessment_and_plan"),
    ("Assessment and Plan:", "assessment_and_plan"),
    ("Assessment/Plan", "assessment_and_plan"),
    ("Assessment & Plan:", "assessment_and_plan"),
    ("Impression and Plan:", "assessment_and_plan"),
    ("Observation and Plan:", "observation_and_plan"),
    ("Problem List:", "problem_list"),
    ("Hospital Course:", "hospital_course"),
    ("Brief Hospital Course:", "hospital_course"),
    ("Admission Diagnosis: pneumonia", "admission_diagnoses"),
    ("Diagnosis: pneumonia", "diagnoses"),
    ("Discharge Diagnoses:", "discharge_diagnoses"),
    ("Discharge Diagnosis: CHF", "discharge_diagnoses"),
    ("Final Diagnosis:", "discharge_diagnoses"),
    ("Discharge Medications:", "discharge_medications"),
    ("Discharge Instructions:", "discharge_instructions"),
    ("Discharge Condition: stable", "discharge_condition"),
    ("Discharge Disposition: home", "discharge_disposition"),
    ("Follow-up: PCP in 1 week", "follow_up"),
    ("Follow up", "follow_up"),
    ("RTC: 4 weeks", "follow_up"),
    ("Code Status: full code", "code_status"),
    ("Impression: pneumonia", "impression"),
    ("Findings: no effusion", "findings"),
    ("Technique: axial images", "technique"),
    ("Indication: cough", "indication"),
    ("Comparison: none", "comparison"),
    ("History: fall", "history"),
    ("Clinical History: fall", "history"),
    ("Patient Instructions: rest", "patient_instructions"),
    ("Risk Factors: smoking", "risk_factors"),
    ("Signature:", "signature"),
    ("Addendum: labs reviewed", "addendum"),
]


@pytest.mark.parametrize("line,category", HEADER_FORMS)
def test_sections_header_forms_recognized(nlp, line, category):
    doc = nlp(f"Note text.\n{line}\nMore text here.")
    assert categories(nlp, doc.text) == ["unknown", category]


def test_sections_at_least_25_categories_recognized_in_tests():
    assert len({category for _, category in HEADER_FORMS}) >= 25


def test_sections_ships_at_least_30_categories():
    assert len(SectionDetector().categories) >= 30


@pytest.mark.parametrize(
    "line,category",
    [
        ("# Plan", "plan"),
        ("## Assessment and Plan", "assessment_and_plan"),
        ("**HPI:** 54 yo man", "history_of_present_illness"),
        ("**Hospital Course**", "hospital_course"),
        ("   Past Medical History:", "past_medical_history"),
        ("\tMEDICATIONS:", "medications"),
        ("Past  Medical   History :", "past_medical_history"),
        ("Assessment / Plan:", "assessment_and_plan"),
    ],
)
def test_sections_header_markup_and_spacing(nlp, line, category):
    assert categories(nlp, f"Intro.\n{line}\nBody.") == ["unknown", category]


@pytest.mark.parametrize(
    "line,category",
    [
        ("HOSPITAL COURSE", "hospital_course"),
        ("Assessment", "assessment"),
        ("PLAN", "plan"),
        ("Physical Exam", "physical_exam"),
        ("REVIEW OF SYSTEMS", "review_of_systems"),
        ("Impression", "impression"),
        ("VITALS REVIEWED", "vital_signs"),
        ("RESULTS", "labs"),
    ],
)
def test_sections_colonless_header_alone_on_line(nlp, line, category):
    assert categories(nlp, f"Intro.\n{line}\nThe patient did well.") == ["unknown", category]


@pytest.mark.parametrize(
    "text",
    [
        "He is a 54 yo man; his past medical history is notable for DM2.",
        "Patient with DM2.\nPlan to start metformin 500 mg daily.",
        "Exam was normal.",
        "Exam was normal",
        "Assessment of the wound shows healing.",
        "We discussed the plan: start insulin.",  # header word mid-line
        "Follow up in 2 weeks with PCP.",
        "Medications were reviewed with the patient.",
        "History of smoking, quit 2010.",
        "Allergies to penicillin cause rash.",
        "PE\n",  # abbreviation that needs a colon (could be pulmonary embolism)
        "cc: Dr. Smith, Dr. Jones",  # lower-case 'cc' is a copy list, not a chief complaint
        "- Plan: continue aspirin",  # inside a bulleted list
        "Results of the CT were discussed.",
        "Social worker consulted.",
    ],
)
def test_sections_non_headers_not_matched(nlp, text):
    doc = nlp(text)
    assert [s.category for s in doc._.sections] == ["unknown"]
    assert not any(t._.is_section_header for t in doc)


def test_sections_colon_required_abbreviation_with_colon(nlp):
    assert categories(nlp, "PE: lungs clear") == ["physical_exam"]


def test_sections_abbreviation_is_case_sensitive(nlp):
    assert categories(nlp, "CC: cough") == ["chief_complaint"]
    assert categories(nlp, "cc: cough") == ["unknown"]


def test_sections_longest_header_wins(nlp):
    assert categories(nlp, "Assessment and Plan: as above") == ["assessment_and_plan"]
    assert categories(nlp, "Medications on Admission:\n- aspirin") == ["medications"]
    assert categories(nlp, "Discharge Medications:\n- aspirin") == ["discharge_medications"]


def test_sections_header_with_inline_text_title_and_body(nlp):
    text = "HPI: 54 yo man with chest pain."
    (section,) = nlp(text)._.sections
    assert section.title == "HPI:"
    assert section.start_char == 0
    assert text[section.body_start_char:] == "54 yo man with chest pain."


def test_sections_header_tokens_flagged(nlp):
    doc = nlp("Intro text.\nPast Medical History: DM2\nPlan: start metformin")
    flagged = [t.text for t in doc if t._.is_section_header]
    assert flagged == ["Past", "Medical", "History", ":", "Plan", ":"]
    assert not any(t._.is_section_header for t in doc if t.text in {"Intro", "DM2", "metformin"})


def test_sections_markdown_title_kept_as_written(nlp):
    text = "Intro.\n## Assessment and Plan\nStable."
    section = nlp(text)._.sections[1]
    assert section.title == "## Assessment and Plan"
    assert text[section.start_char:section.start_char + 2] == "##"
