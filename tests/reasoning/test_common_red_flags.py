"""Issue 12, fifth round: red flags set the triage of a patient's own description, two encodings of one
symptom count once, and the patient's age and sex from a patient's own words."""

import json

import pytest

from medlens.errors import SourceError
from medlens.reasoning.common import RedFlag, raise_for_red_flags, red_flag_rules, red_flags
from medlens.reasoning.patient import read_patient, scan_text


def test_shipped_rules_name_features_of_the_knowledge(ddx):
    rules = red_flag_rules(known=frozenset(f.key for f in ddx.features))
    whys = {r.why for r in rules}
    assert {"fainting or loss of consciousness", "vomiting blood", "swelling of the face or lips with hives or a rash",
            "chest pain on exertion", "noisy breathing in (stridor)", "slurred speech"} <= whys
    assert {r.level for r in rules} <= {"emergency", "soon"}


@pytest.mark.parametrize("rule,words", [
    ({"why": "x", "all": ["pdc"], "level": "urgent"}, "level 'urgent'"),
    ({"why": "x", "all": [], "level": "soon"}, "'all' must be a non-empty list"),
    ({"why": "", "all": ["pdc"], "level": "soon"}, "'why' must be a non-empty text"),
    ({"why": "x", "all": ["pdc"], "level": "soon", "lvl": 1}, "unknown key(s) ['lvl']"),
    ({"why": "x", "all": ["no_such_feature"], "level": "soon"}, "not in the knowledge"),
])
def test_bad_rules_name_the_rule(tmp_path, ddx, rule, words):
    p = tmp_path / "flags.json"
    p.write_text(json.dumps({"rules": [{"why": "ok", "all": ["pdc"], "level": "soon"}, rule]}), encoding="utf-8")
    with pytest.raises(SourceError) as exc:
        red_flag_rules(str(p), known=frozenset(f.key for f in ddx.features))
    assert "rule 2" in str(exc.value) and words in str(exc.value)


def test_red_flags_raise_never_lower():
    rules = (RedFlag("coughing up blood", ("crach_sg",), "emergency"),
             RedFlag("chest pain on exertion", ("chest", "effort"), "emergency"),
             RedFlag("blood in the stool", ("rectorragie",), "soon"))
    assert red_flags(["chest"], rules) == []  # every feature of a rule is needed
    hits = red_flags(["rectorragie", "chest", "effort"], rules)
    assert [h.why for h in hits] == ["chest pain on exertion", "blood in the stool"]  # most urgent first
    assert raise_for_red_flags("self-care", "mild", hits) == ("emergency", "red flag: chest pain on exertion")
    assert raise_for_red_flags("emergency", "x", red_flags(["rectorragie"], rules)) == ("emergency", "x")
    assert raise_for_red_flags("self-care", "x", red_flags(["rectorragie"], rules))[0] == "soon"


def test_a_patient_text_with_swollen_lips_is_an_emergency(engine):
    mild = "I have a runny nose and I keep sneezing, my eyes are itchy."
    res = engine.diagnose(mild, mode="common")
    assert res.triage.level == "self-care"
    res = engine.diagnose(mild + " Since this morning my lips are swollen and I have hives.", mode="common")
    assert res.triage.level == "emergency"  # anaphylaxis first, or the red flag
    res = engine.diagnose(mild + " I passed out this morning.", mode="common")
    assert res.triage.level == "soon" and res.triage.reason == "red flag: fainting or loss of consciousness"
    res = engine.diagnose("I have hives on my arms. No swelling of my lips or tongue, I can breathe.", mode="common")
    assert not (res.triage and res.triage.reason.startswith("red flag"))


def test_red_flags_do_not_set_the_triage_of_a_note(engine):
    text = ("HISTORY OF PRESENT ILLNESS: The patient reports hives after eating shrimp; her lips and tongue are "
            "swelling. She passed out once.\nPAST MEDICAL HISTORY: None.\nPHYSICAL EXAMINATION: Lungs: Clear.")
    res = engine.diagnose(text, mode="common")
    assert not (res.triage and res.triage.reason.startswith("red flag"))


