"""FHIR R4 form of a note summary: a ``Bundle`` (type ``document``) whose first entry is a ``Composition``.

The Composition has one section per part of the summary, each listing its
resources in ``entry`` references:

==================  ==================================================================
summary part        resource
==================  ==================================================================
problems            ``Condition`` (clinicalStatus active / resolved / inactive for historical;
                    verificationStatus confirmed, provisional for suspected, refuted for ruled out)
medications         ``MedicationStatement`` (status active / completed / stopped), dosage text
                    from the medication attributes when present
allergies           ``AllergyIntolerance`` (clinicalStatus active, code = the substance)
findings            ``Observation`` (valueBoolean true; false for pertinent negatives)
abnormal results    ``Observation`` (category laboratory, interpretation abnormal)
procedures          ``Procedure`` (status completed)
follow-up           the section's narrative only
what changed        a narrative-only section ("lisinopril: increased")
==================  ==================================================================

Every resource notes the note spans it was read from (offsets and section).
Codings reuse :func:`medlens.io.fhir.concept_coding`. Ids are UUIDs derived from
the summary id and the item's first span, so the same summary gives the same Bundle.
"""

from __future__ import annotations

import html
import uuid
from datetime import datetime, timezone
from typing import Any

from medlens.io.fhir import concept_coding
from medlens.summarize.models import NoteSummary, SummaryItem

_NS = uuid.UUID("0b7d7a0e-1f55-4f0b-8a7e-5f3a3c2d9e16")
_CLIN = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_ALLERGY_CLIN = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
_INTERP = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_LOINC = "http://loinc.org"

# LOINC document and section codes
_DOC_TYPE = ("60591-5", "Patient summary Document")
_SECTIONS = {
    "problems": ("11450-4", "Problem list - Reported", "Problems"),
    "medications": ("10160-0", "History of Medication use Narrative", "Medications"),
    "allergies": ("48765-2", "Allergies and adverse reactions Document", "Allergies"),
    "positive_findings": ("29545-1", "Physical findings Narrative", "Key findings"),
    "pertinent_negatives": ("10187-3", "Review of systems Narrative - Reported", "Pertinent negatives"),
    "abnormal_results": ("30954-2", "Relevant diagnostic tests/laboratory data Narrative", "Abnormal results"),
    "procedures": ("47519-4", "History of Procedures Document", "Procedures"),
    "follow_up": ("18776-5", "Plan of care note", "Follow-up and pending"),
}


def _cc(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _code(item: SummaryItem) -> dict[str, Any]:
    out: dict[str, Any] = {"text": item.text}
    if item.concept_id:
        out["coding"] = [concept_coding(item.concept_id, item.concept_name)]
    return out


def _note(item: SummaryItem) -> list[dict[str, str]]:
    spans = "; ".join(f"chars {s.start}-{s.end} in {s.section}: '{s.text}'" for s in item.sources[:6])
    return [{"text": f"medlens summary, from {spans}" + (f"; {item.reason}" if item.reason else "")}]


def _condition(item: SummaryItem, subject: dict) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Condition", "code": _code(item), "subject": subject, "note": _note(item)}
    ver = {"suspected": "provisional", "ruled_out": "refuted"}.get(item.status, "confirmed")
    res["verificationStatus"] = _cc(_VER, ver)
    if ver != "refuted":  # a refuted condition carries no clinical status (FHIR con-5)
        clin = {"active": "active", "suspected": "active", "resolved": "resolved", "historical": "inactive"}[item.status]
        res["clinicalStatus"] = _cc(_CLIN, clin)
    if item.dates:
        res["onsetString"] = item.dates[0]
    return res


def _medication(item: SummaryItem, subject: dict) -> dict[str, Any]:
    status = {"active": "active", "historical": "completed", "stopped": "stopped", "considered": "intended"}.get(item.status, "unknown")
    res: dict[str, Any] = {"resourceType": "MedicationStatement", "status": status,
                           "medicationCodeableConcept": _code(item), "subject": subject, "note": _note(item)}
    if item.attributes:
        res["dosage"] = [{"text": ", ".join(f"{k} {v}" for k, v in item.attributes.items())}]
    return res


def _allergy(item: SummaryItem, patient: dict) -> dict[str, Any]:
    return {"resourceType": "AllergyIntolerance", "clinicalStatus": _cc(_ALLERGY_CLIN, "active"),
            "code": _code(item), "patient": patient, "note": _note(item)}


def _observation(item: SummaryItem, subject: dict, *, present: bool, abnormal: bool = False) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Observation", "status": "final", "code": _code(item), "subject": subject,
                           "note": _note(item)}
    if abnormal:
        res["category"] = [_cc(_OBS_CAT, "laboratory", "Laboratory")]
        res["interpretation"] = [_cc(_INTERP, "A", "Abnormal")]
        res["valueString"] = item.sources[0].text if item.sources else item.text
    else:
        res["valueBoolean"] = present
    return res


