"""Write the plain text of ../shared/data as .txt files for `medlens pretrain`.

Usage: python scripts/shared_text.py OUT_DIR [--data ../shared/data]

One file per source, one paragraph per document (blank-line separated). The devel
splits of NCBI-disease and BC5CDR are left out so that the NER devel scores stay
a fair measure of a model pretrained on this text; pii-spans (synthetic,
non-medical sentences) is left out as well. The files are written outside the
project: the shared data is never copied into the repository.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path


def _tsv_sentences(path: Path) -> list[str]:
    sents, cur = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if cur:
                sents.append(" ".join(cur))
                cur = []
            continue
        cur.append(line.split("\t")[0])
    if cur:
        sents.append(" ".join(cur))
    # The corpora list an abstract's sentences in order: rejoin them into ~100-word
    # passages so that pretraining blocks carry context across sentences.
    passages, buf = [], []
    for s in sents:
        buf.append(s)
        if sum(len(b.split()) for b in buf) >= 100:
            passages.append(" ".join(buf))
            buf = []
    if buf:
        passages.append(" ".join(buf))
    return passages


def _csv_column(path: Path, *columns: str) -> list[str]:
    csv.field_size_limit(1 << 30)
    with path.open(encoding="utf-8", newline="") as fh:
        return [row[c] for row in csv.DictReader(fh) for c in columns if row.get(c)]


def collect(data: Path) -> dict[str, list[str]]:
    """Documents per source name."""
    out: dict[str, list[str]] = {}
    out["ncbi-disease-train"] = _tsv_sentences(data / "ncbi-disease" / "train.tsv")
    out["bc5cdr-train"] = _tsv_sentences(data / "bc5cdr" / "train.tsv")
    out["medical-abstracts"] = _csv_column(data / "medical-abstracts" / "abstracts.csv", "medical_abstract")
    qa = json.loads((data / "pubmedqa" / "pqal_train.json").read_text(encoding="utf-8"))
    out["pubmedqa"] = [" ".join([q["QUESTION"], *q["CONTEXTS"], q.get("LONG_ANSWER", "")]) for q in qa.values()]
    phee = []
    for split in ("train.jsonl", "dev.jsonl"):
        for line in (data / "phee" / split).read_text(encoding="utf-8").splitlines():
            if line.strip():
                phee.append(json.loads(line)["context"])
    out["phee"] = phee
    aci = []
    for split in ("train.csv", "valid.csv"):
        aci += _csv_column(data / "aci-bench" / split, "dialogue", "note")
    out["aci-bench"] = aci
    with (data / "disease-symptom-kb" / "symptom_Description.csv").open(encoding="utf-8", newline="") as fh:
        out["disease-symptom-kb"] = [r[1] for r in csv.reader(fh) if len(r) > 1 and r[1].strip()]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"no shared data at {args.data}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, docs in collect(args.data).items():
        docs = [" ".join(d.split()) for d in docs if d.strip()]
        (args.out / f"{name}.txt").write_text("\n\n".join(docs) + "\n", encoding="utf-8")
        words = sum(len(d.split()) for d in docs)
        total += words
        print(f"{name}: {len(docs):,} documents, {words:,} words")
    print(f"total {total:,} words -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
