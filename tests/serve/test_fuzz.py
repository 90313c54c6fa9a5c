"""Malformed requests on every route answer 4xx, never 5xx: schemathesis over the OpenAPI schema, in-process (ASGI),
plus hand-made bodies and query strings (invalid UTF-8, NUL and other control characters, deep JSON, huge numbers,
wrong types) sent to every operation the schema lists, so routes added later are covered without a change here.

The schemathesis test runs a bounded number of examples per operation (positive and negative generation, fixed
seed); ``--slow`` runs the large one.
"""

from __future__ import annotations

import json

import pytest

from tests.serve.conftest import API_KEY

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install -e '.[dev]')")
from hypothesis import HealthCheck, Phase, seed, settings  # noqa: E402

HEADERS = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def fuzz_app(serve_settings, nlp):
    """The app over the tiny graph, its lifespan run by schemathesis's ASGI client."""
    from medlens.serve.app import create_app

    app = create_app(serve_settings, nlp=nlp)
    yield app
    from schemathesis.python import asgi

    asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    schema.config.generation.update(modes=["positive", "negative"], allow_x00=True, database="none")
    return schema


def _operations_of(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


def fuzz(schema, max_examples: int, seed_value: int) -> list[str]:
    """Positive and negative cases for every operation; returns the failures (operation, mode, status, body)."""
    from hypothesis import given
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    failures: list[str] = []
    calls: list[str] = []
    statuses: dict[str, set[int]] = {}
    for operation in _operations_of(schema):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @seed(seed_value)
            @settings(max_examples=max_examples, **_SETTINGS)
            @given(case=strategy)
            def run(case):
                response = case.call(headers=HEADERS)
                calls.append(operation.label)
                statuses.setdefault(operation.label, set()).add(response.status_code)
                if response.status_code >= 500:
                    failures.append(f"{operation.label} [{mode.value}] {response.status_code}: "
                                    f"{case.as_curl_command(headers=HEADERS)[:400]} -> {response.text[:200]}")

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
                assert mode == GenerationMode.NEGATIVE, operation.label
    assert len(set(calls)) == len(_operations_of(schema)), "some operation was never called"
    # the key was sent and generated requests got through to the analysis
    assert not any(401 in codes for codes in statuses.values()), statuses
    assert 200 in statuses["POST /v1/analyze"] and 200 in statuses["GET /v1/kg/search"], statuses
    return failures


_SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
                 database=None)


def test_schemathesis_covers_every_operation(api_schema):
    labels = {op.label for op in _operations_of(api_schema)}
    for label in ("POST /v1/analyze", "POST /v1/analyze/batch", "POST /v1/diagnose", "POST /v1/deid",
                  "POST /v1/summarize", "GET /v1/kg/search", "GET /v1/kg/concepts/{concept_id}"):
        assert label in labels, (label, labels)


def test_schemathesis_no_server_error(api_schema):
    failures = fuzz(api_schema, max_examples=10, seed_value=17)
    assert not failures, "\n".join(failures[:20])


@pytest.mark.slow
def test_schemathesis_no_server_error_large(api_schema):
    failures = fuzz(api_schema, max_examples=300, seed_value=1717)
    assert not failures, "\n".join(failures[:20])


# -- hand-made malformed requests on every operation of the schema --------------------------------------------
BAD_BODIES = {
    "invalid UTF-8": b'{"text": "fe\xffver \xc3\x28"}',
    "NUL in a string": b'{"text": "fe\\u0000ver", "id": "a\\u0000b"}',
    "raw control characters": b'{"text": "fe\x01\x02ver\x7f"}',
    "lone surrogate": b'{"text": "\\udc00fever", "id": "\\ud800"}',
    "surrogate in a key": b'{"te\\ud800xt": "fever"}',
    "deep array": b'{"text": ' + b"[" * 20000 + b"]" * 20000 + b"}",
    "deep object": b'{"text": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}",
    "huge integer": b'{"text": "fever", "top": ' + b"9" * 5000 + b', "id": ' + b"9" * 5000 + b"}",
    "huge float": b'{"text": "fever", "top": 1e400, "min_score": -1e400}',
    "NaN": b'{"text": "fever", "top": NaN}',
    "wrong types": b'{"text": ["fever"], "id": {"a": 1}, "top": "ten", "include_text": "yes", "documents": 5}',
    "null": b"null",
    "a string": b'"fever"',
    "a list": b'[{"text": "fever"}]',
    "empty": b"",
    "truncated": b'{"text": "fev',
}


