"""``medlens summarize`` over the tiny graph."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from medlens.cli.app import app
from tests.conftest import FIXTURES

runner = CliRunner()
NOTE = FIXTURES / "summarize" / "discharge_note.txt"
VISIT = FIXTURES / "summarize" / "visit.txt"


def test_cli_summarize_note_text_and_json(tiny_kg_path: Path, tmp_path: Path):
    r = runner.invoke(app, ["summarize", str(NOTE), "--kg", str(tiny_kg_path)])
    assert r.exit_code == 0, r.output
    assert "Summary of discharge_note" in r.output and "pneumonia (suspected)" in r.output
    out = tmp_path / "s.json"
    r = runner.invoke(app, ["summarize", str(NOTE), "--kg", str(tiny_kg_path), "-f", "json", "-o", str(out)])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert data["kind"] == "note" and any(p["concept_id"] == "T:D009" for p in data["problems"])


def test_cli_summarize_dialogue_and_fhir(tiny_kg_path: Path):
    r = runner.invoke(app, ["summarize", "--dialogue", str(VISIT), "--kg", str(tiny_kg_path)])
    assert r.exit_code == 0, r.output
    assert "REVIEW OF SYSTEMS" in r.output and "Denies fever." in r.output
    r = runner.invoke(app, ["summarize", str(NOTE), "--kg", str(tiny_kg_path), "-f", "fhir"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["entry"][0]["resource"]["resourceType"] == "Composition"


def test_cli_summarize_clear_errors(tiny_kg_path: Path, tmp_path: Path):
    r = runner.invoke(app, ["summarize", str(tmp_path / "missing.txt"), "--kg", str(tiny_kg_path)])
    assert r.exit_code == 2 and "no such file" in r.output
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    r = runner.invoke(app, ["summarize", "--dialogue", str(empty), "--kg", str(tiny_kg_path)])
    assert r.exit_code == 2 and "conversation is empty" in r.output
    r = runner.invoke(app, ["summarize", "--help"])
    assert "--dialogue" in r.output
