"""Transformer fusion before int8 quantization, and a checkpoint rebuilt from an int8 model.

``torch.onnx.export`` writes a BERT encoder as hundreds of small nodes.
ONNX Runtime has fused kernels for the whole pattern: ``Attention`` (Q, K and
V projections, scaled dot product, softmax and mask in one op),
``SkipLayerNormalization`` (residual add + LayerNorm), ``BiasGelu`` and
``EmbedLayerNormalization``. Its session-time optimizer does not build
``Attention`` from an int8 graph, so that fusion has to run offline on the
fp32 export, *before* ``quantize_dynamic`` (which then writes ``QAttention``,
``QEmbedLayerNormalization`` and ``MatMulInteger``)::

    from medlens.training.onnx_optimize import optimize_and_quantize
    report = optimize_and_quantize("OUT/model.onnx", "OUT/model.int8.onnx", num_heads=12, hidden_size=384)

Measured (ONNX Runtime 1.31, AMD EPYC with AVX512-VNNI, the shipped
MiniLM-L6 model): the fused int8 model is *not* faster. Session-time
optimization of the plain int8 export (``ORT_ENABLE_ALL``) already fuses
``DynamicQuantizeMatMul``, ``MatMulIntegerToFloat``, ``SkipLayerNormalization``,
``Gelu`` and ``FusedMatMul``; on top of that, ``QAttention`` ran 5-15% slower
than the unfused attention, and it quantizes the Q/K/V weights to 7 bits
(``reduce_range``). The plain export (``medlens.training.export``) stays the
shipped format; ``benchmarks/ner_model.py --compare-model`` times a fused
model next to it, to check again on another runtime or CPU. Fusion needs an
export with eager attention (``attn_implementation="eager"``): the SDPA graph
that transformers exports by default is not recognized (:func:`optimize_fp32`
raises rather than write a model that is merely re-quantized).

:func:`recover_checkpoint` rebuilds a PyTorch checkpoint from an int8 model
quantized without fusion: the weights are read back from their int8 values,
so exporting and quantizing it again reproduces the int8 model's weights
exactly. It gives the benchmark's PyTorch baseline the shipped model's own
weights, and lets a shipped model be re-exported without its training
checkpoint.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

from medlens.errors import Errors, ModelError

FUSED_OPS = ("Attention", "SkipLayerNormalization", "EmbedLayerNormalization", "BiasGelu", "FastGelu", "Gelu")


def op_counts(path: str | Path) -> dict[str, int]:
    """How many nodes of each operator type the ONNX model at ``path`` holds."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return dict(Counter(n.op_type for n in graph.node))


def optimize_fp32(src: str | Path, dst: str | Path, *, num_heads: int = 0, hidden_size: int = 0) -> dict[str, int]:
    """Fuse the BERT encoder of an fp32 ONNX export (``src``) and write it to ``dst``.

    Args:
        src: fp32 ONNX model of a BERT-style token classifier (``torch.onnx.export``).
        dst: where to write the fused fp32 model.
        num_heads: attention heads of the encoder (0: read from the graph's reshape shapes).
        hidden_size: hidden size of the encoder (0: read from the graph).

    Returns:
        The fused operators and their counts (``Attention``, ``SkipLayerNormalization``, ...).

    Raises:
        ModelError: no ``Attention`` node was fused (an export whose attention
            the fusion does not recognize; the model would be no faster).
    """
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    # the unfused export feeds an int64 [batch, seq] 0/1 mask; keep that input as it is
    options.use_raw_attention_mask(False)
    model = optimize_model(str(src), model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
                           optimization_options=options, opt_level=0, use_gpu=False)
    model.save_model_to_file(str(dst))
    counts = op_counts(dst)
    fused = {op: counts.get(op, 0) for op in FUSED_OPS if counts.get(op, 0)}
    if not fused.get("Attention"):
        raise ModelError(Errors.E300.format(path=src, details=f"no Attention node was fused (fused: {fused or 'none'}); "
                                                               "export with attn_implementation='eager'"))
    return fused


