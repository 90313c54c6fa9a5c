"""`medlens train ner / evaluate / export` through the Typer sub-app, on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from medlens.cli.train import train_app  # noqa: E402

runner = CliRunner()


def test_cli_train_evaluate_export(tmp_path: Path, tiny_model_dir: Path) -> None:
    toy = tmp_path / "toy.tsv"
    toy.write_text("breast\tB-Disease\ncancer\tI-Disease\nand\tO\ntamoxifen\tB-Chemical\n\n" * 8, encoding="utf-8")
    arg = f"{toy}:Disease=DISEASE,Chemical=CHEMICAL"
    res = runner.invoke(train_app, ["ner", "-t", arg, "-d", f"toy={arg}", "-o", str(tmp_path / "run"), "--base-model",
                                    str(tiny_model_dir), "--epochs", "1", "--batch-size", "4", "--max-length", "16",
                                    "--stride", "4", "--threads", "1"])
    assert res.exit_code == 0, res.output
    best = tmp_path / "run" / "best"
    assert (best / "labels.json").exists()
    res = runner.invoke(train_app, ["evaluate", str(best), arg, "--json", str(tmp_path / "scores.json")])
    assert res.exit_code == 0, res.output
    assert "DISEASE" in res.output and "overlap" in res.output
    assert "strict" in json.loads((tmp_path / "scores.json").read_text())[str(toy)]
    res = runner.invoke(train_app, ["export", str(best), "-o", str(tmp_path / "onnx")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "onnx" / "model.int8.onnx").exists()


def test_cli_malformed_training_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("breast\tB-Disease\ncancer I-Disease\n", encoding="utf-8")
    res = runner.invoke(train_app, ["ner", "-t", str(bad), "-o", str(tmp_path / "run")])
    assert res.exit_code == 2
    assert "bad.tsv, line 2" in " ".join(res.output.split())


def test_pretrain_evaluate_export_are_top_level_commands() -> None:
    from typer.testing import CliRunner

    from medlens.cli.app import app

    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    for name in ("pretrain", "evaluate", "export"):
        res = runner.invoke(app, [name, "--help"])
        assert res.exit_code == 0, res.output
        assert "Usage: medlens " + name in " ".join(res.output.split())
        assert name in top.output
