"""Note summaries on a tiny hand-made note over the tiny graph: merging, status, sources, FHIR."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FIXTURES

NOTE = (FIXTURES / "summarize" / "discharge_note.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def summary(nlp):
    from medlens.summarize import summarize

    return summarize(NOTE, nlp=nlp, doc_id="d1")


def _problem(summary, concept_id):
    return next(p for p in summary.problems if p.concept_id == concept_id)


def test_summary_merges_a_problem_written_in_several_sections(summary):
    chf = _problem(summary, "T:D009")
    assert chf.status == "active"
    assert {s.section for s in chf.sources} == {"history_of_present_illness", "assessment"}
    assert len([p for p in summary.problems if p.concept_id == "T:D009"]) == 1


def test_summary_sources_point_at_the_words_of_the_note(summary):
    for part in (summary.problems, summary.medications, summary.allergies, summary.pertinent_negatives, summary.follow_up):
        for item in part:
            for src in item.sources:
                assert NOTE[src.start:src.end] == src.text


def test_summary_problem_status_from_assertions_and_sections(summary):
    assert _problem(summary, "T:D005").status == "suspected"  # "Rule out pneumonia"
    assert _problem(summary, "T:D003").status == "historical"  # hypertension in the past medical history only
    # ordering: active problems stated in the assessment come before the history, each with its reason
    ranks = [p.concept_id for p in summary.problems]
    assert ranks.index("T:D009") < ranks.index("T:D003")
    assert "assessment" in _problem(summary, "T:D009").reason


def test_summary_pertinent_negatives_medications_allergies_follow_up(summary):
    assert {n.text.lower() for n in summary.pertinent_negatives} >= {"chest pain", "fever"}
    assert not any(p.concept_id in ("T:S001", "T:S003") for p in summary.problems)
    meds = {m.concept_id: m for m in summary.medications}
    assert set(meds) >= {"T:M001", "T:M003"}
    assert {s.section for s in meds["T:M003"].sources} == {"medications", "plan"}  # lisinopril, merged
    assert [a.concept_id for a in summary.allergies] == ["T:M002"]  # aspirin, not the word "allergic"
    assert "T:M002" not in meds
    kinds = {f.text: f.status for f in summary.follow_up}
    assert kinds == {"Follow up in 2 weeks.": "follow-up", "Blood cultures pending.": "pending"}


def test_summary_text_and_versioned_json(summary):
    text = summary.text
    assert text.index("Problems:") < text.index("Medications:") < text.index("Follow-up and pending:")
    assert "suspected" in text and "chars " in text
    data = json.loads(summary.model_dump_json())
    assert data["schema_version"] == "1" and data["kind"] == "note" and data["id"] == "d1"


def test_summary_fhir_document_validates(summary):
    pytest.importorskip("fhir.resources", reason="FHIR validation needs the dev extra")
    from fhir.resources.R4B.bundle import Bundle

    from medlens.summarize.fhir import summary_to_fhir

    bundle = summary_to_fhir(summary, date="2026-12-02T10:00:00+00:00")
    Bundle.model_validate(bundle)
    composition = bundle["entry"][0]["resource"]
    assert bundle["type"] == "document" and composition["resourceType"] == "Composition"
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    kinds = {}
    for section in composition["section"]:
        for ref in section.get("entry", []):
            kinds.setdefault(section["title"], set()).add(by_url[ref["reference"]]["resourceType"])
    assert kinds["Problems"] == {"Condition"}
    assert kinds["Medications"] == {"MedicationStatement"}
    assert kinds["Allergies"] == {"AllergyIntolerance"}
    assert kinds["Pertinent negatives"] == {"Observation"}
    pneumonia = next(r for r in by_url.values() if r["resourceType"] == "Condition" and r["code"]["text"] == "pneumonia")
    assert pneumonia["verificationStatus"]["coding"][0]["code"] == "provisional"
    assert summary_to_fhir(summary, date="2026-12-02T10:00:00+00:00") == bundle  # deterministic ids


def test_summary_of_a_note_without_problems_and_of_an_empty_note(nlp):
    from medlens.summarize import summarize

    plain = summarize("The patient walked to the clinic and asked about parking.", nlp=nlp)
    assert plain.problems == [] and plain.medications == []
    assert "Problems: none found" in plain.text
    empty = summarize("", nlp=nlp)
    assert empty.problems == [] and "the note is empty" in empty.warnings


def test_summarize_rejects_bad_input(nlp):
    from medlens.errors import InputError
    from medlens.summarize import summarize

    with pytest.raises(InputError, match="Unknown summary kind 'letter'"):
        summarize("Fever.", kind="letter", nlp=nlp)
    with pytest.raises(InputError, match="must be a str"):
        summarize(42, nlp=nlp)
    with pytest.raises(InputError, match="not from an analyzed Doc"):
        summarize(nlp("[doctor] hi"), kind="dialogue", nlp=nlp)


def test_medlens_summarize_is_callable_from_the_package(nlp):
    import medlens

    result = medlens.summarize("ASSESSMENT: Pneumonia.", nlp=nlp)
    assert [p.concept_id for p in result.problems] == ["T:D005"]


def test_summary_reads_drug_attributes_when_a_component_sets_them(nlp):
    from spacy.tokens import Span

    from medlens.summarize.note import summarize_note

    doc = nlp("MEDICATIONS: Metformin 500 mg BID.")
    created = not Span.has_extension("attributes")
    if created:
        Span.set_extension("attributes", default=None)
    try:
        for ent in doc.ents:
            if ent.label_ == "DRUG":
                ent._.attributes = {"dose": "500 mg", "frequency": "BID", "route": None}
        med = summarize_note(doc).medications[0]
        assert med.attributes == {"dose": "500 mg", "frequency": "BID"}
    finally:
        if created:
            Span.remove_extension("attributes")


def test_summary_lists_what_changed(nlp):
    from medlens.summarize import summarize

    text = "PLAN: Increase lisinopril to 20 mg daily. Stop metformin. Hold aspirin if bleeding occurs.\n"
    changes = {(c.concept_id, c.status): c for c in summarize(text, nlp=nlp).changes}
    assert set(changes) == {("T:M003", "increased"), ("T:M001", "stopped")}  # the conditional hold is no change
    inc = changes[("T:M003", "increased")]
    assert [s.text for s in inc.sources] == ["lisinopril", "Increase"]
    assert all(text[s.start:s.end] == s.text for s in inc.sources)
