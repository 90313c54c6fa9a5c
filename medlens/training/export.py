"""Export a trained NER or document classifier to ONNX (fp32) and int8, and check both against PyTorch.

The checkpoint's ``labels.json`` ``task`` picks the model class: token
classification (NER; no ``task`` key in older folders) or text classification
(``medlens train classify``). ``torch.onnx.export`` (TorchScript exporter) with
dynamic batch and sequence axes, then ``onnxruntime.quantization.quantize_dynamic``
(per-channel int8 weights of the MatMul layers and the embedding tables; the
classifier head and the first layer's feed-forward output stay fp32: see
:func:`fp32_nodes`). The check runs PyTorch, the fp32 and the int8
models on sample inputs (a single sequence, then padded batches) and reports
the fp32 maximum absolute logit difference and the int8 agreement:

* NER: argmax agreement on real (non-padding) positions;
* single-label classifiers: argmax agreement per document;
* multi-label classifiers: agreement of the thresholded sigmoid decisions
  (probability >= 0.5, i.e. logit >= 0) per document and label.

Sample documents of classifiers are encoded as in training and inference
(:func:`medlens.components.classifier.encode_documents`, with the model's
``max_length`` and ``truncation``).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from medlens.errors import Errors, ModelError
from medlens.tagging.alignment import pad_batch
from medlens.training.evaluate import TEXT_TASK, TOKEN_TASK, model_task
from medlens.training.ner import META_FILE, TOKENIZER_FILE, _require_torch, load_tokenizer, read_meta, special_ids

SAMPLE_TEXTS = (
    "Patients with breast cancer were treated with tamoxifen.",
    "Cisplatin-induced nephrotoxicity was observed in two of the 40 patients with ovarian carcinoma.",
    "No evidence of Huntington disease.",
    "A 63-year-old man with type 2 diabetes mellitus, hypertension and chronic kidney disease presented with "
    "acute chest pain after starting sumatriptan; troponin was normal and the pain resolved with nitroglycerin.",
)
DOCUMENT_SAMPLES = (
    "Adenocarcinoma of the colon with hepatic metastases: outcome of resection and adjuvant chemotherapy in 112 patients.",
    "Endoscopic findings in chronic pancreatitis and gastric ulcer disease; Helicobacter pylori eradication improved healing.",
    "Seizure frequency and cognitive decline in temporal lobe epilepsy after anterior lobectomy; multiple sclerosis "
    "plaques were not seen on magnetic resonance imaging.",
    "Coronary artery bypass grafting versus angioplasty for unstable angina: myocardial infarction and mortality at "
    "five years, with left ventricular ejection fraction as a predictor.",
    "Sepsis, fever and hypotension in intensive care: serum lactate and cytokine levels in 58 critically ill adults.",
    "Lymphoma in children treated with radiotherapy. " * 40 + "Long-term survival was 82 percent.",
)
"""Classifier samples beyond :data:`SAMPLE_TEXTS`: abstract-like texts of five disease areas, one longer than any
``max_length`` (so truncation is exercised)."""

BATCH = 16




def _sample_batches(tokenizer, meta: dict, texts: Sequence[str] | None = None):
    """(ids, mask) batches: the first sample alone, then every sample in padded batches of :data:`BATCH`."""
    cls_id, sep_id, pad_id = special_ids(tokenizer)
    if meta.get("task", TOKEN_TASK) == TEXT_TASK:
        from medlens.components.classifier import encode_documents

        texts = list(texts) if texts else [*SAMPLE_TEXTS, *DOCUMENT_SAMPLES]
        rows = encode_documents(texts, tokenizer, meta["max_length"], meta.get("truncation", "head"))
    else:
        texts = list(texts) if texts else list(SAMPLE_TEXTS)
        rows = [[cls_id, *tokenizer.encode(t, add_special_tokens=False).ids[: meta["max_length"] - 2], sep_id]
                for t in texts]
    return [pad_batch(rows[:1], pad_id)] + [pad_batch(rows[s:s + BATCH], pad_id) for s in range(0, len(rows), BATCH)]


def _decisions(logits, mask, task: str, multi_label: bool):
    """What the int8 check compares, and the entries of the fp32 difference: (decisions, real entries of logits)."""
    import numpy as np

    if task == TOKEN_TASK:
        real = mask.astype(bool)
        return logits.argmax(-1)[real], logits[real]
    if multi_label:
        return (logits >= 0).ravel(), logits  # sigmoid(logit) >= 0.5
    return logits.argmax(-1), np.asarray(logits)


def fp32_nodes(matmuls: Iterable[str]) -> list[str]:
    """The MatMul/Gemm nodes that stay fp32 in the int8 model.

    Per-channel int8 weights with per-batch int8 activations cost little except in
    two places: the small classifier head (NER argmax agreement ~96% -> ~99% when
    it stays fp32) and the first encoder layer's feed-forward output, whose GELU
    activations have the widest range (Bondarenko et al. 2021, "Understanding and
    overcoming the challenges of efficient transformer quantization"). Keeping
    that one MatMul fp32 closed the NER model's int8 gap on NCBI-disease devel
    from 0.5 to 0.0 F1 for ~9% of the speed (6,400 vs 7,100 words/s on one thread).
    """
    return [n for n in matmuls if "classifier" in n or re.search(r"layer\.0/output/dense/", n)]


def quantize_int8(fp32: Path, int8: Path) -> list[str]:
    """Write ``int8``: ``fp32`` with per-channel int8 MatMul/Gemm weights (dynamic quantization), the nodes of
    :func:`fp32_nodes` left in fp32. Returns those nodes' names (the export reports record them)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fp32), load_external_data=False).graph
    keep = fp32_nodes(n.name for n in graph.node if n.op_type in ("MatMul", "Gemm"))
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep)
    return keep


