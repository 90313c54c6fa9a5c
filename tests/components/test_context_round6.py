"""Issue 11, sixth round: generic statements about patients, warnings, options and needs not yet met,
"did resolve", and the negation cues "free from" / "clear of", with the hard negation cases of part 4 (lists,
"no evidence of", "free of", "negative for", "resolved", scope ended by "but" / "however").
Sentences written for these tests."""

from __future__ import annotations

import pytest

from tests.conftest import context_pipeline
from tests.conftest import context_statuses as statuses


@pytest.fixture(scope="module")
def nlp():
    return context_pipeline()


@pytest.mark.parametrize("text, mentions, labels", [
    ("IMPRESSION: Patients usually sleep better when snoring is treated.", ("snoring",), None),
    ("PLAN: It is often difficult for patients with fatigue to exercise.", ("fatigue",), None),
    ("Evening sedatives and alcohol are to be avoided.", ("sedatives", "alcohol"), {"sedatives": "DRUG", "alcohol": "CHEMICAL"}),
    ("She was told of the hazards of mixing opioids with alcohol.", ("opioids", "alcohol"), {"opioids": "DRUG", "alcohol": "CHEMICAL"}),
    ("PLAN: Recurrence of tinea pedis is common.", ("tinea pedis",), None),
    ("Further episodes could include intubation.", ("intubation",), {"intubation": "PROCEDURE"}),
    ("A gastrostomy may be beneficial later.", ("gastrostomy",), {"gastrostomy": "PROCEDURE"}),
    ("She will need metoprolol daily if palpitations persist.", ("metoprolol",), {"metoprolol": "DRUG"}),
])
def test_generic_warnings_options_and_needs_are_hypothetical(nlp, text, mentions, labels):
    assert statuses(nlp, text, *mentions, labels=labels) == ["hypothetical"] * len(mentions)


def test_a_need_is_hypothetical_only_for_what_is_done_or_given(nlp):
    # "will need" plans a drug or a procedure; a finding after it is still what the patient has
    assert statuses(nlp, "He will need oxygen for his hypoxemia.", "oxygen", "hypoxemia",
                    labels={"oxygen": "DRUG"}) == ["hypothetical", "present"]


def test_patients_and_is_common_are_generic_only_in_a_notes_impression_or_plan(nlp):
    # an abstract's "patients" are its subjects, and what "is common" there is what the study found
    assert statuses(nlp, "In this series, stroke presented with seizure in 12 patients.", "stroke", "seizure") == [
        "present", "present"]
    assert statuses(nlp, "Hypokalemia is common after the infusion.", "Hypokalemia") == ["present"]


def test_the_patients_as_a_misspelt_possessive_is_not_generic(nlp):
    text = "ASSESSMENT: The patients case was reviewed; sarcoidosis is possible."
    assert statuses(nlp, text, "sarcoidosis") == ["uncertain"]


def test_symptoms_that_did_resolve_are_historical(nlp):
    text = "Her nausea, vomiting, and diarrhea did resolve during the stay."
    assert statuses(nlp, text, "nausea", "vomiting", "diarrhea") == ["historical"] * 3


@pytest.mark.parametrize("text, mentions, expected", [
    ("He denies fever, chills, night sweats, weight loss or cough.",
     ("fever", "chills", "night sweats", "weight loss", "cough"), ["negated"] * 5),
    ("There is no evidence of pneumothorax, pleural effusion or consolidation.",
     ("pneumothorax", "pleural effusion", "consolidation"), ["negated"] * 3),
    ("Lungs are free of wheezes, rales, and rhonchi.", ("wheezes", "rales", "rhonchi"), ["negated"] * 3),
    ("The wound is clean and free from infection.", ("infection",), ["negated"]),
    ("The skin is clear of any rash.", ("rash",), ["negated"]),
    ("Review of systems is negative for fever, chills, dysuria, or hematuria.",
     ("fever", "chills", "dysuria", "hematuria"), ["negated"] * 4),
    ("No fever but she has a productive cough.", ("fever", "productive cough"), ["negated", "present"]),
    ("No cyanosis, clubbing, or edema; however, there is mild erythema.",
     ("cyanosis", "clubbing", "edema", "erythema"), ["negated"] * 3 + ["present"]),
    ("No tenderness, however there is crepitus.", ("tenderness", "crepitus"), ["negated", "present"]),
    ("The patient's headache resolved, but the nausea persists.", ("headache", "nausea"), ["historical", "present"]),
    ("His cough and congestion have since resolved.", ("cough", "congestion"), ["historical"] * 2),
])
def test_hard_negation_cases(nlp, text, mentions, expected):
    assert statuses(nlp, text, *mentions) == expected
