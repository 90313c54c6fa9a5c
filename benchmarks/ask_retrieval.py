"""Document retrieval for ``medlens ask --docs``: recall@k of BM25, dense, fused and answer-selected sentences, index
build time and answer latency, on a ~10,000-document corpus built from ../shared/data.

Corpus (one document each, written to a JSONL file under /tmp, never into the project): PubMedQA contexts (500
abstracts, their sections joined), medical-abstracts (2,022), CDR abstracts without their title (train + dev,
1,000), NCBI-disease abstracts (train + dev, 693), MTSamples notes (1,193), PHEE sentences (train + dev, 3,859),
ACI-bench visit notes and dialogues (87 + 87).

Queries with one known relevant document:

- ``pubmedqa``: each PubMedQA question -> its own abstract (the questions are not in the corpus). The first 100
  questions (sorted by PubMed id) are the *dev* part (the fusion and selection weights may be tuned on them), the
  other 400 the *held-out* part, never looked at while tuning;
- ``cdr-title``: each CDR title -> its abstract (titles are not indexed), every other document, 500 queries,
  held-out (nothing was tuned on them).

A query counts as a hit at k when one of the first k distinct documents of the ranked sentences is the relevant one.

    python benchmarks/ask_retrieval.py                 # builds /tmp/ask-bench/corpus.jsonl and the index, writes README
    python benchmarks/ask_retrieval.py --no-readme
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from _report import markdown_table, run_info, update_readme_section  # noqa: E402

HEADING = "Questions over documents: retrieval (medlens ask --docs)"
METHODS = ("bm25", "dense", "fused", "answer")
KS = (1, 5, 10)


def _pubtator(path: Path) -> dict[str, tuple[str, str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("|", 2)
        if len(parts) == 3 and parts[1] in ("t", "a"):
            out.setdefault(parts[0], ["", ""])[0 if parts[1] == "t" else 1] = parts[2]
    return {k: (v[0], v[1]) for k, v in out.items()}


def build_corpus(path: Path) -> tuple[list[dict], dict[str, list[tuple[str, str]]]]:
    """Write the corpus JSONL; return its documents and the query sets ``{set: [(question, doc id)]}``."""
    docs: list[dict] = []
    queries: dict[str, list[tuple[str, str]]] = {"pubmedqa": [], "cdr-title": []}
    pq = json.loads((DATA / "pubmedqa" / "pqal_train.json").read_text(encoding="utf-8"))
    for pmid in sorted(pq):
        item = pq[pmid]
        ctx = item["CONTEXTS"]
        ctx = ast.literal_eval(ctx) if isinstance(ctx, str) else ctx
        docs.append({"id": f"pubmedqa:{pmid}", "text": "\n".join(ctx)})
        queries["pubmedqa"].append((item["QUESTION"], f"pubmedqa:{pmid}"))
    with (DATA / "medical-abstracts" / "abstracts.csv").open(encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            docs.append({"id": f"abstracts:{i}", "text": row["medical_abstract"]})
    n = 0
    for split in ("train", "dev"):
        for pmid, (title, abstract) in _pubtator(DATA / "cdr-relations" / f"{split}.PubTator.txt").items():
            docs.append({"id": f"cdr:{pmid}", "text": abstract})
            if n % 2 == 0 and title.strip():
                queries["cdr-title"].append((title, f"cdr:{pmid}"))
            n += 1
    for split in ("train", "dev"):
        for pmid, (title, abstract) in _pubtator(DATA / "ncbi-disease-ids" / f"{split}.PubTator.txt").items():
            docs.append({"id": f"ncbi:{pmid}", "text": f"{title}\n{abstract}"})
    with (DATA / "mtsamples" / "notes.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["transcription"].strip():
                docs.append({"id": f"mtsamples:{row['note_id']}", "text": row["transcription"]})
    for split in ("train", "dev"):
        for line in (DATA / "phee" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            docs.append({"id": f"phee:{obj['id']}", "text": obj["context"]})
    for split in ("train", "valid"):
        with (DATA / "aci-bench" / f"{split}.csv").open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                docs.append({"id": f"aci:{row['encounter_id']}:note", "text": row["note"]})
                docs.append({"id": f"aci:{row['encounter_id']}:dialogue", "text": row["dialogue"]})
    seen, uniq = set(), []
    for d in docs:
        if d["id"] not in seen and d["text"].strip():
            seen.add(d["id"])
            uniq.append(d)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for d in uniq:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    return uniq, queries


def doc_ranking(passages) -> list[str]:
    out: list[str] = []
    for p in passages:
        if p.doc_id not in out:
            out.append(p.doc_id)
    return out


def evaluate(index, queries: list[tuple[str, str]], depth: int = 50) -> tuple[dict, list[float]]:
    hits = {m: {k: 0 for k in KS} for m in METHODS}
    latencies = []
    for q, gold in queries:
        for m in METHODS:
            t = time.perf_counter()
            ranked = doc_ranking(index.search(q, method=m, k=depth))
            if m == "answer":
                latencies.append(time.perf_counter() - t)
            for k in KS:
                hits[m][k] += gold in ranked[:k]
    n = len(queries)
    return {m: {k: hits[m][k] / n for k in KS} for m in METHODS}, latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/ask-bench"))
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="reuse an existing index in --work (no build timing)")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"no data at {DATA}")
    from medlens.qa.index import DocumentIndex, build_index

    info = run_info()
    corpus = args.work / "corpus.jsonl"
    docs, queries = build_corpus(corpus)
    n_chars = sum(len(d["text"]) for d in docs)
    print(f"corpus: {len(docs)} documents, {n_chars:,} characters", flush=True)
    out = args.work / "index"
    timing = args.work / "build.json"
    if args.reuse and (out / "medlens-index.json").exists() and timing.exists():
        build_s = json.loads(timing.read_text())["build_s"]
        t = time.perf_counter()
        index, stats = build_index(corpus, out, prune=True)  # drops the documents a previous update added
        print(f"reused the index (built in {build_s:.0f} s); re-read with prune: {stats} in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
    else:
        t = time.perf_counter()
        index, stats = build_index(corpus, out, rebuild=True, progress=sys.stderr.isatty())
        build_s = time.perf_counter() - t
        timing.write_text(json.dumps({"build_s": build_s}))
        print(f"built: {stats} in {build_s:.0f} s", flush=True)
    # incremental update: 20 new documents (MTSamples notes with a line added: no query's relevant document)
    extra = args.work / "extra.jsonl"
    notes = [d for d in docs if d["id"].startswith("mtsamples:")][:20]
    with extra.open("w", encoding="utf-8") as fh:
        for i, d in enumerate(notes):
            fh.write(json.dumps({"id": f"extra:{i}", "text": d["text"] + "\nAddendum: reviewed again."}) + "\n")
    t = time.perf_counter()
    index, upd = build_index(extra, out)
    update_s = time.perf_counter() - t
    print(f"update: {upd} in {update_s:.1f} s", flush=True)
    t = time.perf_counter()
    index = DocumentIndex.open(out)
    open_s = time.perf_counter() - t
    index.search("warm up", method="answer", k=5)
    sets = {
        "pubmedqa dev (first 100)": queries["pubmedqa"][:100],
        "pubmedqa held-out (400)": queries["pubmedqa"][100:],
        "cdr-title held-out": queries["cdr-title"],
    }
    rows, all_lat = [], []
    for name, qs in sets.items():
        rec, lat = evaluate(index, qs)
        all_lat += lat
        for m in METHODS:
            rows.append([name, len(qs), m] + [f"{rec[m][k]:.3f}" for k in KS])
        print(markdown_table(["queries", "n", "method", "R@1", "R@5", "R@10"], rows[-4:]), flush=True)
    lat_ms = sorted(x * 1000 for x in all_lat)
    p50 = statistics.median(lat_ms)
    p95 = lat_ms[int(0.95 * (len(lat_ms) - 1))]
    table = markdown_table(["queries", "n", "method", "recall@1", "recall@5", "recall@10"], rows,
                           ["l", "r", "l", "r", "r", "r"])
    print(table)
    print(f"latency answer p50 {p50:.0f} ms p95 {p95:.0f} ms; open {open_s:.1f} s")
    if args.no_readme:
        return
    m = info["machine"]
    md = "\n\n".join([
        f"Recorded {info['date']} at commit {info['commit']} on {m['summary']} (other engineers' jobs were running on "
        f"the 2 cores). `benchmarks/ask_retrieval.py`.",
        f"Corpus: {len(docs):,} documents ({n_chars:,} characters; {len(index):,} sentences after the update below) "
        "from ../shared/data: PubMedQA contexts (500), medical-abstracts (2,022), CDR abstracts without titles "
        "(1,000), NCBI-disease abstracts (693), MTSamples notes, PHEE sentences (3,859), ACI-bench notes and "
        "dialogues. Queries with one relevant document: each PubMedQA question -> its own abstract (first 100 by "
        "PubMed id = dev, the rest held-out; no weight was tuned on either in this run: RRF k=60 and the "
        "selection weights 0.5 cosine / 0.3 word coverage / 0.2 fused rank were set before measuring), and every "
        "other CDR title -> its abstract (held-out). A hit at k: the relevant document among the first k distinct "
        "documents of the ranked sentences.",
        table,
        "Methods: *bm25* = bm25s over the sentences' content words; *dense* = cosine of the shipped sentence "
        "encoder (medlens/assets/encoder, int8 MiniLM); *fused* = reciprocal rank fusion of their top 100; "
        "*answer* = the fused top 50 reranked by answer-sentence selection (what `medlens ask --docs` returns).",
        markdown_table(["step", "value"], [
            ["index build (read, split, encode, BM25, save)", f"{build_s:.0f} s"],
            ["incremental update: 20 new documents", f"{update_s:.1f} s ({upd.encoded} sentences encoded)"],
            ["open the index", f"{open_s:.1f} s"],
            ["answer latency p50 / p95 (one question, `answer`, top 50 sentences)", f"{p50:.0f} / {p95:.0f} ms"],
        ], ["l", "r"]),
    ])
    update_readme_section(HEADING, md)


if __name__ == "__main__":
    main()
