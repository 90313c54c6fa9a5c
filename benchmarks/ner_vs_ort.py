"""The NER component inside the pipeline against raw ONNX Runtime on the same int8 model and notes (issue 17).

    .venv/bin/python benchmarks/ner_vs_ort.py                 # 300 notes, 3 rounds: ~2 min on a quiet 2-core machine
    .venv/bin/python benchmarks/ner_vs_ort.py --limit 40 --rounds 1 --no-readme    # a quick look

Texts: the notes of ``benchmarks/throughput.py --corpus notes`` (300 MTSamples notes drawn with seed 17 among
those of 100-1,500 words after the first 100; real transcribed notes, nothing is tuned on them).

* **component**: ``medlens.load()`` (every default component); the components before
  ``medlens_transformer_ner`` (sections, sentences) run untimed, then the clock runs over
  ``ner.pipe(docs)`` alone: the component's windows, batching, decoding and ``set_annotations``,
  as inside ``nlp.pipe``.
* **raw ONNX Runtime**: the same ``.onnx`` file the component loaded, in one ``InferenceSession``
  (every graph optimization, ``intra_op_num_threads`` = the component's thread count); the clock
  runs over the model's ``tokenizers`` tokenizer (``encode_batch`` without special tokens), the
  subwords cut into consecutive windows of the model's ``max_length`` ([CLS] + subwords + [SEP]),
  the windows sorted by length and run in batches of 32 (padded to the batch's longest) through
  ``session.run``; no decoding: the cost of the model alone.

The two take turns for ``--rounds`` rounds after an untimed warm-up of each; the figure of each is its
best round (other jobs on a shared machine only ever add time). Target (issue 17): component words/s
>= 90 % of raw ONNX Runtime words/s. Results go to benchmarks/README.md, section
"NER component vs raw ONNX Runtime (issue 17)" (each run adds a row), unless ``--no-readme``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(1, str(ROOT))  # this checkout's medlens (an editable install may point at another checkout)
from _report import (  # noqa: E402
    cpu_flags,
    load_average,
    markdown_table,
    recorded_rows,
    run_info,
    update_readme_section,
)

HEADING = "NER component vs raw ONNX Runtime (issue 17)"
TARGET = 0.90  # issue 17: the NER component >= 90 % of raw ONNX Runtime's speed on the same model
COMPONENT = "medlens_transformer_ner"


# --------------------------------------------------------------------------- raw ONNX Runtime (pure helpers)

def cut_windows(ids: list[int], max_length: int, cls_id: int, sep_id: int) -> list[list[int]]:
    """``ids`` (subwords without special tokens) as consecutive windows of at most ``max_length``
    positions, each ``[CLS] + piece + [SEP]``; an empty text gives no window."""
    size = max_length - 2
    if size < 1:
        raise ValueError(f"max_length must be at least 3, got {max_length}")
    return [[cls_id, *ids[i:i + size], sep_id] for i in range(0, len(ids), size)]


def length_sorted_batches(windows: list[list[int]], batch_size: int) -> list[list[list[int]]]:
    """The windows sorted by length (longest first) and cut into batches of ``batch_size``."""
    ordered = sorted(windows, key=len, reverse=True)
    return [ordered[i:i + batch_size] for i in range(0, len(ordered), batch_size)]


def pad_batch(batch: list[list[int]], pad_id: int):
    """``(input_ids, attention_mask)`` int64 arrays of a batch padded to its longest window."""
    import numpy as np

    width = max(len(w) for w in batch)
    ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for row, w in enumerate(batch):
        ids[row, :len(w)] = w
        mask[row, :len(w)] = 1
    return ids, mask


class RawOrt:
    """The model alone: tokenizer, length-sorted batches, ``session.run``; no decoding.

    ``mode``: "intra" runs the batches one after another in a session with ``threads`` intra-op
    threads (ONNX Runtime's usual way); "concurrent" runs ``threads`` batches at once, each on one
    intra-op thread of a single-threaded session (``session.run`` is thread-safe and releases the GIL).
    """

    def __init__(self, model_file: Path, threads: int, batch_size: int = 32, mode: str = "intra",
                 disabled_optimizers: list[str] | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if mode not in ("intra", "concurrent"):
            raise ValueError(f"mode must be intra or concurrent, got {mode!r}")
        self.mode, self.threads = mode, threads

        folder = model_file.parent
        meta = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
        self.max_length = int(meta.get("max_length", 128))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.cls_id, self.sep_id, self.pad_id = (self.tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]"))
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.intra_op_num_threads = threads if mode == "intra" else 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model_file), sess_options=opts, providers=["CPUExecutionProvider"],
                                            disabled_optimizers=list(disabled_optimizers or []))
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.batch_size = batch_size
        self._pool = None
        if mode == "concurrent" and threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="raw-ort")

    def run(self, texts: list[str]) -> dict:
        """Tag ``texts``; returns windows, positions (padded) and batches run."""
        import numpy as np

        windows: list[list[int]] = []
        for enc in self.tokenizer.encode_batch(texts, add_special_tokens=False):
            windows += cut_windows(enc.ids, self.max_length, self.cls_id, self.sep_id)
        batches = length_sorted_batches(windows, self.batch_size)

        def one(batch: list[list[int]]) -> int:
            ids, mask = pad_batch(batch, self.pad_id)
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            self.session.run(None, feeds)
            return ids.size

        positions = sum(self._pool.map(one, batches) if self._pool else map(one, batches))
        return {"windows": len(windows), "positions": positions, "batches": len(batches)}


# --------------------------------------------------------------------------- the component

def component_model_file(ner) -> Path:
    """The ONNX file the loaded component runs (its session's path; else the shipped default)."""
    session = getattr(getattr(ner, "tagger", None), "session", None)
    path = getattr(session, "_model_path", None)
    if path and Path(path).is_file():
        return Path(path)
    from medlens.runtime import NER_DIR
    from medlens.tagging.files import model_file_in

    found = model_file_in(NER_DIR)
    if found is None:
        sys.exit(f"no NER model in {NER_DIR}")
    return found


def component_threads(ner) -> int:
    threads = getattr(getattr(ner, "tagger", None), "threads", None)
    if threads:
        return int(threads)
    from medlens.runtime import default_threads

    return default_threads()


def before_component(nlp, texts: list[str]):
    """Docs made and run through the components before the NER component (untimed)."""
    docs = [nlp.make_doc(t) for t in texts]
    for name, proc in nlp.pipeline:
        if name == COMPONENT:
            break
        docs = list(proc.pipe(docs)) if hasattr(proc, "pipe") else [proc(d) for d in docs]
    return docs


def component_disabled_optimizers() -> list[str]:
    """The ONNX Runtime graph optimizations medlens's sessions leave out (none in older versions)."""
    try:
        from medlens.tagging.files import DISABLED_OPTIMIZERS
    except ImportError:
        return []
    return list(DISABLED_OPTIMIZERS)


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


def verdict(component_wps: float, raw_wps: float, target: float = TARGET) -> tuple[float, str]:
    """Component words/s as a share of raw words/s, and "met" / "missed" against ``target``."""
    share = component_wps / raw_wps if raw_wps else float("nan")
    return share, "met" if share >= target else "missed"


COLUMNS = ["date", "commit", "CPU (flags)", "load before -> after", "notes", "words", "threads", "rounds",
           "model", "component words/s", "raw ORT words/s", "component / raw", "target >= 90 %", "raw optimizations"]


def record(row: dict[str, str], args: argparse.Namespace) -> Path:
    rows = recorded_rows(HEADING, COLUMNS)
    rows.append(row)
    notes = [
        "Run: `.venv/bin/python benchmarks/ner_vs_ort.py` (options: `--limit N`, `--rounds R`, `--threads N`, "
        "`--batch-size 32`, `--kg PATH`). Each run adds a row.",
        "",
        "- Texts: the 300 MTSamples notes of `benchmarks/throughput.py --corpus notes` (seed 17, 100-1,500 words, "
        "after the first 100 notes); words are whitespace-split; only speed is measured.",
        f"- component: `{COMPONENT}` inside `medlens.load()`'s pipeline, timed over `ner.pipe(docs)` alone (the "
        "components before it run untimed): windows, batching, decoding, `set_annotations`.",
        "- raw ORT: the same `.onnx` file (model column: file and the first 12 hex digits of its SHA-256), one "
        "`InferenceSession` with every graph optimization; timed: the model's tokenizer (`encode_batch`), "
        "consecutive windows of `max_length` subwords, sorted by length, batches of "
        f"{args.batch_size}, `session.run`; no decoding. *intra*: batches one after another, "
        "`intra_op_num_threads` = threads; *concurrent*: threads batches at once, one intra-op thread each (as the "
        "component runs). The target is against the faster of the two. *raw optimizations*: by default the "
        "raw session leaves out the same graph optimizations as medlens's sessions (`DISABLED_OPTIMIZERS` in "
        "`medlens/tagging/files.py`, e.g. `SkipLayerNormFusion`, whose CPU kernel is slower), so the ratio is the "
        "component's own overhead; `--raw-options default` uses every ONNX Runtime optimization.",
        "- The two take turns; each figure is the best of its rounds (other jobs only add time). Load = 1-minute "
        "load average before and after: above the core count the machine was shared and the figures are noisy.",
    ]
    md = markdown_table(COLUMNS, [[r[c] for c in COLUMNS] for r in rows], ["l"] * 4 + ["r"] * 4 + ["l"] + ["r"] * 4 + ["l"])
    return update_readme_section(HEADING, md + "\n\n" + "\n".join(notes))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--notes", type=int, default=300, help="notes drawn (as throughput.py --corpus notes)")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--limit", type=int, default=None, help="only the first N of the drawn notes")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds of each (they take turns); the best counts")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads of both (default: the component's, i.e. $MEDLENS_THREADS or every core); "
                         "sets $MEDLENS_THREADS for the pipeline")
    ap.add_argument("--batch-size", type=int, default=32, help="windows per raw session.run (default 32)")
    ap.add_argument("--raw-mode", choices=("both", "intra", "concurrent"), default="both",
                    help="raw ONNX Runtime with intra-op threads, with concurrent one-thread batches, or both "
                         "(default; the target is against the faster)")
    ap.add_argument("--raw-options", choices=("component", "default"), default="component",
                    help="raw session's graph optimizations: the component's (every one but medlens's "
                         "DISABLED_OPTIMIZERS; default: the ratio is then the component's own overhead) or "
                         "ONNX Runtime's defaults (every one)")
    ap.add_argument("--kg", default=os.environ.get("MEDLENS_KG"), help="knowledge graph (default: $MEDLENS_KG)")
    ap.add_argument("--no-readme", action="store_true", help="print only; leave README.md alone")
    args = ap.parse_args(argv)
    if args.threads:
        os.environ["MEDLENS_THREADS"] = str(args.threads)

    from throughput import NOTES, load_notes, select_notes

    if not NOTES.exists():
        print(f"skipped: {NOTES} not found (see ../shared/data/README)")
        return 0
    texts = select_notes(load_notes(), args.notes, args.seed)[:args.limit]
    words = sum(len(t.split()) for t in texts)
    load_before = load_average()

    import medlens

    nlp = medlens.load(kg_path=args.kg) if args.kg else medlens.load()
    if COMPONENT not in nlp.pipe_names:
        sys.exit(f"the default pipeline has no {COMPONENT}: {nlp.pipe_names}")
    ner = nlp.get_pipe(COMPONENT)
    model_file = component_model_file(ner)
    threads = args.threads or component_threads(ner)
    modes = ["intra", "concurrent"] if args.raw_mode == "both" else [args.raw_mode]
    disabled = component_disabled_optimizers() if args.raw_options == "component" else []
    raws = {m: RawOrt(model_file, threads, args.batch_size, m, disabled) for m in modes}
    print(f"{len(texts)} notes, {words:,} words; model {model_file.relative_to(ROOT) if model_file.is_relative_to(ROOT) else model_file}; "
          f"{threads} thread(s); raw ORT optimizations: all but {disabled or 'none'}; CPU {cpu_flags()}; "
          f"load average {load_before[0]:.1f}", flush=True)

    warm = texts[:20]  # untimed: first-call costs of both
    list(ner.pipe(before_component(nlp, warm)))
    for raw in raws.values():
        raw.run(warm)

    comp_s: list[float] = []
    raw_s: dict[str, list[float]] = {m: [] for m in modes}
    stats: dict = {}
    for r in range(args.rounds):
        docs = before_component(nlp, texts)
        t = time.perf_counter()
        ents = sum(len(d.ents) for d in ner.pipe(docs))
        comp_s.append(time.perf_counter() - t)
        line = f"round {r + 1}: component {words / comp_s[-1]:,.0f} words/s ({ents:,} entities)"
        for m, raw in raws.items():
            t = time.perf_counter()
            stats = raw.run(texts)
            raw_s[m].append(time.perf_counter() - t)
            line += f"; raw ORT {m} {words / raw_s[m][-1]:,.0f}"
        print(line + f" words/s (raw: {stats['windows']:,} windows, {stats['positions']:,} positions)", flush=True)
    load_after = load_average()
    comp_wps = words / min(comp_s)
    raw_wps = {m: words / min(v) for m, v in raw_s.items()}
    best_mode = max(raw_wps, key=raw_wps.get)
    share, outcome = verdict(comp_wps, raw_wps[best_mode])
    print(f"\ncomponent {comp_wps:,.0f} words/s (median {words / statistics.median(comp_s):,.0f})")
    for m, v in raw_wps.items():
        print(f"raw ONNX Runtime, {m}: {v:,.0f} words/s (median {words / statistics.median(raw_s[m]):,.0f})")
    print(f"issue 17 target: component / raw ({best_mode}, the faster) = {share:.0%} (target >= {TARGET:.0%}): "
          f"{outcome}")
    print(f"load average (1/5/15 min) before {' / '.join(f'{x:.1f}' for x in load_before)}, "
          f"after {' / '.join(f'{x:.1f}' for x in load_after)}")

    info = run_info()
    row = {
        "date": str(info["date"]), "commit": str(info["commit"]),
        "CPU (flags)": f"{info['machine']['cpu']}, {info['machine']['cores']} cores ({cpu_flags()})",
        "load before -> after": f"{load_before[0]:.1f} -> {load_after[0]:.1f}",
        "notes": f"{len(texts):,}", "words": f"{words:,}", "threads": str(threads), "rounds": str(args.rounds),
        "model": f"{model_file.name} {_sha(model_file)}",
        "component words/s": f"{comp_wps:,.0f}",
        "raw ORT words/s": " / ".join(f"{m} {v:,.0f}" for m, v in raw_wps.items()),
        "component / raw": f"{share:.0%}", "target >= 90 %": outcome,
        "raw optimizations": f"all but {', '.join(disabled)}" if disabled else "all",
    }
    if not args.no_readme:
        print("recorded in", record(row, args).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
