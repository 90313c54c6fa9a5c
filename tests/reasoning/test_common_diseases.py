"""Issue 12: common-disease knowledge, the patient's age/sex and risk factors, triage, modes, user tables."""

from pathlib import Path

import numpy as np
import pytest

from medlens.errors import SourceError
from medlens.reasoning.common import (
    CommonKnowledge,
    CommonScorer,
    demographic_effect,
    triage,
)
from medlens.reasoning.models import Finding
from medlens.reasoning.rules import LabValue
from medlens.reasoning.patient import read_patient, scan_text

TABLES = Path(__file__).resolve().parents[1] / "fixtures" / "tables"


# -- age and sex --------------------------------------------------------------------------
@pytest.mark.parametrize("text,age,sex", [
    ("58-year-old man with chest pain", 58, "male"),
    ("She is a 12-year-old girl with a sore throat.", 12, "female"),
    ("61 year old Male presents with cough", 61, "male"),
    ("67 y/o man with a history of HTN", 67, "male"),
    ("HPI: 45 yo F with dysuria.", 45, "female"),
    ("A 3-month-old boy with fever.", 0.25, "male"),
    ("Mr. Smith comes in for a cough.", None, "male"),
    ("She has had a fever since Monday and her throat hurts.", None, "female"),
    ("I have had a headache for two days.", None, None),
    ("Patient is a 30-year-old. Her father had a heart attack.", 30, "female"),
])
def test_read_patient(text, age, sex):
    p = read_patient(text)
    assert p.age == pytest.approx(age) if age is not None else p.age is None
    assert p.sex == sex


def test_read_patient_family_words_do_not_set_sex():
    assert read_patient("Father died of a heart attack. Patient has cough.").sex is None


# -- exclusions and age factors (data: resources/en/common/demographics.json) ---------------------
def test_pregnancy_and_sex_specific_exclusions():
    assert demographic_effect("ORPHA:1", "Peripartum cardiomyopathy", None, 58, "male")[0] == 0.0
    f, why = demographic_effect("X:1", "Benign prostatic hyperplasia", "N40.0", 40, "female")
    assert f == 0.0 and "prostate" in why
    assert demographic_effect("X:2", "Ovarian cyst", None, 30, "male")[0] == 0.0
    assert demographic_effect("X:2", "Ovarian cyst", None, 30, "female") == (1.0, None)
    assert demographic_effect("ORPHA:1", "Peripartum cardiomyopathy", None, None, None) == (1.0, None)


def test_paediatric_only_and_age_factors(ddx):
    assert demographic_effect("DDXPLUS:bronchiolitis", "Bronchiolitis", "J21.9", 40, "male")[0] == 0.0
    assert demographic_effect("DDXPLUS:bronchiolitis", "Bronchiolitis", "J21.9", 1, "male") == (8.0, None)  # infants
    young = demographic_effect("DDXPLUS:possible_nstemi_stemi", "Possible NSTEMI / STEMI", "I21.4", 22, "male")[0]
    old = demographic_effect("DDXPLUS:possible_nstemi_stemi", "Possible NSTEMI / STEMI", "I21.4", 64, "male")[0]
    assert 0 < young < 1 < old


# -- the shipped knowledge -------------------------------------------------------------------
def test_ddxplus_knowledge_shape_and_codes(ddx):
    import simple_icd_10_cm as cm

    assert len(ddx.ids) == 49 and ddx.shipped and ddx.license.startswith("CC-BY")
    assert all(cm.is_valid_item(c) for c in ddx.icd10cm)
    assert abs(ddx.prior.sum() - 1) < 1e-9
    assert ddx.severity[ddx.disease_index["DDXPLUS:pulmonary_embolism"]] == 2
    assert ddx.icd10cm[ddx.disease_index["DDXPLUS:anaphylaxis"]] == "T78.2"  # ICD-10 T78.0 is food-only in ICD-10-CM
    fever = ddx.features[ddx.feature_index["fievre"]]
    assert fever.question.startswith("Do you have a fever") and "HP:0001945" in fever.concepts
    assert ddx.features[ddx.feature_index["i10"]].antecedent


def _score(ddx, keys, age=None, sex=None, absent=()):
    s = CommonScorer(ddx)
    scores, excluded, _ = s.score([ddx.feature_index[k] for k in keys], [ddx.feature_index[k] for k in absent],
                                  age=age, sex=sex)
    return scores, excluded, s.probabilities(scores)


