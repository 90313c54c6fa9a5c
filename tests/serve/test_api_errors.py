"""Auth failures, oversized, empty, non-UTF-8 and malformed bodies: JSON errors with the right status."""

import pytest

from tests.serve.conftest import API_KEY


def _err(r, status, type_=None):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    if type_:
        assert body["error"]["type"] == type_
    return body["error"]["message"]


@pytest.mark.parametrize("path,method", [("/v1/analyze", "post"), ("/v1/analyze/batch", "post"),
                                         ("/v1/kg/concepts/T:D001", "get"), ("/v1/kg/search?q=fever", "get"),
                                         ("/v1/info", "get")])
def test_missing_key_is_401(client, path, method):
    r = getattr(client, method)(path, headers={"X-API-Key": ""}, **({"json": {"text": "x"}} if method == "post" else {}))
    msg = _err(r, 401, "Unauthorized")
    assert "X-API-Key" in msg
    assert r.headers["www-authenticate"] == "Bearer"


def test_wrong_key_is_401(client):
    _err(client.post("/v1/analyze", json={"text": "x"}, headers={"X-API-Key": "wrong"}), 401)


def test_bearer_key_is_accepted(client):
    r = client.post("/v1/analyze", json={"text": "Fever."}, headers={"X-API-Key": "", "Authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 200


def test_open_endpoints_need_no_key(client):
    for path in ("/healthz", "/readyz", "/metrics", "/", "/static/app.js", "/openapi.json", "/docs"):
        assert client.get(path, headers={"X-API-Key": ""}).status_code == 200, path


def test_body_over_limit_is_413(client):
    msg = _err(client.post("/v1/analyze", json={"text": "a " * 20_000}), 413, "PayloadTooLarge")
    assert "20,000 bytes" in msg


def test_chunked_body_over_limit_is_413(client):
    def chunks():
        yield b'{"text": "'
        for _ in range(30):
            yield b"a" * 1000
        yield b'"}'
    _err(client.post("/v1/analyze", content=chunks(), headers={"content-type": "application/json"}), 413)


def test_text_over_limit_is_413(client):
    msg = _err(client.post("/v1/analyze", json={"text": "b" * 6_000}), 413)
    assert "6,000 characters" in msg and "5,000" in msg


def test_batch_over_document_limit_is_413(client):
    msg = _err(client.post("/v1/analyze/batch", json={"documents": [{"text": "x"}] * 9}), 413)
    assert "9 documents" in msg


def test_empty_body_is_422(client):
    _err(client.post("/v1/analyze", content=b"", headers={"content-type": "application/json"}), 422, "EmptyBody")


def test_empty_text_is_422(client):
    _err(client.post("/v1/analyze", json={"text": "  \n"}), 422, "EmptyText")


def test_empty_batch_is_422(client):
    _err(client.post("/v1/analyze/batch", json={"documents": []}), 422)


def test_malformed_json_is_400(client):
    msg = _err(client.post("/v1/analyze", content=b'{"text": "fever', headers={"content-type": "application/json"}),
               400, "InvalidJSON")
    assert "not valid JSON" in msg


def test_non_utf8_body_is_400(client):
    msg = _err(client.post("/v1/analyze", content=b'{"text": "\xff\xfe fever"}', headers={"content-type": "application/json"}), 400)
    assert "UTF-8" in msg


def test_wrong_types_and_unknown_fields_are_422(client):
    _err(client.post("/v1/analyze", json={"text": 5}), 422)
    _err(client.post("/v1/analyze", json={"text": "x", "nope": 1}), 422)
    _err(client.post("/v1/analyze", json=["x"]), 422)
    _err(client.post("/v1/analyze?format=xml", json={"text": "x"}), 422)


def test_validation_errors_do_not_echo_the_text(client):
    r = client.post("/v1/analyze", json={"text": "Secret Patient Name", "extra": "Secret Patient Name"})
    assert "Secret" not in r.text


def test_unknown_route_is_json_404(client):
    _err(client.get("/v2/nothing"), 404, "NotFound")


def test_wrong_method_is_json_405(client):
    _err(client.get("/v1/analyze"), 405)


def test_timeout_is_504(serve_settings, nlp):
    import time

    from fastapi.testclient import TestClient

    from medlens.serve.app import create_app

    class SlowNlp:
        def pipe(self, texts):
            time.sleep(0.5)
            return nlp.pipe(texts)

        def __call__(self, text):
            return nlp(text)

    settings = serve_settings.model_copy(update={"request_timeout_s": 0.2})
    with TestClient(create_app(settings, nlp=SlowNlp()), headers={"X-API-Key": API_KEY}) as c:
        msg = _err(c.post("/v1/analyze", json={"text": "Fever."}), 504, "Timeout")
        assert "0.2 s" in msg
