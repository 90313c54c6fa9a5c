"""Fixtures for the service tests: an in-process app over the tiny graph, and a live server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

API_KEY = "test-key-0123456789"


@pytest.fixture(scope="session")
def serve_settings(tiny_kg_path: Path):
    from medlens.serve.settings import hash_key, load_settings

    return load_settings(env={}, kg_path=str(tiny_kg_path), executor="thread", api_key_hashes=(hash_key(API_KEY),),
                         max_text_chars=5_000, max_body_bytes=20_000, max_batch_documents=8,
                         gc_freeze=False)  # the test process's collector left alone (tests/serve/test_gc_freeze.py)


@pytest.fixture(scope="session")
def client(serve_settings, nlp):
    """An ASGI test client (lifespan run) with API key auth on; the key is in ``client.headers``."""
    from fastapi.testclient import TestClient

    from medlens.serve.app import create_app

    with TestClient(create_app(serve_settings, nlp=nlp), headers={"X-API-Key": API_KEY}) as c:
        yield c


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``medlens serve`` in a subprocess on 127.0.0.1 (loopback only)."""

    def __init__(self, kg_path: Path, log_path: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        cmd = [sys.executable, "-m", "medlens.cli.app", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--kg", str(kg_path), *extra]
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"medlens serve exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"medlens serve not ready after {timeout}s: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="session")
def live_server(tiny_kg_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """A live server with the process backend (one worker) and API keys from the environment."""
    log = tmp_path_factory.mktemp("serve") / "server.log"
    server = LiveServer(tiny_kg_path, log, "--workers", "1", "--executor", "process",
                        env={"MEDLENS_API_KEYS": API_KEY, "MEDLENS_SERVE_REQUEST_TIMEOUT_S": "20"})
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
