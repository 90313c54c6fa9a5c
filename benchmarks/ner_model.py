"""Transformer NER model: devel F1 (strict and overlap, per type) and CPU speed.

Accuracy: the shipped int8 model (``medlens/assets/ner``) and, when given,
the fp32 ONNX export and the PyTorch checkpoint it came from, on the devel
splits of NCBI-disease and BC5CDR (``../shared/data``), each scored alone.

Speed: the same texts, in one process, through

* medlens: a blank spaCy pipeline + ``medlens_transformer_ner`` (ONNX Runtime, int8);
* the Hugging Face ``transformers`` ``pipeline("token-classification",
  aggregation_strategy="first")`` on PyTorch fp32,

with the same number of threads, the systems taking turns for ``--rounds``
rounds (the median is reported, so a burst of load on a shared machine hits
both). Two sets of texts: BC5CDR devel sentences, one text each (the
comparison the issue asks for), and the same sentences joined 8 at a time into
~200-word documents.

The PyTorch weights (``--torch-model``): a checkpoint folder; by default
``recovered``, the shipped int8 model's own weights dequantized to fp32
(:func:`medlens.training.onnx_optimize.recover_checkpoint`), so both systems
hold the same weights and find nearly the same entities; ``base``: the base
encoder (all-MiniLM-L6-v2) with an untrained 5-label head, the same
architecture and size and so the same speed, for a machine with neither.

    python benchmarks/ner_model.py                      # accuracy + speed
    python benchmarks/ner_model.py --speed-only --rounds 5
    python benchmarks/ner_model.py --compare-model fused=/work/ckpt/ner-fast/model.int8.onnx

Writes the "NER model" section of benchmarks/README.md (``--no-readme`` to
skip); with ``--speed-only`` the recorded accuracy tables are kept.
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

from _report import markdown_table, read_readme_section, run_info, update_readme_section  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
ASSET = ROOT / "medlens" / "assets" / "ner"
DEVSETS = {
    "NCBI-disease": (DATA / "ncbi-disease" / "devel.tsv", {"Disease": "DISEASE"}),
    "BC5CDR": (DATA / "bc5cdr" / "devel.tsv", {"Disease": "DISEASE", "Chemical": "CHEMICAL"}),
}


ABBREVIATION_CONTEXT = 10
"""Sentences before each devel sentence whose abbreviation definitions apply to it (the corpora
have no document ids; an abstract has ~9 sentences; the pipeline uses the whole document)."""


def with_document_abbreviations(words: list[list[str]], tags: list[list[str]]) -> list[list[str]]:
    """The transformer component's document rule on sentence corpora: short forms defined in the
    :data:`ABBREVIATION_CONTEXT` preceding sentences (and the sentence itself)."""
    from medlens.tagging.abbreviations import apply_definitions, find_definitions, merge_definitions

    defs = [find_definitions(w, t) for w, t in zip(words, tags)]
    return [apply_definitions(w, t, merge_definitions(defs[max(0, i - ABBREVIATION_CONTEXT): i + 1]))
            for i, (w, t) in enumerate(zip(words, tags))]


def accuracy(models: dict[str, str], max_sentences: int | None = None,
             abbreviations: tuple[str, ...] = ()) -> tuple[list[list[object]], dict]:
    """Scores of each model on each devel set; for the models named in ``abbreviations``, also
    with the document abbreviation rule (row name + " + abbreviations")."""
    from medlens.training.data import read_conll
    from medlens.training.evaluate import format_scores, load_predictor, score_entities

    rows, raw = [], {}
    for mname, path in models.items():
        predictor = load_predictor(path, batch_size=64)
        for dname, (dpath, lmap) in DEVSETS.items():
            t0 = time.perf_counter()
            sents = read_conll(dpath, lmap)[:max_sentences]
            words = [list(x.words) for x in sents]
            pred = predictor(words)
            runs = {mname: pred}
            if mname in abbreviations:
                runs[mname + " + abbreviations"] = with_document_abbreviations(words, pred)
            for rname, tags in runs.items():
                sc = score_entities([list(x.tags) for x in sents], tags, types=set(lmap.values()))  # NCBI: diseases only
                print(format_scores(f"{rname} on {dname} devel ({time.perf_counter() - t0:.0f} s)", sc), flush=True)
                raw[f"{rname}|{dname}"] = sc.as_dict()
                for typ in sc.strict:
                    if typ == "micro" and len(sc.strict) == 2:
                        continue
                    s, o = sc.strict[typ], sc.overlap[typ]
                    rows.append([rname, dname, typ, f"{100 * s.precision:.1f}", f"{100 * s.recall:.1f}",
                                 f"**{100 * s.f1:.1f}**", f"{100 * o.precision:.1f}", f"{100 * o.recall:.1f}",
                                 f"{100 * o.f1:.1f}", s.n_gold])
    return rows, raw


def speed_texts(limit_words: int) -> tuple[list[str], list[str]]:
    """BC5CDR devel sentences (first ``limit_words`` words), and the same sentences joined 8 at a time."""
    from medlens.training.data import read_conll

    sents, n = [], 0
    for s in read_conll(DEVSETS["BC5CDR"][0]):
        sents.append(" ".join(s.words))
        n += len(s.words)
        if n >= limit_words:
            break
    docs = [" ".join(sents[i:i + 8]) for i in range(0, len(sents), 8)]  # ~200-word documents
    return sents, docs


def torch_checkpoint(spec: str, model_dir: Path, tmp: Path) -> tuple[str, str]:
    """A PyTorch checkpoint folder for ``--torch-model`` and a description of its weights."""
    if spec == "recovered":
        from medlens.training.onnx_optimize import recover_checkpoint

        return str(recover_checkpoint(model_dir, tmp / "recovered")), "the int8 model's weights dequantized to fp32"
    if spec == "base":
        import torch
        from transformers import AutoModelForTokenClassification

        from medlens.tagging.files import read_meta
        from medlens.training.ner import default_base_model

        torch.manual_seed(0)
        model = AutoModelForTokenClassification.from_pretrained(  # the pretrained encoder, a fresh head
            str(default_base_model()), num_labels=len(read_meta(model_dir)["labels"]), local_files_only=True)
        model.save_pretrained(str(tmp / "base"))
        return str(tmp / "base"), "the base encoder with an untrained head (same architecture and size, so the same speed)"
    return spec, f"checkpoint {spec}"


def speed(texts: dict[str, list[str]], model_dir: Path, torch_model: str | None, threads: list[int], rounds: int,
          hf_batch_size: int, compare: dict[str, str]) -> tuple[list[list[object]], dict]:
    """Words/s of each system on each text set and thread count: the median of ``rounds`` interleaved runs."""
    import shutil
    import statistics
    import tempfile

    import spacy

    import medlens.components.transformer_ner  # noqa: F401  (registers the factory)

    def component(path: str, n: int):
        nlp = spacy.blank("en")
        nlp.add_pipe("medlens_transformer_ner", config={"model_path": path, "threads": n})
        return lambda xs: sum(len(d.ents) for d in nlp.pipe(xs))

    systems: dict[tuple[str, int], object] = {}
    for n in threads:
        for name, path in {"medlens_transformer_ner (ONNX Runtime, int8)": str(model_dir), **compare}.items():
            systems[name, n] = component(path, n)
    info: dict = {"threads": threads, "rounds": rounds}
    baseline = None
    if torch_model:
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

        from medlens.training.ner import default_base_model

        tmp = Path(tempfile.mkdtemp(prefix="medlens-ner-bench-"))
        ckpt, info["torch_weights"] = torch_checkpoint(torch_model, model_dir, tmp)
        # the base encoder's fast tokenizer: the same vocabulary the model was trained with
        tok = AutoTokenizer.from_pretrained(str(default_base_model()), local_files_only=True)
        model = AutoModelForTokenClassification.from_pretrained(ckpt, local_files_only=True)
        shutil.rmtree(tmp, ignore_errors=True)  # loaded: the rebuilt checkpoint is no longer needed
        hf = pipeline("token-classification", model=model, tokenizer=tok, aggregation_strategy="first", device=-1)
        baseline = f"transformers pipeline (PyTorch, fp32, batch_size={hf_batch_size})"

        def run_hf(xs, n):
            torch.set_num_threads(n)
            return sum(len(r) for r in hf(xs, batch_size=hf_batch_size))

        for n in threads:
            systems[baseline, n] = lambda xs, n=n: run_hf(xs, n)
    rows = []
    for tname, xs in texts.items():
        n_words = sum(len(t.split()) for t in xs)
        for n in threads:
            group = {name: run for (name, k), run in systems.items() if k == n}
            for run in group.values():
                run(xs[:16])  # warm up
            wps: dict[str, list[float]] = {k: [] for k in group}
            ents: dict[str, int] = {}
            loads = []
            for r in range(rounds):
                for name, run in group.items():
                    time.sleep(1)  # let the previous system's threads go idle (PyTorch's spin a while after a run)
                    t0 = time.perf_counter()
                    ents[name] = run(xs)
                    wps[name].append(n_words / (time.perf_counter() - t0))
                loads.append(os.getloadavg()[0])
                print(f"{tname}, {n} threads, round {r + 1}: "
                      + ", ".join(f"{k.split(' (')[0]} {v[-1]:,.0f}" for k, v in wps.items()) + f" words/s (load {loads[-1]:.1f})",
                      flush=True)
            med = {k: statistics.median(v) for k, v in wps.items()}
            for name in group:
                ratio = f"**{med[name] / med[baseline]:.1f}x**" if baseline and name != baseline else ""
                rows.append([f"{tname} ({len(xs):,} texts, {n_words:,} words)", n, name, f"{med[name]:,.0f}",
                             f"{med[name] * len(xs) / n_words:,.1f}", ents[name], ratio])
            info[f"{tname}|{n}"] = {"words_per_second": {k: round(v) for k, v in med.items()}, "runs": wps,
                                    "load_average": loads}
    return rows, info


def pipeline_speed(limit: int, rounds: int) -> tuple[list[list[object]], dict]:
    """Words/s of ``medlens.load()`` with the default components (the shipped models included), the same
    without the document classifier, with the linker's fuzzy fallback off, and :data:`medlens.config.RULES_ONLY`
    (no models), on the first ``limit`` medical abstracts of the throughput benchmark.

    Each pipeline reads each abstract once (the linker caches its searches, so a second pass over the same
    texts would be faster than new text): the abstracts are dealt into ``rounds`` chunks and the pipelines
    take turns chunk by chunk; words/s is all words over all the time a pipeline took."""
    import medlens
    from medlens.config import COMPONENTS, RULES_ONLY
    from throughput import load_texts

    texts = load_texts(limit + 10)
    warm, texts = texts[limit:], texts[:limit]
    chunks = [texts[i::rounds] for i in range(rounds)]
    n_words = sum(len(t.split()) for t in texts)
    no_classifier = tuple(c for c in COMPONENTS if c != "classifier")
    configs: dict[str, dict] = {"default (models)": {}}
    if no_classifier != COMPONENTS:
        configs["default without the classifier"] = {"components": no_classifier}
    configs["default, linker fuzzy=False"] = {"linker": {"fuzzy": False}}
    configs["RULES_ONLY (--no-model)"] = {"components": RULES_ONLY}
    pipes = {name: medlens.load(**cfg) for name, cfg in configs.items()}
    for nlp in pipes.values():
        list(nlp.pipe(warm))  # warm up on other abstracts
    seconds = dict.fromkeys(pipes, 0.0)
    ents = dict.fromkeys(pipes, 0)
    for r, chunk in enumerate(chunks):
        for name, nlp in pipes.items():
            time.sleep(1)
            t0 = time.perf_counter()
            ents[name] += sum(len(d.ents) for d in nlp.pipe(chunk))
            seconds[name] += time.perf_counter() - t0
        print(f"pipeline chunk {r + 1}/{rounds} done: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()), flush=True)
    wps = {k: n_words / v for k, v in seconds.items()}
    rows = [[name, " → ".join(pipes[name].pipe_names).replace("medlens_", ""), f"{wps[name]:,.0f}", ents[name]]
            for name in pipes]
    return rows, {"texts": len(texts), "words": n_words, "words_per_second": {k: round(v) for k, v in wps.items()},
                  "seconds": seconds}


SPEED_MARK = "### Speed"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ASSET), help="int8 model folder to benchmark (default: the shipped one)")
    ap.add_argument("--torch-model", default="recovered",
                    help="PyTorch weights for the transformers pipeline: a checkpoint folder (OUTPUT/best of "
                         "`medlens train ner`), 'recovered' (the int8 model's weights in fp32, default), "
                         "'base' (base encoder, untrained head) or 'none'")
    ap.add_argument("--fp32-onnx", help="fp32 ONNX export (model.onnx) to score next to the int8 model")
    ap.add_argument("--compare-model", action="append", default=[], metavar="NAME=PATH",
                    help="another int8 model (folder or .onnx file in a model folder) timed through the component")
    ap.add_argument("--speed-words", type=int, default=20000, help="words of BC5CDR devel text for the speed test")
    ap.add_argument("--threads", default=",".join(dict.fromkeys(map(str, [os.cpu_count() or 1, 1]))),
                    help="comma-separated thread counts, each given to every system in turn (default: every core, then 1)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (median reported)")
    ap.add_argument("--hf-batch-size", type=int, default=16, help="batch_size of the transformers pipeline")
    ap.add_argument("--speed-only", action="store_true", help="skip the accuracy tables (keep the recorded ones)")
    ap.add_argument("--pipeline-texts", type=int, default=100,
                    help="medical abstracts for the whole-pipeline speed, default components with and without "
                         "the model (0: skip; needs the knowledge graph)")
    ap.add_argument("--max-sentences", type=int, default=None, help="score only the first N devel sentences (quick checks)")
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--json-out", help="also write the scores and speeds as JSON to this file")
    ap.add_argument("--note", default="", help="a line added under the accuracy table (e.g. training wall time)")
    args = ap.parse_args()
    model_dir = Path(args.model)
    if not (model_dir / "model.int8.onnx").exists():
        sys.exit(f"no int8 model in {model_dir}")
    missing = [str(p) for p, _ in DEVSETS.values() if not p.exists()]
    if missing:
        sys.exit(f"skipped: corpora not found ({', '.join(missing)}); they live in ../shared/data")
    info = run_info()
    raw: dict = {}
    acc_md = None
    if not args.speed_only:
        int8_name = "int8 ONNX (shipped)" if model_dir == ASSET else "int8 ONNX"
        models = {int8_name: str(model_dir / "model.int8.onnx")}
        if args.fp32_onnx:
            models["fp32 ONNX"] = args.fp32_onnx
        acc_rows, raw = accuracy(models, args.max_sentences, abbreviations=(int8_name,))
        acc_md = "\n\n".join(x for x in [
            f"Recorded {info['date']} at commit {info['commit']} on {info['machine']['summary']}. "
            f"Model: `medlens/assets/ner` (see its MODEL_CARD.md). Devel splits; strict = exact type and boundaries "
            f"(seqeval conventions), overlap = same type sharing a word. Tags are decoded as the best valid BIO "
            f"sequence (`BioDecoder`). '+ abbreviations': the component's document rule (a short form defined after "
            f"an entity takes its type elsewhere), with definitions from the {ABBREVIATION_CONTEXT} preceding "
            f"sentences, since the corpora have no document ids. ONNX Runtime's dynamic int8 quantization "
            f"scales each batch by its own largest activation, so the scores move by a few tenths with the batching.",
            markdown_table(["model", "devel set", "type", "strict P", "strict R", "strict F1", "overlap P", "overlap R",
                            "overlap F1", "gold"], acc_rows, ["l", "l", "l", "r", "r", "r", "r", "r", "r", "r"]),
            args.note] if x)
    else:
        old = read_readme_section("NER model") or ""
        acc_md = old.split(SPEED_MARK)[0].split("Speed, CPU")[0].strip() or None
        # a quick check that the timed component still scores what the table says
        _, raw = accuracy({"int8": str(model_dir / "model.int8.onnx")}, args.max_sentences)
    checks = "; ".join(f"{key.split('|')[1]} {typ} {100 * sc['strict'][typ]['f1']:.1f}" for key, sc in raw.items()
                       if key.startswith("int8") and "abbreviations" not in key
                       for typ in sc["strict"] if typ != "micro" or len(sc["strict"]) > 2)
    sentences, documents = speed_texts(args.speed_words)
    compare = dict(x.split("=", 1) for x in args.compare_model)
    torch_model = None if args.torch_model == "none" else args.torch_model
    threads = [int(x) for x in str(args.threads).split(",")]
    sp_rows, sp_info = speed({"sentences": sentences, "documents": documents}, model_dir, torch_model, threads,
                             args.rounds, args.hf_batch_size, compare)
    loads = [x for k, v in sp_info.items() if "|" in k for x in v["load_average"]]
    pipe_md = ""
    if args.pipeline_texts:
        pl_rows, sp_info["pipeline"] = pipeline_speed(args.pipeline_texts, args.rounds)
        pipe_md = "\n\n".join([
            f"Whole pipeline, `medlens.load(...)` then `nlp.pipe(texts)` on the first {sp_info['pipeline']['texts']:,} "
            f"medical abstracts of the throughput benchmark ({sp_info['pipeline']['words']:,} words), each read once "
            f"(the pipelines take turns over {args.rounds} chunks), every core (the models' default). Model spans that the dictionary did not "
            f"match go to the linker's fuzzy search (`KnowledgeGraph.search`); "
            f"the `fuzzy=False` row shows the pipeline without that fallback:",
            markdown_table(["pipeline", "components", "words/s", "entities"], pl_rows, ["l", "l", "r", "r"])])
    speed_md = "\n\n".join(x for x in [
        SPEED_MARK,
        f"Recorded {info['date']} at commit {info['commit']} on {info['machine']['summary']}; "
        f"the same thread count for every system, the systems taking turns over {args.rounds} rounds (median shown); "
        f"1-minute load average during the runs {min(loads):.1f}-{max(loads):.1f}"
        + (" (other jobs were running: absolute figures are low, compare the systems within a row group; PyTorch's "
           "thread pool suffers more than ONNX Runtime's single-threaded runs when a core is taken, so the ratio at "
           f"{max(threads)} threads is higher than on an idle machine; the 1-thread rows are the per-core comparison)."
           if max(loads) > 1.5 and max(threads) > 1 else "."),
        markdown_table(["texts (BC5CDR devel)", "threads", "system", "words/s", "texts/s", "entities", "vs transformers"],
                       sp_rows, ["l", "r", "l", "r", "r", "r", "r"]),
        (f"PyTorch weights: {sp_info['torch_weights']}. " if torch_model else "")
        + "medlens: `nlp.pipe(texts)` over a blank spaCy pipeline with the component's defaults (length-sorted "
          "batches of at most 512 positions across documents, one ONNX Runtime thread per batch, "
          "as many batches at once as threads); transformers: "
          f"`pipe(texts, batch_size={args.hf_batch_size})` after `torch.set_num_threads(threads)`.",
        f"Strict F1 of the timed int8 model on the devel splits in this run (the component's batching): {checks}.",
        pipe_md,
        "Rerun: `python benchmarks/ner_model.py` (accuracy + speed) or `--speed-only`; "
        "`--torch-model CKPT/best` to time a trained checkpoint, `--torch-model base` without one.",
    ] if x)
    md = "\n\n".join(x for x in [acc_md, speed_md] if x)
    if not args.no_readme:
        update_readme_section("NER model", md)
    if args.json_out:
        import json

        Path(args.json_out).write_text(json.dumps({"accuracy": raw, "speed": sp_rows, "speed_info": sp_info, "info": info},
                                                  indent=2), encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