def quantize_int8(src: str | Path, dst: str | Path, *, quantize_attention: bool = True) -> dict[str, int]:
    """Dynamic int8 quantization of a (fused) fp32 model: per-channel int8 weights, classifier head kept fp32.

    Args:
        src: fp32 ONNX model, fused by :func:`optimize_fp32` or not.
        dst: where to write the int8 model.
        quantize_attention: quantize fused ``Attention`` nodes to ``QAttention``
            (their Q/K/V weights then use 7-bit ranges, as ONNX Runtime requires).

    Returns:
        Operator counts of the written model.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.registry import IntegerOpsRegistry

    graph = onnx.load(str(src), load_external_data=False).graph
    head = [n.name for n in graph.node if n.op_type in ("MatMul", "Gemm") and "classifier" in n.name]
    ops = [op for op in IntegerOpsRegistry if quantize_attention or op != "Attention"]
    # shape inference stops at the fused (com.microsoft) ops: their outputs are fp32
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=head,
                     op_types_to_quantize=ops, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return op_counts(dst)


def optimize_and_quantize(fp32: str | Path, int8: str | Path, *, num_heads: int = 0, hidden_size: int = 0,
                          quantize_attention: bool = True, keep_fused_fp32: bool = False) -> dict:
    """Fuse the fp32 export ``fp32`` and quantize it to ``int8`` (the file the component loads).

    Args:
        fp32: fp32 ONNX export (``model.onnx``).
        int8: int8 model to write (``model.int8.onnx``).
        num_heads / hidden_size: encoder shape (0: read from the graph).
        quantize_attention: see :func:`quantize_int8`.
        keep_fused_fp32: keep the fused fp32 model beside ``int8`` as ``model.fused.onnx``.

    Returns:
        A report: the fused operators, the int8 model's operators and sizes.
    """
    int8 = Path(int8)
    fused = int8.with_name("model.fused.onnx")
    report: dict = {"fused_ops": optimize_fp32(fp32, fused, num_heads=num_heads, hidden_size=hidden_size)}
    counts = quantize_int8(fused, int8, quantize_attention=quantize_attention)
    report["int8_ops"] = {op: n for op, n in sorted(counts.items(), key=lambda x: -x[1])}
    report["int8_mb"] = round(int8.stat().st_size / 2**20, 1)
    if not keep_fused_fp32:
        fused.unlink()
    return report


def drop_redundant_attention_nodes(model) -> int:
    """Remove nodes of a ``torch.onnx.export`` SDPA attention graph that cannot change its outputs.

    Two kinds, both exact (the outputs stay bit-identical):

    * the NaN guard after each attention ``Softmax`` (``Where(IsNaN(p), 0, p)``): a row of scores is
      NaN only when every key of the row is masked; medlens always feeds ``[CLS] ... [SEP]`` with
      their mask set, so every row attends to at least [CLS] and the guard passes ``p`` through;
    * the additive attention mask built again in every layer (``Where(mask, 0, -inf)`` from the same
      boolean mask and equal constants): every layer reads the first one.

    In ONNX Runtime 1.31 (CPU, one thread) these nodes took 7-10% of the shipped NER model's time on
    sentence windows and ~20% of the classifier's on 128-subword documents (benchmarks/README.md,
    "Speed round 2"). Session-time optimization does not remove them.

    Args:
        model: an ``onnx.ModelProto``, changed in place.

    Returns:
        The number of nodes removed (0 for a graph without them, e.g. an eager-attention export).
    """
    from collections import defaultdict

    from onnx import numpy_helper

    graph = model.graph
    nodes = list(graph.node)
    consumers: dict[str, list] = defaultdict(list)
    for n in nodes:
        for name in n.input:
            consumers[name].append(n)
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in nodes
              if n.op_type == "Constant" and len(n.attribute) == 1 and n.attribute[0].name == "value"}
    consts.update({i.name: numpy_helper.to_array(i) for i in graph.initializer})
    rename: dict[str, str] = {}
    drop: set[int] = set()
    for sm in (n for n in nodes if n.op_type == "Softmax"):
        users = consumers[sm.output[0]]
        isnan = [u for u in users if u.op_type == "IsNaN"]
        where = [u for u in users if u.op_type == "Where"]
        if len(users) != 2 or len(isnan) != 1 or len(where) != 1:
            continue
        w = where[0]
        if w.input[0] != isnan[0].output[0] or w.input[2] != sm.output[0] or len(consumers[isnan[0].output[0]]) != 1:
            continue
        rename[w.output[0]] = sm.output[0]
        drop.update((id(isnan[0]), id(w)))
    first: dict[tuple, str] = {}
    for n in nodes:
        if n.op_type != "Where" or id(n) in drop or n.input[1] not in consts or n.input[2] not in consts:
            continue
        a, b = consts[n.input[1]], consts[n.input[2]]
        key = (n.input[0], a.dtype.str, a.shape, a.tobytes(), b.dtype.str, b.shape, b.tobytes())
        if key in first:
            rename[n.output[0]] = first[key]
            drop.add(id(n))
        else:
            first[key] = n.output[0]
    if not drop:
        return 0
    graph_outputs = {o.name for o in graph.output}
    if graph_outputs & set(rename):
        return 0  # a removed node's output is a graph output: leave the graph as it is
    kept = [n for n in nodes if id(n) not in drop]
    for n in kept:
        for i, name in enumerate(n.input):
            while name in rename:
                name = rename[name]
            n.input[i] = name
    # constants only the removed nodes read
    used = {name for n in kept for name in n.input} | graph_outputs
    kept = [n for n in kept if n.op_type != "Constant" or any(o in used for o in n.output)]
    removed = len(nodes) - len(kept)
    del graph.node[:]
    graph.node.extend(kept)
    return removed


def simplify_onnx_file(path: str | Path, output: str | Path | None = None) -> int:
    """:func:`drop_redundant_attention_nodes` on an ONNX file (rewritten in place unless ``output``).

    Returns:
        The number of nodes removed (the file is not written when it is 0).
    """
    import onnx

    model = onnx.load(str(path))
    removed = drop_redundant_attention_nodes(model)
    if removed or output is not None:
        onnx.save(model, str(output or path))
    return removed


def _dequantized_weights(int8_path: Path) -> dict[str, object]:
    """fp32 weights of a dynamically quantized (unfused) BERT token classifier, under PyTorch parameter names."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(int8_path)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    # the exporter shares equal weights (a fresh model's zero biases) through Identity nodes named after each parameter
    identities = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}
    for name, src in identities.items():
        while src in identities:
            src = identities[src]
        if src in init:
            init[name] = init[src]
    prefix = next((n.split("bert.embeddings.")[0] for n in init if "bert.embeddings." in n), None)
    if prefix is None:
        raise ModelError(Errors.E301.format(path=int8_path, details="no bert.embeddings.* weights: not a BERT export"))

    def deq(name: str) -> np.ndarray:
        if name in init and not name.endswith("_quantized"):
            return init[name].astype(np.float32)
        q, scale, zp = init[f"{name}_quantized"], init[f"{name}_scale"], init[f"{name}_zero_point"]
        return ((q.astype(np.float32) - zp.astype(np.float32)) * scale).astype(np.float32)

    weights: dict[str, np.ndarray] = {}
    for name in list(init):
        base = name[: -len("_quantized")] if name.endswith("_quantized") else name
        if base.startswith(prefix) and not base.endswith(("_scale", "_zero_point")):
            weights[base[len(prefix):]] = deq(base)
    # the linear layers' weights are anonymous MatMul inputs ([in, out]); the node names give the module
    for node in graph.node:
        if node.op_type not in ("MatMulInteger", "MatMul"):
            continue
        module = node.name.strip("/").rsplit("/", 1)[0].replace("/", ".")
        if not module.startswith(prefix.rstrip(".")) or not module.endswith(("query", "key", "value", "dense", "classifier")):
            continue
        w = node.input[1]
        w = w[: -len("_quantized")] if w.endswith("_quantized") else w
        weights[module[len(prefix):] + ".weight"] = np.ascontiguousarray(deq(w).T)
    return weights


