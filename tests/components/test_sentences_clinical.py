"""medlens_sentences: clinical sentence splitting, hard cases with exact sentences."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

import medlens.components.sections  # noqa: F401  (registers the factories)
import medlens.components.sentences  # noqa: F401

NOTES = Path(__file__).parent.parent / "fixtures" / "notes"


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("en")
    nlp.add_pipe("medlens_sections")
    nlp.add_pipe("medlens_sentences")
    return nlp


def sents(nlp, text: str) -> list[str]:
    return [s.text.strip() for s in nlp(text).sents]


HARD_CASES = {
    "header_with_inline_text": (
        "HPI: 54 yo man with chest pain. He denies SOB.",
        ["HPI:", "54 yo man with chest pain.", "He denies SOB."],
    ),
    "header_alone_without_colon": (
        "HOSPITAL COURSE\nPatient was admitted to telemetry.",
        ["HOSPITAL COURSE", "Patient was admitted to telemetry."],
    ),
    "bulleted_list_items": (
        "Plan:\n- continue aspirin\n* start statin\n\u2022 check lipids",
        ["Plan:", "- continue aspirin", "* start statin", "\u2022 check lipids"],
    ),
    "tight_bullets": (
        "-aspirin 81 mg\n-atorvastatin 40 mg",
        ["-aspirin 81 mg", "-atorvastatin 40 mg"],
    ),
    "numbered_list_with_periods_inside": (
        "1. Aspirin 81 mg p.o. daily.\n2) Metoprolol 25 mg b.i.d.\n3. Lisinopril 10 mg",
        ["1. Aspirin 81 mg p.o. daily.", "2) Metoprolol 25 mg b.i.d.", "3. Lisinopril 10 mg"],
    ),
    "wrapped_lowercase_line_does_not_split": (
        "The patient is a 67 yo man with a long history of\nhypertension and diabetes who presents with\nchest pain.",
        ["The patient is a 67 yo man with a long history of\nhypertension and diabetes who presents with\nchest pain."],
    ),
    "wrapped_list_item_continues": (
        "1. Spiculated nodule, suspicious for primary lung\nmalignancy. Recommend PET-CT.\n2. No adenopathy.",
        ["1. Spiculated nodule, suspicious for primary lung\nmalignancy.", "Recommend PET-CT.", "2. No adenopathy."],
    ),
    "dosing_abbreviations_do_not_split": (
        "Take metformin 500 mg p.o. b.i.d. with meals and lisinopril 10 mg q.d. for BP.",
        ["Take metformin 500 mg p.o. b.i.d. with meals and lisinopril 10 mg q.d. for BP."],
    ),
    "dosing_abbreviation_before_capital_splits": (
        "Continue furosemide 40 mg t.i.d. He will weigh himself daily.",
        ["Continue furosemide 40 mg t.i.d.", "He will weigh himself daily."],
    ),
    "titles_do_not_split": (
        "Seen by Dr. Smith and Mrs. Jones. Pt. agrees with plan.",
        ["Seen by Dr. Smith and Mrs. Jones.", "Pt. agrees with plan."],
    ),
    "decimals_do_not_split": (
        "Warfarin 7.5 mg daily, INR 2.3 today. Tmax 38.5 C overnight.",
        ["Warfarin 7.5 mg daily, INR 2.3 today.", "Tmax 38.5 C overnight."],
    ),
    "unit_letter_before_capital_splits": (
        "Febrile to 38.9 C. Blood cultures drawn.",
        ["Febrile to 38.9 C.", "Blood cultures drawn."],
    ),
    "initials_do_not_split": (
        "Discussed with Dr. J. R. Smith. Family agrees.",
        ["Discussed with Dr. J. R. Smith.", "Family agrees."],
    ),
    "letter_designator_splits": (
        "Low vitamin D. Started ergocalciferol. Hepatitis B. Serologies pending.",
        ["Low vitamin D.", "Started ergocalciferol.", "Hepatitis B.", "Serologies pending."],
    ),
    "eg_ie_vs_approx_do_not_split": (
        "Avoid NSAIDs, e.g. Ibuprofen, i.e. All of them. Chest pain vs. GERD, approx. 2 weeks. Trial PPI.",
        ["Avoid NSAIDs, e.g. Ibuprofen, i.e. All of them.", "Chest pain vs. GERD, approx. 2 weeks.", "Trial PPI."],
    ),
    "question_and_exclamation_split": (
        "Taking his meds? Unclear! Will ask pharmacy.",
        ["Taking his meds?", "Unclear!", "Will ask pharmacy."],
    ),
    "uncertainty_question_mark_does_not_split": (
        "CXR with ? pneumonia, will treat. Repeat in am.",
        ["CXR with ? pneumonia, will treat.", "Repeat in am."],
    ),
    "semicolon_does_not_split": (
        "No fever; no chills; no night sweats.",
        ["No fever; no chills; no night sweats."],
    ),
    "blank_line_splits_without_punctuation": (
        "Patient comfortable at rest\n\nplan discussed with family",
        ["Patient comfortable at rest", "plan discussed with family"],
    ),
    "capitalized_lines_without_bullets_split": (
        "Lisinopril 10 mg daily\nMetformin 500 mg b.i.d.\nAtorvastatin 40 mg qHS",
        ["Lisinopril 10 mg daily", "Metformin 500 mg b.i.d.", "Atorvastatin 40 mg qHS"],
    ),
    "capitalized_line_after_continuation_word_does_not_split": (
        "He was started on\nLasix 40 mg IV with good response.",
        ["He was started on\nLasix 40 mg IV with good response."],
    ),
    "period_at_line_end_splits_before_lowercase": (
        "Lungs clear.\nno edema.",
        ["Lungs clear.", "no edema."],
    ),
    "dosing_abbreviation_at_line_end_continues": (
        "Metformin 500 mg p.o.\nb.i.d. with meals.",
        ["Metformin 500 mg p.o.\nb.i.d. with meals."],
    ),
    "ellipsis_and_quotes": (
        'Pain improving... He said "I feel better." Then he walked.',
        ["Pain improving...", 'He said "I feel better."', "Then he walked."],
    ),
    "label_value_lines": (
        "Vitals: BP 120/80\nHR: 72\nSpO2: 98% RA",
        ["Vitals:", "BP 120/80", "HR: 72", "SpO2: 98% RA"],
    ),
    "header_then_body_on_next_line": (
        "ASSESSMENT AND PLAN:\n67 yo man with CHF exacerbation.",
        ["ASSESSMENT AND PLAN:", "67 yo man with CHF exacerbation."],
    ),
    "mid_sentence_header_phrase_stays_in_sentence": (
        "His past medical history is notable for DM2. Plan to start metformin.",
        ["His past medical history is notable for DM2.", "Plan to start metformin."],
    ),
    "h_o_and_s_p_do_not_split": (
        "67 yo man h/o MI s/p CABG, now with dyspnea.",
        ["67 yo man h/o MI s/p CABG, now with dyspnea."],
    ),
}


@pytest.mark.parametrize("name", list(HARD_CASES))
def test_sentences_hard_cases(nlp, name):
    text, expected = HARD_CASES[name]
    assert sents(nlp, text) == expected


def test_sentences_every_token_has_sent_start_set(nlp):
    doc = nlp((NOTES / "discharge_summary.txt").read_text(encoding="utf-8"))
    assert doc.has_annotation("SENT_START")
    assert all(t.is_sent_start is not None for t in doc)
    assert doc[0].is_sent_start is True


def test_sentences_do_not_cross_section_boundaries(nlp):
    for path in sorted(NOTES.glob("*.txt")):
        doc = nlp(path.read_text(encoding="utf-8"))
        header_starts = {s.start_char for s in doc._.sections if s.title}
        for sent in doc.sents:
            crossed = [h for h in header_starts if sent.start_char < h < sent.end_char]
            assert not crossed, f"{path.name}: sentence {sent.text!r} runs over a section header"


def test_sentences_no_whitespace_only_sentence(nlp):
    for path in sorted(NOTES.glob("*.txt")):
        doc = nlp(path.read_text(encoding="utf-8"))
        assert all(s.text.strip() for s in doc.sents), path.name


def test_sentences_radiology_fixture(nlp):
    text = (NOTES / "radiology_report.txt").read_text(encoding="utf-8")
    result = sents(nlp, text)
    start = result.index("FINDINGS:")
    assert result[start:start + 4] == [
        "FINDINGS:",
        "There is a 2.4 x 1.9 cm spiculated nodule in the right upper lobe.",
        "No\nmediastinal or hilar lymphadenopathy.",
        "No pleural effusion.",
    ]


def test_sentences_soap_fixture_plan_list(nlp):
    text = (NOTES / "progress_note_soap.txt").read_text(encoding="utf-8")
    result = sents(nlp, text)
    start = result.index("P:")
    assert result[start:] == [
        "P:",
        "- Increase lisinopril to 20 mg daily.",
        "- Recheck BMP in 2 weeks.",
        "- Discussed diet and exercise, e.g. DASH diet.",
        "Plan to start HCTZ if BP remains above goal.",
        "RTC:",
        "4 weeks",
    ]


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "word"])
def test_sentences_degenerate_documents(nlp, text):
    doc = nlp(text)
    assert sum(1 for _ in doc.sents) == (1 if len(doc) else 0)


@pytest.fixture(scope="module")
def nlp_joined():
    from medlens.pipeline import split_joined_lines

    nlp = spacy.blank("en")
    split_joined_lines(nlp)
    nlp.add_pipe("medlens_sections")
    nlp.add_pipe("medlens_sentences")
    return nlp


def test_sentences_comma_line_breaks_numbered_list(nlp_joined):
    text = "ASSESSMENT:,1.  Atrial fibrillation.,2.  Coagulopathy, induced by Coumadin.,PLAN: , Repeat INR."
    assert sents(nlp_joined, text) == [
        "ASSESSMENT:,", "1.  Atrial fibrillation.,", "2.  Coagulopathy, induced by Coumadin.,", "PLAN: ,", "Repeat INR."]


def test_sentences_comma_line_break_before_capitalized_line(nlp_joined):
    text = "Neck is supple.  No lymphadenopathy.,Chest:  Clear to auscultation.,He was discharged."
    assert sents(nlp_joined, text) == [
        "Neck is supple.", "No lymphadenopathy.,", "Chest:", "Clear to auscultation.,", "He was discharged."]


def test_sentences_ordinary_commas_do_not_split(nlp_joined):
    text = "He denies fever, chills, or night sweats, and takes 3.5 mg, b.i.d., Coumadin daily."
    assert sents(nlp_joined, text) == [text]
