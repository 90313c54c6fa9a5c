"""The reasoning engine over the real default graph (skips when it is not built)."""

import json
import time

import pytest
from typer.testing import CliRunner

from medlens.reasoning import DISCLAIMER, DiagnosisEngine


@pytest.fixture(scope="module")
def engine(full_kg_path):
    return DiagnosisEngine.load(full_kg_path)


@pytest.mark.parametrize("text,hpo", [
    ("my skin itches and has red scaly patches", "HP:0000989"),
    ("I keep throwing up", "HP:0002013"),
    ("it burns when I pee", "HP:0100518"),
])
def test_engine_lay_language_reaches_symptoms(engine, text, hpo):
    found = engine.findings(text=text)
    assert any(hpo in f.hpo and f.status == "present" for f in found), found


def test_engine_symptom_list_negation(engine):
    found = {f.name: f.status for f in engine.findings(symptoms="fever, productive cough, no rash")}
    assert found == {"Fever": "present", "Productive cough": "present", "Skin rash": "absent"}


def test_engine_history_and_family_not_counted(engine):
    res = engine.diagnose("Fever and stiff neck. History of asthma. History of cough.", mode="rare")
    assert {f.name for f in res.excluded_findings} == {"Asthma", "Cough"}
    assert all(f.status in ("present", "absent") for f in res.findings)


def test_engine_history_becomes_risk_factor_not_symptom(engine):
    """Issue 12: a history item the common-disease knowledge uses is an antecedent; a past symptom stays out."""
    res = engine.diagnose("Fever and stiff neck. History of asthma. History of cough.")
    assert res.mode == "common"
    assert {(r.id, r.status, r.context) for r in res.risk_factors} >= {("j45", "present", "history")}
    assert "Cough" not in {f.name for f in res.findings} and "Cough" in {f.name for f in res.excluded_findings}


def test_engine_lay_ids_and_rule_ids_exist(engine):
    from medlens.reasoning.lay import load_lay_lexicon
    from medlens.reasoning.rules import load_rules

    ids = {e.id for e in load_lay_lexicon().entries if e.id}
    ids |= {c for r in load_rules().rules for g in r.all for c in g}
    missing = sorted(i for i in ids if engine.kg.concept(i) is None)
    assert not missing


def test_engine_diagnose_fast_with_evidence(engine):
    found = engine.findings(hpo=["HP:0001250", "HP:0001263", "HP:0000252", "-HP:0000256"])
    engine.diagnose(found)  # builds the index once
    t = time.perf_counter()
    res = engine.diagnose(found, top=5)
    assert time.perf_counter() - t < 1.0
    assert res.candidates > 12000 and len(res.diagnoses) == 5 and res.disclaimer == DISCLAIMER
    top = res.diagnoses[0]
    assert top.supporting and all(e.relation == "has_phenotype" for e in top.supporting)
    assert sum(d.probability for d in res.diagnoses) <= 1.0
    assert res.questions and res.questions[0].information_gain > 0


def test_engine_meningitis_rule(engine):
    res = engine.diagnose(engine.findings(symptoms="fever, stiff neck, headache"))
    assert any(s.provenance.rule == "meningitis-lp" for s in res.suggestions)


def test_cli_diagnose_json(full_kg_path):
    from medlens.cli.app import app

    r = CliRunner().invoke(app, ["diagnose", "--kg", str(full_kg_path), "--hpo", "HP:0001945,-HP:0000988", "-f", "json", "-n", "2"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["disclaimer"] == DISCLAIMER and len(data["diagnoses"]) == 2


def test_cli_diagnose_nothing_given():
    from medlens.cli.app import app

    r = CliRunner().invoke(app, ["diagnose"])
    assert r.exit_code == 2 and "nothing to diagnose" in r.output


def test_bundled_discharge_summary_gets_a_clinical_differential(engine):
    """Issue 12: the bundled NSTEMI discharge summary ranks acute coronary syndromes first, reads the
    patient and his risk factors, and sends him to the emergency department."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "examples" / "01_discharge_summary.txt").read_text(encoding="utf-8")
    res = engine.diagnose(text, top=5)
    assert res.mode == "common" and res.diagnoses[0].icd10cm.startswith(("I21", "I20"))
    assert {d.id for d in res.diagnoses[:3]} >= {"DDXPLUS:possible_nstemi_stemi", "DDXPLUS:unstable_angina"}
    assert res.patient.sex == "male" and res.patient.age == 67
    assert {"i10", "e10_e11", "e78.5", "smokingpast", "z82.49"} <= {r.id for r in res.risk_factors if r.status == "present"}
    assert "f17.210" not in {r.id for r in res.risk_factors}  # a former smoker
    assert res.triage.level == "emergency"
    assert not any("peripartum" in d.name.lower() or "cocaine" in d.name.lower() for d in res.diagnoses)


def test_rare_mode_is_the_phenotype_ranking(engine):
    res = engine.diagnose("Seizures, microcephaly and global developmental delay.", mode="rare", top=3)
    assert res.mode == "rare" and res.candidates > 12000 and all(d.knowledge == "hpo" for d in res.diagnoses)


def test_pregnancy_diseases_excluded_for_a_man_in_rare_mode(engine):
    res = engine.diagnose("58-year-old man with dyspnea, chest pain, palpitations and edema. Cardiomyopathy.", mode="rare", top=20)
    assert not any("peripartum" in d.name.lower() for d in res.diagnoses)


def test_follow_up_visit_with_risk_factors_only_is_not_an_emergency(engine):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "examples" / "04_progress_note.txt").read_text(encoding="utf-8")
    res = engine.diagnose(text)
    assert res.patient.sex == "female" and res.triage.level != "emergency"
    assert {"e10_e11", "i10", "irc"} <= {r.id for r in res.risk_factors if r.status == "present"}


@pytest.mark.slow
def test_parent_voice_croup(engine):
    """A parent describing their son: the son's findings are used, and true family history stays family."""
    res = engine.diagnose("My 4 year old son has a barking cough and a fever since last night")
    used = {f.name: f.status for f in res.findings if f.counted}
    assert used.get("Barking cough") == "present" and used.get("Fever") == "present", used
    assert not any(f.status == "family" for f in res.excluded_findings)
    assert "croup" in res.diagnoses[0].name.lower()
    found = {f.name: f.status for f in engine.findings(text="My daughter doesn't have a fever")}
    assert found.get("Fever") == "absent", found
    found = {f.name: f.status for f in engine.findings(text="My mother had breast cancer, I have chest pain")}
    assert found.get("Chest pain") == "present" and found.get("Breast carcinoma") == "family", found
    found = {f.name: f.status for f in engine.findings(
        text="My 4 year old son has a fever. His grandfather had a heart attack.")}
    assert found.get("Fever") == "present" and "present" not in {s for n, s in found.items() if n != "Fever"}, found


@pytest.mark.slow
def test_clinical_note_family_history_unchanged(engine):
    note = ("HISTORY OF PRESENT ILLNESS: The patient is a 58-year-old man seen for routine follow-up. "
            "Family history: father with MI. " + "He reports no new complaints and exercises daily. " * 16)
    assert len(note) > 800
    fam = {f.name: f.status for f in engine.findings(text=note) if f.status == "family"}
    assert fam, engine.findings(text=note)
