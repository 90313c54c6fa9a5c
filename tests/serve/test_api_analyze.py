import json


def test_analyze_returns_document_result(client):
    r = client.post("/v1/analyze", json={"text": "HPI: denies chest pain. History of MI.", "id": "n1"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["id"] == "n1" and "text" not in data
    ents = {e["text"]: e for e in data["entities"]}
    assert ents["chest pain"]["assertion"]["negated"] is True
    assert ents["MI"]["assertion"]["historical"] is True
    assert ents["MI"]["concepts"][0]["id"] == "T:D004"
    assert r.headers["x-request-id"]


def test_analyze_include_text(client):
    r = client.post("/v1/analyze", json={"text": "Fever.", "include_text": True})
    assert r.json()["text"] == "Fever."


def test_analyze_fhir_format_gives_bundle(client):
    r = client.post("/v1/analyze?format=fhir", json={"text": "No fever. Rule out pneumonia. Metformin 500 mg PO BID."})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    assert bundle["resourceType"] == "Bundle"
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Observation", "Condition", "MedicationStatement"} <= kinds


def test_batch_keeps_order_and_reports_empty_documents(client):
    docs = [{"id": "a", "text": "Denies chest pain."}, {"id": "b", "text": "   "}, {"text": "Fever and cough."}]
    r = client.post("/v1/analyze/batch", json={"documents": docs})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["id"] for x in results] == ["a", "b", "doc-2"]
    assert results[1]["error"]["type"] == "InputError"
    assert {e["text"] for e in results[2]["entities"]} == {"Fever", "cough"}


def test_batch_fhir(client):
    r = client.post("/v1/analyze/batch?format=fhir", json={"documents": [{"text": "Fever."}, {"text": ""}]})
    assert r.status_code == 200
    bundles = r.json()["results"]
    assert [b["resourceType"] for b in bundles] == ["Bundle", "Bundle"]
    assert bundles[1]["entry"][0]["resource"]["resourceType"] == "OperationOutcome"


def test_concurrent_requests_share_model_calls(client):
    import asyncio

    import httpx

    app = client.app
    before = app.state.metrics.batch_size.collect()[0].samples
    count_before = next(s.value for s in before if s.name.endswith("_count"))

    async def fire():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=client.headers) as ac:
            rs = await asyncio.gather(*(ac.post("/v1/analyze", json={"text": f"Fever {i}. Cough."}) for i in range(24)))
        return rs

    # the app's lifespan runs in the TestClient's loop; run the requests there too
    rs = client.portal.call(fire)
    assert all(r.status_code == 200 for r in rs)
    after = app.state.metrics.batch_size.collect()[0].samples
    calls = next(s.value for s in after if s.name.endswith("_count")) - count_before
    assert calls < 24, f"24 concurrent requests took {calls} model calls; micro-batching should merge them"


def test_metrics_count_documents_and_entities(client):
    client.post("/v1/analyze", json={"text": "Fever."})
    text = client.get("/metrics").text
    assert 'medlens_documents_total{outcome="ok"}' in text
    assert 'medlens_entities_total{label="SYMPTOM"}' in text
    assert 'medlens_http_requests_total{method="POST",route="/v1/analyze",status="200"}' in text
    assert "medlens_http_request_duration_seconds_bucket" in text


def test_logs_hold_no_note_text(client, caplog):
    secret = "Zebulon Quixotic denies chest pain"
    with caplog.at_level("DEBUG"):
        client.post("/v1/analyze", json={"text": secret})
        client.post("/v1/analyze", content=json.dumps({"text": secret})[:-3], headers={"content-type": "application/json"})
        client.get("/v1/kg/search", params={"q": "Zebulon"})
    server_records = [r for r in caplog.records if r.name.startswith(("medlens", "uvicorn", "fastapi"))]
    assert server_records, "the service should log each request"
    for rec in server_records:  # the test client's own log (httpx) is not the service's
        assert "Zebulon" not in rec.getMessage()
