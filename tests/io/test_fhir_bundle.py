"""FHIR R4 output, validated with the models of the ``fhir.resources`` package."""

import json

import pytest

from medlens.io.fhir import concept_coding, parse_dosage, to_fhir_bundle
from medlens.results import AssertionResult, ConceptLinkResult, CueResult, DocumentResult, EntityResult

pytest.importorskip("fhir.resources", reason="FHIR validation needs the dev extra (pip install -e '.[dev]')")
from fhir.resources.R4B.bundle import Bundle  # noqa: E402  (R4B: R4 with errata; these resources are unchanged)


def _valid(bundle: dict) -> Bundle:
    return Bundle.model_validate(json.loads(json.dumps(bundle)))


def _ent(text, label, start, status="present", concepts=(), cues=(), **flags):
    return EntityResult(text=text, label=label, start=start, end=start + len(text), section="unknown", sentence=0,
                        assertion=AssertionResult(status=status, cues=list(cues), **flags),
                        concepts=[ConceptLinkResult(id=c, name=n, source="x", score=1.0, method="exact") for c, n in concepts])


def _by_type(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


@pytest.mark.parametrize("cid,system,code", [
    ("ICD10CM:E11.9", "http://hl7.org/fhir/sid/icd-10-cm", "E11.9"),
    ("HP:0001945", "http://human-phenotype-ontology.org", "HP:0001945"),
    ("MESH:D003920", "https://www.nlm.nih.gov/mesh", "D003920"),
    ("DB00331", "http://www.drugbank.ca", "DB00331"),
    ("OMIM:154700", "https://www.omim.org", "154700"),
    ("MESHTREE:C14.907.489", "urn:medlens:meshtree", "C14.907.489"),
    ("T:D004", "urn:medlens:t", "D004"),
])
def test_concept_systems(cid, system, code):
    assert concept_coding(cid) == {"system": system, "code": code}


def test_assertions_map_to_verification_status_and_resources():
    text = "No pneumonia. Possible MI. DM2. Fever. Mother had breast cancer. Metformin 500 mg PO BID."
    ents = [
        _ent("pneumonia", "DISEASE", 3, "negated", [("ICD10CM:J18.9", "Pneumonia")], negated=True),
        _ent("MI", "DISEASE", 23, "uncertain", [("ICD10CM:I21.9", "AMI")], uncertain=True),
        _ent("DM2", "DISEASE", 27, concepts=[("ICD10CM:E11.9", "T2DM"), ("MESH:D003924", "Diabetes Mellitus, Type 2")]),
        _ent("Fever", "SYMPTOM", 32, concepts=[("HP:0001945", "Fever")]),
        _ent("breast cancer", "DISEASE", 50, "family", [("HP:0003002", "Breast carcinoma")],
             cues=[CueResult(category="FAMILY", text="Mother", start=39, end=45)], family=True),
        _ent("Metformin", "DRUG", 65, concepts=[("DB00331", "Metformin")]),
    ]
    for e in ents:
        assert text[e.start:e.end] == e.text
    bundle = to_fhir_bundle(DocumentResult(id="n1", chars=len(text), entities=ents), text)
    _valid(bundle)
    conds = {c["code"]["text"]: c for c in _by_type(bundle, "Condition")}
    status = {k: c["verificationStatus"]["coding"][0]["code"] for k, c in conds.items()}
    assert status == {"pneumonia": "refuted", "MI": "unconfirmed", "DM2": "confirmed"}
    assert conds["DM2"]["clinicalStatus"]["coding"][0]["code"] == "active"
    assert [c["system"] for c in conds["DM2"]["code"]["coding"]] == ["http://hl7.org/fhir/sid/icd-10-cm", "https://www.nlm.nih.gov/mesh"]
    (obs,) = _by_type(bundle, "Observation")
    assert obs["valueBoolean"] is True and obs["code"]["coding"][0]["code"] == "HP:0001945"
    (fmh,) = _by_type(bundle, "FamilyMemberHistory")
    assert fmh["relationship"]["coding"][0]["code"] == "MTH"
    assert fmh["condition"][0]["code"]["coding"][0]["system"] == "http://human-phenotype-ontology.org"
    (med,) = _by_type(bundle, "MedicationStatement")
    assert med["status"] == "active"
    dose = med["dosage"][0]
    assert dose["doseAndRate"][0]["doseQuantity"] == {"value": 500.0, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    assert dose["route"]["text"] == "oral" and dose["timing"]["repeat"] == {"frequency": 2, "period": 1, "periodUnit": "d"}
    (patient,) = _by_type(bundle, "Patient")
    assert conds["DM2"]["subject"]["reference"] == f"urn:uuid:{patient['id']}"


def test_negated_symptom_and_drug():
    ents = [_ent("cough", "SYMPTOM", 0, "negated", negated=True), _ent("aspirin", "DRUG", 10, "negated", negated=True),
            _ent("rash", "FINDING", 20, "hypothetical", hypothetical=True)]
    bundle = to_fhir_bundle(DocumentResult(id="x", entities=ents), patient_reference="Patient/123")
    _valid(bundle)
    obs = {o["code"]["text"]: o for o in _by_type(bundle, "Observation")}
    assert obs["cough"]["valueBoolean"] is False and obs["cough"]["status"] == "final"
    assert obs["rash"]["status"] == "preliminary" and "valueBoolean" not in obs["rash"]
    assert _by_type(bundle, "MedicationStatement")[0]["status"] == "not-taken"
    assert not _by_type(bundle, "Patient") and obs["cough"]["subject"] == {"reference": "Patient/123"}


def test_failed_document_gives_operation_outcome():
    bundle = to_fhir_bundle(DocumentResult.failed("bad.txt", "InputError", "bad.txt: the file is empty."))
    _valid(bundle)
    (oo,) = _by_type(bundle, "OperationOutcome")
    assert "empty" in oo["issue"][0]["diagnostics"]


def test_document_categories_become_a_document_reference():
    from medlens.results import CategoryResult

    result = DocumentResult(id="a1", entities=[], sections=[], categories=[
        CategoryResult(label="neoplasms", score=0.81, predicted=True),
        CategoryResult(label="digestive system diseases", score=0.12, predicted=False)])
    bundle = to_fhir_bundle(result)
    _valid(bundle)
    (ref,) = _by_type(bundle, "DocumentReference")
    assert [c["coding"][0]["code"] for c in ref["category"]] == ["neoplasms"]  # only the predicted one is coded
    assert "neoplasms 0.810" in ref["description"] and "digestive system diseases 0.120" in ref["description"]
    patient = _by_type(bundle, "Patient")[0]
    assert ref["subject"]["reference"].endswith(patient["id"])
    assert not _by_type(to_fhir_bundle(result.model_copy(update={"categories": None})), "DocumentReference")


def test_bundle_is_deterministic(nlp):
    text = "HPI: denies chest pain. History of MI. Aspirin 81 mg daily."
    result = DocumentResult.from_doc(nlp(text), doc_id="d1")
    assert to_fhir_bundle(result, text) == to_fhir_bundle(result, text)


def test_pipeline_output_validates(nlp):
    from pathlib import Path

    notes = Path(__file__).resolve().parents[1] / "fixtures" / "notes"
    for note in sorted(notes.glob("*.txt")):
        text = note.read_text()
        bundle = to_fhir_bundle(DocumentResult.from_doc(nlp(text), doc_id=note.name), text)
        _valid(bundle)
        assert bundle["entry"], note.name


@pytest.mark.parametrize("snippet,expected", [
    (" 20 units subcutaneously at bedtime", {"value": 20.0, "code": "[IU]", "route": "subcutaneous", "when": ["HS"]}),
    (" 1 g IV q8h", {"value": 1.0, "code": "g", "route": "intravenous", "period": 8.0}),
    (" 2 puffs inhaled as needed", {"route": "inhalation", "prn": True}),
    (" was stopped last year", None),
])
def test_parse_dosage(snippet, expected):
    d = parse_dosage(snippet)
    if expected is None:
        assert d is None
        return
    if "value" in expected:
        q = d["doseAndRate"][0]["doseQuantity"]
        assert (q["value"], q["code"]) == (expected["value"], expected["code"])
    assert d["route"]["text"] == expected["route"]
    if "when" in expected:
        assert d["timing"]["repeat"]["when"] == expected["when"]
    if "period" in expected:
        assert d["timing"]["repeat"]["period"] == expected["period"] and d["timing"]["repeat"]["periodUnit"] == "h"
    if expected.get("prn"):
        assert d["asNeededBoolean"] is True
