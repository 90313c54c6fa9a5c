"""Offline transformer fusion before int8 quantization, and rebuilding a checkpoint from an int8 model (tiny BERT)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from medlens.errors import ModelError  # noqa: E402
from medlens.training.onnx_optimize import (  # noqa: E402
    op_counts,
    optimize_and_quantize,
    optimize_fp32,
    recover_checkpoint,
    simplify_onnx_file,
)


def _int8_weights(path: Path) -> dict:
    import onnx
    from onnx import numpy_helper

    return {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer
            if i.name.endswith("_quantized") or i.name.endswith("_scale")}


def test_recovered_checkpoint_reexports_to_the_same_int8_weights(tiny_model_dir: Path, tiny_onnx_dir: Path,
                                                                   tmp_path: Path) -> None:
    import numpy as np
    import torch
    from transformers import AutoModelForTokenClassification

    from medlens.training.export import export_onnx

    ckpt = recover_checkpoint(tiny_onnx_dir, tmp_path / "ckpt", base_model=tiny_model_dir)
    original = AutoModelForTokenClassification.from_pretrained(str(tiny_model_dir)).state_dict()
    recovered = AutoModelForTokenClassification.from_pretrained(str(ckpt)).state_dict()
    for name, w in original.items():
        if name.endswith("position_ids"):
            continue
        step = w.abs().max() / 100 if w.dim() == 2 else 0  # int8 steps for matrices; vectors stay fp32
        assert torch.allclose(recovered[name], w, atol=float(step) + 1e-6), name
    export_onnx(ckpt, tmp_path / "onnx")
    a, b = _int8_weights(tiny_onnx_dir / "model.int8.onnx"), _int8_weights(tmp_path / "onnx" / "model.int8.onnx")
    assert a.keys() == b.keys()
    assert all(np.allclose(a[k], b[k], atol=1e-7 if k.endswith("_scale") else 0) for k in a)


def test_recover_rejects_a_model_that_is_not_bert(tmp_path: Path, tiny_onnx_dir: Path) -> None:
    import shutil

    import onnx
    from onnx import TensorProto, helper

    for name in ("labels.json", "tokenizer.json"):
        shutil.copyfile(tiny_onnx_dir / name, tmp_path / name)
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph), str(tmp_path / "model.int8.onnx"))
    with pytest.raises(ModelError, match="not a BERT"):
        recover_checkpoint(tmp_path, tmp_path / "out")


@pytest.fixture(scope="module")
def eager_onnx_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model exported with eager attention (the pattern ONNX Runtime's fusion recognizes)."""
    import transformers

    from medlens.training.export import export_onnx

    out = tmp_path_factory.mktemp("eager_onnx")
    auto = transformers.AutoModelForTokenClassification
    original = auto.from_pretrained
    auto.from_pretrained = functools.partial(original, attn_implementation="eager")
    try:
        export_onnx(tiny_model_dir, out)
    finally:
        auto.from_pretrained = original
    return out


def test_fusion_then_quantization_writes_fused_int8_ops(eager_onnx_dir: Path, tmp_path: Path) -> None:
    import shutil

    from medlens.components.transformer_ner import OnnxTagger

    for name in ("labels.json", "tokenizer.json"):
        shutil.copyfile(eager_onnx_dir / name, tmp_path / name)
    report = optimize_and_quantize(eager_onnx_dir / "model.onnx", tmp_path / "model.int8.onnx", num_heads=2, hidden_size=32)
    assert report["fused_ops"]["Attention"] == 2 and report["fused_ops"]["SkipLayerNormalization"] == 4
    assert report["int8_ops"]["QAttention"] == 2
    assert not (tmp_path / "model.fused.onnx").exists()
    words = [["patients", "with", "breast", "cancer"] * 5, ["tamoxifen", "."]]
    fused = OnnxTagger.from_path(tmp_path).tag_words(words)
    plain = OnnxTagger.from_path(eager_onnx_dir).tag_words(words)
    agree = sum(a == b for x, y in zip(fused, plain) for a, b in zip(x, y))
    assert agree >= 0.9 * sum(len(w) for w in words)


def test_fusion_refuses_an_export_it_cannot_fuse(tiny_onnx_dir: Path, tmp_path: Path) -> None:
    # the default export (SDPA attention) leaves the attention unfused: say so rather than write a model no faster
    if op_counts(tiny_onnx_dir / "model.onnx").get("IsNaN", 0) == 0:
        pytest.skip("this transformers version exports eager attention by default")
    with pytest.raises(ModelError, match="no Attention node was fused"):
        optimize_fp32(tiny_onnx_dir / "model.onnx", tmp_path / "fused.onnx", num_heads=2, hidden_size=32)


def test_redundant_attention_nodes_go_and_the_logits_stay_bit_identical(tiny_onnx_dir: Path, tmp_path: Path) -> None:
    import numpy as np
    import onnxruntime as ort

    fp32 = tiny_onnx_dir / "model.onnx"  # the export as torch wrote it (the int8 file is already simplified)
    before = op_counts(fp32)
    assert before.get("IsNaN", 0) > 0, before
    out = tmp_path / "simplified.onnx"
    removed = simplify_onnx_file(fp32, out)
    after = op_counts(out)
    assert removed > 0 and sum(after.values()) == sum(before.values()) - removed
    assert after.get("IsNaN", 0) == 0 and after.get("Where", 0) < before.get("Where", 0)
    # padded rows of different lengths: the mask still applies, nothing moves by a single bit
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 20, size=(3, 9)).astype(np.int64)
    mask = np.ones_like(ids)
    mask[1, 5:] = 0
    mask[2, 2:] = 0
    feeds = {"input_ids": ids, "attention_mask": mask}
    a = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    b = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    assert np.array_equal(a, b)
    assert simplify_onnx_file(out) == 0  # nothing left to remove: the file is not rewritten
    # medlens export writes the int8 model without them
    assert op_counts(tiny_onnx_dir / "model.int8.onnx").get("IsNaN", 0) == 0
