"""Issue 12, sixth round: triage by acuity — vital signs with their units and age-banded limits, NEWS2 for
adults, signs in words, the patient's condition, the care level of a diagnosis, and the reason in the result."""

import json

import pytest

from medlens.errors import ResourceError
from medlens.reasoning.acuity import (
    acuity_rules,
    assess_acuity,
    care_severity,
    raise_for_acuity,
    read_vitals,
)


def _vitals(text):
    return {(v.vital, v.value) for v in read_vitals(text)}


def test_vital_signs_are_read_with_their_names_and_units():
    assert _vitals("Vitals: T 38.9, HR 108, RR 24, BP 118/70, SpO2 90% on room air.") == {
        ("temp", 38.9), ("hr", 108.0), ("rr", 24.0), ("sbp", 118.0), ("spo2", 90.0)}
    # Fahrenheit, with or without its unit, becomes °C; words between the name and the value
    assert _vitals("Temperature is 101.3 F, pulse is 70, respiratory rate is 20, O2 sats of 94 %") == {
        ("temp", 38.5), ("hr", 70.0), ("rr", 20.0), ("spo2", 94.0)}
    assert ("temp", 37.4) in _vitals("temperature 99.3, blood pressure: 100/54")
    # a number without its vital's name, a percentage that is not a saturation, an implausible value: nothing
    assert _vitals("She is 90 and walks 24 minutes a day; 95% of her meals") == set()
    assert _vitals("SpO2 900%") == set()


def test_adult_news2_sets_emergency_with_its_reason():
    a = assess_acuity("72 yo M. Muddled since this morning. T 38.9, HR 108, RR 24, BP 118/70, SpO2 90% on room air.", 72)
    assert a.level == "emergency" and a.score == 10  # 1 + 1 + 2 + 0 + 3 + confusion 3
    reason = a.reason()
    assert "SpO2 90 %" in reason and "NEWS2 score 10" in reason and "muddled" in reason.lower()
    assert reason.startswith("SpO2 90 % (BTS / NICE")
    level, why = raise_for_acuity("soon", "the likely diagnoses need a doctor's assessment", a)
    assert level == "emergency" and why.startswith("emergency because ")


def test_one_low_saturation_is_an_emergency_and_one_red_parameter_is_soon():
    assert assess_acuity("SpO2 88 % on room air", 40).level == "emergency"
    a = assess_acuity("RR 26, HR 80, BP 130/80, SpO2 98%", 50)  # NEWS2 3 from one parameter only
    assert a.level == "soon" and a.score == 3
    assert assess_acuity("T 37.0, HR 80, RR 16, BP 128/76, SpO2 98%", 50).level is None


def test_child_limits_depend_on_age():
    text = "T 38.2, HR 150, RR 45, SpO2 97%."
    assert assess_acuity(text, 0.1).level == "emergency"  # under 3 months with 38 °C or more (NICE red)
    assert assess_acuity(text, 0.8).level is None  # 6-12 months: RR up to 50 and HR up to 160 are within limits
    assert assess_acuity(text, 3).level == "soon"  # 2-5 years: HR above 140, RR above 40 (NICE amber)
    assert assess_acuity(text, 30).level == "emergency"  # an adult: NEWS2 3 + 3 + 1
    assert assess_acuity("4-month-old, subcostal retractions and nasal flaring", 0.33).level == "emergency"


def test_signs_negated_or_in_advice_do_not_count():
    assert assess_acuity("Not blue, no confusion, no retractions.", 2).level is None
    assert assess_acuity("Return if he has grunting or nasal flaring.", 2).level is None
    # advice reaches to the end of its clause: after ";" the sign is the patient's now again
    assert assess_acuity("Return if he has a fever; he has grunting and nasal flaring now.", 2).level == "emergency"
    assert assess_acuity("Lips turned blue when he coughed.", 2).level == "emergency"


def test_modifiers_raise_self_care_to_soon():
    assert assess_acuity("I'm 20 weeks pregnant and have a cold.", 30).level == "soon"
    assert assess_acuity("I'm pregnant and have a cold.", None).level == "soon"  # words show it without an age
    assert assess_acuity("Her mother was pregnant with twins.", 0.8).level is None  # a baby is no pregnant patient
    assert assess_acuity("I am on chemotherapy for breast cancer and have a sore throat.", 50).level == "soon"
    assert assess_acuity("He is off all immunosuppression now.", 40).level is None
    assert assess_acuity("a sore throat", 85).signs[0].name == "old age"
    assert assess_acuity("a sore throat", 0.1).level == "soon"  # a baby under 3 months


