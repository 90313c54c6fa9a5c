"""The readable report shows the drugs' attributes and the adverse events."""

from __future__ import annotations

from rich.console import Console

from medlens.cli.report import render
from medlens.results import DocumentResult


def test_report_shows_attributes_and_events(meds_nlp):
    doc = meds_nlp("Albuterol inhaler 2 puffs q4-6h PRN wheezing. No rash after amoxicillin.")
    console = Console(record=True, width=200)
    render(DocumentResult.from_doc(doc, "n1"), console)
    out = console.export_text()
    assert "medications" in out and "2 puff" in out
    assert "Q4-6H PRN (4-6/day, as needed for wheezing)" in out
    assert "INH (respiratory tract route, implied by the name)" in out
    assert "adverse event amoxicillin -[caused]-> rash [negated]" in out


def test_cli_analyze_json_has_attributes(meds_kg_path, tmp_path):
    import json

    from typer.testing import CliRunner

    from medlens.cli.app import app

    note = tmp_path / "n.txt"
    note.write_text("Metoprolol succinate 25 mg PO BID.\n")
    res = CliRunner().invoke(app, ["analyze", str(note), "-f", "json", "--no-model", "--kg", str(meds_kg_path)])
    assert res.exit_code == 0, res.output
    (doc,) = json.loads(res.stdout[res.stdout.index("["):])
    (drug,) = doc["entities"]
    assert drug["text"] == "Metoprolol succinate"
    assert {k: v["value"] for k, v in drug["attributes"].items()} == {"strength": "25 mg", "route": "PO", "frequency": "BID"}
