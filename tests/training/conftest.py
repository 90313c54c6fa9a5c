"""Fixtures for the training tests: a tiny WordPiece tokenizer and a random-weight BERT (hidden 32, 2 layers)."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest

WORDS = ["patients", "with", "breast", "cancer", "were", "treated", "tamoxifen", "the", "of", "and", "disease",
         "induced", "cisplatin", "renal", "failure", "no", "evidence", "a", "in", "."]
LABELS = ["O", "B-CHEMICAL", "I-CHEMICAL", "B-DISEASE", "I-DISEASE"]


def write_tokenizer(folder: Path, words: list[str] | None = None) -> Path:
    """A WordPiece tokenizer.json (and vocab.txt) over a tiny vocab: ``words`` (default: the toy words),
    every letter, digit and punctuation mark."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (WORDS if words is None else words)
    vocab += [c for c in string.ascii_lowercase + string.digits + string.punctuation if c not in vocab]
    vocab += ["##" + c for c in string.ascii_lowercase + string.digits]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = Tokenizer(models.WordPiece.from_file(str(folder / "vocab.txt"), unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    path = folder / "tokenizer.json"
    tok.save(str(path))
    return path


def write_tiny_model(folder: Path, max_length: int = 16, stride: int = 4, seed: int = 0) -> Path:
    """A random-weight BertForTokenClassification model folder, as `medlens train ner` writes it."""
    import torch
    from transformers import BertConfig, BertForTokenClassification

    folder.mkdir(parents=True, exist_ok=True)
    write_tokenizer(folder)
    n_vocab = len((folder / "vocab.txt").read_text(encoding="utf-8").split())
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=n_vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=len(LABELS),
                        id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    BertForTokenClassification(config).save_pretrained(str(folder))
    (folder / "labels.json").write_text(json.dumps({"labels": LABELS, "max_length": max_length, "stride": stride}),
                                        encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return write_tiny_model(tmp_path_factory.mktemp("tiny_bert") / "model")


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir: Path):
    from medlens.training.ner import load_tokenizer

    return load_tokenizer(tiny_model_dir)


def _exported(model_dir: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """``medlens export`` of a tiny checkpoint into a fresh temporary folder."""
    pytest.importorskip("onnxruntime")
    from medlens.training.export import export_onnx

    out = tmp_path_factory.mktemp(name)
    export_onnx(model_dir, out)
    return out


@pytest.fixture(scope="session")
def tiny_onnx_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _exported(tiny_model_dir, tmp_path_factory, "tiny_onnx")


def write_tiny_classifier(folder: Path, labels: list[str], *, multi_label: bool = False, max_length: int = 24,
                          truncation: str = "head", seed: int = 0, head_bias: list[float] | None = None,
                          head_scale: float = 1.0) -> Path:
    """A random-weight BertForSequenceClassification folder, as `medlens train classify` writes it.

    ``head_bias`` zeroes the classifier head's weights and sets its bias, so that every document gets
    the logits ``head_bias`` (a model whose predictions are known in advance). ``head_scale``
    multiplies the head's random weights: a random encoder gives nearly the same pooled vector for
    every text, and a large scale makes the documents' probabilities differ visibly.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    folder.mkdir(parents=True, exist_ok=True)
    write_tokenizer(folder)
    n_vocab = len((folder / "vocab.txt").read_text(encoding="utf-8").split())
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=n_vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=len(labels),
                        id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)},
                        problem_type="multi_label_classification" if multi_label else "single_label_classification")
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.mul_(head_scale)
    if head_bias is not None:
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.copy_(torch.tensor(head_bias))
    model.save_pretrained(str(folder))
    meta = {"task": "text-classification", "labels": labels, "multi_label": multi_label, "max_length": max_length,
            "truncation": truncation}
    (folder / "labels.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


CLASS_LABELS = ["cardio", "neuro", "onco"]


@pytest.fixture(scope="session")
def tiny_classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A single-label random classifier (labels :data:`CLASS_LABELS`, head-tail truncation at 24 subwords)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return write_tiny_classifier(tmp_path_factory.mktemp("tiny_clf") / "model", CLASS_LABELS, truncation="head-tail")


@pytest.fixture(scope="session")
def tiny_classifier_onnx(tiny_classifier_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _exported(tiny_classifier_dir, tmp_path_factory, "tiny_clf_onnx")