def test_scorer_ranks_croup_for_a_child_and_excludes_it_for_an_adult(ddx):
    keys = ["toux_Aboy", "stridor", "fievre", "rhino_clair"]
    scores, excluded, probs = _score(ddx, keys, age=3, sex="male")
    assert ddx.names[int(np.argmax(scores))] == "Croup"
    scores, excluded, probs = _score(ddx, keys, age=40, sex="male")
    croup = ddx.disease_index["DDXPLUS:croup"]
    assert croup in excluded and probs[croup] == 0 and not np.isfinite(scores[croup])


def test_scorer_absent_findings_and_unknowns(ddx):
    base, _, _ = _score(ddx, ["toux", "fievre"])
    with_absent, _, _ = _score(ddx, ["toux", "fievre"], absent=["expecto"])
    pneu = ddx.disease_index["DDXPLUS:pneumonia"]
    assert with_absent[pneu] < base[pneu]  # productive cough expected in pneumonia, reported absent
    unknown, _, _ = _score(ddx, ["toux", "fievre"])
    assert np.allclose(unknown, base)  # not asked = not counted


def test_risk_factors_move_the_ranking(ddx):
    plain, _, _ = _score(ddx, ["douleurxx", "douleurxx_endroitducorps@chest", "dyspn"], age=60, sex="male")
    risky, _, _ = _score(ddx, ["douleurxx", "douleurxx_endroitducorps@chest", "dyspn", "i10", "e78.5", "e10_e11"],
                         age=60, sex="male")
    mi = ddx.disease_index["DDXPLUS:possible_nstemi_stemi"]
    assert risky[mi] - risky.max() > plain[mi] - plain.max() - 1e-9
    assert (risky[mi] - np.log(np.exp(risky - risky.max()).sum())) > (plain[mi] - np.log(np.exp(plain - plain.max()).sum()))


def test_stated_and_known_conditions(ddx):
    s = CommonScorer(ddx)
    af = ddx.disease_index["DDXPLUS:atrial_fibrillation"]
    feats = [ddx.feature_index["palpit"]]
    base, _, _ = s.score(feats)
    known, _, _ = s.score(feats, known=[af])
    stated, _, _ = s.score(feats, stated=[af], known=[af])
    assert base[af] < known[af] < stated[af]
    assert ddx.chronic[af] and not ddx.chronic[ddx.disease_index["DDXPLUS:pulmonary_embolism"]]


def test_triage_levels(ddx):
    sev = ddx.severity
    p = np.zeros(len(sev))
    p[ddx.disease_index["DDXPLUS:pulmonary_embolism"]] = 0.6
    p[ddx.disease_index["DDXPLUS:urti"]] = 0.4
    assert triage(p, sev)[0] == "emergency"
    p[:] = 0
    p[ddx.disease_index["DDXPLUS:urti"]] = 0.9
    p[ddx.disease_index["DDXPLUS:pulmonary_embolism"]] = 0.1
    assert triage(p, sev)[0] == "self-care"
    p[:] = 0
    p[ddx.disease_index["DDXPLUS:pneumonia"]] = 1.0
    assert triage(p, sev)[0] == "soon"
    p[:] = 0
    p[ddx.disease_index["DDXPLUS:possible_nstemi_stemi"]] = 1.0
    assert triage(p, sev)[0] == "emergency"
    unsupported = [True] * len(sev)
    unsupported[ddx.disease_index["DDXPLUS:possible_nstemi_stemi"]] = False
    assert triage(p, sev, supported=unsupported)[0] == "soon"  # risk factors alone: not an emergency


# -- risk factors from text --------------------------------------------------------------------
def test_scan_text_history_social_family(ddx):
    text = ("SOCIAL HISTORY: Former smoker. Takes oral contraceptives. Returned from Ghana last week.\n"
            "FAMILY HISTORY: Father had a myocardial infarction at 45.\n"
            "PAST MEDICAL HISTORY: No diabetes. Hypertension.")
    got = {(ddx.features[m.feature].key, m.status, m.context) for m in scan_text(text, ddx.features)}
    keys = {k for k, _, _ in got}
    assert ("smokingpast", "present", "history") in got and "f17.210" not in keys
    assert ("horm1", "present", "history") in got
    assert any(k.startswith("trav1") and s == "present" for k, s, _ in got)
    assert ("z82.49", "present", "family") in got
    assert ("e10_e11", "absent", "history") in got
    assert ("i10", "present", "history") in got


