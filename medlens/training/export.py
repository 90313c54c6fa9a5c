"""Export a trained token classifier to ONNX (fp32) and int8, and check both against PyTorch.

``torch.onnx.export`` (TorchScript exporter) with dynamic batch and sequence
axes, then ``onnxruntime.quantization.quantize_dynamic`` (per-channel int8 weights of
the MatMul layers and the embedding tables; the classifier head stays fp32). The check runs PyTorch, the fp32 and the int8 models on
sample inputs of several lengths (padded batches included) and reports the
fp32 maximum absolute logit difference and the int8 argmax agreement on real
(non-padding) positions.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from medlens.errors import Errors, ModelError
from medlens.training.ner import META_FILE, TOKENIZER_FILE, _require_torch, load_tokenizer, read_meta, special_ids

SAMPLE_TEXTS = (
    "Patients with breast cancer were treated with tamoxifen.",
    "Cisplatin-induced nephrotoxicity was observed in two of the 40 patients with ovarian carcinoma.",
    "No evidence of Huntington disease.",
    "A 63-year-old man with type 2 diabetes mellitus, hypertension and chronic kidney disease presented with "
    "acute chest pain after starting sumatriptan; troponin was normal and the pain resolved with nitroglycerin.",
)


def _sample_batches(tokenizer, max_length: int):
    import numpy as np

    cls_id, sep_id, pad_id = special_ids(tokenizer)
    rows = []
    for t in SAMPLE_TEXTS:
        ids = tokenizer.encode(t, add_special_tokens=False).ids[: max_length - 2]
        rows.append([cls_id, *ids, sep_id])
    batches = []
    for group in ([rows[0]], rows):  # a single sequence, then a padded batch
        width = max(len(r) for r in group)
        ids = np.full((len(group), width), pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, r in enumerate(group):
            ids[i, :len(r)] = r
            mask[i, :len(r)] = 1
        batches.append((ids, mask))
    return batches


def export_onnx(model_dir: str | Path, output: str | Path, *, quantize: bool = True, keep_fp32: bool = True,
                opset: int = 17, max_abs_diff: float = 1e-3, min_argmax_agreement: float = 0.98) -> dict:
    """Export ``model_dir`` (a training checkpoint folder) to ``output``.

    Args:
        model_dir: folder with ``config.json``, weights, ``tokenizer.json``, ``labels.json``.
        output: folder to write ``model.onnx``, ``model.int8.onnx``, ``tokenizer.json``, ``labels.json``.
        quantize: also write the int8 model.
        keep_fp32: keep ``model.onnx`` once the int8 model is written and checked.
        opset: ONNX opset.
        max_abs_diff: the fp32 check fails above this maximum absolute logit difference.
        min_argmax_agreement: the int8 check fails below this share of equal argmax labels.

    Returns:
        A report: file sizes, ``fp32_max_abs_diff``, ``int8_argmax_agreement``, ``ok``.
    """
    torch, transformers = _require_torch()
    import numpy as np
    import onnxruntime as ort

    model_dir, out = Path(model_dir), Path(output)
    meta = read_meta(model_dir)
    tokenizer = load_tokenizer(model_dir)
    model = transformers.AutoModelForTokenClassification.from_pretrained(str(model_dir), local_files_only=True)
    model.eval()
    model.config.return_dict = False
    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / "model.onnx"

    class _Logits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).logits

    wrapper = _Logits(model).eval()
    batches = _sample_batches(tokenizer, meta["max_length"])
    dummy = tuple(torch.from_numpy(x) for x in batches[1])
    try:
        torch.onnx.export(wrapper, dummy, str(fp32), input_names=["input_ids", "attention_mask"], output_names=["logits"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                                        "logits": {0: "batch", 1: "sequence"}},
                          opset_version=opset, do_constant_folding=True, dynamo=False)
    except Exception as exc:  # torch's exporter raises many types
        raise ModelError(Errors.E300.format(path=fp32, details=f"ONNX export failed: {exc}")) from exc
    shutil.copyfile(model_dir / META_FILE, out / META_FILE)
    tokenizer.save(str(out / TOKENIZER_FILE))

    def run(path: Path, ids, mask):
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    report: dict = {"fp32": str(fp32), "fp32_mb": round(fp32.stat().st_size / 2**20, 1)}
    diffs, agree, total = [], 0, 0
    refs = []
    for ids, mask in batches:
        with torch.inference_mode():
            ref = wrapper(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
        refs.append(ref)
        got = run(fp32, ids, mask)
        real = mask.astype(bool)
        diffs.append(float(np.abs(got - ref)[real].max()))
    report["fp32_max_abs_diff"] = max(diffs)
    ok = report["fp32_max_abs_diff"] <= max_abs_diff
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        int8 = out / "model.int8.onnx"
        import onnx

        graph = onnx.load(str(fp32), load_external_data=False).graph
        head = [n.name for n in graph.node if n.op_type in ("MatMul", "Gemm") and "classifier" in n.name]
        # per-channel int8 weights; the small classifier head stays fp32 (argmax agreement ~96% -> ~99%)
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=head)
        report["int8_excluded_nodes"] = head
        for (ids, mask), ref in zip(batches, refs):
            got = run(int8, ids, mask)
            real = mask.astype(bool)
            agree += int((got.argmax(-1) == ref.argmax(-1))[real].sum())
            total += int(real.sum())
        report.update({"int8": str(int8), "int8_mb": round(int8.stat().st_size / 2**20, 1),
                       "int8_argmax_agreement": round(agree / total, 4), "int8_positions_checked": total})
        ok = ok and agree / total >= min_argmax_agreement
        if not keep_fp32:
            fp32.unlink()
            report["fp32"] = None
    report["ok"] = ok
    (out / "export_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


def package_model(onnx_dir: str | Path, dest: str | Path, *, card: str) -> list[Path]:
    """Copy what inference needs (``model.int8.onnx``, ``tokenizer.json``, ``labels.json``) to ``dest`` and write ``MODEL_CARD.md``.

    Args:
        onnx_dir: an :func:`export_onnx` output folder.
        dest: the model folder to ship (e.g. ``medlens/assets/ner``); other files in it are left alone.
        card: the model card's markdown.

    Returns:
        The files written.
    """
    src, dst = Path(onnx_dir), Path(dest)
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("model.int8.onnx", TOKENIZER_FILE, META_FILE):
        if not (src / name).exists():
            raise ModelError(Errors.E300.format(path=src / name, details="run the export with quantization first"))
        shutil.copyfile(src / name, dst / name)
        written.append(dst / name)
    (dst / "MODEL_CARD.md").write_text(card.strip() + "\n", encoding="utf-8")
    written.append(dst / "MODEL_CARD.md")
    return written
