"""The sentence-encoder exporter and its torch-free runtime, on a tiny random-weight BERT."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.training.conftest import write_tokenizer

WORDS = ["fever", "cough", "no", "my", "head", "hurts", "i", "pee", "a", "lot", "chest", "pain", "and"]


@pytest.fixture(scope="module")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from transformers import BertConfig, BertModel

    from medlens.training.export_encoder import export_encoder

    ckpt = tmp_path_factory.mktemp("tiny_encoder_ckpt")
    write_tokenizer(ckpt, WORDS)
    n_vocab = len((ckpt / "vocab.txt").read_text(encoding="utf-8").split())
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=n_vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64)).save_pretrained(str(ckpt))
    out = tmp_path_factory.mktemp("tiny_encoder")
    report = export_encoder(ckpt, out, max_length=32, check_texts=["fever and cough", "my head hurts", "i pee a lot"],
                            min_cosine=0.9)
    assert report["ok"] and report["int8_mean_cosine"] >= 0.9 and report["fp32_min_cosine"] >= 0.999
    return out


def test_exported_folder_and_meta(tiny_encoder_dir: Path):
    assert (tiny_encoder_dir / "model.int8.onnx").is_file() and not (tiny_encoder_dir / "model.onnx").exists()
    meta = json.loads((tiny_encoder_dir / "encoder.json").read_text(encoding="utf-8"))
    assert meta["pooling"] == "mean" and meta["normalize"] and meta["dim"] == 32 and meta["max_length"] == 32


def test_runtime_unit_vectors_independent_of_batching(tiny_encoder_dir: Path):
    from medlens.tagging.encoder import SentenceEncoder

    enc = SentenceEncoder(tiny_encoder_dir, threads=1, batch_size=2)
    texts = ["fever", "my head hurts and chest pain", "no cough", "i pee a lot " * 20]
    vecs = enc.encode(texts)
    assert vecs.shape == (4, 32) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    # alone, reversed and padded next to longer texts: the same embedding
    np.testing.assert_allclose(enc.encode(["no cough"])[0], vecs[2], atol=1e-4)
    np.testing.assert_allclose(enc.encode(texts[::-1])[::-1], vecs, atol=1e-4)
    assert enc.encode([]).shape[0] == 0
    assert len(enc.fingerprint) == 16


def test_runtime_missing_files(tmp_path: Path):
    from medlens.errors import ModelError
    from medlens.tagging.encoder import SentenceEncoder

    with pytest.raises(ModelError, match="no model.int8.onnx"):
        SentenceEncoder(tmp_path)


def test_matcher_runs_on_the_tiny_encoder(tiny_encoder_dir: Path, tiny_kg, tmp_path, monkeypatch):
    from medlens.reasoning.lay import LayLexicon
    from medlens.reasoning.semantic import SemanticMatcher
    from medlens.tagging.encoder import SentenceEncoder

    monkeypatch.setenv("MEDLENS_CACHE", str(tmp_path))
    lex = LayLexicon(version="t", entries=[{"lay": "cant breathe", "term": "shortness of breath", "id": "T:S002"}])
    m = SemanticMatcher(tiny_kg, SentenceEncoder(tiny_encoder_dir), lex, graph_threshold=-1.0, sources=("tiny",),
                        progress=False)
    out = m.match("my head hurts, no cough")
    assert [f.text for f in out] == ["my head hurts", "no cough"]
    assert all(f.origin == "semantic" and f.id.startswith("T:S") and f.matched for f in out)
    assert list((tmp_path / "semantic").glob("concepts-*.npz"))
