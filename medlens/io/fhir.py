"""FHIR R4 output: one ``Bundle`` (type ``collection``) per analyzed document.

:func:`to_fhir_bundle` turns a :class:`~medlens.results.DocumentResult` into a
plain JSON-ready dict; it needs no FHIR library at run time (the tests validate
the output with the models of the ``fhir.resources`` package). Entities become:

=========================  ===========================================================
entity                     resource
=========================  ===========================================================
DISEASE                    ``Condition``; ``verificationStatus`` from the assertion:
                           present/historical -> confirmed, negated -> refuted,
                           uncertain/hypothetical -> unconfirmed
SYMPTOM, FINDING           ``Observation`` (``valueBoolean`` true, false when negated;
                           ``dataAbsentReason`` unknown when uncertain/hypothetical)
DRUG                       ``MedicationStatement``, status from the assertion (or the
                           drug's status attribute: stopped, held, prescribed), with a
                           ``Dosage`` built from the drug's attributes (doseAndRate,
                           route, timing, asNeeded; ``dosage_from_attributes``) and its
                           indication as ``reasonCode``; without attributes, the dosage is
                           read from the text right after the mention when the text is known
any of those, family       ``FamilyMemberHistory`` with the finding as its condition
=========================  ===========================================================

Other labels (TEST, PROCEDURE, ANATOMY) are left out. When the document
classifier ran (``result.categories``), a ``DocumentReference`` for the note
carries the predicted categories as ``category`` codings (system
``urn:medlens:document-category``, code the category label) and every
category's probability in its ``description``. Every entity resource carries
the concept links of its entity as codings, with these systems:

- ICD-10-CM: ``http://hl7.org/fhir/sid/icd-10-cm`` (FHIR R4 "Terminologies: code
  systems", https://hl7.org/fhir/r4/terminologies-systems.html);
- HPO: ``http://human-phenotype-ontology.org`` (HL7 Terminology CodeSystem "HPO",
  OID 2.16.840.1.113883.6.339, https://build.fhir.org/ig/HL7/UTG/CodeSystem-HPO.json.html);
  codes keep their ``HP:`` prefix, as HPO writes them;
- MeSH: ``https://www.nlm.nih.gov/mesh`` (HL7 Terminology CodeSystem "MeSH", OID
  2.16.840.1.113883.6.177, https://build.fhir.org/ig/HL7/UTG/CodeSystem-MeSH.json.html);
  codes are descriptor UIs (``D003920``);
- DrugBank: ``http://www.drugbank.ca`` (no HL7-registered URI; the one in common use);
- OMIM ``https://www.omim.org``, Orphanet ``http://www.orpha.net``;
- anything else (MeSH tree numbers, the medlens lexicon, user graphs):
  ``urn:medlens:<prefix>`` (e.g. ``urn:medlens:meshtree``), so the code is never
  presented as belonging to a system it does not.

Resource ids are UUIDs derived from the document id and the entity offsets, so
the same result always gives the same Bundle.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from medlens.results import DocumentResult, DrugAttributeResult, EntityResult

FHIR_SYSTEMS: dict[str, str] = {
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "HP": "http://human-phenotype-ontology.org",
    "MESH": "https://www.nlm.nih.gov/mesh",
    "DRUGBANK": "http://www.drugbank.ca",
    "OMIM": "https://www.omim.org",
    "ORPHA": "http://www.orpha.net",
}
"""Concept id prefix -> FHIR ``Coding.system`` (DrugBank ids have no prefix: ``DB00331``)."""

_KEEP_PREFIX = {"HP"}
_NS = uuid.UUID("6f1c3d52-4a8e-4c1e-9a57-0d3c1f9b7e21")
_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CLIN = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
_ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
_UCUM = "http://unitsofmeasure.org"
_DOC_CAT = "urn:medlens:document-category"

# Words of a family-history cue -> HL7 v3 RoleCode (FamilyMemberHistory.relationship).
_RELATIVES = {
    "mother": ("MTH", "mother"), "mom": ("MTH", "mother"), "father": ("FTH", "father"), "dad": ("FTH", "father"),
    "brother": ("BRO", "brother"), "sister": ("SIS", "sister"), "son": ("SON", "natural son"),
    "daughter": ("DAU", "natural daughter"), "grandmother": ("GRMTH", "grandmother"),
    "grandfather": ("GRFTH", "grandfather"), "aunt": ("AUNT", "aunt"), "uncle": ("UNCLE", "uncle"),
    "sibling": ("SIB", "sibling"), "parent": ("PRN", "parent"), "cousin": ("COUSN", "cousin"),
}

# Dosage vocabulary: strengths, routes and frequencies as written in medication lists.
_UNITS = {"mg": "mg", "mcg": "ug", "µg": "ug", "ug": "ug", "g": "g", "ml": "mL", "l": "L",
          "unit": "[IU]", "units": "[IU]", "iu": "[IU]", "meq": "meq", "%": "%"}
_STRENGTH = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(mg|mcg|µg|ug|g|ml|l|units?|iu|meq|%)(?![a-z])", re.I)
_ROUTES = {
    "po": "oral", "by mouth": "oral", "orally": "oral", "oral": "oral", "iv": "intravenous",
    "intravenous": "intravenous", "intravenously": "intravenous", "im": "intramuscular",
    "intramuscular": "intramuscular", "sc": "subcutaneous", "sq": "subcutaneous", "subq": "subcutaneous",
    "subcutaneous": "subcutaneous", "subcutaneously": "subcutaneous", "sl": "sublingual",
    "sublingual": "sublingual", "inhaled": "inhalation", "topical": "topical", "topically": "topical",
    "pr": "rectal", "transdermal": "transdermal",
}
_ROUTE = re.compile(r"\b(" + "|".join(sorted((re.escape(r) for r in _ROUTES), key=len, reverse=True)) + r")\b", re.I)
_FREQS: dict[str, tuple[int, float, str, str | None]] = {
    "daily": (1, 1, "d", None), "once daily": (1, 1, "d", None), "qd": (1, 1, "d", None),
    "every day": (1, 1, "d", None), "bid": (2, 1, "d", None), "twice daily": (2, 1, "d", None),
    "twice a day": (2, 1, "d", None), "tid": (3, 1, "d", None), "three times daily": (3, 1, "d", None),
    "qid": (4, 1, "d", None), "four times daily": (4, 1, "d", None), "qhs": (1, 1, "d", "HS"),
    "at bedtime": (1, 1, "d", "HS"), "nightly": (1, 1, "d", "HS"), "qam": (1, 1, "d", "MORN"),
    "weekly": (1, 1, "wk", None), "once weekly": (1, 1, "wk", None), "monthly": (1, 1, "mo", None),
}
_FREQ = re.compile(r"\b(" + "|".join(sorted((re.escape(f) for f in _FREQS), key=len, reverse=True)) + r"|q\s?(\d+)\s?h(?:rs?)?)\b", re.I)
_PRN = re.compile(r"\b(prn|as needed)\b", re.I)


def concept_coding(concept_id: str, display: str | None = None) -> dict[str, str]:
    """A FHIR ``Coding`` for a medlens concept id (``ICD10CM:E11.9`` -> icd-10-cm ``E11.9``)."""
    prefix, sep, local = concept_id.partition(":")
    if not sep:  # DrugBank ids carry no prefix
        prefix, local = ("DRUGBANK", concept_id) if re.fullmatch(r"DB\d{5}", concept_id) else ("ID", concept_id)
    key = prefix.upper()
    system = FHIR_SYSTEMS.get(key, f"urn:medlens:{re.sub(r'[^a-z0-9.-]', '-', key.lower())}")
    coding = {"system": system, "code": concept_id if key in _KEEP_PREFIX else local}
    if display:
        coding["display"] = display
    return coding


def _codeable(entity: EntityResult, top_k: int) -> dict[str, Any]:
    codings, seen = [], set()
    for c in entity.concepts:
        coding = concept_coding(c.id, c.name)
        key = (coding["system"], coding["code"])
        if key not in seen:
            seen.add(key)
            codings.append(coding)
        if len(codings) >= top_k:
            break
    out: dict[str, Any] = {"text": entity.text}
    if codings:
        out["coding"] = codings
    return out


def _cc(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _note(entity: EntityResult) -> list[dict[str, str]]:
    cues = ", ".join(f"{c.category} '{c.text}'" for c in entity.assertion.cues)
    text = (f"medlens: '{entity.text}' (chars {entity.start}-{entity.end}, section {entity.section}), "
            f"assertion {entity.assertion.status}" + (f" [{cues}]" if cues else ""))
    return [{"text": text}]


def _condition(entity: EntityResult, subject: dict, top_k: int) -> dict[str, Any]:
    a = entity.assertion
    if a.negated:
        ver = "refuted"
    elif a.uncertain or a.hypothetical:
        ver = "unconfirmed"
    else:
        ver = "confirmed"
    res: dict[str, Any] = {"resourceType": "Condition", "verificationStatus": _cc(_VER, ver),
                           "code": _codeable(entity, top_k), "subject": subject, "note": _note(entity)}
    if ver == "confirmed" and not a.historical:
        res["clinicalStatus"] = _cc(_CLIN, "active")
    return res


def _observation(entity: EntityResult, subject: dict, top_k: int) -> dict[str, Any]:
    a = entity.assertion
    res: dict[str, Any] = {"resourceType": "Observation",
                           "status": "preliminary" if (a.uncertain or a.hypothetical) else "final",
                           "code": _codeable(entity, top_k), "subject": subject, "note": _note(entity)}
    if entity.label == "FINDING":
        res["category"] = [_cc(_OBS_CAT, "exam", "Exam")]
    if a.uncertain or a.hypothetical:
        res["dataAbsentReason"] = _cc(_ABSENT, "unknown", "Unknown")
    else:
        res["valueBoolean"] = not a.negated
    return res


def _family(entity: EntityResult, patient: dict, top_k: int) -> dict[str, Any]:
    relation = ("FAMMEMB", "family member")
    for cue in entity.assertion.cues:
        for word in re.findall(r"[a-z]+", cue.text.lower()):
            if word in _RELATIVES:
                relation = _RELATIVES[word]
                break
    condition: dict[str, Any] = {"code": _codeable(entity, top_k)}
    if entity.assertion.negated:
        condition["note"] = [{"text": "reported absent in this family member"}]
    return {"resourceType": "FamilyMemberHistory", "status": "completed", "patient": patient,
            "relationship": _cc(_ROLE, relation[0], relation[1]), "condition": [condition], "note": _note(entity)}


def parse_dosage(snippet: str) -> dict[str, Any] | None:
    """A FHIR ``Dosage`` from the words after a drug mention (``500 mg PO BID``), or None.

    Args:
        snippet: text following the drug name, up to the end of its line or the next drug.
    """
    strength = _STRENGTH.search(snippet)
    route = _ROUTE.search(snippet)
    freq = _FREQ.search(snippet)
    prn = _PRN.search(snippet)
    found = [m for m in (strength, route, freq, prn) if m]
    if not found:
        return None
    end = max(m.end() for m in found)
    dosage: dict[str, Any] = {"text": snippet[:end].strip(" ,;:-")}
    if strength:
        unit = strength.group(2)
        dosage["doseAndRate"] = [{"doseQuantity": {"value": float(strength.group(1)), "unit": unit,
                                                   "system": _UCUM, "code": _UNITS[unit.lower()]}}]
    if route:
        dosage["route"] = {"text": _ROUTES[route.group(1).lower()]}
    if freq:
        if freq.group(2):
            repeat: dict[str, Any] = {"frequency": 1, "period": float(freq.group(2)), "periodUnit": "h"}
        else:
            n, period, unit, when = _FREQS[re.sub(r"\s+", " ", freq.group(1).lower())]
            repeat = {"frequency": n, "period": period, "periodUnit": unit}
            if when:
                repeat["when"] = [when]
        dosage["timing"] = {"repeat": repeat, "code": {"text": freq.group(1)}}
    if prn:
        dosage["asNeededBoolean"] = True
    return dosage


_GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
_SCT = "http://snomed.info/sct"
_UCUM_TIME = {"min": "min", "h": "h", "d": "d", "wk": "wk", "mo": "mo", "a": "a"}


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": _UCUM, "code": code}


def dosage_from_attributes(attributes: dict[str, DrugAttributeResult]) -> dict[str, Any] | None:
    """A FHIR ``Dosage`` from a drug's attributes (``medlens_drug_attributes``), or None when it has none.

    Strength or dose -> ``doseAndRate`` (``doseQuantity``, or ``doseRange`` for "1-2 tabs"; a counted
    dose form wins over the strength and is written as a UCUM annotation such as ``{puff}``), route
    -> ``route`` (SNOMED CT), frequency -> ``timing.repeat`` (frequency, period, periodMax, periodUnit,
    when) with the HL7 GTS code where there is one, duration -> ``timing.repeat.boundsDuration`` (or
    ``count`` for "x3 doses"), as needed -> ``asNeededBoolean`` / ``asNeededCodeableConcept``.
    """
    kinds = ("strength", "dose", "route", "frequency", "duration")
    found = {k: attributes[k] for k in kinds if k in attributes}
    if not found:
        return None
    written = sorted((a for a in found.values() if a.text), key=lambda a: a.start)
    dosage: dict[str, Any] = {"text": " ".join(a.text for a in written) or ", ".join(a.value for a in found.values())}
    dose, strength = found.get("dose"), found.get("strength")
    if dose is not None or strength is not None:
        if dose is not None:
            unit, code = str(dose.details.get("form") or "dose"), "{" + str(dose.details.get("form") or "dose") + "}"
            src = dose
        else:
            unit = code = str(strength.details.get("ucum") or strength.details.get("unit"))
            src = strength
        low, high = src.details.get("amount"), src.details.get("amount_max")
        if isinstance(low, (int, float)):
            if isinstance(high, (int, float)):
                dosage["doseAndRate"] = [{"doseRange": {"low": _quantity(low, unit, code), "high": _quantity(high, unit, code)}}]
            else:
                dosage["doseAndRate"] = [{"doseQuantity": _quantity(low, unit, code)}]
    route = found.get("route")
    if route is not None:
        dosage["route"] = {"coding": [{"system": _SCT, "code": str(route.details["snomed"]), "display": str(route.details["display"])}],
                           "text": route.text or str(route.details["display"])}
    freq, dur = found.get("frequency"), found.get("duration")
    repeat: dict[str, Any] = {}
    timing: dict[str, Any] = {}
    if freq is not None:
        d = freq.details
        if d.get("frequency"):
            repeat["frequency"] = int(d["frequency"])
        if d.get("frequency_max"):
            repeat["frequencyMax"] = int(d["frequency_max"])
        if d.get("period") and d.get("period_unit") in _UCUM_TIME:
            repeat["period"] = float(d["period"])
            repeat["periodUnit"] = d["period_unit"]
            if d.get("period_max"):
                repeat["periodMax"] = float(d["period_max"])
        if d.get("when"):
            repeat["when"] = [d["when"]]
        code: dict[str, Any] = {"text": freq.text or freq.value}
        if d.get("gts_code"):
            code["coding"] = [{"system": _GTS, "code": d["gts_code"]}]
        timing["code"] = code
        if d.get("as_needed"):
            reason = d.get("as_needed_reason")
            if reason:
                dosage["asNeededCodeableConcept"] = {"text": str(reason)}
            else:
                dosage["asNeededBoolean"] = True
    if dur is not None:
        amount, unit = dur.details.get("amount"), dur.details.get("unit")
        if unit in _UCUM_TIME and isinstance(amount, (int, float)):
            repeat["boundsDuration"] = _quantity(amount, str(unit), str(unit))
        elif unit == "doses" and isinstance(amount, (int, float)):
            repeat["count"] = int(amount)
    if repeat:
        timing["repeat"] = repeat
    if timing:
        dosage["timing"] = timing
    return dosage


def _given(entity: EntityResult) -> bool:
    """A CHEMICAL written as a medication: with a route, frequency or counted dose ("potassium chloride
    20 mEq PO daily"), not only a number and unit (a laboratory value)."""
    return bool(entity.attributes) and any(k in entity.attributes for k in ("route", "frequency", "dose"))


_ATTRIBUTE_STATUS = {"stopped": "stopped", "held": "on-hold", "prescribed": "intended"}


def _medication(entity: EntityResult, subject: dict, top_k: int, snippet: str | None) -> dict[str, Any]:
    a = entity.assertion
    attrs = entity.attributes or {}
    if a.negated:
        status = "not-taken"
    elif a.hypothetical:
        status = "intended"
    elif a.uncertain:
        status = "unknown"
    elif a.historical:
        status = "completed"
    elif "status" in attrs and attrs["status"].value in _ATTRIBUTE_STATUS:
        status = _ATTRIBUTE_STATUS[attrs["status"].value]
    else:
        status = "active"
    res: dict[str, Any] = {"resourceType": "MedicationStatement", "status": status,
                           "medicationCodeableConcept": _codeable(entity, top_k), "subject": subject,
                           "note": _note(entity)}
    # the drug-attributes component's reading when it ran, else the words after the mention
    dosage = dosage_from_attributes(attrs) if entity.attributes is not None else (parse_dosage(snippet) if snippet else None)
    if dosage:
        res["dosage"] = [dosage]
    if "indication" in attrs:
        ind = attrs["indication"]
        reason: dict[str, Any] = {"text": ind.text}
        cid = ind.details.get("concept_id")
        if isinstance(cid, str):
            reason["coding"] = [concept_coding(cid, ind.text)]
        res["reasonCode"] = [reason]
    return res


def _snippet(text: str, entity: EntityResult, next_start: int | None) -> str:
    stop = text.find("\n", entity.end)
    stop = len(text) if stop < 0 else stop
    if next_start is not None:
        stop = min(stop, next_start)
    return text[entity.end:min(stop, entity.end + 80)]


def _document_reference(result: DocumentResult, subject: dict) -> dict[str, Any]:
    """The note itself, with the classifier's categories (predicted ones as codings, all with probabilities)."""
    cats = result.categories or []
    return {
        "resourceType": "DocumentReference", "status": "current", "subject": subject,
        "category": [{"coding": [{"system": _DOC_CAT, "code": c.label, "display": c.label}], "text": c.label}
                     for c in cats if c.predicted],
        "description": "medlens document classifier: " + ", ".join(f"{c.label} {c.score:.3f}" for c in cats),
        "content": [{"attachment": {"contentType": "text/plain", "title": result.id or "document"}}],
    }


def to_fhir_bundle(result: DocumentResult, text: str | None = None, *, patient_reference: str | None = None,
                   top_k: int = 3) -> dict[str, Any]:
    """A FHIR R4 ``Bundle`` (type ``collection``) for one document.

    Args:
        result: the analyzed document.
        text: the document's text, used only to read medication dosages; None uses
            ``result.text`` (present with ``include_text``), and without either no
            ``Dosage`` is written.
        patient_reference: a reference such as ``Patient/123`` for every resource's
            subject; None adds a placeholder ``Patient`` (an id only, no identifiers)
            to the Bundle and refers to it.
        top_k: codings kept per resource (the entity's best concept links).

    Returns:
        The Bundle as a JSON-ready dict. A document that failed (``result.error``)
        gives a Bundle with one ``OperationOutcome``.
    """
    text = text if text is not None else result.text
    doc_key = result.id or "document"
    entries: list[dict[str, Any]] = []

    def add(resource: dict[str, Any], key: str) -> None:
        rid = str(uuid.uuid5(_NS, f"{doc_key}|{key}"))
        resource = {"resourceType": resource["resourceType"], "id": rid,
                    **{k: v for k, v in resource.items() if k != "resourceType"}}
        entries.append({"fullUrl": f"urn:uuid:{rid}", "resource": resource})

    if result.error is not None:
        add({"resourceType": "OperationOutcome", "issue": [{
            "severity": "error", "code": "processing",
            "diagnostics": f"{result.error.type}: {result.error.message}"}]}, "error")
    else:
        if patient_reference:
            subject = {"reference": patient_reference}
        else:
            add({"resourceType": "Patient"}, "patient")
            subject = {"reference": entries[-1]["fullUrl"]}
        if result.categories:
            add(_document_reference(result, subject), "document")
        drug_starts = sorted(e.start for e in result.entities if e.label == "DRUG")
        for ent in result.entities:
            key = f"{ent.start}-{ent.end}-{ent.label}"
            if ent.assertion.family and ent.label in ("DISEASE", "SYMPTOM", "FINDING"):
                add(_family(ent, subject, top_k), key)
            elif ent.label == "DISEASE":
                add(_condition(ent, subject, top_k), key)
            elif ent.label in ("SYMPTOM", "FINDING"):
                add(_observation(ent, subject, top_k), key)
            elif (ent.label == "DRUG" or (ent.label == "CHEMICAL" and _given(ent))) and not ent.assertion.family:
                nxt = next((s for s in drug_starts if s > ent.start), None)
                snippet = _snippet(text, ent, nxt) if text and text[ent.start:ent.end] == ent.text else None
                add(_medication(ent, subject, top_k, snippet), key)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NS, f"{doc_key}|bundle")),
        "type": "collection",
        "identifier": {"system": "urn:medlens:document", "value": doc_key},
        "entry": entries,
    }


__all__ = ["FHIR_SYSTEMS", "concept_coding", "dosage_from_attributes", "parse_dosage", "to_fhir_bundle"]
