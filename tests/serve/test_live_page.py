"""A real browser: headless Debian Chromium, driven by Playwright, against a live ``medlens serve``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.serve.conftest import API_KEY

CHROMIUM = os.environ.get("MEDLENS_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT_DIR = os.environ.get("MEDLENS_SCREENSHOT_DIR")  # keep the screenshot there (default: pytest's tmp dir)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium and chromium-driver "
                    "(apt-get install -y chromium chromium-driver) or set MEDLENS_CHROMIUM")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def full_live_server(full_kg_path, tmp_path_factory):
    """A live server over the real default graph, so that the differential has diseases to rank."""
    from tests.serve.conftest import LiveServer

    log = tmp_path_factory.mktemp("serve-full") / "server.log"
    server = LiveServer(full_kg_path, log, "--workers", "1", "--executor", "process",
                        env={"MEDLENS_API_KEYS": API_KEY, "MEDLENS_SERVE_REQUEST_TIMEOUT_S": "60"})
    try:
        server.wait_ready(timeout=120)
        yield server
    finally:
        server.stop()


def test_page_analyzes_example_note(browser, full_live_server, tmp_path):
    live_server = full_live_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    outside = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith((live_server.url, "data:", "blob:")) else None)
    page.goto(live_server.url + "/", wait_until="networkidle")
    page.fill("#api-key", API_KEY)
    page.dispatch_event("#api-key", "change")
    page.click("#example")
    page.click("#analyze")
    page.wait_for_selector("#document mark.ent", timeout=30_000)

    labels = set(page.eval_on_selector_all("#document mark.ent", "els => els.map(e => e.dataset.label)"))
    assert {"SYMPTOM", "DISEASE", "DRUG"} <= labels
    negated = page.eval_on_selector_all("#document mark.ent.negated", "els => els.map(e => e.textContent)")
    assert any(t.startswith("fever") for t in negated)
    decoration = page.eval_on_selector("#document mark.ent.negated", "e => getComputedStyle(e).textDecorationLine")
    assert "line-through" in decoration
    assert page.locator("#document mark.ent.uncertain").count() >= 1
    colors = {lab: page.eval_on_selector(f"#document mark.ent[data-label='{lab}']", "e => getComputedStyle(e).backgroundColor")
              for lab in ("SYMPTOM", "DISEASE", "DRUG")}
    assert len(set(colors.values())) == 3, f"entity types should have distinct colours: {colors}"

    # drug attributes on hover (the mark's title, from the JSON "attributes") and in the detail panel
    title = page.eval_on_selector("#document mark.ent[data-label='DRUG']", "e => e.title")
    assert title.startswith("DRUG") and "strength 500 mg" in title and "route PO" in title, title
    assert "frequency BID (2/day)" in title, title
    page.locator("#document mark.ent[data-label='DRUG']").first.click()
    assert "strength 500 mg" in page.inner_text("#detail ul.attributes")
    no_drug = page.eval_on_selector("#document mark.ent[data-label='SYMPTOM']", "e => e.dataset.attributes")
    assert no_drug == ""

    # concept codes on click
    page.locator("#document mark.ent[data-label='DISEASE']").first.click()
    code = page.locator("#detail table.codes code").first.inner_text()
    assert code.split(":")[0] in {"ICD10CM", "HP", "MESH", "MESHTREE", "ORPHA", "OMIM", "MEDLENS"}, code
    # differential panel: the diagnose endpoint or a clear message
    # the differential arrives after the entities (the engine builds its index on first use)
    page.wait_for_function("() => !document.querySelector('#differential').innerText.includes('ranking')",
                           timeout=90_000)
    assert page.locator("#differential .dx").count() > 0, page.inner_text("#differential")
    assert page.locator("#sections li").count() >= 3
    assert not outside, f"the page made requests outside the service: {outside}"

    # a patient's message: a drug started, then a rash, is listed as a possible drug reaction
    page.fill("#note", (Path(__file__).resolve().parents[2] / "examples" / "05_patient_message.txt").read_text())
    page.click("#analyze")
    page.wait_for_selector("#dx-drugs", timeout=90_000)
    assert "amoxicillin" in page.inner_text("#dx-drugs") and "rash" in page.inner_text("#dx-drugs").lower()
    page.click("#example")
    page.click("#analyze")
    page.wait_for_function("() => !document.querySelector('#dx-drugs')", timeout=90_000)

    out = Path(SCREENSHOT_DIR) if SCREENSHOT_DIR else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    shot = out / "web_page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()