def test_scan_text_symptoms_only_in_short_texts(ddx):
    text = "My son has a barking cough and a fever."
    assert not {ddx.features[m.feature].key for m in scan_text(text, ddx.features)} & {"toux_Aboy", "fievre"}
    keys = {(ddx.features[m.feature].key, m.context) for m in scan_text(text, ddx.features, symptoms=True)}
    assert {("toux_Aboy", "current"), ("fievre", "current")} <= keys  # "my son has" is the patient, not family history


# -- user tables -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name,n", [("symcat_tiny.json", 3), ("symcat474_tiny.csv", 3), ("columbia_tiny.csv", 2)])
def test_table_loaders(name, n):
    k = CommonKnowledge.from_table(TABLES / name)
    assert len(k.ids) == n and not k.shipped and all(c is None for c in k.icd10cm)
    s = CommonScorer(k)
    feats = [i for i, f in enumerate(k.features) if f.key.lower() in ("cough", "fever", "coughing")]
    scores, _, _ = s.score(feats)
    assert "pneumonia" in k.names[int(np.argmax(scores))].lower()


def test_columbia_prior_from_occurrence_and_rank():
    k = CommonKnowledge.from_table(TABLES / "columbia_tiny.csv")
    pn = k.names.index("pneumonia")
    assert k.prior[pn] == pytest.approx(1000 / 1300)
    p = k.p[pn]
    assert p[k.feature_index["coughing"]] > p[k.feature_index["dyspnea"]]  # first listed = strongest association


@pytest.mark.parametrize("name,line,words", [
    ("symcat_tiny_bad.json", 3, "outside 0..1"),
    ("symcat474_tiny_bad.csv", 3, "'often' is not a number"),
    ("columbia_tiny_bad.csv", 2, "first row has no Disease"),
])
def test_bad_tables_name_the_line(name, line, words):
    with pytest.raises(SourceError) as e:
        CommonKnowledge.from_table(TABLES / name)
    assert f"line {line}" in str(e.value) and words in str(e.value) and name in str(e.value)


def test_bad_table_unknown_format(tmp_path):
    bad = tmp_path / "t.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(SourceError, match="line 1: unknown table format"):
        CommonKnowledge.from_table(bad)
    with pytest.raises(SourceError, match="no such file"):
        CommonKnowledge.from_table(tmp_path / "missing.json")
    broken = tmp_path / "b.json"
    broken.write_text('{"a": [["x", 0.5]],\n "b": [}')
    with pytest.raises(SourceError, match="line 2: not valid JSON"):
        CommonKnowledge.from_table(broken)


# -- modes and the engine on the tiny graph ---------------------------------------------------
def test_mode_choice(tiny_kg, nlp):
    from medlens.reasoning.engine import DiagnosisEngine

    engine = DiagnosisEngine(tiny_kg, nlp=nlp)
    hpo = [Finding(id="HP:0001945", name="Fever", origin="hpo", hpo=["HP:0001945"], concepts=["HP:0001945"])]
    from medlens.errors import KnowledgeGraphError

    with pytest.raises(KnowledgeGraphError, match="no HPO terms"):  # HPO input alone → the rare-disease ranking
        engine.diagnose(hpo)
    res = engine.diagnose(hpo, text="58-year-old man with fever and a barking cough", mode="common")
    assert res.mode == "common" and res.patient.age == 58 and res.patient.sex == "male"
    assert res.diagnoses and all(d.knowledge == "ddxplus" and d.icd10cm for d in res.diagnoses)
    assert res.triage is not None and "Croup" in {x.name for x in res.excluded_diagnoses}
    text_res = engine.diagnose("I have a fever and a cough.")
    assert text_res.mode == "common"
    with pytest.raises(Exception, match="Unknown mode"):
        engine.diagnose(hpo, mode="genetic")


