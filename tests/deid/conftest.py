"""Fixtures for the deid tests: a tiny random-weight PHI model exported to ONNX.

The classifier head is set so that the model tags *every* word ``B-NAME``: the
model's output is then known exactly, which is what the tests of the union of
model and pattern spans need.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medlens.deid.training_data import MODEL_LABELS

LABELS = ["O"] + [f"{p}-{t}" for t in sorted(MODEL_LABELS) for p in ("B", "I")]


def write_tiny_phi_model(folder: Path, always: str = "B-NAME") -> Path:
    """A BertForTokenClassification folder (hidden 32, 2 layers) whose head always predicts ``always``."""
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from tests.training.conftest import write_tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    write_tokenizer(folder, words=["seen", "on", "for", "disease", "the"])
    vocab = (folder / "vocab.txt").read_text(encoding="utf-8").split()
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=len(LABELS),
                        id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    model = BertForTokenClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.bias[LABELS.index(always)] = 10.0
    model.save_pretrained(str(folder))
    (folder / "labels.json").write_text(json.dumps({"labels": LABELS, "max_length": 32, "stride": 8}), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_phi_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An exported (fp32 + int8) tiny PHI model that tags every word as a name."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("onnxruntime")
    from medlens.training.export import export_onnx

    src = write_tiny_phi_model(tmp_path_factory.mktemp("tiny_phi") / "model")
    out = tmp_path_factory.mktemp("tiny_phi_onnx")
    export_onnx(src, out)
    return out