def _procedure(item: SummaryItem, subject: dict) -> dict[str, Any]:
    return {"resourceType": "Procedure", "status": "completed", "code": _code(item), "subject": subject,
            "note": _note(item)}


def _narrative(lines: list[str]) -> dict[str, str]:
    body = "".join(f"<li>{html.escape(x)}</li>" for x in lines) if lines else "<li>none found</li>"
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><ul>{body}</ul></div>'}


def summary_to_fhir(summary: NoteSummary, *, patient_reference: str | None = None, date: str | None = None) -> dict[str, Any]:
    """A FHIR R4 document ``Bundle`` for a note summary.

    Args:
        summary: the summary.
        patient_reference: e.g. ``Patient/123`` for every subject; None adds a
            placeholder ``Patient`` (an id only) to the Bundle.
        date: the Composition's date (ISO 8601); None uses the current time.

    Returns:
        The Bundle as a JSON-ready dict; its first entry is the ``Composition``.
    """
    key = summary.id or "summary"
    entries: list[dict[str, Any]] = []

    def add(resource: dict[str, Any], rkey: str) -> str:
        rid = str(uuid.uuid5(_NS, f"{key}|{rkey}"))
        entries.append({"fullUrl": f"urn:uuid:{rid}", "resource": {"resourceType": resource["resourceType"], "id": rid,
                                                                  **{k: v for k, v in resource.items() if k != "resourceType"}}})
        return f"urn:uuid:{rid}"

    if patient_reference:
        subject = {"reference": patient_reference}
    else:
        subject = {"reference": add({"resourceType": "Patient"}, "patient")}

    sections = []
    for field, (code, display, title) in _SECTIONS.items():
        items: list[SummaryItem] = getattr(summary, field)
        refs = []
        for item in items:
            rkey = f"{field}|{item.sources[0].start if item.sources else item.text}"
            if field == "problems":
                refs.append(add(_condition(item, subject), rkey))
            elif field == "medications":
                refs.append(add(_medication(item, subject), rkey))
            elif field == "allergies":
                refs.append(add(_allergy(item, subject), rkey))
            elif field == "positive_findings":
                refs.append(add(_observation(item, subject, present=True), rkey))
            elif field == "pertinent_negatives":
                refs.append(add(_observation(item, subject, present=False), rkey))
            elif field == "abnormal_results":
                refs.append(add(_observation(item, subject, present=True, abnormal=True), rkey))
            elif field == "procedures":
                refs.append(add(_procedure(item, subject), rkey))
        lines = [i.text + (f" ({i.status.replace('_', ' ')})" if field == "problems" else "") for i in items]
        if field == "allergies" and not items and summary.no_known_allergies:
            lines = ["no known allergies"]
        section: dict[str, Any] = {"title": title, "code": _cc(_LOINC, code, display), "text": _narrative(lines)}
        if refs:
            section["entry"] = [{"reference": r} for r in refs]
        else:
            section["emptyReason"] = _cc("http://terminology.hl7.org/CodeSystem/list-empty-reason",
                                         "nilknown" if field == "allergies" and summary.no_known_allergies else "unavailable")
        sections.append(section)

    # what changed: narrative only (each change already has its resource in the sections above)
    changes = [f"{c.text}: {c.status}" for c in summary.changes]
    sections.append({"title": "What changed", "text": _narrative(changes)} if changes else
                    {"title": "What changed", "text": _narrative([]),
                     "emptyReason": _cc("http://terminology.hl7.org/CodeSystem/list-empty-reason", "unavailable")})
    when = date or datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    composition = {"resourceType": "Composition", "id": str(uuid.uuid5(_NS, f"{key}|composition")),
                   "status": "preliminary", "type": _cc(_LOINC, *_DOC_TYPE), "subject": subject, "date": when,
                   "author": [{"display": "medlens summarize (automatic, unreviewed)"}],
                   "title": f"Summary of {summary.id}" if summary.id else "Note summary", "section": sections}
    bundle_entries = [{"fullUrl": f"urn:uuid:{composition['id']}", "resource": composition}, *entries]
    return {"resourceType": "Bundle", "id": str(uuid.uuid5(_NS, f"{key}|bundle")), "type": "document",
            "identifier": {"system": "urn:medlens:summary", "value": key}, "timestamp": when, "entry": bundle_entries}



