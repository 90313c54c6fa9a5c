"""Issue 12, fourth round: triage of notes (the "soon" total, notes with nothing to rank) and which words state
a diagnosis (ambiguous abbreviations, the words as written over the linked concept)."""

import numpy as np
import pytest

from medlens.reasoning.common import triage
from medlens.reasoning.models import Finding


def _probs(ddx, **q) -> np.ndarray:
    p = np.zeros(len(ddx.ids))
    for d, v in q.items():
        p[ddx.disease_index[f"DDXPLUS:{d}"]] = v
    return p


def test_soon_total_counts_supported_diagnoses_only(ddx):
    """A mild diagnosis first: the prior mass of unsupported diseases of severity 1-3 does not make it "soon"."""
    p = _probs(ddx, localized_edema=0.25, acute_otitis_media=0.05, pneumonia=0.15, gerd=0.15, atrial_fibrillation=0.2,
               influenza=0.2)
    mild = {ddx.disease_index[f"DDXPLUS:{d}"] for d in ("localized_edema", "acute_otitis_media")}
    supported = [d in mild for d in range(len(ddx.ids))]
    assert triage(p, ddx.severity)[0] == "soon"  # every diagnosis counted: 0.7 of severity 3
    assert triage(p, ddx.severity, supported=supported)[0] == "self-care"
    # supported diagnoses that need a doctor still make it "soon"
    supported[ddx.disease_index["DDXPLUS:pneumonia"]] = supported[ddx.disease_index["DDXPLUS:influenza"]] = True
    supported[ddx.disease_index["DDXPLUS:gerd"]] = True
    assert triage(p, ddx.severity, supported=supported)[0] == "soon"


def test_a_note_with_nothing_to_rank_is_not_self_care(engine):
    """An operative note whose words reach no disease of the knowledge: no list, and "see a doctor soon"."""
    from medlens.reasoning.engine import NO_DIFFERENTIAL

    text = ("PREOPERATIVE DIAGNOSIS:,  Left hernia.,PROCEDURE:,  Repair.,DESCRIPTION OF PROCEDURE:,  "
            + "The patient was prepped and draped in the usual sterile fashion.  " * 15)
    res = engine.diagnose([Finding(id="X:h", name="Hernia", text="hernia")], text=text, mode="common")
    assert res.diagnoses == []
    assert res.triage is not None and res.triage.level == "soon" and res.triage.reason == NO_DIFFERENTIAL


@pytest.mark.parametrize("text,name,concepts,stated", [
    ("PE", "Pulmonary embolism", ["ICD10CM:I26.99"], set()),  # "PE tubes", "PE:" (physical exam)
    ("pulmonary embolism", "Pulmonary embolism", ["ICD10CM:I26.99"], {"Pulmonary embolism"}),
    ("ACS", "Acute coronary syndrome", ["ICD10CM:I24.9"], {"Possible NSTEMI / STEMI", "Unstable angina"}),  # own words
    ("lupus pneumonitis", "Pneumonia", ["MESH:D011014"], {"SLE"}),  # the words outrank the linked name
    ("pneumonitis", "Pneumonia", ["MESH:D011014"], {"Pneumonia"}),  # no disease in the words: the name counts
])
def test_which_words_state_a_diagnosis(engine, ddx, text, name, concepts, stated):
    f = Finding(id=concepts[0], name=name, text=text, concepts=concepts)
    assert {ddx.names[d] for d in engine._stated(f)} == stated


def test_ambiguous_abbreviations_come_from_the_shipped_list():
    from medlens.reasoning.engine import is_ambiguous_abbreviation

    assert is_ambiguous_abbreviation("PE") and is_ambiguous_abbreviation(" AF ")
    assert not is_ambiguous_abbreviation("MI")  # listed, not ambiguous
    assert not is_ambiguous_abbreviation("pulmonary embolism") and not is_ambiguous_abbreviation(None)


@pytest.mark.parametrize("text,named", [
    ("HOSPITAL COURSE: She presented with shortness of breath and was found to have acute COPD exacerbation.",
     {"Acute COPD exacerbation / infection"}),
    ("HISTORY OF PRESENT ILLNESS: Influenza test is negative. Rapid strep screen is negative.", set()),  # a test
    ("HISTORY OF PRESENT ILLNESS: He was recently treated for pneumonia.", set()),  # the past
    ("PAST MEDICAL HISTORY: Pneumonia in 2004.", set()),  # the past history
    ("HISTORY OF PRESENT ILLNESS: Rule out pneumonia.", set()),  # unsure
    ("HISTORY OF PRESENT ILLNESS: Pneumonia was ruled out.", set()),  # negated after it
    ("HISTORY OF PRESENT ILLNESS: No pneumonia on the x-ray, but she has acute bronchitis.", {"Bronchitis"}),
])
def test_named_current(ddx, text, named):
    from medlens.reasoning.patient import named_current

    assert {ddx.names[d] for d in named_current(text, ddx.stated)} == named


def test_an_acute_disease_the_story_names_is_stated(engine):
    """The recognizer coded only "COPD": the words of the course still state the exacerbation."""
    text = ("HOSPITAL COURSE:,  The patient was a 66-year-old who presented with complaints of shortness of breath and "
            "was found to have acute COPD exacerbation.  " + "She slowly improved.  " * 40)
    i = text.index("COPD")
    copd = Finding(id="X:copd", name="COPD", text="COPD", start=i, end=i + 4)
    res = engine.diagnose([copd], text=text, mode="common", top=49)
    first = res.diagnoses[0]
    assert first.name == "Acute COPD exacerbation / infection"
    assert any(e.relation == "stated_diagnosis" for e in first.supporting)


@pytest.mark.parametrize("header,kind", [
    ("HISTORY AND CLINICAL DATA", "current"),
    ("INTERIM HISTORY", "current"),
    ("HISTORY OF PRESENT PROBLEM", "current"),
    ("MEDICAL HISTORY", "history"),
    ("PAST MEDICAL HX", "history"),
    ("SHX", "history"),
    ("FHX", "family"),
])
def test_history_headers(header, kind):
    from medlens.reasoning.patient import section_kind

    assert section_kind(header) == kind
