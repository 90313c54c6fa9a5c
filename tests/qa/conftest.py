"""Fixtures for the question-answering tests: a tiny random-weight yes / no / maybe cross-encoder and its ONNX export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training.conftest import tiny_classifier_dir, tiny_classifier_onnx, write_tiny_classifier  # noqa: F401 (fixtures)

QA_LABELS = ["maybe", "no", "yes"]


def write_tiny_cross_encoder(folder: Path, *, seed: int = 0, head_scale: float = 30.0, max_length: int = 48) -> Path:
    """A random-weight BERT (hidden 32, 2 layers) yes / no / maybe cross-encoder folder, as `medlens train qa` writes it."""
    write_tiny_classifier(folder, QA_LABELS, max_length=max_length, truncation="head-tail", seed=seed,
                          head_scale=head_scale)
    meta = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    meta.update(input="question-context", question_max=12)
    (folder / "labels.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_qa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return write_tiny_cross_encoder(tmp_path_factory.mktemp("tiny_qa") / "model")


@pytest.fixture(scope="session")
def tiny_qa_onnx(tiny_qa_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnxruntime")
    from medlens.training.export import export_onnx

    out = tmp_path_factory.mktemp("tiny_qa_onnx")
    report = export_onnx(tiny_qa_dir, out, sample_texts=["were patients treated with tamoxifen? [SEP] no evidence of disease."])
    assert report["ok"], report
    return out
