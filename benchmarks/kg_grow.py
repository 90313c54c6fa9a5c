"""Grow a graph from the abstracts and sentences of ../shared/data and measure it (issue 13).

The corpus (written to a JSONL file under /tmp, never into the project):

- medical-abstracts/abstracts.csv: 2,022 abstracts (id ``abstracts:<row>``);
- pubmedqa/pqal_train.json: the contexts of 500 questions joined into one text each (``pubmedqa:<pmid>``);
- ncbi-disease-ids/train.PubTator.txt: 593 titles + abstracts (``ncbi:<pmid>``);
- cdr-relations/train.PubTator.txt: 500 titles + abstracts (``cdr:<pmid>``);
- phee/train.jsonl: 2,898 case-report sentences (``phee:<id>``).

The corpus is cut into ``--shards`` parts grown one after the other into the same layer (each grow
incremental over the last), so the figures show the layer's growth; then the same corpus is grown once more
to show that nothing is counted twice. Prints one JSON report (documents/s per grow, layer size and counts
after each) (benchmarks/README.md records the figures).

    python benchmarks/kg_grow.py --kg /tmp/kg-grow.sqlite --processes 2 --fresh
    python benchmarks/kg_grow.py --kg /tmp/kg-grow.sqlite --limit 300 --no-model   # a quick look
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))


def pubtator_docs(path: Path, prefix: str) -> list[tuple[str, str]]:
    docs: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        for tag in ("|t|", "|a|"):
            if tag in line[:20]:
                pmid, text = line.split(tag, 1)
                docs.setdefault(pmid, []).append(text.strip())
    return [(f"{prefix}:{pmid}", " ".join(parts)) for pmid, parts in docs.items()]


def build_corpus(out: Path) -> dict[str, int]:
    """Write the corpus JSONL; returns documents per part."""
    parts: dict[str, list[tuple[str, str]]] = {}
    with (DATA / "medical-abstracts" / "abstracts.csv").open(encoding="utf-8") as fh:
        parts["medical-abstracts"] = [(f"abstracts:{i}", r["medical_abstract"]) for i, r in enumerate(csv.DictReader(fh))]
    qa = json.loads((DATA / "pubmedqa" / "pqal_train.json").read_text(encoding="utf-8"))
    parts["pubmedqa"] = [(f"pubmedqa:{k}", " ".join(v["CONTEXTS"])) for k, v in qa.items()]
    parts["ncbi-disease-ids"] = pubtator_docs(DATA / "ncbi-disease-ids" / "train.PubTator.txt", "ncbi")
    parts["cdr-relations"] = pubtator_docs(DATA / "cdr-relations" / "train.PubTator.txt", "cdr")
    with (DATA / "phee" / "train.jsonl").open(encoding="utf-8") as fh:
        parts["phee"] = [(f"phee:{o['id']}", o["context"]) for o in map(json.loads, fh)]
    # interleave the parts, so that every shard holds some of each
    rows, iters = [], [iter(v) for v in parts.values()]
    while iters:
        for it in list(iters):
            x = next(it, None)
            if x is None:
                iters.remove(it)
            else:
                rows.append(x)
    with out.open("w", encoding="utf-8") as fh:
        for doc_id, text in rows:
            fh.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    return {k: len(v) for k, v in parts.items()}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}"


def commit() -> str:
    try:
        rev = subprocess.check_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], text=True).strip()
        dirty = subprocess.call(["git", "-C", str(ROOT), "diff", "--quiet", "--", "medlens"]) != 0
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kg", required=True, help="the graph to grow (its layer is written beside it)")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--no-model", action="store_true", help="rules only (no transformer recognizer, no ADE tagger)")
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--limit", type=int, default=None, help="only the first N documents of the corpus")
    ap.add_argument("--fresh", action="store_true", help="delete the graph's grown layer first")
    ap.add_argument("--corpus", default="/tmp/medlens_grow_corpus.jsonl")
    ap.add_argument("--report", default="/tmp/medlens_grow_report.json")
    args = ap.parse_args()

    from medlens.kg.grown import grown_path, partial_path
    from medlens.relations.grow import grow

    corpus = Path(args.corpus)
    corpus.parent.mkdir(parents=True, exist_ok=True)
    parts = build_corpus(corpus)
    lines = corpus.read_text(encoding="utf-8").splitlines()
    if args.limit:
        lines = lines[: args.limit]
    layer = grown_path(args.kg)
    if args.fresh:
        layer.unlink(missing_ok=True)
        partial_path(layer).unlink(missing_ok=True)
    shard_files = []
    size = -(-len(lines) // args.shards)
    for i in range(args.shards):
        f = corpus.with_name(f"{corpus.stem}.shard{i + 1}.jsonl")
        f.write_text("\n".join(lines[i * size:(i + 1) * size]) + "\n", encoding="utf-8")
        shard_files.append(f)
    runs = []
    started = time.time()
    for label, files in [*((f"shard {i + 1}", [f]) for i, f in enumerate(shard_files)), ("all again", shard_files)]:
        rep = grow(args.kg, [str(f) for f in files], processes=args.processes, model=not args.no_model)
        s = rep.stats
        words = sum(len(json.loads(line)["text"].split()) for f in files for line in f.open(encoding="utf-8")
                    if line.strip())
        runs.append({"grow": label, "added": rep.counts.added, "skipped": rep.counts.skipped,
                     "failed": rep.counts.failed, "resumed": rep.counts.resumed, "seconds": round(rep.seconds, 1),
                     "docs_per_second": round(rep.docs_per_second, 2), "words": words,
                     "words_per_second": round(words / rep.seconds) if rep.counts.added else 0, "documents": s["documents"],
                     "sentences": s["sentences"], "concepts": s["concepts"], "pairs": s["pairs"],
                     "edges": s["edges"], "evidence": s["evidence"], "size_mb": round(s["size_bytes"] / 1e6, 2),
                     "predicates": s["predicates"], "methods": s["methods"], "pipeline": rep.pipeline})
        print(json.dumps(runs[-1]), flush=True)
    report = {"date": time.strftime("%Y-%m-%d"), "commit": commit(), "machine": machine(),
              "load_average_at_end": os.getloadavg(), "processes": args.processes, "model": not args.no_model,
              "corpus_parts": parts, "documents_in_corpus": len(lines), "layer": str(layer),
              "graph_mb": round(Path(args.kg).stat().st_size / 1e6, 1), "wall_seconds": round(time.time() - started, 1),
              "runs": runs}
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=1))


if __name__ == "__main__":
    main()
