"""Issue 12, third round: how clinical notes are read by the common-disease differential (short notes,
the chief complaint, words that only look like symptoms)."""

import numpy as np
import pytest

from medlens.reasoning.common import CHIEF_FACTOR, NOTE_HISTORY_FACTOR, CommonScorer
from medlens.reasoning.models import Finding
from medlens.reasoning.patient import scan_text

SOAP = ("SUBJECTIVE:,  Overall, she has been doing well.  Review of systems is otherwise unremarkable. ,OBJECTIVE:,  "
        "Her blood pressure is 110/60.  HEENT:  Unremarkable.  Neck:  Unremarkable.  Lungs:  Clear.  Heart:  Regular.")


@pytest.mark.parametrize("text,note", [
    (SOAP, True),  # short, but section headers: a note
    ("HPI: 45 yo F with dysuria.", False),  # one header is not enough
    ("I have a cough and a fever since Monday. My chest hurts when I breathe.", False),
    ("The patient comes for a cough. " * 30, True),  # long
    ("", False),
])
def test_is_note(text, note):
    from medlens.reasoning.engine import is_note

    assert is_note(text) is note


def test_short_soap_note_uses_the_note_settings(engine):
    """A short SOAP note is read as a note: a chronic disease of its history weighs as in a long note."""
    afib = Finding(id="X:af", name="Atrial fibrillation", text="atrial fibrillation", status="historical")
    cough = Finding(id="X:c", name="Cough", text="cough")
    res = engine.diagnose([afib, cough], text=SOAP, mode="common", top=49)
    w = next(e.weight for d in res.diagnoses if d.name == "Atrial fibrillation" for e in d.supporting
             if e.relation == "known_condition")
    assert w == pytest.approx(np.log(NOTE_HISTORY_FACTOR), abs=1e-3)


@pytest.mark.parametrize("clause,heavy", [
    ("Her blood pressure is 110/60.", False),
    ("He is a heavy smoker with heavy alcohol use.", False),
    ("Pulse pressure was wide.", False),
    ("He has chest pressure since this morning.", True),
    ("A crushing pain in the chest.", True),
    ("The pain feels heavy.", True),
])
def test_blood_pressure_is_not_a_heavy_pain(ddx, clause, heavy):
    key = "douleurxx_carac@pressure"
    got = {ddx.features[m.feature].key for m in scan_text(clause, ddx.features, symptoms=True)}
    assert (key in got) is heavy


def test_chief_complaint_factor_in_the_scorer(ddx):
    s = CommonScorer(ddx)
    pneu = ddx.disease_index["DDXPLUS:pneumonia"]
    feats = [ddx.feature_index["toux"]]
    base, _, _ = s.score(feats, stated=[pneu])
    chief, _, _ = s.score(feats, stated=[pneu], chief=[pneu])
    assert chief[pneu] - base[pneu] == pytest.approx(np.log(CHIEF_FACTOR))
    others = np.arange(len(ddx.ids)) != pneu
    np.testing.assert_array_equal(chief[others], base[others])


def test_the_disease_the_visit_is_for_leads(engine):
    """Of the diseases a note names, the one of the chief complaint / reason for visit leads."""
    text = ("REASON FOR CONSULTATION:,  New diagnosis of lung cancer.,HISTORY OF PRESENT ILLNESS: , A 47-year-old man "
            "with pulmonary edema and a pneumothorax on the CT.  " + "He is otherwise well.  " * 30)
    start = text.index("lung cancer")
    found = [Finding(id="X:lc", name="Lung cancer", text="lung cancer", start=start, end=start + 11),
             Finding(id="X:pe", name="Pulmonary edema", text="pulmonary edema", start=text.index("pulmonary edema")),
             Finding(id="X:px", name="Pneumothorax", text="pneumothorax", start=text.index("pneumothorax"))]
    k = engine.common
    assert engine.chief(found, text) == [k.disease_index["DDXPLUS:pulmonary_neoplasm"]]
    res = engine.diagnose(found, text=text, mode="common", top=49)
    lc = next(d for d in res.diagnoses if d.name == "Pulmonary neoplasm")
    cc = [e for e in lc.supporting if e.relation == "chief_complaint"]
    assert len(cc) == 1 and cc[0].weight == pytest.approx(np.log(CHIEF_FACTOR), abs=1e-3)
    # the same note without its reason for visit: no chief complaint, the lung cancer weighs less
    plain = text.replace("REASON FOR CONSULTATION:,  ", "")
    assert engine.chief(found, plain) == []
    res2 = engine.diagnose(found, text=plain, mode="common", top=49)
    lc2 = next(d for d in res2.diagnoses if d.name == "Pulmonary neoplasm")
    assert lc.probability > 3 * lc2.probability and lc.rank <= lc2.rank
    assert not any(e.relation == "chief_complaint" for d in res2.diagnoses for e in d.supporting)
    # a negated disease in the chief complaint is not the reason for the visit
    assert engine.chief([], "CHIEF COMPLAINT: No pneumonia, cough.,HPI: x") == []
    assert engine.chief([], "CHIEF COMPLAINT: Pneumonia.,HPI: x") == [k.disease_index["DDXPLUS:pneumonia"]]


