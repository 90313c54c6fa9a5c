"""The medlens_deid component, the function API, the generator and the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from medlens.deid import deid_pipeline, deidentify, deidentify_doc


@pytest.fixture(scope="module")
def deid_nlp(tiny_kg_path):
    return deid_pipeline(tiny_kg_path, model="none")  # the patterns alone: exact outputs below


def test_component_writes_phi_spans(deid_nlp):
    doc = deid_nlp("Seen by Dr. Smith on 03/14/2021 for Parkinson's disease.")
    assert [(s.label_, s.text) for s in doc.spans["phi"]] == [("NAME", "Smith"), ("DATE", "03/14/2021")]
    assert any(e.text == "Parkinson's disease" for e in doc.ents)  # medical content survives


def test_pipeline_analysis_has_no_problems(deid_nlp):
    assert not any(deid_nlp.analyze_pipes(pretty=False)["problems"].values())


def test_deidentify_function(deid_nlp):
    res = deidentify("Mr. John Doe has Hodgkin lymphoma.", nlp=deid_nlp)
    assert res.text == "Mr. [NAME] has Hodgkin lymphoma."
    assert deidentify_doc(deid_nlp("Call 617-555-0123"), default_action="mask").text == "Call ***-***-****"


def test_deidentify_without_graph():
    assert deidentify("Dr. Smith", protect_medical=False, model="none").text == "Dr. [NAME]"


def test_generator_offsets_and_splits():
    from medlens.deid.generator import generate_notes, load_templates

    notes = generate_notes(6, "heldout", seed=3)
    held = {t.id for t in load_templates() if t.split == "heldout"}
    assert {n.template for n in notes} <= held
    for n in notes:
        assert n.spans and all(0 <= s.start < s.end <= len(n.text) for s in n.spans)
    assert generate_notes(2, "train", seed=1) == generate_notes(2, "train", seed=1)


def test_cli_deid_stdin_and_folder(tiny_kg_path, tmp_path):
    from medlens.cli.app import app

    runner = CliRunner()
    r = runner.invoke(app, ["deid", "-", "--kg", str(tiny_kg_path), "--model", "none"], input="Seen by Dr. Smith on 03/14/2021.\n")
    assert r.exit_code == 0, r.output
    assert "Dr. [NAME] on [DATE]." in r.stdout
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("Patient: Jane Roe, MRN 12345678.", encoding="utf-8")
    (notes / "bad.txt").write_bytes(b"\x00\x01")
    out = tmp_path / "out.jsonl"
    r = runner.invoke(app, ["deid", str(notes), "-o", str(out), "--kg", str(tiny_kg_path), "-j", "1", "--model", "none"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["a.txt", "bad.txt"]
    assert rows[0]["text"] == "Patient: [NAME], MRN [MRN]." and "error" in rows[1]
    r = runner.invoke(app, ["deid", str(notes), "-o", str(out), "--kg", str(tiny_kg_path), "--resume", "--model", "none"])
    assert r.exit_code == 0 and len(out.read_text().splitlines()) == 2


def test_cli_bad_action(tiny_kg_path):
    from medlens.cli.app import app

    r = CliRunner().invoke(app, ["deid", "-", "--kg", str(tiny_kg_path), "-a", "explode"], input="x")
    assert r.exit_code == 2 and "explode" in r.output


def test_cli_bad_model_path(tiny_kg_path, tmp_path):
    from medlens.cli.app import app

    r = CliRunner().invoke(app, ["deid", "-", "--kg", str(tiny_kg_path), "--model", str(tmp_path / "nope")], input="x")
    assert r.exit_code == 2 and "no such model folder" in r.output
