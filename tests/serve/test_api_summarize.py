"""``POST /v1/summarize`` over the tiny graph: note summaries, visit notes, FHIR, text and errors."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES

NOTE = (FIXTURES / "summarize" / "discharge_note.txt").read_text(encoding="utf-8")
VISIT = (FIXTURES / "summarize" / "visit.txt").read_text(encoding="utf-8")


def test_summarize_note_json(client):
    r = client.post("/v1/summarize", json={"text": NOTE, "id": "n1"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["kind"] == "note" and data["id"] == "n1" and data["schema_version"] == "1"
    chf = next(p for p in data["problems"] if p["concept_id"] == "T:D009")
    assert {s["section"] for s in chf["sources"]} == {"history_of_present_illness", "assessment"}
    assert {n["text"].lower() for n in data["pertinent_negatives"]} >= {"chest pain", "fever"}


def test_summarize_note_fhir_and_text(client):
    pytest.importorskip("fhir.resources", reason="FHIR validation needs the dev extra")
    from fhir.resources.R4B.bundle import Bundle

    r = client.post("/v1/summarize?format=fhir", json={"text": NOTE})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    Bundle.model_validate(r.json())
    assert r.json()["entry"][0]["resource"]["resourceType"] == "Composition"
    t = client.post("/v1/summarize?format=text", json={"text": NOTE})
    assert t.status_code == 200 and t.headers["content-type"].startswith("text/plain")
    assert t.text.startswith("Summary of note") and "Problems:" in t.text


def test_summarize_dialogue(client):
    r = client.post("/v1/summarize", json={"text": VISIT, "kind": "dialogue"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["kind"] == "dialogue" and data["grounded"] == 1.0
    ros = next(s for s in data["sections"] if s["name"] == "review_of_systems")
    assert {"text": "Denies fever.", "turns": [2, 3]} in ros["sentences"]


def test_summarize_errors(client):
    empty = client.post("/v1/summarize", json={"text": "   "})
    assert empty.status_code == 422 and empty.json()["error"]["type"] == "EmptyText"
    bad = client.post("/v1/summarize", json={"text": "Fever.", "kind": "letter"})
    assert bad.status_code == 422
    blank_dialogue = client.post("/v1/summarize", json={"text": "[doctor]\n[patient]", "kind": "dialogue"})
    assert blank_dialogue.status_code == 422 and "dialogue is empty" in blank_dialogue.json()["error"]["message"]


def test_summarize_is_listed_in_info(client):
    assert client.get("/v1/info").json()["capabilities"]["summarize"] is True
