import json

import pytest
from typer.testing import CliRunner

from medlens.cli.app import app

pytest.importorskip("fhir.resources", reason="FHIR validation needs the dev extra")
from fhir.resources.R4B.bundle import Bundle  # noqa: E402


def test_analyze_format_fhir_writes_one_bundle_per_document(tmp_path, tiny_kg_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("HPI: denies chest pain. History of MI.\nMEDICATIONS: Metformin 500 mg PO BID.\n")
    (notes / "b.txt").write_text("")
    out = tmp_path / "out.ndjson"
    result = CliRunner().invoke(app, ["analyze", str(notes), "--kg", str(tiny_kg_path), "-f", "fhir", "-o", str(out), "-j", "1"])
    assert result.exit_code == 0, result.output
    bundles = [json.loads(line) for line in out.read_text().splitlines()]
    assert [b["identifier"]["value"] for b in bundles] == ["a.txt", "b.txt"]
    for b in bundles:
        Bundle.model_validate(b)
    kinds = {e["resource"]["resourceType"] for e in bundles[0]["entry"]}
    assert {"Observation", "Condition", "MedicationStatement"} <= kinds
    med = next(e["resource"] for e in bundles[0]["entry"] if e["resource"]["resourceType"] == "MedicationStatement")
    assert med["dosage"][0]["text"] == "500 mg PO BID"
    assert bundles[1]["entry"][0]["resource"]["resourceType"] == "OperationOutcome"
