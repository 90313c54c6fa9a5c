"""ONNX export of document classifiers: fp32 parity, int8 agreement (argmax / thresholded sigmoid), same truncation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from medlens.errors import ModelError  # noqa: E402
from tests.training.conftest import CLASS_LABELS, write_tiny_classifier  # noqa: E402

LONG = "breast cancer treated with tamoxifen and cisplatin " * 20 + "renal failure"
TEXTS = ["patients with breast cancer", "no evidence of disease .", LONG, "a", "cisplatin induced renal failure"]


def _torch_logits(model_dir: Path, texts: list[str]):
    """Logits of the PyTorch checkpoint on ids truncated the way labels.json says (independently of the ONNX path)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from medlens.components.classifier import truncate_ids
    from medlens.training.ner import load_tokenizer

    meta = json.loads((model_dir / "labels.json").read_text())
    tok = load_tokenizer(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), local_files_only=True).eval()
    rows = []
    for t in texts:
        ids = [2] + truncate_ids(tok.encode(t, add_special_tokens=False).ids, meta["max_length"] - 2, meta["truncation"]) + [3]
        with torch.inference_mode():
            rows.append(model(input_ids=torch.tensor([ids])).logits[0].numpy())
    return rows


def test_export_single_label_report(tiny_classifier_onnx: Path) -> None:
    report = json.loads((tiny_classifier_onnx / "export_report.json").read_text())
    assert report["ok"] and report["task"] == "text-classification"
    assert report["fp32_max_abs_diff"] < 1e-4
    assert report["int8_argmax_agreement"] >= 0.98
    # one decision per document: the first sample alone, then every built-in sample
    from medlens.training.export import DOCUMENT_SAMPLES, SAMPLE_TEXTS

    assert report["int8_positions_checked"] == 1 + len(SAMPLE_TEXTS) + len(DOCUMENT_SAMPLES)
    assert any("classifier" in n for n in report["int8_excluded_nodes"])  # the head stays fp32
    for name in ("model.onnx", "model.int8.onnx", "tokenizer.json", "labels.json"):
        assert (tiny_classifier_onnx / name).exists()


def test_onnx_probabilities_match_torch_with_training_truncation(tiny_classifier_dir: Path,
                                                                  tiny_classifier_onnx: Path) -> None:
    from medlens.components.classifier import OnnxClassifier, softmax

    import numpy as np

    clf = OnnxClassifier.from_path(tiny_classifier_onnx / "model.onnx")
    assert clf.truncation == "head-tail" and clf.labels == CLASS_LABELS
    got = clf.probabilities(TEXTS, batch_size=2)
    want = softmax(np.stack(_torch_logits(tiny_classifier_dir, TEXTS)))
    assert np.abs(got - want).max() < 1e-5
    assert np.allclose(got.sum(axis=1), 1.0)


def test_export_multi_label_checks_thresholded_decisions(tmp_path: Path) -> None:
    import numpy as np

    from medlens.components.classifier import OnnxClassifier, sigmoid
    from medlens.training.export import export_onnx

    model = write_tiny_classifier(tmp_path / "m", CLASS_LABELS, multi_label=True)
    texts = ["breast cancer", "renal failure after cisplatin", LONG]
    report = export_onnx(model, tmp_path / "onnx", sample_texts=texts)
    assert report["ok"], report
    assert report["int8_positions_checked"] == (1 + len(texts)) * len(CLASS_LABELS)  # documents x labels
    clf = OnnxClassifier.from_path(tmp_path / "onnx")  # the int8 model
    assert clf.multi_label
    want = sigmoid(np.stack(_torch_logits(model, texts)))
    assert np.abs(clf.probabilities(texts) - want).max() < 0.05
    assert not np.allclose(clf.probabilities(texts).sum(axis=1), 1.0)  # independent labels, not a softmax


def test_decisions_multi_label_threshold_and_ner_mask() -> None:
    import numpy as np

    from medlens.training.export import _decisions

    logits = np.array([[0.3, -0.1, 0.0]], dtype=np.float32)
    assert _decisions(logits, None, "text-classification", True)[0].tolist() == [True, False, True]
    assert _decisions(logits, None, "text-classification", False)[0].tolist() == [0]
    tokens = np.array([[[0.0, 1.0], [2.0, 0.0], [9.0, 0.0]]])  # the last position is padding
    mask = np.array([[1, 1, 0]])
    decisions, real = _decisions(tokens, mask, "token-classification", False)
    assert decisions.tolist() == [1, 0] and real.shape == (2, 2)


def test_export_unknown_task_is_refused(tmp_path: Path) -> None:
    from medlens.training.export import export_onnx

    model = write_tiny_classifier(tmp_path / "m", CLASS_LABELS)
    meta = json.loads((model / "labels.json").read_text())
    (model / "labels.json").write_text(json.dumps({**meta, "task": "summarization"}))
    with pytest.raises(ModelError, match=r"unknown model task 'summarization'.*token-classification, text-classification"):
        export_onnx(model, tmp_path / "onnx")


def test_known_head_gives_known_probabilities(tmp_path: Path) -> None:
    """Zero head weights + bias [0, ln 2, ln 3]: every document gets softmax = 1/6, 2/6, 3/6, also in int8."""
    from medlens.components.classifier import OnnxClassifier
    from medlens.training.export import export_onnx

    model = write_tiny_classifier(tmp_path / "m", CLASS_LABELS, head_bias=[0.0, math.log(2), math.log(3)])
    assert export_onnx(model, tmp_path / "onnx", keep_fp32=False)["ok"]
    assert not (tmp_path / "onnx" / "model.onnx").exists()
    probs = OnnxClassifier.from_path(tmp_path / "onnx").probabilities(TEXTS)
    assert probs.shape == (len(TEXTS), 3)
    assert abs(probs - [1 / 6, 2 / 6, 3 / 6]).max() < 1e-5
