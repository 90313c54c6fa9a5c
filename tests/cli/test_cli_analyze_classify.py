"""`medlens analyze`: models by default, `--no-model`, `--classify`: categories in JSON and in the report; a clear error without a model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medlens.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def shipped_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An exported classifier laid out like medlens/assets/classifier (probabilities 1/6, 2/6, 3/6)."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from medlens.training.export import export_onnx, package_model
    from tests.training.conftest import write_tiny_classifier

    tmp = tmp_path_factory.mktemp("clf")
    ckpt = write_tiny_classifier(tmp / "ckpt", ["cardio", "neuro", "onco"], head_bias=[0.0, math.log(2), math.log(3)])
    assert export_onnx(ckpt, tmp / "onnx")["ok"]
    package_model(tmp / "onnx", tmp / "classifier", card="# test classifier")
    return tmp / "classifier"


def test_analyze_classify_json_and_report(shipped_like: Path, tiny_kg_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("medlens.components.classifier.DEFAULT_MODEL_DIR", shipped_like)
    res = runner.invoke(app, ["analyze", "-", "--kg", str(tiny_kg_path), "--classify", "-f", "json"],
                        input="Denies chest pain. History of MI.\n")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [c["label"] for c in doc["categories"]] == ["onco", "neuro", "cardio"]
    assert doc["categories"][0]["predicted"] is True and doc["categories"][0]["score"] == pytest.approx(0.5, abs=1e-5)
    assert doc["entities"]  # the rest of the pipeline still ran
    res = runner.invoke(app, ["analyze", "-", "--kg", str(tiny_kg_path), "--classify", "-f", "report"],
                        input="Denies chest pain.\n")
    assert res.exit_code == 0, res.output
    assert "categories: onco 0.50, neuro 0.33, cardio 0.17" in res.stdout


def test_models_by_default_and_no_model_runs_the_dictionary_alone(tiny_kg_path: Path) -> None:
    from medlens.config import CLASSIFIER_DIR, NER_DIR

    text = "Cisplatin induced nephrotoxicity in patients with ovarian cancer. Denies chest pain.\n"
    res = runner.invoke(app, ["analyze", "-", "--kg", str(tiny_kg_path), "-f", "json"], input=text)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    if (CLASSIFIER_DIR / "model.int8.onnx").is_file():  # the shipped classifier runs by default
        assert doc["categories"] and sum(c["predicted"] for c in doc["categories"]) == 1
    if (NER_DIR / "model.int8.onnx").is_file():  # the shipped recognizer finds what the tiny graph does not know
        assert {"cisplatin", "nephrotoxicity"} <= {e["text"].lower() for e in doc["entities"]}
    res = runner.invoke(app, ["analyze", "-", "--kg", str(tiny_kg_path), "-f", "json", "--no-model"], input=text)
    assert res.exit_code == 0, res.output
    plain = json.loads(res.stdout)
    assert "categories" not in plain
    assert "nephrotoxicity" not in {e["text"].lower() for e in plain["entities"]}


def test_analyze_classify_without_a_model_is_a_clear_error(tmp_path: Path, tiny_kg_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("medlens.components.classifier.DEFAULT_MODEL_DIR", tmp_path / "assets" / "classifier")
    res = runner.invoke(app, ["analyze", "-", "--kg", str(tiny_kg_path), "--classify"], input="Chest pain.\n")
    assert res.exit_code == 2
    out = " ".join(res.output.split())
    assert "No document-classifier model at" in out and "medlens export" in out
