"""Learned drug -> effect edges against the CDR dev gold (chemical-induced disease, document level).

Grows a scratch copy of the graph from the 500 CDR *dev* abstracts (title + abstract; never used to write the
pattern rules, which were tuned on other texts) and compares, per document, the ``adverse_event`` and ``induces``
edges read from it with the gold CID pairs. An edge's head and tail are taken to MeSH with
``KnowledgeGraph.map_to(id, "mesh", broader=0)`` (its first mapping; MeSH ids stay as they are); an edge whose
concept has no MeSH id counts as a false positive. End to end: medlens's own recognition and linking.

    python benchmarks/kg_grow_cdr.py --kg /tmp/kg-grow.sqlite [--model] [--processes 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cdr-relations" / "dev.PubTator.txt"
sys.path.insert(0, str(ROOT))


def read_cdr(path: Path) -> tuple[list[tuple[str, str]], dict[str, set[tuple[str, str]]]]:
    texts: dict[str, list[str]] = defaultdict(list)
    gold: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for line in path.read_text(encoding="utf-8").splitlines():
        if "|t|" in line[:20] or "|a|" in line[:20]:
            pmid, text = line.split("|", 2)[0], line.split("|", 2)[2]
            texts[pmid].append(text)
        elif "\tCID\t" in line:
            pmid, _, chem, dis = line.split("\t")[:4]
            gold[pmid].add((f"MESH:{chem}", f"MESH:{dis}"))
    return [(p, " ".join(t)) for p, t in texts.items()], gold


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kg", required=True, help="the graph (copied; the copy is grown)")
    ap.add_argument("--model", action="store_true", help="run the shipped models (default: rules only)")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--predicates", default="adverse_event,induces")
    args = ap.parse_args()

    from medlens.kg.grown import GrownLayer, grown_path
    from medlens.kg.store import KnowledgeGraph
    from medlens.relations.grow import grow

    docs, gold = read_cdr(DATA)
    work = Path(tempfile.mkdtemp(prefix="cdr-grow-"))
    kg_path = work / "kg.sqlite"
    shutil.copyfile(args.kg, kg_path)
    corpus = work / "cdr_dev.jsonl"
    corpus.write_text("".join(json.dumps({"id": p, "text": t}) + "\n" for p, t in docs), encoding="utf-8")
    report = grow(kg_path, [corpus], processes=args.processes, model=args.model)
    kg = KnowledgeGraph.open(kg_path)
    preds = args.predicates.split(",")
    cache: dict[str, str | None] = {}

    def mesh(cid: str) -> str | None:
        if cid not in cache:
            if cid.startswith("MESH:"):
                cache[cid] = cid
            else:
                found = kg.map_to(cid, "mesh", broader=0) if kg.concept(cid) else []
                cache[cid] = next((m.concept_id for m in found if m.concept_id.startswith("MESH:")), None)
        return cache[cid]

    predicted: dict[str, set[tuple[str, str]]] = defaultdict(set)
    per_method: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    with GrownLayer.open(grown_path(kg_path)) as layer:
        q = f"SELECT doc_id, head_id, tail_id, method FROM edges WHERE predicate IN ({','.join('?' * len(preds))})"
        for doc_id, head, tail, method in layer.query(q, preds):
            pair = (mesh(head) or f"?{head}", mesh(tail) or f"?{tail}")
            predicted[doc_id].add(pair)
            per_method[method][0] += 1
            per_method[method][1] += pair in gold.get(doc_id, set())
    tp = sum(len(predicted[d] & gold.get(d, set())) for d in predicted)
    n_pred = sum(len(v) for v in predicted.values())
    n_gold = sum(len(v) for v in gold.values())
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    out = {"documents": len(docs), "model": args.model, "seconds": round(report.seconds, 1), "gold_pairs": n_gold,
           "predicted_pairs": n_pred, "true_positives": tp, "precision": round(100 * p, 1), "recall": round(100 * r, 1),
           "f1": round(100 * f, 1), "pairs_without_mesh": sum(1 for v in predicted.values() for a, b in v
                                                             if a.startswith("?") or b.startswith("?")),
           "evidence_rows_by_method": {m: {"rows": n, "in_gold": k} for m, (n, k) in sorted(per_method.items())}}
    print(json.dumps(out, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
