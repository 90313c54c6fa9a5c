"""`medlens train relations` and `medlens export` of a relation model through the Typer sub-app, on the tiny encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from medlens.cli.train import train_app
from tests.relations.conftest import PUBTATOR

runner = CliRunner()


def test_cli_train_and_export_relations(tmp_path: Path, tiny_base_dir: Path) -> None:
    kg = tmp_path / "absent.sqlite"
    res = runner.invoke(train_app, ["relations", "-t", str(PUBTATOR), "-d", str(PUBTATOR), "-o", str(tmp_path / "run"),
                                    "--base-model", str(tiny_base_dir), "--epochs", "1", "--batch-size", "2",
                                    "--max-length", "32", "--stride", "8", "--threads", "1"],
                        env={"MEDLENS_KG": str(kg)})
    assert res.exit_code == 0, res.output
    best = tmp_path / "run" / "best"
    assert json.loads((best / "labels.json").read_text())["task"] == "relations"
    res = runner.invoke(train_app, ["export", str(best), "-o", str(tmp_path / "onnx"), "--pubtator", str(PUBTATOR)])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "onnx" / "export_report.json").read_text())["pairs_checked"] > 0
    assert (tmp_path / "onnx" / "model.int8.onnx").exists()


def test_cli_train_relations_reports_a_malformed_line(tmp_path: Path, tiny_base_dir: Path) -> None:
    bad = tmp_path / "bad.PubTator.txt"
    bad.write_text("7|t|Aspirin and ulcer.\n7|a|Ulcer.\n7\t0\tseven\tAspirin\tChemical\tD001241\n", encoding="utf-8")
    res = runner.invoke(train_app, ["relations", "-t", str(bad), "-o", str(tmp_path / "run"), "--base-model",
                                    str(tiny_base_dir), "--kg", str(tmp_path / "none.sqlite")])
    assert res.exit_code == 2
    assert "none.sqlite: no such file" in " ".join(res.output.split())
    res = runner.invoke(train_app, ["relations", "-t", str(bad), "-o", str(tmp_path / "run"), "--base-model",
                                    str(tiny_base_dir)], env={"MEDLENS_KG": str(tmp_path / "none.sqlite")})
    assert res.exit_code == 2
    out = " ".join(res.output.split())
    assert "bad.PubTator.txt, line 3" in out and "not whole numbers" in out


def test_cli_analyze_with_relations_runs_the_component(tiny_kg_path: Path) -> None:
    from medlens.cli.app import app
    from medlens.runtime import RELATIONS_DIR

    if not (RELATIONS_DIR / "model.int8.onnx").is_file():
        pytest.skip(f"no relation model shipped in {RELATIONS_DIR}")
    res = runner.invoke(app, ["analyze", "-", "--kg", str(tiny_kg_path), "-f", "json", "--no-model", "--relations"],
                        input="Aspirin was stopped after a rash.\n")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["relations"] == []  # the tiny graph has no MeSH ids: no entity takes part
    assert {e["text"] for e in data["entities"]} >= {"Aspirin"}
