def test_concept_lookup(client):
    r = client.get("/v1/kg/concepts/T:D002")
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["name"] == "Type 2 diabetes mellitus" and data["label"] == "DISEASE"
    assert "T:D001" in [p["id"] for p in data["parents"]]
    assert any(s["kind"] == "preferred" for s in data["synonyms"])


def test_unknown_concept_is_404_with_suggestions(client):
    r = client.get("/v1/kg/concepts/T:D0999")
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "UnknownConcept"
    assert "T:D0" in r.json()["error"]["message"]


def test_search_is_fuzzy_and_filters_labels(client):
    r = client.get("/v1/kg/search", params={"q": "diabetis", "limit": 3})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert hits and hits[0]["concept"]["id"] in {"T:D001", "T:D002"}
    r = client.get("/v1/kg/search", params={"q": "diabetis", "labels": "DRUG"})
    assert r.json()["hits"] == []


def test_search_validates_parameters(client):
    assert client.get("/v1/kg/search", params={"q": ""}).status_code == 422
    assert client.get("/v1/kg/search", params={"q": "x", "limit": 0}).status_code == 422
