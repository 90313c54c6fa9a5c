def test_deid_redacts_and_returns_the_mapping(client):
    text = "Seen by Dr. Smith on 03/14/2021. Call 617-555-0123. Parkinson disease is stable."
    r = client.post("/v1/deid", json={"text": text, "id": "n1"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["id"] == "n1"
    assert "Smith" not in data["text"] and "617-555-0123" not in data["text"] and "03/14/2021" not in data["text"]
    assert "Parkinson disease" in data["text"]
    for rep in data["replacements"]:
        assert data["text"][rep["new_start"]:rep["new_end"]] != text[rep["start"]:rep["end"]]


def test_deid_surrogates_are_consistent_for_a_key(client):
    body = {"text": "Dr. Smith saw the patient on 03/14/2021.", "default_action": "surrogate", "key": "patient-42",
            "mapping": False}
    a = client.post("/v1/deid", json=body).json()
    b = client.post("/v1/deid", json=body).json()
    assert a["text"] == b["text"] and "Smith" not in a["text"] and a["replacements"] is None


def test_deid_rejects_bad_options_and_empty_text(client):
    r = client.post("/v1/deid", json={"text": "Dr. Smith", "default_action": "shred"})
    assert r.status_code == 422 and "shred" in r.json()["error"]["message"]
    assert client.post("/v1/deid", json={"text": "  "}).status_code == 422
    assert client.post("/v1/deid", json={"text": "Dr. Smith"}, headers={"X-API-Key": "wrong"}).status_code == 401


def test_info_reports_deid(client):
    assert client.get("/v1/info").json()["capabilities"]["deid"] is True
