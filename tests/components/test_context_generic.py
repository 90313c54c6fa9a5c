"""Assertion of what a note states conditionally or generically (instructions to the patient, a leaflet's
causes and risks, "may occur", options offered), past admissions and treatments, the end of a negation's scope
at a reason clause, "not" that qualifies an amount or an effect, and anatomy (never uncertain or historical).
Sentences written for these tests."""

from __future__ import annotations

import pytest

from tests.conftest import context_pipeline
from tests.conftest import context_statuses as statuses


@pytest.fixture(scope="module")
def nlp():
    return context_pipeline()


@pytest.mark.parametrize("text, mentions", [
    ("He was instructed to report to the office any chills, drainage or wound redness.",
     ("chills", "drainage", "wound redness")),
    ("She should call us with any shortness of breath or chest pain.", ("shortness of breath", "chest pain")),
    ("The mother was asked to call fever above 101 to our attention.", ("fever",)),
    ("Nausea, dizziness and headache may occur after the infusion.", ("Nausea", "dizziness", "headache")),
    ("Mild soreness can also occur at the injection site.", ("Mild soreness",)),
    ("Patients may experience bruising or soreness where the needle went in.", ("bruising", "soreness")),
])
def test_instructions_and_may_occur_are_hypothetical(nlp, text, mentions):
    assert statuses(nlp, text, *mentions) == ["hypothetical"] * len(mentions)


@pytest.mark.parametrize("text, mentions", [
    ("In people with diabetes, neuropathy and retinopathy are common.", ("diabetes", "neuropathy", "retinopathy")),
    ("In a person with heart failure or valve disease, the heart muscle does not get enough blood.",
     ("heart failure", "valve disease")),
    ("Other causes include hypothyroidism and iron deficiency.", ("hypothyroidism", "iron deficiency")),
    ("Other causes could be due to kidney disease or anemia.", ("kidney disease", "anemia")),
    ("Smokers are more likely to develop emphysema and lung cancer.", ("emphysema", "lung cancer")),
    ("Back pain can be caused by muscle strain.", ("muscle strain",)),
])
def test_generic_statements_are_hypothetical(nlp, text, mentions):
    assert statuses(nlp, text, *mentions) == ["hypothetical"] * len(mentions)


def test_options_offered_are_hypothetical(nlp):
    assert statuses(nlp, "We discussed that she could try a course of prednisone.", "prednisone",
                    labels={"prednisone": "DRUG"}) == ["hypothetical"]
    assert statuses(nlp, "He was advised to undergo colonoscopy, but he declined.", "colonoscopy",
                    labels={"colonoscopy": "PROCEDURE"}) == ["hypothetical"]


def test_advice_about_a_current_drug_or_a_finding_keeps_it(nlp):
    # stopping or continuing a drug he takes is no plan of a new one; advice does not make a finding conditional
    assert statuses(nlp, "He was advised to stop aspirin.", "aspirin", labels={"aspirin": "DRUG"}) == ["present"]
    assert statuses(nlp, "She was advised to use ice for the swelling.", "swelling") == ["present"]


def test_negation_ends_at_a_reason_clause(nlp):
    text = "I advised that he not resume warfarin now as he is already on aspirin and clopidogrel."
    assert statuses(nlp, text, "warfarin", "aspirin", "clopidogrel",
                    labels={"warfarin": "DRUG", "aspirin": "DRUG", "clopidogrel": "DRUG"}) == [
        "negated", "present", "present"]
    text = "She did not have the surgery because of bleeding risk."
    assert statuses(nlp, text, "surgery", "bleeding", labels={"surgery": "PROCEDURE"}) == ["negated", "present"]


@pytest.mark.parametrize("text, mention, label", [
    ("The brain does not get enough oxygen during the spells.", "oxygen", "DRUG"),
    ("Her pain did not improve with ibuprofen.", "ibuprofen", "DRUG"),
    ("The rash was not relieved by hydrocortisone cream.", "hydrocortisone", "DRUG"),
    ("His diabetes is not well controlled.", "diabetes", "DISEASE"),
])
def test_not_about_an_amount_or_an_effect_does_not_negate(nlp, text, mention, label):
    assert statuses(nlp, text, mention, labels={mention: label}) == ["present"]


