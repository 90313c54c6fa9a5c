"""``GET /v1/kg/relations/{id}`` and ``GET /v1/kg/stats`` over a grown copy of the tiny graph."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.serve.conftest import API_KEY

TEXTS = {"d1": "Hypertension was treated with lisinopril. He developed nausea after metformin.",
         "d2": "Hypertension responded to lisinopril."}


@pytest.fixture(scope="module")
def grown_client(tiny_kg_path: Path, tmp_path_factory, nlp):
    from fastapi.testclient import TestClient

    from medlens.relations.grow import grow
    from medlens.serve.app import create_app
    from medlens.serve.settings import hash_key, load_settings

    folder = tmp_path_factory.mktemp("grown")
    kg = folder / "kg.sqlite"
    shutil.copyfile(tiny_kg_path, kg)
    corpus = folder / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in TEXTS.items()))
    grow(kg, [corpus], processes=1, model=False)
    settings = load_settings(env={}, kg_path=str(kg), executor="thread", api_key_hashes=(hash_key(API_KEY),))
    with TestClient(create_app(settings, nlp=nlp), headers={"X-API-Key": API_KEY}) as c:
        yield c


def test_relations_route(grown_client):
    r = grown_client.get("/v1/kg/relations/T:M003")
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["grown"] is True and data["concept"]["name"] == "Lisinopril"
    [edge] = data["edges"]
    assert (edge["predicate"], edge["tail_id"], edge["documents"], edge["learned"]) == ("treats", "T:D003", 2, True)
    assert {e["doc_id"] for e in edge["evidence"]} == {"d1", "d2"}
    r = grown_client.get("/v1/kg/relations/T:D003", params={"direction": "out"})
    assert r.json()["edges"] == []
    r = grown_client.get("/v1/kg/relations/T:M001", params={"predicate": "treats"})
    assert r.json()["edges"] == []
    r = grown_client.get("/v1/kg/relations/T:M001", params={"predicate": "adverse_event", "min_score": 0.5})
    assert [e["tail_id"] for e in r.json()["edges"]] == ["T:S005"]


def test_relations_route_errors_and_auth(grown_client):
    assert grown_client.get("/v1/kg/relations/T:NOPE").status_code == 404
    assert grown_client.get("/v1/kg/relations/T:M003", params={"direction": "sideways"}).status_code == 422
    assert grown_client.get("/v1/kg/relations/T:M003", params={"min_score": 2}).status_code == 422
    assert grown_client.get("/v1/kg/relations/T:M003", headers={"X-API-Key": "wrong"}).status_code == 401
    assert grown_client.get("/v1/kg/stats", headers={"X-API-Key": "wrong"}).status_code == 401


def test_stats_route_shows_grown_layer_apart(grown_client, client):
    data = grown_client.get("/v1/kg/stats").json()
    assert data["sources"]["tiny"]["concepts"] == 30
    assert data["grown"]["documents"] == 2 and "path" not in data["grown"]
    assert data["grown"]["predicates"]["treats"] == {"evidence": 2, "edges": 1}
    # a graph never grown: no layer, and no learned edges
    assert client.get("/v1/kg/stats").json()["grown"] is None
    r = client.get("/v1/kg/relations/T:M003")
    assert r.status_code == 200 and r.json() == {**r.json(), "grown": False, "edges": []}


def test_metrics_count_the_routes(grown_client):
    grown_client.get("/v1/kg/relations/T:M003")
    text = grown_client.get("/metrics").text
    assert "/v1/kg/relations/{concept_id:path}" in text


def test_relations_route_accepts_equivalents(grown_client):
    r = grown_client.get("/v1/kg/relations/T:M003", params={"equivalents": "true"})
    assert r.status_code == 200 and [e["tail_id"] for e in r.json()["edges"]] == ["T:D003"]