def infer_layer_count(names) -> int:
    """Encoder layers of a BERT state dict (keys ``bert.encoder.layer.K.*``): the highest ``K`` + 1, 0 if none."""
    import re

    found = [int(m.group(1)) for n in names if (m := re.search(r"encoder\.layer\.(\d+)\.", n))]
    return max(found) + 1 if found else 0


def recover_checkpoint(model_dir: str | Path, output: str | Path, base_model: str | Path | None = None) -> Path:
    """A PyTorch checkpoint folder rebuilt from an unfused int8 model folder (``model.int8.onnx``).

    The int8 weights are dequantized (``(q - zero_point) * scale``); per-channel
    symmetric int8 weights re-quantize to the same integers, so exporting and
    quantizing the checkpoint again reproduces the int8 model's weights.

    Args:
        model_dir: folder with ``model.int8.onnx``, ``tokenizer.json`` and ``labels.json``.
        output: checkpoint folder to write (``config.json``, weights, ``tokenizer.json``, ``labels.json``).
        base_model: folder whose ``config.json`` gives the encoder's shape (attention heads,
            ...); None uses the default base model (all-MiniLM-L6-v2). The number of layers is
            read from the weights (a distilled student keeps fewer than its base model).

    Returns:
        ``output``.
    """
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from medlens.tagging.files import META_FILE, TOKENIZER_FILE, read_meta

    src, out = Path(model_dir), Path(output)
    meta = read_meta(src)
    if base_model is None:
        from medlens.training.ner import default_base_model

        base_model = default_base_model()
    config = json.loads((Path(base_model) / "config.json").read_text(encoding="utf-8"))
    weights = {k: torch.from_numpy(v) for k, v in _dequantized_weights(src / "model.int8.onnx").items()}
    # a distilled student keeps only the first layers of its teacher: the weights say how many
    layers = infer_layer_count(weights)
    if layers:
        config["num_hidden_layers"] = layers
    config.update(num_labels=len(meta["labels"]), id2label=dict(enumerate(meta["labels"])),
                  label2id={lab: i for i, lab in enumerate(meta["labels"])}, architectures=["BertForTokenClassification"])
    model = BertForTokenClassification(BertConfig(**{k: v for k, v in config.items() if not k.startswith("_")}))
    state = model.state_dict()
    missing = [k for k in state if k not in weights and not k.endswith("position_ids")]
    extra = [k for k in weights if k not in state]
    if missing or extra:
        raise ModelError(Errors.E301.format(path=src, details=f"weights do not match BERT: missing {missing[:5]}, unknown {extra[:5]}"))
    for k, v in weights.items():
        if tuple(v.shape) != tuple(state[k].shape):
            raise ModelError(Errors.E301.format(path=src, details=f"{k} has shape {tuple(v.shape)}, BERT needs {tuple(state[k].shape)}"))
    model.load_state_dict(weights, strict=False)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    for name in (META_FILE, TOKENIZER_FILE):
        shutil.copyfile(src / name, out / name)
    return out
