"""NUL, other control characters and unpaired surrogates in a text: 422 with the position, on every text route.

The bodies are sent as raw JSON bytes, as a client would: ``"\\u0000"`` and ``"\\ud800"`` are valid JSON escapes.
"""

import json

import pytest

ROUTES = ("/v1/analyze", "/v1/analyze/batch", "/v1/deid", "/v1/summarize", "/v1/diagnose")


def _post(client, path: str, text: str):
    body = {"documents": [{"text": "Fever.", "id": "ok"}, {"text": text, "id": "bad"}]} if path.endswith("batch") \
        else {"text": text}
    return client.post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("text,position,char", [
    ("Fever\x00 and cough.", 6, "U+0000 (NUL)"),
    ("Fever and\ncough \x07.", 17, "U+0007"),
    ("Fever \x1b[31m cough.", 7, "U+001B"),
    ("Fever \ud800 cough.", 7, "U+D800 (an unpaired surrogate)"),
    ("\x00", 1, "U+0000 (NUL)"),
])
def test_invalid_character_is_422_with_position(client, path, text, position, char):
    r = _post(client, path, text)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["type"] == "InvalidCharacter"
    assert f"character {position} " in err["message"] and char in err["message"]
    assert "cough" not in err["message"]  # never the note's text
    if path.endswith("batch"):
        assert "Document 'bad'" in err["message"]


@pytest.mark.parametrize("path", ROUTES)
def test_tabs_line_breaks_and_form_feeds_are_text(client, path):
    r = _post(client, path, "Fever\tand cough.\r\n\x0cPage 2:\x0b denies chest pain.")
    assert r.status_code == 200, r.text


def test_line_and_column_are_counted(client):
    msg = _post(client, "/v1/analyze", "HPI: fever.\nPlan: rest\x00.").json()["error"]["message"]
    assert "line 2, column 11" in msg


MALFORMED = {
    "deep array": b'{"text": ' + b"[" * 9000 + b"]" * 9000 + b"}",
    "huge integer": b'{"text": "fever", "top": ' + b"9" * 5000 + b"}",
    "huge float": b'{"text": "fever", "top": 1e400}',
    "NaN": b'{"text": "fever", "top": NaN}',
    "invalid UTF-8": b'{"text": "fe\xffver"}',
    "surrogate in a key": b'{"te\\ud800xt": "fever"}',
    "text not a string": b'{"text": ["fever"]}',
}


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_bodies_are_4xx(client, path, name):
    body = MALFORMED[name]
    if path.endswith("batch"):
        body = body.replace(b'{"text"', b'{"documents": [{"text"', 1)[:-1] + b"}]}"
    r = client.post(path, content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, (name, r.status_code, r.text)
    assert set(r.json()) == {"error"}