def test_fhir_differential_bundle_validates(tiny_kg, nlp):
    pytest.importorskip("fhir.resources", reason="FHIR validation needs the dev extra")
    from fhir.resources.R4B.bundle import Bundle

    from medlens.reasoning.engine import DiagnosisEngine
    from medlens.reasoning.fhir import differential_bundle

    engine = DiagnosisEngine(tiny_kg, nlp=nlp)
    res = engine.diagnose("45-year-old woman. I have a fever, a cough and green sputum.", top=3)
    data = differential_bundle(res)
    bundle = Bundle.model_validate(data) if hasattr(Bundle, "model_validate") else Bundle.parse_obj(data)
    kinds = [e.resource.__resource_type__ if hasattr(e.resource, "__resource_type__") else e.resource.resource_type
             for e in bundle.entry]
    assert kinds.count("Condition") == 3 and "DiagnosticReport" in kinds and "Patient" in kinds
    cond = next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Condition")
    assert cond["verificationStatus"]["coding"][0]["code"] == "differential"
    assert cond["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10-cm"


# -- notes: stated diagnoses by code, abnormal results, tempered likelihoods, known conditions ------------
def _names(engine, ds):
    return {engine.common.names[d] for d in ds}


@pytest.mark.parametrize("name,text,code,hpo,stated", [
    ("Inflammation of the pericardium", "inflamed pericardium", "I30.9", [], "Pericarditis"),  # the disease's code
    ("Unspecified asthma", "reactive airways", "J45.90", [], "Bronchospasm / acute asthma exacerbation"),  # above it
    ("Edema", "edema", "R60.9", [], None),  # a sign (chapter R) is not localized edema R60.0
    ("Anxiety", "nervous", "F41.9", [], None),  # same category F41, another code: not panic attack F41.0
    ("Chronic pulmonary obstruction", "chronic lung disease", "J44.9", [], None),  # not its exacerbation J44.1
    ("Allergy", "allergies", "T78.40", [], None),  # not anaphylaxis T78.2
    ("Hernia", "hernia", "K40-K46", [], None),  # a code range
    ("Pharyngalgia", "scratchy throat", "J02.9", ["HP:0025439"], None),  # a symptom of the knowledge, coded J02.9
])
def test_stated_diagnosis_by_code(engine, name, text, code, hpo, stated):
    f = Finding(id=f"ICD10CM:{code}", name=name, text=text, concepts=[f"ICD10CM:{code}", *hpo], hpo=hpo)
    got = _names(engine, engine._stated(f))
    assert got == ({stated} if stated else set())


def test_stated_diagnosis_by_words_still_counts(engine):
    f = Finding(id="X:1", name="Atrial fibrillation", text="chronic atrial fibrillation", concepts=["ICD10CM:I48.2"])
    assert "Atrial fibrillation" in _names(engine, engine._stated(f))


@pytest.mark.parametrize("text,age,sex,value", [
    ("CBC revealed microcytic anemia with hemoglobin of 8.9.", 70, "female", 8.9),
    ("Labs: Hgb 12.5 g/dL, WBC 7.", 60, "male", 12.5),  # men: below 13
    ("Labs: Hgb 12.5 g/dL.", 60, "female", None),  # women: 12
    ("Her hemoglobin was 12. Hemoglobin dropped to 9; hemoglobin is now 10.", 50, "female", 9.0),  # the lowest
    ("hemoglobin and hematocrit 16 and 47", 40, "male", None),
    ("HbA1c 7.5", 50, None, None),  # not a hemoglobin
    ("Hb 95 g/L", 30, "female", 9.5),  # g/L
    ("hemoglobin 11.0", 3, None, None),  # under 5 years: 11
    ("hemoglobin 11.2", 8, None, 11.2),  # 5-11 years: 11.5
    ("PLAN: recheck hemoglobin 10 next week.", None, None, None),  # a plan is not a result
])
def test_low_hemoglobin_read_from_text(ddx, text, age, sex, value):
    from medlens.reasoning.patient import low_lab_value

    lab = ddx.low_labs[ddx.disease_index["DDXPLUS:anemia"]]
    got = low_lab_value(text, lab, age, sex)
    assert (got[0] if got else None) == (pytest.approx(value) if value is not None else None)


def test_low_hemoglobin_shows_anemia(engine, ddx):
    from medlens.reasoning.models import Patient

    anemia = ddx.disease_index["DDXPLUS:anemia"]
    assert engine.measured("Hemoglobin of 8.1 on admission.", Patient(age=70, sex="male")) == {anemia: "Hemoglobin of 8.1 (below 13 g/dL)"}
    assert engine.measured("Hemoglobin of 14.1 on admission.", Patient(age=70, sex="male")) == {}
    assert anemia in engine.measured(None, Patient(sex="female"), [LabValue.parse("hemoglobin=10.5 g/dL")])
    # a given lab value decides over the text's
    assert engine.measured("hemoglobin 8", Patient(sex="female"), [LabValue.parse("hgb=13.5")]) == {}
    fatigue = [Finding(id="X:f", name="Fatigue", text="fatigue")]
    res = engine.diagnose(fatigue, text="A 70-year-old man with fatigue. Hemoglobin of 8.1.", mode="common")
    top = res.diagnoses[0]
    assert top.name == "Anemia" and top.supporting[0].relation == "abnormal_result"
    plain = engine.diagnose(fatigue, text="A 70-year-old man with fatigue. Hemoglobin of 14.1.", mode="common")
    assert plain.diagnoses[0].name != "Anemia" or plain.diagnoses[0].probability < top.probability


def test_tempered_likelihood_on_many_findings(ddx):
    s = CommonScorer(ddx, max_findings=5)
    assert s.temper(3, 0) == 1.0 and s.temper(20, 0) == pytest.approx(0.25) and s.temper(8, 4) == pytest.approx(0.5)
    feats = [ddx.feature_index[k] for k in ("toux", "fievre", "gorge_dlr", "rhino_clair", "douleurxx", "dyspn",
                                            "expecto", "sueurs", "nausea")
             if k in ddx.feature_index]
    assert len(feats) >= 6
    raw = CommonScorer(ddx).probabilities(CommonScorer(ddx).score(feats)[0])
    tempered = s.probabilities(s.score(feats)[0])
    assert tempered.max() < raw.max()  # less overconfident
    few = feats[:3]
    np.testing.assert_array_equal(s.score(few)[0], CommonScorer(ddx).score(few)[0])  # few findings: unchanged


def test_notes_use_the_note_settings(engine):
    from medlens.reasoning.common import NOTE_HISTORY_FACTOR

    afib = Finding(id="X:af", name="Atrial fibrillation", text="atrial fibrillation", status="historical")
    cough = Finding(id="X:c", name="Cough", text="cough")
    short = engine.diagnose([afib, cough], text="I have a cough. I had atrial fibrillation.", mode="common", top=49)
    note = "HISTORY OF PRESENT ILLNESS: The patient comes for a cough. " + "She is otherwise well. " * 40
    long = engine.diagnose([afib, cough], text=note, mode="common", top=49)
    w = [next(e.weight for d in r.diagnoses if d.name == "Atrial fibrillation" for e in d.supporting
              if e.relation == "known_condition") for r in (short, long)]
    assert w[0] == pytest.approx(np.log(10.0), abs=1e-3) and w[1] == pytest.approx(np.log(NOTE_HISTORY_FACTOR), abs=1e-3)


def test_underlying_chronic_disease_is_a_risk_not_the_acute_disease(engine):
    """In a note, asthma in the history is a risk of an asthma attack (x10), not the known disease itself (x30)."""
    asthma = Finding(id="X:a", name="Asthma", text="asthma", status="historical")
    cough = Finding(id="X:c", name="Cough", text="cough")
    note = "HISTORY OF PRESENT ILLNESS: The patient comes for a cough. " + "She is otherwise well. " * 40
    res = engine.diagnose([asthma, cough], text=note, mode="common", top=49)
    d = next(d for d in res.diagnoses if d.name == "Bronchospasm / acute asthma exacerbation")
    w = next(e.weight for e in d.supporting if e.relation == "known_condition")
    assert w == pytest.approx(np.log(10.0), abs=1e-3)


# -- a parent or carer describing someone else: the person described is the patient ----------------
@pytest.mark.parametrize("text,word,theirs", [
    ("My 4 year old son has a barking cough and a fever since last night", "son", True),
    ("our 6-month-old daughter keeps vomiting", "daughter", True),
    ("I have a 2 year old son who has a barking cough", "son", True),
    ("I'm worried, my son has a fever", "son", True),
    ("My mother had breast cancer, I have chest pain", "mother", False),
    ("My son has a cough and I have a fever too", "son", False),
    ("My mother died of a heart attack", "mother", False),
    ("His grandfather had a heart attack", "grandfather", False),
])
def test_described_person(text, word, theirs):
    from medlens.reasoning.patient import described_person

    i = text.index(word)
    assert described_person(text, i, i + len(word)) is theirs


def test_parent_voice_findings_are_the_patients(engine):
    """Issue: "my son has a fever" was read as family history; true family history stays family."""
    found = {f.name.lower(): f.status for f in engine.findings(text="My 4 year old son has a cough and a fever")}
    assert found.get("fever") == "present" and found.get("cough") == "present", found
    assert {f.name.lower(): f.status for f in engine.findings(text="My daughter doesn't have a fever")}.get(
        "fever") == "absent"
    note = "Family history: father with fever. " + "The patient is well today and was seen in clinic. " * 16
    assert len(note) > 800
    assert {f.name.lower(): f.status for f in engine.findings(text=note)}.get("fever") == "family"
    # the same words outside a patient text keep ConText's reading
    short = {f.name.lower(): f.status for f in engine.extractor.from_text("My son has a fever", semantic=False)}
    assert short.get("fever") == "family"


@pytest.mark.parametrize("text", ["I don't have a fever.", "I haven't had a fever since Tuesday.",
                                  "She doesn't have a fever", "I no longer have a fever", "He didnt have any fever"])
def test_scan_text_reads_contracted_negations(ddx, text):
    got = {(ddx.features[m.feature].key, m.status) for m in scan_text(text, ddx.features, symptoms=True)}
    assert ("fievre", "absent") in got and ("fievre", "present") not in got


def test_a_word_scan_does_not_overturn_the_pipelines_negation(ddx):
    """The pipeline read "fever" as absent (its assertion cue may be one the word scan does not know):
    the scan of the same words must not make it present."""
    from medlens.reasoning import DiagnosisEngine

    text = "My throat hurts. Fever: denied by me today."
    fever = Finding(id="HP:0001945", name="Fever", status="absent", text="Fever", start=17, end=22)
    engine = DiagnosisEngine.__new__(DiagnosisEngine)
    engine._common = ddx
    i = next(j for j, f in enumerate(ddx.features) if f.key == "fievre")
    engine.feature_hits = lambda f: [i] if f.id == "HP:0001945" else []
    engine._stated = lambda f: []
    engine._link_table_features = lambda: None
    present, absent, *_ = engine.case_features([fever], text)
    assert i in absent and i not in present


def test_symcat_csv_reads_the_nested_selections(tmp_path):
    """symcat-474-symptoms.csv nests most rows under selection2_selection1_, selection2_selection2_selection1_, ...;
    rows holding only a demographic risk factor are skipped; a nested row's error names its line and column."""
    from medlens.reasoning.common import CommonKnowledge

    cols = ["name", "disorder_name", "disorder_probability", "sex_risk_factor_name"]
    pres = ["selection1_", "selection2_selection1_", "selection2_selection2_selection1_"]
    header = [p + c for p in pres for c in cols]

    def row(pre, vals):
        cells = dict.fromkeys(header, "")
        cells.update({pre + c: v for c, v in zip(cols, vals)})
        return ",".join(cells[h] for h in header)

    lines = [",".join(header), row(pres[0], ["Cough", "Acute bronchitis", "40", ""]),
             row(pres[1], ["Fever", "Influenza", "25", ""]), row(pres[1], ["", "", "", "Male"]),
             row(pres[2], ["Cough", "Influenza", "30", ""])]
    p = tmp_path / "symcat-474-symptoms.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    k = CommonKnowledge.from_table(p)
    assert sorted(k.names) == ["Acute bronchitis", "Influenza"]
    flu, cough = k.names.index("Influenza"), [f.key for f in k.features].index("Cough")
    assert abs(k.p[flu, cough] - 0.30) < 1e-9
    lines.append(row(pres[2], ["Fever", "Pneumonia", "", ""]))
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"line 6: disorder 'Pneumonia' has no selection2_selection2_selection1_disorder_probability"):
        CommonKnowledge.from_table(p)


def test_diagnosis_input_errors_name_the_bad_value_and_the_accepted_form(tiny_kg, nlp):
    from medlens.errors import InputError
    from medlens.reasoning.engine import DiagnosisEngine

    engine = DiagnosisEngine(tiny_kg, nlp=nlp)
    with pytest.raises(InputError, match=r"Unknown mode 'genetic'\. Accepted: auto, common, rare"):
        engine.diagnose("I have a fever.", mode="genetic")
    with pytest.raises(InputError, match="top must be at least 1, got 0"):
        engine.diagnose("I have a fever.", top=0)
    with pytest.raises(InputError, match=r"item 0 has unknown key\(s\) colour; accepted: id, text, present, status\. "
                                         r"It must be a list of HPO ids"):
        engine.extractor.from_json([{"id": "HP:0001945", "colour": "red"}])
    with pytest.raises(InputError, match="Findings JSON must be a list, got dict"):
        engine.extractor.from_json('{"id": "HP:0001945"}')
    with pytest.raises(InputError, match="Symptoms must be a str, got int"):
        engine.extractor.from_symptoms(3)
