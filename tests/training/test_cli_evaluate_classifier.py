"""`medlens evaluate` on document classifiers: known-answer scores, the confusion PNG, checkpoint == ONNX."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from medlens.cli.train import confusion_paths, train_app  # noqa: E402
from tests.training.conftest import write_tiny_classifier  # noqa: E402

runner = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GOLD = ["a", "a", "b", "b", "b", "c"]


@pytest.fixture(scope="module")
def always_b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A single-label model (labels a, b, c) whose head predicts b for every document."""
    return write_tiny_classifier(tmp_path_factory.mktemp("always_b") / "best", ["a", "b", "c"], head_bias=[0.0, 3.0, 0.0])


def _six_docs(tmp_path: Path) -> Path:
    p = tmp_path / "dev.csv"
    with p.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["abstract", "condition"])
        for i, label in enumerate(GOLD):
            w.writerow([f"patients with breast cancer, case {i}, treated with tamoxifen", label])
    return p


def test_evaluate_classifier_checkpoint_and_onnx_known_scores(tmp_path: Path, always_b: Path) -> None:
    data = _six_docs(tmp_path)
    res = runner.invoke(train_app, ["evaluate", str(always_b), str(data), "--text-column", "abstract",
                                    "--label-column", "condition", "--json", str(tmp_path / "ckpt.json")])
    assert res.exit_code == 0, res.output
    png = tmp_path / "confusion.png"  # default: next to --json
    assert png.read_bytes()[:8] == PNG_MAGIC
    rep = json.loads((tmp_path / "ckpt.json").read_text())[str(data)]
    assert rep["labels"] == ["a", "b", "c"] and rep["n_docs"] == 6
    assert rep["accuracy"] == 0.5
    assert rep["per_class"]["b"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "n_gold": 3, "n_pred": 6}
    assert rep["per_class"]["a"]["f1"] == rep["per_class"]["c"]["f1"] == 0.0
    assert rep["macro"]["f1"] == pytest.approx(0.6667 / 3, abs=1e-4)
    assert rep["micro"]["f1"] == 0.5
    assert rep["confusion"] == [[0, 2, 0], [0, 3, 0], [0, 1, 0]]
    assert rep["confusion_png"] == str(png)
    assert "accuracy" in res.output and "50.00" in res.output and f"confusion matrix: {png}" in res.output

    from medlens.training.export import export_onnx

    assert export_onnx(always_b, tmp_path / "onnx")["ok"]
    explicit = tmp_path / "plots" / "onnx-dev.png"
    res = runner.invoke(train_app, ["evaluate", str(tmp_path / "onnx"), str(data), "--text-column", "abstract",
                                    "--label-column", "condition", "--json", str(tmp_path / "onnx.json"),
                                    "--confusion", str(explicit)])
    assert res.exit_code == 0, res.output
    assert explicit.read_bytes()[:8] == PNG_MAGIC
    onnx_rep = json.loads((tmp_path / "onnx.json").read_text())[str(data)]
    assert {k: v for k, v in onnx_rep.items() if k != "confusion_png"} == {k: v for k, v in rep.items() if k != "confusion_png"}


def test_evaluate_multi_label_classifier_known_scores(tmp_path: Path) -> None:
    """Head bias (2, 2, -2): every document is given {a, b}."""
    model = write_tiny_classifier(tmp_path / "mlc", ["a", "b", "c"], multi_label=True, head_bias=[2.0, 2.0, -2.0])
    rows = [["a", "b"], ["a"], ["b"], ["a", "b"], ["c"], ["a", "c"]]
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps({"text": f"renal failure {i}", "labels": r}) + "\n" for i, r in enumerate(rows)))
    res = runner.invoke(train_app, ["evaluate", str(model), str(data), "--confusion", str(tmp_path / "m.png")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m.png").read_bytes()[:8] == PNG_MAGIC
    from medlens.training.evaluate import evaluate_classifier

    rep = evaluate_classifier(model, data)
    assert rep.multi_label and rep.accuracy == pytest.approx(2 / 6)
    assert (rep.per_class["a"].precision, rep.per_class["a"].recall) == (pytest.approx(4 / 6), 1.0)
    assert rep.per_class["c"].n_pred == 0 and rep.per_class["c"].n_gold == 2
    assert rep.confusion == [[4, 4, 0, 0], [3, 3, 0, 0], [2, 2, 0, 0]]  # last column: (none)


def test_evaluate_classifier_reports_a_missing_column(tmp_path: Path, always_b: Path) -> None:
    data = _six_docs(tmp_path)
    res = runner.invoke(train_app, ["evaluate", str(always_b), str(data)])
    assert res.exit_code == 2
    assert "no column 'text' (set --text-column); the columns are: abstract, condition" in " ".join(res.output.split())


def test_evaluate_gold_label_unknown_to_the_model_is_scored(tmp_path: Path, always_b: Path) -> None:
    from medlens.training.evaluate import evaluate_classifier

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": "x", "label": l}) + "\n" for l in ["b", "zzz"]))
    rep = evaluate_classifier(always_b, data)
    assert rep.labels == ["a", "b", "c", "zzz"]
    assert rep.per_class["zzz"].n_gold == 1 and rep.per_class["zzz"].recall == 0.0


def test_confusion_paths_defaults(tmp_path: Path) -> None:
    one, two = Path("x/dev.csv"), Path("y/test.csv")
    assert confusion_paths([one], None, None) == [Path.cwd() / "confusion.png"]
    assert confusion_paths([one], None, tmp_path / "s.json") == [tmp_path / "confusion.png"]
    assert confusion_paths([one, two], tmp_path / "c.png", None) == [tmp_path / "c-dev.png", tmp_path / "c-test.png"]


def test_evaluate_model_without_labels_json_is_reported(tmp_path: Path) -> None:
    res = runner.invoke(train_app, ["evaluate", str(tmp_path / "nothing"), "dev.csv"])
    assert res.exit_code == 2
    assert "labels.json" in res.output
