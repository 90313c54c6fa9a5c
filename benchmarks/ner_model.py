"""Transformer NER model: devel F1 (strict and overlap, per type) and CPU speed.

Accuracy: the shipped int8 model (``medlens/assets/ner``) and, when given,
the fp32 ONNX export and the PyTorch checkpoint it came from, on the devel
splits of NCBI-disease and BC5CDR (``../shared/data``), each scored alone.

Speed: words per second over BC5CDR devel sentences grouped into
paragraph-sized documents, for the medlens component (spaCy blank pipeline +
``medlens_transformer_ner``, ONNX Runtime int8) and, when a PyTorch
checkpoint is given, the Hugging Face ``transformers`` token-classification
pipeline on the same texts (fp32, ``aggregation_strategy="first"``).

    python benchmarks/ner_model.py --torch-model /work/ckpt/ner_v1/best --fp32-onnx /work/ckpt/ner_v1/onnx/model.onnx

Writes the "NER model" section of benchmarks/README.md (``--no-readme`` to skip).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from _report import markdown_table, run_info, update_readme_section  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
ASSET = ROOT / "medlens" / "assets" / "ner"
DEVSETS = {
    "NCBI-disease": (DATA / "ncbi-disease" / "devel.tsv", {"Disease": "DISEASE"}),
    "BC5CDR": (DATA / "bc5cdr" / "devel.tsv", {"Disease": "DISEASE", "Chemical": "CHEMICAL"}),
}


def accuracy(models: dict[str, str], max_sentences: int | None = None) -> tuple[list[list[object]], dict]:
    from medlens.training.data import read_conll
    from medlens.training.evaluate import format_scores, load_predictor, score_entities

    rows, raw = [], {}
    for mname, path in models.items():
        predictor = load_predictor(path, batch_size=64)
        for dname, (dpath, lmap) in DEVSETS.items():
            t0 = time.perf_counter()
            sents = read_conll(dpath, lmap)[:max_sentences]
            sc = score_entities([list(x.tags) for x in sents], predictor([list(x.words) for x in sents]),
                                types=set(lmap.values()))  # NCBI annotates diseases only
            print(format_scores(f"{mname} on {dname} devel ({time.perf_counter() - t0:.0f} s)", sc), flush=True)
            raw[f"{mname}|{dname}"] = sc.as_dict()
            for typ in sc.strict:
                if typ == "micro" and len(sc.strict) == 2:
                    continue
                s, o = sc.strict[typ], sc.overlap[typ]
                rows.append([mname, dname, typ, f"{100 * s.precision:.1f}", f"{100 * s.recall:.1f}", f"**{100 * s.f1:.1f}**",
                             f"{100 * o.precision:.1f}", f"{100 * o.recall:.1f}", f"{100 * o.f1:.1f}", s.n_gold])
    return rows, raw


def speed_texts(limit_words: int) -> list[str]:
    from medlens.training.data import read_conll

    sents = read_conll(DEVSETS["BC5CDR"][0])
    texts, cur, n = [], [], 0
    for s in sents:
        cur.append(" ".join(s.words))
        n += len(s.words)
        if len(cur) == 8:  # ~paragraph-sized documents (~200 words)
            texts.append(" ".join(cur))
            cur = []
        if n >= limit_words:
            break
    if cur:
        texts.append(" ".join(cur))
    return texts


def speed(texts: list[str], model_dir: Path, torch_model: str | None, threads: int) -> list[list[object]]:
    import spacy

    n_words = sum(len(t.split()) for t in texts)
    rows = []
    nlp = spacy.blank("en")
    nlp.add_pipe("medlens_transformer_ner", config={"model_path": str(model_dir), "threads": threads})
    list(nlp.pipe(texts[:4]))  # warm up
    t0 = time.perf_counter()
    n_ents = sum(len(d.ents) for d in nlp.pipe(texts, batch_size=64))
    dt = time.perf_counter() - t0
    rows.append(["medlens_transformer_ner (ONNX Runtime, int8)", f"{n_words / dt:,.0f}", f"{len(texts) / dt:.1f}", n_ents])
    print(f"medlens component: {n_words / dt:,.0f} words/s", flush=True)
    if torch_model:
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

        torch.set_num_threads(threads)
        from medlens.training.ner import default_base_model

        # the base encoder's fast tokenizer: the same vocabulary the checkpoint was trained with
        tok = AutoTokenizer.from_pretrained(str(default_base_model()), local_files_only=True)
        model = AutoModelForTokenClassification.from_pretrained(torch_model, local_files_only=True)
        pipe = pipeline("token-classification", model=model, tokenizer=tok, aggregation_strategy="first", device=-1)
        pipe(texts[:4])
        t0 = time.perf_counter()
        n_ents = sum(len(r) for r in pipe(texts, batch_size=16))
        dt = time.perf_counter() - t0
        rows.append(["transformers pipeline (PyTorch, fp32)", f"{n_words / dt:,.0f}", f"{len(texts) / dt:.1f}", n_ents])
        print(f"transformers pipeline: {n_words / dt:,.0f} words/s", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ASSET), help="int8 model folder to benchmark (default: the shipped one)")
    ap.add_argument("--torch-model", help="PyTorch checkpoint folder (OUTPUT/best of `medlens train ner`)")
    ap.add_argument("--fp32-onnx", help="fp32 ONNX export (model.onnx) to score next to the int8 model")
    ap.add_argument("--speed-words", type=int, default=20000, help="words of BC5CDR devel text for the speed test")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--max-sentences", type=int, default=None, help="score only the first N devel sentences (quick checks)")
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--json-out", help="also write the scores and speeds as JSON to this file")
    ap.add_argument("--note", default="", help="a line added under the tables (e.g. training wall time)")
    args = ap.parse_args()
    model_dir = Path(args.model)
    if not (model_dir / "model.int8.onnx").exists():
        sys.exit(f"no int8 model in {model_dir}")
    missing = [str(p) for p, _ in DEVSETS.values() if not p.exists()]
    if missing:
        sys.exit(f"skipped: corpora not found ({', '.join(missing)}); they live in ../shared/data")
    models = {"int8 ONNX (shipped)" if model_dir == ASSET else "int8 ONNX": str(model_dir / "model.int8.onnx")}
    if args.fp32_onnx:
        models["fp32 ONNX"] = args.fp32_onnx
    acc_rows, raw = accuracy(models, args.max_sentences)
    sp_rows = speed(speed_texts(args.speed_words), model_dir, args.torch_model, args.threads)
    info = run_info()
    md = "\n\n".join([
        f"Recorded {info['date']} at commit {info['commit']} on {info['machine']['summary']}. "
        f"Model: `medlens/assets/ner` (see its MODEL_CARD.md). Devel splits; strict = exact type and boundaries "
        f"(seqeval conventions), overlap = same type sharing a word.",
        markdown_table(["model", "devel set", "type", "strict P", "strict R", "strict F1", "overlap P", "overlap R",
                        "overlap F1", "gold"], acc_rows, ["l", "l", "l", "r", "r", "r", "r", "r", "r", "r"]),
        f"Speed, CPU, {args.threads} threads, {args.speed_words:,} words of BC5CDR devel text in ~200-word documents:",
        markdown_table(["system", "words/s", "docs/s", "entities"], sp_rows, ["l", "r", "r", "r"]),
        args.note,
        "Rerun: `python benchmarks/ner_model.py --torch-model CKPT/best --fp32-onnx CKPT/onnx/model.onnx`.",
    ])
    if not args.no_readme:
        update_readme_section("NER model", md)
    if args.json_out:
        import json

        Path(args.json_out).write_text(json.dumps({"accuracy": raw, "speed": sp_rows, "info": info}, indent=2), encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