def test_past_admission_and_treatment_are_historical(nlp):
    text = ("HISTORY OF PRESENT ILLNESS:  She recently had an admission for pneumonia.  She was treated with IV "
            "antibiotics and improved.")
    assert statuses(nlp, text, "pneumonia", "antibiotics", labels={"antibiotics": "DRUG"}) == [
        "historical", "historical"]


def test_treatment_in_the_hospital_course_is_this_stay(nlp):
    text = "HOSPITAL COURSE:  Her anemia was treated with blood transfusions and iron."
    assert statuses(nlp, text, "anemia", "blood transfusions", "iron",
                    labels={"blood transfusions": "PROCEDURE", "iron": "DRUG"}) == ["present"] * 3


def test_suspected_that_reaches_its_clause(nlp):
    text = "It was suspected that the patient had suffered an extensive posterior circulation stroke."
    assert statuses(nlp, text, "posterior circulation stroke") == ["uncertain"]
    # the observed consequence is not in doubt
    text = "It was suspected that he had a brainstem stroke with resultant dysarthria."
    assert statuses(nlp, text, "brainstem stroke", "dysarthria") == ["uncertain", "present"]


def test_anatomy_is_never_uncertain_or_historical(nlp):
    text = "Possible fracture of the left femur.  Prior surgery on the right knee."
    assert statuses(nlp, text, "fracture", "left femur", "surgery", "right knee",
                    labels={"left femur": "ANATOMY", "right knee": "ANATOMY", "surgery": "PROCEDURE"}) == [
        "uncertain", "present", "historical", "present"]


@pytest.mark.parametrize("text, mentions, expected", [
    ("She reports fever and chills.", ("fever", "chills"), ["present", "present"]),
    ("He had contact with a coworker who has tuberculosis.", ("tuberculosis",), ["present"]),
    ("No fever, because she took acetaminophen.", ("fever", "acetaminophen"), ["negated", "present"]),
])
def test_ordinary_statements_unchanged(nlp, text, mentions, expected):
    assert statuses(nlp, text, *mentions) == expected


def test_looking_for_other_causes_keeps_the_finding(nlp):
    text = "Blood work, looking for other causes of neuropathy, to include TSH and B12."
    assert statuses(nlp, text, "neuropathy", "TSH", labels={"TSH": "TEST"}) == ["present", "present"]


@pytest.mark.parametrize("text, mention, label, expected", [
    ("Her current desires are that she obtain a rhinoplasty.", "rhinoplasty", "PROCEDURE", "hypothetical"),
    ("It is too risky to use warfarin in her case.", "warfarin", "DRUG", "hypothetical"),
    ("He is not sure the loratadine is working anymore.", "loratadine", "DRUG", "uncertain"),
    ("Earlier it was thought he could have had a pulmonary embolism.", "pulmonary embolism", "DISEASE", "uncertain"),
    ("Uptake consistent with potential necrosis.", "necrosis", "FINDING", "uncertain"),
    ("It is difficult to be certain about the diagnosis of myasthenia gravis.", "myasthenia gravis", "DISEASE", "uncertain"),
    ("Her rash improved after discontinuation of her amoxicillin.", "amoxicillin", "DRUG", "historical"),
    ("After negative aspiration, lidocaine was injected.", "lidocaine", "DRUG", "present"),
])
def test_desires_risks_doubts_and_stopped_drugs(nlp, text, mention, label, expected):
    assert statuses(nlp, text, mention, labels={mention: label}) == [expected]


def test_a_potential_need_is_a_plan_not_a_doubt(nlp):
    text = "We reviewed the potential need for upper endoscopy should his symptoms continue."
    assert statuses(nlp, text, "upper endoscopy", labels={"upper endoscopy": "PROCEDURE"}) == ["hypothetical"]
