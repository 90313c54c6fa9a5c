"""The question box of the web page in a real browser (headless Chromium) against a live `medlens serve`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MEDLENS_CHROMIUM", "/usr/bin/chromium")
KEY = "ask-page-key-0123456789"


@pytest.mark.slow
def test_page_question_box_shows_answer_with_evidence(qa_kg_path, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    from medlens.qa.index import build_index
    from tests.qa.conftest import DOCS
    from tests.serve.conftest import LiveServer

    root = tmp_path / "docs"
    for name, text in DOCS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    build_index(root, tmp_path / "idx")
    server = LiveServer(qa_kg_path, tmp_path / "server.log", "--workers", "1", "--executor", "thread",
                        env={"MEDLENS_API_KEYS": KEY, "MEDLENS_SERVE_ASK_INDEXES": f"notes={tmp_path / 'idx'}"})
    try:
        server.wait_ready(timeout=120)
        with sync_api.sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = b.new_page()
            page.goto(server.url + "/", wait_until="networkidle")
            page.fill("#api-key", KEY)
            page.dispatch_event("#api-key", "change")
            page.fill("#question", "what are the symptoms of Marfan syndrome?")
            page.click("#ask")
            page.wait_for_selector("#answer li", timeout=30_000)
            text = page.inner_text("#answer")
            assert "Arachnodactyly" in text and "HP:0001166" in text and "16/21" in text
            page.wait_for_selector("#ask-source option[value='index:notes']", state="attached", timeout=10_000)
            page.select_option("#ask-source", "index:notes")
            page.fill("#question", "how was the hyperkalemia treated?")
            page.click("#ask")
            page.wait_for_selector("#answer mark.evidence", timeout=30_000)
            marked = page.inner_text("#answer mark.evidence")
            assert marked == "Hyperkalemia was treated with insulin and glucose."
            assert "renal/note2.txt" in page.inner_text("#answer")
            b.close()
    finally:
        server.stop()