def test_note_triage_needs_a_clear_lead(ddx):
    """In a note a can't-miss diagnosis first by a hair is not an emergency; one well ahead is."""
    from medlens.reasoning.common import NOTE_LEAD_AT, triage

    sev = ddx.severity
    p = np.zeros(len(sev))
    for d, q in (("anaphylaxis", 0.15), ("hiv_initial_infection", 0.13), ("influenza", 0.12), ("viral_pharyngitis", 0.11),
                 ("urti", 0.10), ("pneumonia", 0.10), ("bronchitis", 0.10), ("allergic_sinusitis", 0.10),
                 ("localized_edema", 0.09)):
        p[ddx.disease_index[f"DDXPLUS:{d}"]] = q
    # first in the list → emergency for a patient's text; a note needs the lead (0.15 vs 0.13: none)
    assert triage(p, sev)[0] == "emergency"
    assert triage(p, sev, lead_at=NOTE_LEAD_AT)[0] == "soon"
    lead = np.zeros(len(sev))
    lead[ddx.disease_index["DDXPLUS:possible_nstemi_stemi"]] = 0.8
    lead[ddx.disease_index["DDXPLUS:atrial_fibrillation"]] = 0.2
    level, why = triage(lead, sev, lead_at=NOTE_LEAD_AT)
    assert level == "emergency" and "leads the differential by 0.60" in why
    # the total of can't-miss diagnoses still counts
    split = np.zeros(len(sev))
    for d, q in (("possible_nstemi_stemi", 0.3), ("unstable_angina", 0.3), ("panic_attack", 0.4)):
        split[ddx.disease_index[f"DDXPLUS:{d}"]] = q
    assert triage(split, sev, lead_at=NOTE_LEAD_AT)[0] == "emergency"


@pytest.mark.parametrize("text,named", [
    ("HISTORY OF PRESENT ILLNESS: She underwent left upper lobectomy for stage IA non-small cell lung cancer.",
     {"Pulmonary neoplasm"}),  # "non-small" is no negation
    ("PAST MEDICAL HISTORY: Atrial fibrillation, on Coumadin. GERD.", {"Atrial fibrillation", "GERD"}),
    ("ROS: He denies recurrent pneumonias, bronchitis, exposure to asbestos or tuberculosis.", set()),
    ("No history of atrial fibrillation, but she has GERD.", {"GERD"}),
    ("Rule out anemia. Risk of lung cancer discussed.", set()),
    ("FAMILY HISTORY: Mother with lung cancer. Her father had atrial fibrillation.", set()),
    ("PLAN: screen for anemia.", set()),
    ("FINDINGS: A spiculated mass, suspicious for primary lung cancer.", set()),
])
def test_named_conditions(ddx, text, named):
    from medlens.reasoning.patient import named_conditions

    assert {ddx.names[d] for d in named_conditions(text, ddx.chronic)} == named


def test_a_chronic_disease_the_note_names_is_known(engine):
    """The recognizer may not code it: the note's words still make it a known condition."""
    text = ("HISTORY OF PRESENT ILLNESS: The patient is a 65-year-old woman who underwent left upper lobectomy for stage "
            "IA non-small cell lung cancer.  She returns for a routine surveillance visit.  " + "She feels well.  " * 40)
    odyn = Finding(id="X:o", name="Odynophagia", text="odynophagia")
    res = engine.diagnose([odyn], text=text, mode="common", top=49)
    lc = next(d for d in res.diagnoses if d.name == "Pulmonary neoplasm")
    assert any(e.relation == "known_condition" for e in lc.supporting)
    short = engine.diagnose([odyn], text="I had lung cancer. My throat hurts when I swallow.", mode="common", top=49)
    assert not any(e.relation == "known_condition" for d in short.diagnoses for e in d.supporting)  # patient texts: findings only


@pytest.mark.parametrize("header,kind", [
    ("HISTORY", "current"),  # a bare HISTORY: opens the present illness
    ("PAST MEDICAL HISTORY", "history"),
    ("SOCIAL HISTORY", "history"),
    ("FAMILY HISTORY", "family"),
    ("HISTORY OF PRESENT ILLNESS", "current"),
])
def test_bare_history_header_is_the_present_illness(header, kind):
    from medlens.reasoning.patient import section_kind

    assert section_kind(header) == kind


def test_named_serious_condition_is_not_self_care(ddx):
    """A note naming atrial fibrillation (as current) beside a first-ranked anemia: see a doctor soon, not self-care."""
    from medlens.reasoning.common import triage

    sev = ddx.severity
    p = np.zeros(len(sev))
    anemia, af = ddx.disease_index["DDXPLUS:anemia"], ddx.disease_index["DDXPLUS:atrial_fibrillation"]
    p[anemia], p[af] = 0.97, 0.03
    assert triage(p, sev)[0] == "self-care"
    level, why = triage(p, sev, named=[anemia, af], names=ddx.names)
    assert level == "soon" and "Atrial fibrillation" in why
    assert triage(p, sev, named=[anemia], names=ddx.names)[0] == "self-care"
    pe = ddx.disease_index["DDXPLUS:pulmonary_embolism"]
    assert triage(p, sev, named=[pe], names=ddx.names)[0] == "soon"  # a named can't-miss: never an emergency by itself


@pytest.mark.parametrize("text,age", [
    ("She started menarche at 10 years of age and it runs in the family.", None),  # an age at an event
    ("He has had asthma since 2 years of age. He is a 10 years old boy.", 10),
    ("Measles at the age of 5 years old. She is 30 years of age.", 30),
    ("A 58-year-old man with chest pain.", 58),
])
def test_age_at_an_event_is_not_the_patients(text, age):
    from medlens.reasoning.patient import read_patient

    assert read_patient(text).age == age


@pytest.mark.parametrize("clause,prone", [
    ("He does have significant allergies including ragweed.", True),
    ("Seasonal allergies every spring.", True),
    ("ALLERGIES: Penicillin.", False),  # drug allergies: an allergies section is skipped
])
def test_environmental_allergies_are_a_risk_of_allergic_rhinitis(ddx, clause, prone):
    got = {ddx.features[m.feature].key for m in scan_text(clause, ddx.features) if m.status == "present"}
    assert ("z84.89" in got) is prone
