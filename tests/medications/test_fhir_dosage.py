"""FHIR MedicationStatement.dosage from drug attributes, validated with fhir.resources (R4B)."""

from __future__ import annotations

import pytest

pytest.importorskip("fhir.resources", reason="FHIR validation needs the dev extra (pip install -e '.[dev]')")
from fhir.resources.R4B.bundle import Bundle  # noqa: E402

from medlens.io.fhir import to_fhir_bundle  # noqa: E402
from medlens.results import DocumentResult  # noqa: E402

NOTE = ("MEDICATIONS:\n"
        "1. Metoprolol succinate 25 mg PO BID.\n"
        "2. Albuterol inhaler 2 puffs q4-6h PRN wheezing.\n"
        "3. Gabapentin 300 mg PO TID for neuropathic pain.\n"
        "4. Prednisone 40 mg daily for 5 days.\n"
        "5. Amoxicillin 1-2 tabs q8h.\n"
        "Atorvastatin was held.\n")


@pytest.fixture(scope="module")
def statements(meds_nlp):
    result = DocumentResult.from_doc(meds_nlp(NOTE), "note-1", include_text=True)
    bundle = to_fhir_bundle(result)
    Bundle.model_validate(bundle)  # raises on any invalid element
    return {e["resource"]["medicationCodeableConcept"]["text"]: e["resource"] for e in bundle["entry"]
            if e["resource"]["resourceType"] == "MedicationStatement"}


def test_dose_route_and_timing(statements):
    d = statements["Metoprolol succinate"]["dosage"][0]
    assert d["doseAndRate"][0]["doseQuantity"] == {"value": 25.0, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    assert d["route"]["coding"][0] == {"system": "http://snomed.info/sct", "code": "26643006", "display": "Oral route"}
    assert d["timing"]["repeat"] == {"frequency": 2, "period": 1.0, "periodUnit": "d"}
    assert d["timing"]["code"]["coding"][0]["code"] == "BID"


def test_as_needed_reason_range_and_implied_route(statements):
    d = statements["Albuterol inhaler"]["dosage"][0]
    assert d["asNeededCodeableConcept"] == {"text": "wheezing"}
    assert d["timing"]["repeat"] == {"frequency": 1, "period": 4.0, "periodMax": 6.0, "periodUnit": "h"}
    assert d["route"]["coding"][0]["code"] == "447694001"
    assert d["doseAndRate"][0]["doseQuantity"]["code"] == "{puff}"
    r = statements["Amoxicillin"]["dosage"][0]["doseAndRate"][0]["doseRange"]
    assert (r["low"]["value"], r["high"]["value"]) == (1.0, 2.0)


def test_duration_indication_and_status(statements):
    d = statements["Prednisone"]["dosage"][0]
    assert d["timing"]["repeat"]["boundsDuration"] == {"value": 5.0, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"}
    assert statements["Gabapentin"]["reasonCode"][0]["text"] == "neuropathic pain"
    assert statements["Atorvastatin"]["status"] == "on-hold"
    assert "dosage" not in statements["Atorvastatin"]


def test_json_result_carries_attributes_and_events(meds_nlp):
    result = DocumentResult.from_doc(meds_nlp("He developed hepatitis after isoniazid 300 mg daily."), "x")
    drug = next(e for e in result.entities if e.label == "DRUG")
    assert drug.attributes["strength"].value == "300 mg" and drug.attributes["frequency"].details["per_day"] == 1.0
    (ev,) = result.adverse_events
    assert (ev.drug, ev.effect, ev.relation) == ("isoniazid", "hepatitis", "caused")
    other = next(e for e in result.entities if e.label != "DRUG")
    assert other.attributes is None
    assert "attributes" not in other.model_dump(exclude_none=True)


def test_chemicals_become_statements_only_when_given():
    from medlens.results import AssertionResult, DrugAttributeResult, EntityResult

    def chem(text, attrs):
        return EntityResult(text=text, label="CHEMICAL", start=0, end=len(text), section="unknown", sentence=0,
                            assertion=AssertionResult(status="present"), attributes=attrs)

    strength = DrugAttributeResult(text="20 mEq", start=0, end=6, value="20 meq", details={"amount": 20.0, "ucum": "meq"})
    route = DrugAttributeResult(text="PO", start=7, end=9, value="PO",
                                details={"code": "PO", "snomed": "26643006", "display": "Oral route"})
    lab = DocumentResult(id="a", entities=[chem("sodium", {"strength": strength})])
    given = DocumentResult(id="b", entities=[chem("potassium chloride", {"strength": strength, "route": route})])
    kinds = lambda r: [e["resource"]["resourceType"] for e in to_fhir_bundle(r)["entry"]]  # noqa: E731
    assert "MedicationStatement" not in kinds(lab)
    assert "MedicationStatement" in kinds(given)
    Bundle.model_validate(to_fhir_bundle(given))
