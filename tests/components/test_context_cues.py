"""Assertion cues users meet in real notes (MTSamples-style sentences): negated lists,
"no evidence of", "free of", "resolved", "negative for", termination by "but"/"however",
review-of-systems runs, asides in parentheses, and what negation does not apply to."""

from __future__ import annotations

import pytest

from medlens.doc.types import Assertion
from tests.conftest import context_assertions, context_pipeline
from tests.conftest import context_statuses as statuses


@pytest.fixture(scope="module")
def nlp():
    return context_pipeline()


def run(nlp, text: str, *mentions: str, label: str = "FINDING", labels: dict[str, str] | None = None) -> list[Assertion]:
    """Assertions of ``mentions`` (found left to right in ``text``) as entities."""
    return context_assertions(nlp, text, *mentions, label=label, labels=labels)


@pytest.mark.parametrize("text, mentions", [
    ("She denies any fevers, chills, or night sweats.", ("fevers", "chills", "night sweats")),
    ("The patient denies fever, chills, sweats, ear pain, URI symptoms, cough, dyspnea, chest pain, vomiting, "
     "diarrhea, abdominal pain, melena, hematochezia, urinary symptoms, headache, neck pain, back pain, weakness "
     "or paresthesias in extremities.", ("fever", "headache", "back pain", "paresthesias")),
    ("No wheezes, no crackles, no tachypnea, and no retractions.", ("wheezes", "crackles", "tachypnea", "retractions")),
    ("GI:  No nausea, vomiting, diarrhea or constipation.", ("nausea", "vomiting", "diarrhea", "constipation")),
])
def test_context_cues_negated_lists(nlp, text, mentions):
    assert statuses(nlp, text, *mentions) == ["negated"] * len(mentions)


def test_context_cues_no_evidence_of(nlp):
    assert statuses(nlp, "Chest x-ray:  Cardiomegaly, no evidence of CHF or pneumonia.",
                    "Cardiomegaly", "CHF", "pneumonia") == ["present", "negated", "negated"]


def test_context_cues_free_of(nlp):
    assert statuses(nlp, "Oral cavity free of exudate or ulceration.", "exudate", "ulceration") == ["negated"] * 2


def test_context_cues_free_of_ends_at_except(nlp):
    text = ("Survey of the pelvis revealed the operative area to be relatively free of adhesions except for "
            "the right pelvic saddle in which there were filmy adhesions.")
    assert statuses(nlp, text, "adhesions", "filmy adhesions") == ["negated", "present"]


def test_context_cues_negative_for_long_list(nlp):
    text = ("Otherwise, review of systems is negative for strokes, paralysis, gout, cataracts, glaucoma, "
            "tuberculosis, chest pain, kidney stones, hematuria, anemia, jaundice, or pruritus.")
    assert statuses(nlp, text, "strokes", "kidney stones", "pruritus") == ["negated"] * 3


@pytest.mark.parametrize("text, mentions, expected", [
    ("She has had no nausea and vomiting, but has had persistent associated anorexia.",
     ("nausea", "vomiting", "anorexia"), ["negated", "negated", "present"]),
    ("He denies loss of consciousness but says he was dazed for a while.",
     ("loss of consciousness", "dazed"), ["negated", "present"]),
    ("There was no evidence of delusions; however, there was some ambivalence, guilt, and self-derogatory thoughts.",
     ("delusions", "ambivalence", "guilt"), ["negated", "present", "present"]),
])
def test_context_cues_but_however_end_the_scope(nlp, text, mentions, expected):
    assert statuses(nlp, text, *mentions) == expected


def test_context_cues_no_reported(nlp):
    assert statuses(nlp, "There is no reported bipolar illness in his immediate family.", "bipolar illness")[0] in (
        "negated",)


def test_context_cues_resolved_is_historical(nlp):
    a = run(nlp, "Following this, her headache and nausea completely resolved.", "headache", "nausea")
    assert [x.historical for x in a] == [True, True]
    a = run(nlp, "In 4/94 she developed stress urinary incontinence which spontaneously resolved in June.",
            "stress urinary incontinence")
    assert a[0].historical


def test_context_cues_resolved_in_discharge_diagnoses_is_this_episode(nlp):
    text = "DISCHARGE DIAGNOSES:\n1. Non-ST elevation myocardial infarction\n2. Acute kidney injury, resolved\n"
    assert statuses(nlp, text, "Acute kidney injury") == ["present"]
    text = "PAST MEDICAL HISTORY:\n1. Otitis media, now resolved\n"
    assert run(nlp, text, "Otitis media")[0].historical


def test_context_cues_review_of_systems_flattened_note(nlp):
    text = ("REVIEW OF SYSTEMS:,  CARDIOPULMONARY:  No shortness of breath or chest pain.  GI:  No nausea, vomiting, "
            "diarrhea or constipation.  GU:  Voids well.,FAMILY HISTORY: , Diabetes.,MEDICATIONS:,  Lipitor, aspirin.")
    a = run(nlp, text, "shortness of breath", "chest pain", "constipation", "Diabetes", "Lipitor", "aspirin")
    assert [x.status for x in a[:3]] == ["negated"] * 3
    assert a[3].family and not a[3].negated  # the header ends the sentence: the negation does not reach it
    assert [x.status for x in a[4:]] == ["present", "present"]


def test_context_cues_parenthesis_ends_the_scope(nlp):
    text = "The left eardrum (not the surgical ear) has a definite infection."
    assert statuses(nlp, text, "infection") == ["present"]