ODD_BUT_VALID = {
    "UTF-16 with a BOM": '{"text": "fever"}'.encode("utf-16"),  # Python's json reads it; never a 5xx
    "duplicate keys": b'{"text": "a", "text": "fever"}',
}


def _operations(client) -> list[tuple[str, str, dict]]:
    spec = client.get("/openapi.json").json()
    ops = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append((method, path, op))
    return ops


def _concrete(path: str) -> str:
    """The path with every ``{param}`` filled (path values are fuzzed by schemathesis; here they only have to route)."""
    import re

    return re.sub(r"\{[^}]+\}", "T:D001", path)


def test_every_operation_is_covered(client):
    ops = {(m, p) for m, p, _ in _operations(client)}
    assert ("post", "/v1/analyze") in ops and ("get", "/v1/kg/search") in ops
    assert ("post", "/v1/diagnose") in ops and ("post", "/v1/deid") in ops


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_malformed_bodies_on_every_operation_are_4xx(client, name):
    for method, path, op in _operations(client):
        if method == "get":
            continue
        r = client.request(method, _concrete(path), content=BAD_BODIES[name],
                           headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500, (name, method, path, r.status_code, r.text[:300])
        assert set(r.json()) == {"error"}, (name, path, r.text[:300])


@pytest.mark.parametrize("name", list(ODD_BUT_VALID))
def test_odd_bodies_on_every_operation_are_not_5xx(client, name):
    for method, path, op in _operations(client):
        if method != "get":
            r = client.request(method, _concrete(path), content=ODD_BUT_VALID[name],
                               headers={"content-type": "application/json"})
            assert r.status_code < 500, (name, method, path, r.status_code, r.text[:300])


BAD_QUERY_VALUES = {
    "invalid UTF-8": "%FF%FE%C3%28",
    "NUL": "fe%00ver",
    "control characters": "%01%02%1B%7F",
    "lone surrogate (CESU)": "%ED%A0%80",
    "huge number": "9" * 400,
    "negative": "-1",
    "float": "1e400",
    "NaN": "NaN",
    "empty": "",
    "long": "a" * 5000,
}


@pytest.mark.parametrize("name", list(BAD_QUERY_VALUES))
def test_malformed_query_and_path_values_on_every_operation_are_4xx(client, name):
    value = BAD_QUERY_VALUES[name]
    for method, path, op in _operations(client):
        params = [p for p in op.get("parameters", []) if p.get("in") == "query"]
        body = json.dumps({"text": "Fever."}).encode() if "requestBody" in op else None
        headers = {"content-type": "application/json"} if body else {}
        for p in params:
            url = f"{_concrete(path)}?{p['name']}={value}"
            r = client.request(method, url, content=body, headers=headers)
            assert r.status_code < 500, (name, method, url[:200], r.status_code, r.text[:300])
        if "{" in path:
            url = path.split("{")[0] + value
            r = client.request(method, url, content=body, headers=headers)
            assert r.status_code < 500, (name, method, url[:200], r.status_code, r.text[:300])


def test_malformed_headers_are_4xx(client):
    for method, path, op in _operations(client):
        if not path.startswith("/v1/"):
            continue
        body = b'{"text": "Fever."}' if "requestBody" in op else None
        for headers in ({"content-type": "application/json", "content-length": "-5"},
                        {"content-type": "application/json; charset=latin-1"},
                        {"content-type": "text/plain"},
                        {"X-API-Key": "\x01\x7f", "content-type": "application/json"},
                        {"X-Request-ID": "\x00" * 3, "content-type": "application/json"}):
            try:
                r = client.request(method, _concrete(path), content=body, headers=headers)
            except Exception as exc:  # noqa: BLE001 - the test client refuses some headers before sending
                pytest.fail(f"{path} {headers}: {exc!r}") if "content-length" not in headers else None
                continue
            assert r.status_code < 500, (method, path, headers, r.status_code, r.text[:300])