def test_lip_and_tongue_swelling_words(ddx):
    i = ddx.feature_index["oedeme_endroitducorps@face"]
    for t in ("my lips and tongue are swelling", "her face is swollen", "swelling of the lips", "my tongue swelled"):
        assert any(m.feature == i and m.status == "present" for m in scan_text(t, ddx.features)), t
    assert not any(m.feature == i for m in scan_text("my ankles are swollen", ddx.features))


def test_coughing_fits_are_no_seizure(ddx):
    i = ddx.feature_index["convulsion"]
    assert not any(m.feature == i for m in scan_text("He has coughing fits at night.", ddx.features, symptoms=True))
    assert any(m.feature == i for m in scan_text("She had two fits yesterday.", ddx.features, symptoms=True))


def test_sore_throat_counts_once(ddx, engine):
    """DDXPlus asks "sore throat?" and "where is the pain? throat"; its viral pharyngitis patients answer only the
    second. Both encodings take the larger probability, and a case with both counts one."""
    a, b = ddx.feature_index["gorge_dlr"], ddx.feature_index["douleurxx_endroitducorps@throat"]
    assert ddx.same_as == {a: b}
    ph = ddx.disease_index["DDXPLUS:viral_pharyngitis"]
    assert ddx.p[ph, a] == ddx.p[ph, b] > 0.5
    present, *_ = engine.case_features([], "I have a sore throat and a runny nose.")
    assert (a in present) != (b in present)


@pytest.mark.parametrize("text,age,sex", [
    ("I am 34 and pregnant, with a cough.", 34.0, "female"),
    ("I'm 34 weeks pregnant and have a headache.", None, "female"),
    ("My husband is 58, he has chest pain.", 58.0, "male"),
    ("I'm 25 and my heart races.", 25.0, None),
    ("I am 5 feet tall and I'm 100% sure it is a rash.", None, None),
    ("My wife is pregnant and I have a fever.", None, None),
])
def test_age_and_sex_from_a_patients_own_words(text, age, sex):
    p = read_patient(text)
    assert (p.age, p.sex) == (age, sex)


def test_coughing_up_blood_counts_with_breathlessness_or_chest_pain(ddx):
    """Coughing up blood alone is no red flag (DDXPlus's viral pharyngitis patients have it); with shortness of
    breath or chest pain it is an emergency, with weight loss a reason to see a doctor soon."""
    rules = red_flag_rules(known=frozenset(f.key for f in ddx.features))
    assert red_flags(["crach_sg"], rules) == [] and red_flags(["crach_sg", "fievre"], rules) == []
    assert red_flags(["crach_sg", "dyspn"], rules)[0].level == "emergency"
    assert red_flags(["crach_sg", "douleurxx_endroitducorps@chest"], rules)[0].level == "emergency"
    assert [r.level for r in red_flags(["crach_sg", "perte_poids"], rules)] == ["soon"]


def test_a_past_faint_is_no_red_flag(engine):
    cold = "I have a cold with a runny nose and I keep sneezing."
    assert engine.diagnose(cold + " I fainted last year.", mode="common").triage.level == "self-care"
    assert engine.diagnose(cold + " I passed out 2 days ago.", mode="common").triage.reason == (
        "red flag: fainting or loss of consciousness")


def test_exertion_in_a_patients_words(ddx):
    i = ddx.feature_index["ww_effort"]
    for t in ("I get chest pain when I walk uphill", "the pressure comes when I climb stairs", "it goes away when I rest"):
        assert any(m.feature == i and m.status == "present" for m in scan_text(t, ddx.features, symptoms=True)), t
    # breathlessness on climbing is exertional dyspnea (anemia, heart failure), not exertional pain
    hits = {ddx.features[m.feature].key for m in scan_text("I get short of breath when I climb stairs", ddx.features, symptoms=True)}
    assert "dysp_effort" in hits and "ww_effort" not in hits


def test_a_fever_with_a_stiff_neck_is_an_emergency(engine):
    # meningitis is none of DDXPlus's pathologies: the ranking alone would say a mild infection, self-care
    res = engine.diagnose("I have a high fever, a stiff neck and a bad headache, and light hurts my eyes.", mode="common")
    assert res.triage.level == "emergency"
    assert res.triage.reason == "red flag: a fever with a stiff neck (possible meningitis)"
    res = engine.diagnose("I have a high fever and a bad headache. My neck is not stiff.", mode="common")
    assert not (res.triage and res.triage.reason.startswith("red flag"))