def test_levels_are_only_ever_raised():
    a = assess_acuity("SpO2 98%, HR 80", 40)
    assert raise_for_acuity("emergency", "x", a) == ("emergency", "x")
    a = assess_acuity("I'm pregnant", 30)
    assert raise_for_acuity("emergency", "x", a) == ("emergency", "x")
    assert raise_for_acuity("self-care", "x", a) == ("soon", "soon because pregnancy")


def test_care_levels_replace_severity_for_triage(ddx):
    sev = care_severity(list(ddx.severity), list(ddx.ids), age=30)
    i = ddx.disease_index
    assert sev[i["DDXPLUS:stable_angina"]] == 3 and ddx.severity[i["DDXPLUS:stable_angina"]] == 2
    assert sev[i["DDXPLUS:gerd"]] == 4 and sev[i["DDXPLUS:influenza"]] == 4
    assert care_severity(list(ddx.severity), list(ddx.ids), age=70)[i["DDXPLUS:influenza"]] == 3  # flu from 65: soon
    assert sev[i["DDXPLUS:possible_nstemi_stemi"]] == 1  # unchanged


@pytest.mark.parametrize("change,words", [
    (lambda d: d["vitals"].update(bp={**d["vitals"]["hr"]}), "unknown vital"),
    (lambda d: d["adult"]["bands"]["rr"].reverse(), "increasing upper bounds"),
    (lambda d: d["child"][0].update(level="urgent"), "'urgent' is not 'soon' or 'emergency'"),
    (lambda d: d["signs"][0]["patterns"].append("(unclosed"), "bad pattern"),
    (lambda d: d["child"][0].update(above=3), "exactly one of"),
])
def test_bad_rules_name_the_place(tmp_path, change, words):
    from medlens.resources import resource_path

    d = json.loads(resource_path("common/acuity.json").read_text(encoding="utf-8"))
    change(d)
    p = tmp_path / "acuity.json"
    p.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(ResourceError) as exc:
        acuity_rules(str(p))
    assert "E1280" in str(exc.value) or words in str(exc.value)
    assert words in str(exc.value)


def test_unknown_key_is_rejected(tmp_path):
    from medlens.resources import resource_path

    d = json.loads(resource_path("common/acuity.json").read_text(encoding="utf-8"))
    d["signs"][0]["leve"] = "soon"
    p = tmp_path / "acuity.json"
    p.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(ResourceError, match="leve"):
        acuity_rules(str(p))


def test_care_list_naming_an_unknown_disease_is_an_error(tmp_path, ddx):
    from medlens.resources import resource_path

    d = json.loads(resource_path("common/acuity.json").read_text(encoding="utf-8"))
    d["care"].append({"id": "DDXPLUS:no_such", "level": "soon", "source": "x"})
    p = tmp_path / "acuity.json"
    p.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(ResourceError, match="no_such"):
        care_severity(list(ddx.severity), list(ddx.ids), rules=acuity_rules(str(p)), path=p)


def test_the_engine_reports_the_acuity_reason(engine):
    text = ("Nurse intake. 70-year-old man with a cough and fever for 3 days, now more confused. "
            "T 38.6, HR 112, RR 26, BP 104/60, SpO2 88% on room air.")
    res = engine.diagnose(text, mode="common")
    t = res.triage
    assert t.level == "emergency" and t.route == "acuity"
    assert "SpO2 88 %" in t.reason and t.news2 is not None and t.news2 >= 7
    assert {v.vital for v in t.vitals} == {"temp", "hr", "rr", "sbp", "spo2"}
    assert any(s.kind == "sign" and s.name == "confusion" for s in t.signs)
    # the same complaint with normal vital signs: the diagnoses decide
    calm = engine.diagnose("70-year-old man with a cough and fever for 3 days. T 37.9, HR 84, RR 16, BP 134/80, "
                           "SpO2 97% on room air.", mode="common")
    assert calm.triage.route != "acuity" and calm.triage.news2 == 0


