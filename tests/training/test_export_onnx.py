"""ONNX export of the tiny model: fp32 parity with PyTorch, int8 argmax agreement, ONNX tagging == torch tagging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")


def test_export_report_parity(tiny_onnx_dir: Path) -> None:
    report = json.loads((tiny_onnx_dir / "export_report.json").read_text())
    assert report["ok"]
    assert report["fp32_max_abs_diff"] < 1e-4
    assert report["int8_argmax_agreement"] >= 0.98
    for name in ("model.onnx", "model.int8.onnx", "tokenizer.json", "labels.json"):
        assert (tiny_onnx_dir / name).exists()
    # the head and the first layer's feed-forward output stay fp32; every other MatMul is int8
    kept = report["int8_excluded_nodes"]
    assert len(kept) == 2 and any("classifier" in n for n in kept) and any("layer.0/output/dense" in n for n in kept)
    import onnx

    ops = [n.op_type for n in onnx.load(str(tiny_onnx_dir / "model.int8.onnx")).graph.node]
    assert ops.count("MatMulInteger") > 0 and "DynamicQuantizeLinear" in ops


def test_onnx_tagger_matches_torch_tagger(tiny_model_dir: Path, tiny_onnx_dir: Path) -> None:
    from medlens.components.transformer_ner import OnnxTagger
    from medlens.training.ner import TorchTagger

    words = [["patients", "with", "breast", "cancer"], ["no", "evidence", "of"] * 12, ["tamoxifen", "."]]
    torch_tags = TorchTagger.from_path(tiny_model_dir).tag_words(words)
    onnx_tags = OnnxTagger.from_path(tiny_onnx_dir / "model.onnx").tag_words(words)
    assert onnx_tags == torch_tags
    assert [len(t) for t in onnx_tags] == [len(w) for w in words]


def test_packed_tagging_keeps_every_sentence(tiny_model_dir: Path, tiny_onnx_dir: Path) -> None:
    from medlens.components.transformer_ner import OnnxTagger
    from medlens.training.ner import TorchTagger

    words = [["patients", "with", "breast", "cancer", "."], ["no", "evidence", "of"] * 12, ["tamoxifen", "."]]
    onnx = OnnxTagger.from_path(tiny_onnx_dir / "model.onnx")
    packed = onnx.tag_words(words, packed=True)
    assert [len(t) for t in packed] == [len(w) for w in words]
    assert packed == TorchTagger.from_path(tiny_model_dir).tag_words(words, packed=True)
    # a text that fits one window alone reads the same packed with nothing around it
    assert onnx.tag_words(words[:1], packed=True) == onnx.tag_words(words[:1])


def test_evaluate_model_on_onnx_folder(tiny_onnx_dir: Path, tmp_path: Path) -> None:
    from medlens.training.evaluate import evaluate_model

    p = tmp_path / "dev.tsv"
    p.write_text("breast\tB-Disease\ncancer\tI-Disease\n\n", encoding="utf-8")
    scores = evaluate_model(tiny_onnx_dir, p, {"Disease": "DISEASE"})
    assert scores.strict["DISEASE"].n_gold == 1