def test_context_cues_anatomy_and_tests_are_not_negated(nlp):
    labels = {"skin": "ANATOMY", "EKG": "TEST", "ischemia": "DISEASE"}
    a = run(nlp, "There are no skin changes at all.", "skin", labels=labels)
    assert a[0].status == "present"
    a = run(nlp, "No EKG changes suggestive of ischemia.", "EKG", labels=labels)
    assert a[0].status == "present"


def test_context_cues_hypothetical_and_uncertain_phrases(nlp):
    assert statuses(nlp, "He has risk factors for coronary heart disease.", "coronary heart disease") == ["hypothetical"]
    assert statuses(nlp, "There was some suggestion of inferior wall ischemia.", "inferior wall ischemia") == ["uncertain"]
    assert run(nlp, "She has had sexually transmitted diseases in her teens.", "sexually transmitted diseases")[0].historical


def test_context_cues_no_changes_suggestive_of(nlp):
    assert statuses(nlp, "No EKG changes suggestive of ischemia.", "ischemia") == ["negated"]
    assert statuses(nlp, "EKG changes suggestive of ischemia.", "ischemia") == ["uncertain"]


@pytest.mark.parametrize("text, mentions, expected", [
    ("This medicine may cause nausea.", ("nausea",), ["hypothetical"]),
    ("Smoking can lead to emphysema.", ("emphysema",), ["hypothetical"]),
    ("She is prone to falls.", ("falls",), ["hypothetical"]),
    ("Oral antibiotics may be prescribed for a possible bacterial infection.", ("antibiotics", "bacterial infection"),
     ["hypothetical", "uncertain"]),
    ("He has nausea.", ("nausea",), ["present"]),
])
def test_context_cues_conditional_risks_and_options(nlp, text, mentions, expected):
    assert statuses(nlp, text, *mentions) == expected


def test_context_cues_patient_leaflet_sections_are_generic(nlp):
    # a handout's "SIGNS AND SYMPTOMS:" lists what the disease can do, not what this patient has
    text = "The patient has knee pain.,SIGNS AND SYMPTOMS:,*  Joint pain, swelling, redness, warmth."
    assert statuses(nlp, text, "knee pain", "Joint pain", "swelling") == ["present", "hypothetical", "hypothetical"]


def test_context_cues_section_defaults_spare_anatomy(nlp):
    text = "The patient has knee pain.,SIGNS AND SYMPTOMS:,*  Swelling of the hands.,FAMILY HISTORY:,  Mother has bad knees."
    got = statuses(nlp, text, "Swelling", "hands", "knees",
                   labels={"hands": "ANATOMY", "knees": "ANATOMY", "Swelling": "SYMPTOM"})
    assert got == ["hypothetical", "present", "present"]


# -- third round (issue 11): cues read wrong on real notes ---------------------------------------------

def test_context_cues_possibly_due_to_is_uncertain(nlp):
    # "due to" ends a scope; "possibly due to" as a whole makes the cause uncertain
    assert statuses(nlp, "Pain possibly due to muscle strain.", "Pain", "muscle strain") == ["present", "uncertain"]
    assert statuses(nlp, "Anemia likely secondary to blood loss.", "Anemia", "blood loss") == ["present", "uncertain"]


def test_context_cues_duration_history_is_current(nlp):
    assert statuses(nlp, "He has a one-year history of right arm pain.", "right arm pain") == ["present"]
    assert statuses(nlp, "She has a 10-year history of diabetes.", "diabetes") == ["present"]
    assert statuses(nlp, "He has a history of asthma.", "asthma") == ["historical"]


def test_context_cues_despite_ends_a_negation(nlp):
    assert statuses(nlp, "There was no improvement despite the hyperglycemia.", "improvement", "hyperglycemia") == [
        "negated", "present"]


def test_context_cues_wishes_is_hypothetical(nlp):
    assert statuses(nlp, "She wishes to have a breast augmentation.", "breast augmentation",
                    label="PROCEDURE") == ["hypothetical"]


def test_context_cues_uncertainty_does_not_run_down_a_long_list(nlp):
    text = ("This is a likely metabolic syndrome of this gentleman with truncal obesity, hypertension, possible "
            "insulin resistance, and some degree of fasting hyperglycemia.")
    assert statuses(nlp, text, "metabolic syndrome", "truncal obesity", "hypertension", "insulin resistance",
                    "hyperglycemia") == ["uncertain", "present", "present", "uncertain", "present"]


def test_context_cues_without_after_an_entity_qualifies_it_only(nlp):
    text = "Migraine headaches without aura, left ear deafness, and endometriosis."
    assert statuses(nlp, text, "Migraine headaches", "aura", "left ear deafness", "endometriosis") == [
        "present", "negated", "present", "present"]
    # a "without" that starts a list still denies the list
    assert statuses(nlp, "She is without fever, chills, or night sweats.", "fever", "chills", "night sweats") == [
        "negated"] * 3


def test_context_cues_possibility_to_have_is_uncertain(nlp):
    assert statuses(nlp, "There is a possibility to have a recurrence of the tumor.", "recurrence") == ["uncertain"]


def test_context_cues_longstanding_and_sudden_onset_history_is_current(nlp):
    assert statuses(nlp, "He also has a longstanding history of neck pain.", "neck pain") == ["present"]
    assert statuses(nlp, "Based on her history of sudden onset of left leg weakness, an MRI was done.",
                    "left leg weakness") == ["present"]