def export_onnx(model_dir: str | Path, output: str | Path, *, quantize: bool = True, keep_fp32: bool = True,
                opset: int = 17, max_abs_diff: float = 1e-3, min_argmax_agreement: float = 0.98,
                sample_texts: Sequence[str] | None = None) -> dict:
    """Export ``model_dir`` (a NER or classifier training checkpoint folder) to ``output``.

    Args:
        model_dir: folder with ``config.json``, weights, ``tokenizer.json``, ``labels.json``.
        output: folder to write ``model.onnx``, ``model.int8.onnx``, ``tokenizer.json``, ``labels.json``
            and ``export_report.json``.
        quantize: also write the int8 model.
        keep_fp32: keep ``model.onnx`` once the int8 model is written and checked.
        opset: ONNX opset.
        max_abs_diff: the fp32 check fails above this maximum absolute logit difference.
        min_argmax_agreement: the int8 check fails below this share of equal decisions (argmax labels of
            NER positions or documents; thresholded labels of multi-label documents).
        sample_texts: texts to check on (None: a few built-in clinical sentences, plus abstract-like
            documents for classifiers). A few hundred real documents make the int8 check meaningful.

    Returns:
        A report: ``task``, file sizes, ``fp32_max_abs_diff``, ``int8_argmax_agreement``,
        ``int8_positions_checked`` (decisions compared), ``ok``.

    Raises:
        ModelError: the folder is not a model medlens can export, or the exporter failed.
    """
    torch, transformers = _require_torch()
    import numpy as np
    import onnxruntime as ort

    model_dir, out = Path(model_dir), Path(output)
    task = model_task(model_dir)
    if task == TEXT_TASK:
        from medlens.components.classifier import read_classifier_meta

        meta = read_classifier_meta(model_dir)
        auto = transformers.AutoModelForSequenceClassification
        logit_axes = {0: "batch"}
    else:
        meta = read_meta(model_dir)
        auto = transformers.AutoModelForTokenClassification
        logit_axes = {0: "batch", 1: "sequence"}
    multi_label = bool(meta.get("multi_label", False))
    tokenizer = load_tokenizer(model_dir)
    model = auto.from_pretrained(str(model_dir), local_files_only=True)
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
    batches = _sample_batches(tokenizer, meta, sample_texts)
    dummy = tuple(torch.from_numpy(x) for x in batches[1])
    try:
        torch.onnx.export(wrapper, dummy, str(fp32), input_names=["input_ids", "attention_mask"], output_names=["logits"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                                        "logits": logit_axes},
                          opset_version=opset, do_constant_folding=True, dynamo=False)
    except Exception as exc:  # torch's exporter raises many types
        raise ModelError(Errors.E300.format(path=fp32, details=f"ONNX export failed: {exc}")) from exc
    shutil.copyfile(model_dir / META_FILE, out / META_FILE)
    tokenizer.save(str(out / TOKENIZER_FILE))

    def run(path: Path, ids, mask):
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    report: dict = {"task": task, "fp32": str(fp32), "fp32_mb": round(fp32.stat().st_size / 2**20, 1)}
    diffs, agree, total = [], 0, 0
    refs = []
    for ids, mask in batches:
        with torch.inference_mode():
            ref = wrapper(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
        refs.append(ref)
        got = run(fp32, ids, mask)
        diffs.append(float(np.abs(_decisions(got - ref, mask, task, multi_label)[1]).max()))
    report["fp32_max_abs_diff"] = max(diffs)
    ok = report["fp32_max_abs_diff"] <= max_abs_diff
    if quantize:
        int8 = out / "model.int8.onnx"
        report["int8_excluded_nodes"] = quantize_int8(fp32, int8)
        from medlens.training.onnx_optimize import simplify_onnx_file

        # nodes that cannot change the outputs (the softmax NaN guards, the mask built again per layer)
        report["int8_removed_nodes"] = simplify_onnx_file(int8)
        for (ids, mask), ref in zip(batches, refs):
            got = run(int8, ids, mask)
            same = _decisions(got, mask, task, multi_label)[0] == _decisions(ref, mask, task, multi_label)[0]
            agree += int(same.sum())
            total += int(same.size)
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
