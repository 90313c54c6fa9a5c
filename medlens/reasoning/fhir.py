"""A differential as FHIR R4: a ``Bundle`` (type ``collection``) of ``Condition`` resources with
``verificationStatus`` *differential*, the ``Patient`` (sex, age when known) and a preliminary
``DiagnosticReport`` that lists them, with the triage level and the disclaimer as its conclusion.

Plain JSON-ready dicts, no FHIR library at run time (as :mod:`medlens.io.fhir`); the tests validate
the output with the ``fhir.resources`` models. Codes: ICD-10-CM (``http://hl7.org/fhir/sid/icd-10-cm``)
when the diagnosis has one, and the knowledge's own id (``urn:medlens:ddxplus``, OMIM, Orphanet ...).
"""

from __future__ import annotations

import uuid
from typing import Any

from medlens.reasoning.models import Diagnosis, Differential

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
SEVERITY = "http://snomed.info/sct"
SYSTEMS = {"OMIM": "https://www.omim.org", "ORPHA": "http://www.orpha.net"}
_SEVERITY = {1: ("24484000", "Severe"), 2: ("24484000", "Severe"), 3: ("6736007", "Moderate"),
             4: ("255604002", "Mild"), 5: ("255604002", "Mild")}


def _uid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _condition(d: Diagnosis, subject: str) -> dict[str, Any]:
    codings = []
    if d.icd10cm:
        codings.append({"system": ICD10CM, "code": d.icd10cm, **({"display": d.icd10cm_name} if d.icd10cm_name else {})})
    prefix, _, code = d.id.partition(":")
    codings.append({"system": SYSTEMS.get(prefix, f"urn:medlens:{prefix.lower()}"), "code": code or d.id, "display": d.name})
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "verificationStatus": {"coding": [{"system": VER_STATUS, "code": "differential", "display": "Differential"}]},
        "category": [{"coding": [{"system": CATEGORY, "code": "encounter-diagnosis", "display": "Encounter Diagnosis"}]}],
        "code": {"coding": codings, "text": d.name},
        "subject": {"reference": subject},
        "note": [{"text": f"rank {d.rank}, probability {d.probability:.3f} ({d.knowledge or d.source})"
                          + (f"; urgency {d.urgency}" if d.urgency else "") + ("; can't-miss diagnosis" if d.cant_miss else "")}],
    }
    if d.severity is not None:
        sct, name = _SEVERITY[d.severity]
        res["severity"] = {"coding": [{"system": SEVERITY, "code": sct, "display": name}], "text": f"DDXPlus severity {d.severity}"}
    ev = [e.finding_name for e in d.supporting[:5]]
    if ev:
        res["evidence"] = [{"detail": [{"display": name}]} for name in ev]
    return res


def differential_bundle(result: Differential) -> dict[str, Any]:
    """The FHIR R4 Bundle of a differential (see the module docstring)."""
    patient_id = _uid()
    patient: dict[str, Any] = {"resourceType": "Patient"}
    if result.patient and result.patient.sex:
        patient["gender"] = result.patient.sex
    entries = [{"fullUrl": patient_id, "resource": patient}]
    refs = []
    for d in result.diagnoses:
        uid = _uid()
        refs.append(uid)
        entries.append({"fullUrl": uid, "resource": _condition(d, patient_id)})
    conclusion = []
    if result.triage:
        conclusion.append(f"Triage: {result.triage.advice} ({result.triage.reason}).")
    if result.patient and result.patient.age is not None:
        conclusion.append(f"Patient age {result.patient.age:g} years.")
    conclusion.append("Ranked by " + "; ".join(result.knowledge or [result.method]) + ".")
    conclusion.append(result.disclaimer)
    report = {
        "resourceType": "DiagnosticReport",
        "status": "preliminary",
        "code": {"text": f"Differential diagnosis ({result.mode} mode, decision support)"},
        "subject": {"reference": patient_id},
        "conclusion": " ".join(conclusion),
        "conclusionCode": [{"coding": [c for c in _condition(d, patient_id)["code"]["coding"]], "text": d.name}
                           for d in result.diagnoses[:5]],
        "extension": [{"url": "urn:medlens:condition", "valueReference": {"reference": r}} for r in refs],
    }
    entries.append({"fullUrl": _uid(), "resource": report})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
