"""POST /v1/ask: graph and document answers, auth, and the 4xx cases (empty, huge, unknown index)."""

from __future__ import annotations

import pytest

API_KEY = "ask-test-key-0123456789"


@pytest.fixture(scope="module")
def ask_client(qa_kg_path, tmp_path_factory):
    from fastapi.testclient import TestClient

    import medlens
    from medlens.config import RULES_ONLY
    from medlens.qa.index import build_index
    from medlens.serve.app import create_app
    from medlens.serve.settings import hash_key, load_settings
    from tests.qa.conftest import DOCS

    root = tmp_path_factory.mktemp("askdocs")
    for name, text in DOCS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    build_index(root, root.parent / "idx")
    settings = load_settings(env={}, kg_path=str(qa_kg_path), executor="thread", api_key_hashes=(hash_key(API_KEY),),
                             ask_indexes=(f"notes={root.parent / 'idx'}", f"broken={root}"), max_question_chars=200)
    nlp = medlens.load(components=RULES_ONLY, kg_path=str(qa_kg_path))
    with TestClient(create_app(settings, nlp=nlp), headers={"X-API-Key": API_KEY}) as c:
        yield c


def test_ask_graph_question(ask_client):
    r = ask_client.post("/v1/ask", json={"question": "what are the symptoms of Marfan syndrome?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "graph" and body["answers"][0]["id"] == "HP:0001166"
    assert body["answers"][0]["evidence"][0]["kind"] == "fact"


def test_ask_documents_by_index_name(ask_client):
    r = ask_client.post("/v1/ask", json={"question": "how was hyperkalemia treated?", "index": "notes", "top": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "documents" and len(body["answers"]) == 2
    ev = body["answers"][0]["evidence"][0]
    assert ev["doc_id"] == "renal/note2.txt" and ev["start"] > 0
    info = ask_client.get("/v1/info").json()
    assert info["capabilities"]["ask"] is True and info["indexes"] == ["broken", "notes"]


@pytest.mark.parametrize("payload, status, kind", [
    ({"question": ""}, 422, "EmptyQuestion"),
    ({"question": "   "}, 422, "EmptyQuestion"),
    ({"question": "x" * 201}, 413, "QuestionTooLong"),
    ({"question": "what?", "index": "elsewhere"}, 404, "UnknownIndex"),
    ({"question": "what?", "index": "/etc"}, 404, "UnknownIndex"),
    ({"question": "what?", "index": "broken"}, 503, "IndexUnavailable"),
    ({"question": "what?", "index": "notes", "context": "text"}, 422, "ContextAndIndex"),
    ({"question": "what?", "top": 0}, 422, "ValidationError"),
    ({"question": "what?", "path": "/tmp"}, 422, "ValidationError"),
])
def test_ask_bad_requests(ask_client, payload, status, kind):
    r = ask_client.post("/v1/ask", json=payload)
    assert r.status_code == status, r.text
    assert r.json()["error"]["type"] == kind


def test_ask_needs_the_api_key(ask_client):
    r = ask_client.post("/v1/ask", json={"question": "what is hyperkalemia?"}, headers={"X-API-Key": "wrong"})
    assert r.status_code == 401


def test_ask_counted_in_metrics(ask_client):
    ask_client.post("/v1/ask", json={"question": "what is hyperkalemia?"})
    text = ask_client.get("/metrics").text
    assert 'route="/v1/ask"' in text