_VISIT_SECTIONS = {
    "chief_complaint": ("10154-3", "Chief complaint Narrative - Reported"),
    "history_of_present_illness": ("10164-2", "History of Present illness Narrative"),
    "review_of_systems": ("10187-3", "Review of systems Narrative - Reported"),
    "physical_exam": ("29545-1", "Physical findings Narrative"),
    "results": ("30954-2", "Relevant diagnostic tests/laboratory data Narrative"),
    "assessment_and_plan": ("51847-2", "Evaluation + Plan note"),
}


def visit_note_to_fhir(note, *, patient_reference: str | None = None, date: str | None = None) -> dict[str, Any]:
    """A FHIR R4 document ``Bundle`` for a visit note: a ``Composition`` with one narrative section per note section.

    Args:
        note: a :class:`~medlens.summarize.models.VisitNote`.
        patient_reference: e.g. ``Patient/123``; None adds a placeholder ``Patient``.
        date: the Composition's date (ISO 8601); None uses the current time.

    Returns:
        The Bundle as a JSON-ready dict (each sentence's source turns are in the narrative).
    """
    key = note.id or "visit"
    entries: list[dict[str, Any]] = []
    if patient_reference:
        subject = {"reference": patient_reference}
    else:
        pid = str(uuid.uuid5(_NS, f"{key}|patient"))
        entries.append({"fullUrl": f"urn:uuid:{pid}", "resource": {"resourceType": "Patient", "id": pid}})
        subject = {"reference": f"urn:uuid:{pid}"}
    sections = []
    for section in note.sections:
        code, display = _VISIT_SECTIONS[section.name]
        lines = [f"{s.text} [turns {', '.join(str(t) for t in s.turns)}]" for s in section.sentences]
        entry: dict[str, Any] = {"title": section.title, "code": _cc(_LOINC, code, display), "text": _narrative(lines)}
        if not section.sentences:
            entry["emptyReason"] = _cc("http://terminology.hl7.org/CodeSystem/list-empty-reason", "unavailable")
        sections.append(entry)
    when = date or datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    composition = {"resourceType": "Composition", "id": str(uuid.uuid5(_NS, f"{key}|composition")),
                   "status": "preliminary", "type": _cc(_LOINC, "34109-9", "Note"), "subject": subject, "date": when,
                   "author": [{"display": "medlens summarize --dialogue (automatic draft, unreviewed)"}],
                   "title": "Visit note (draft)", "section": sections}
    return {"resourceType": "Bundle", "id": str(uuid.uuid5(_NS, f"{key}|bundle")), "type": "document",
            "identifier": {"system": "urn:medlens:visit-note", "value": key}, "timestamp": when,
            "entry": [{"fullUrl": f"urn:uuid:{composition['id']}", "resource": composition}, *entries]}


__all__ = ["summary_to_fhir", "visit_note_to_fhir"]
