def test_health_and_ready(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["workers"] == 1


def test_info_lists_capabilities_and_limits(client):
    info = client.get("/v1/info").json()
    assert set(info["capabilities"]) >= {"diagnose", "deid"}
    assert info["limits"]["max_text_chars"] == 5000 and info["auth"] is True


def test_openapi_documents_every_endpoint(client):
    spec = client.get("/openapi.json").json()
    for path in ("/v1/analyze", "/v1/analyze/batch", "/v1/kg/concepts/{concept_id}", "/v1/kg/search",
                 "/healthz", "/readyz", "/metrics", "/v1/info"):
        assert path in spec["paths"], path
    docs = client.get("/docs").text
    assert "/static/docs/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()


def test_page_is_served_offline(client):
    r = client.get("/")
    assert r.status_code == 200 and "medlens" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/app.css"):
        body = client.get(asset).text
        assert "http://" not in body.replace("http://hl7", "") and "https://" not in body, asset


def test_cors_is_off_by_default(client):
    r = client.options("/v1/analyze", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers
    r = client.post("/v1/analyze", json={"text": "Fever."}, headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_when_configured(serve_settings, nlp):
    from fastapi.testclient import TestClient

    from medlens.serve.app import create_app

    settings = serve_settings.model_copy(update={"cors_origins": ("http://ok.example",)})
    with TestClient(create_app(settings, nlp=nlp)) as c:
        r = c.options("/v1/analyze", headers={"Origin": "http://ok.example", "Access-Control-Request-Method": "POST"})
        assert r.headers["access-control-allow-origin"] == "http://ok.example"


def test_diagnose_endpoint_when_available(client):
    """The optional /v1/diagnose router: included when the reasoning engine imports; the tiny graph has
    no HPO annotations, so the answer is a clear JSON error, never a 5xx."""
    caps = client.get("/v1/info").json()["capabilities"]
    r = client.post("/v1/diagnose", json={"text": "Fever and cough."})
    if not caps["diagnose"]:
        assert r.status_code == 404
        return
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert "HPO" in r.json()["error"]["message"]
    assert client.post("/v1/diagnose", json={"text": "x"}, headers={"X-API-Key": ""}).status_code == 401