def test_a_feeling_of_fainting_is_no_faint(engine):
    res = engine.diagnose("My heart was racing and I felt like I was going to pass out, it lasted 10 minutes. "
                          "I'm 24.", mode="common")
    assert not res.triage.reason.startswith("red flag: fainting")


def test_report_json_and_fhir_show_the_acuity_reason(tiny_kg_path, engine, tmp_path):
    from typer.testing import CliRunner

    from medlens.cli.app import app
    from medlens.reasoning.fhir import differential_bundle

    text = "I'm 30. I have a cough and a fever. My oxygen saturation is 88% at home and my pulse 120."
    note = tmp_path / "patient.txt"
    note.write_text(text, encoding="utf-8")
    r = CliRunner().invoke(app, ["diagnose", "--kg", str(tiny_kg_path), "--no-semantic", str(note)])
    assert r.exit_code == 0, r.output
    flat = " ".join(r.output.split())
    assert "emergency because" in flat and "88 %" in flat and "Vital signs read" in flat
    r = CliRunner().invoke(app, ["diagnose", "--kg", str(tiny_kg_path), "--no-semantic", "-f", "json", str(note)])
    data = json.loads(r.output)
    assert data["triage"]["route"] == "acuity" and {v["vital"] for v in data["triage"]["vitals"]} == {"spo2", "hr"}
    res = engine.diagnose(text, mode="common")
    report = next(e["resource"] for e in differential_bundle(res)["entry"]
                  if e["resource"]["resourceType"] == "DiagnosticReport")
    assert "emergency because SpO2 88 %" in report["conclusion"]


@pytest.mark.parametrize("text,age", [
    ("Hi, I'm 29 and I've had a runny nose for 3 days. I'm breastfeeding my 7-month-old.", 29),  # the writer's age
    ("My 6-year-old son has had a cold and his ear hurts.", 6),  # the child the message is about
    ("I'm worried, my 2-year-old has a fever.", 2),
])
def test_the_age_of_the_writers_child_is_not_the_writers(text, age):
    from medlens.reasoning.patient import read_patient

    assert read_patient(text).age == age


@pytest.mark.parametrize("text,key", [
    ("His left ear hurts since last night.", "douleurxx_endroitducorps@ear"),
    ("She keeps tugging at her right ear.", "douleurxx_endroitducorps@ear"),
    ("Pain around my eyes and cheekbones for 10 days.", "douleurxx_endroitducorps@sinus"),
    ("A pressure over both cheeks when I bend forward.", "douleurxx_endroitducorps@sinus"),
])
def test_ear_and_facial_pain_in_patients_words(ddx, text, key):
    from medlens.reasoning.patient import scan_text

    keys = {ddx.features[m.feature].key for m in scan_text(text, ddx.features, symptoms=True) if m.status == "present"}
    assert key in keys, keys


def test_a_possible_drug_reaction_is_not_self_care(engine, monkeypatch):
    """The tiny graph has no amoxicillin: the timing reader is given the drug and the rash of the message as the
    pipeline would find them, and the engine's triage takes its reaction."""
    from medlens.reasoning.models import Finding
    from medlens.reasoning.reactions import TextDrug, timing_reactions

    base = "I have a runny nose and I keep sneezing, my eyes are itchy."
    assert engine.diagnose(base, mode="common").triage.level == "self-care"
    text = "I started the amoxicillin you prescribed on Monday. Since yesterday I have a red itchy rash. " + base

    def reader(doc, said, found):
        a, r = said.index("amoxicillin"), said.index("itchy rash")
        drug = TextDrug("DB01060", "Amoxicillin", "amoxicillin", a, a + 11)
        rash = Finding(id="X:rash", name="Skin rash", text="itchy rash", start=r, end=r + 10, status="present")
        return timing_reactions(said, [drug], [rash])

    monkeypatch.setattr(engine, "_drug_reactions", reader)
    res = engine.diagnose(text, mode="common")
    assert [x.drug_text for x in res.drug_reactions] == ["amoxicillin"]
    assert res.triage.level == "soon" and res.triage.route == "drug reaction" and "amoxicillin" in res.triage.reason
    note = "HISTORY OF PRESENT ILLNESS: " + text + " " + "The patient was seen in clinic today and examined. " * 20
    res = engine.diagnose(note, mode="common")
    assert res.drug_reactions and res.triage.route != "drug reaction"  # a note: the clinician's call
