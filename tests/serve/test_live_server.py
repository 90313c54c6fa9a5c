"""A live ``medlens serve`` (process backend) on 127.0.0.1: HTTP, fuzzing of the OpenAPI schema, and logs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.serve.conftest import API_KEY

HEADERS = {"X-API-Key": API_KEY}


def test_live_analyze_and_auth(live_server):
    r = httpx.post(live_server.url + "/v1/analyze", json={"text": "Zorblax denies chest pain."}, headers=HEADERS, timeout=30)
    assert r.status_code == 200, r.text
    (pain,) = [e for e in r.json()["entities"] if e["text"] == "chest pain"]
    assert pain["assertion"]["negated"] is True
    assert httpx.post(live_server.url + "/v1/analyze", json={"text": "x"}, timeout=10).status_code == 401
    ready = httpx.get(live_server.url + "/readyz", timeout=10).json()
    assert ready["backend"] == "ProcessBackend" and ready["workers"] == 1


def test_live_schemathesis_finds_no_server_errors(live_server, tmp_path):
    """Property-based fuzzing of every operation in the OpenAPI schema: no 5xx response."""
    exe = Path(sys.executable).with_name("schemathesis")
    if not exe.exists() and not shutil.which("schemathesis"):
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    cmd = [str(exe if exe.exists() else shutil.which("schemathesis")), "run", live_server.url + "/openapi.json",
           "--checks", "not_a_server_error", "-H", f"X-API-Key: {API_KEY}", "--max-examples", "25",
           "--seed", "5", "--request-timeout", "30", "--generation-database", "none"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=400, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_live_logs_hold_no_note_text(live_server):
    httpx.post(live_server.url + "/v1/analyze", json={"text": "Quintavius Mbeki has fever."}, headers=HEADERS, timeout=30)
    httpx.get(live_server.url + "/v1/kg/search", params={"q": "Quintavius"}, headers=HEADERS, timeout=30)
    log = live_server.log_text()
    assert "request id=" in log
    assert "Quintavius" not in log and "Zorblax" not in log
