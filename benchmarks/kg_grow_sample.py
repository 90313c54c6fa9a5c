"""Draw a random sample of learned edges from a grown layer, for judging by reading their evidence.

Edges (distinct head, predicate, tail) are drawn per predicate with a fixed seed, leaving out every edge read
only from the documents looked at while the pattern rules were tuned (the first ``--dev`` documents of the
benchmark corpus, see benchmarks/kg_grow.py). Each edge is printed with its names, ids, method, score and best
evidence sentence. With ``--judged FILE`` (a TSV of ``doc_id, head_id, predicate, tail_id, verdict, note``;
verdict ``y`` = the sentence states the relation between the two concepts as linked, ``r`` = it states the
relation but a concept is linked wrongly, ``n`` = it does not), the precision per predicate is printed.

    python benchmarks/kg_grow_sample.py --kg /tmp/kg-grow.sqlite > /tmp/sample.txt
    python benchmarks/kg_grow_sample.py --kg /tmp/kg-grow.sqlite --judged benchmarks/data/kg_grow_judged.tsv
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PER_PREDICATE = {"adverse_event": 15, "treats": 15, "has_finding": 12, "detects": 8, "induces": 15}


def dev_ids(corpus: Path, n: int) -> set[str]:
    ids = set()
    with corpus.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= n:
                break
            ids.add(json.loads(line)["id"])
    return ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kg", required=True)
    ap.add_argument("--corpus", default="/tmp/grow_full/corpus.jsonl")
    ap.add_argument("--dev", type=int, default=400, help="documents of the corpus used while tuning the rules")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--judged", help="a TSV of verdicts: print the precision")
    args = ap.parse_args()

    from medlens.kg.grown import GrownLayer, grown_path
    from medlens.kg.store import KnowledgeGraph

    kg = KnowledgeGraph.open(args.kg)
    layer = GrownLayer.open(grown_path(args.kg))
    dev = dev_ids(Path(args.corpus), args.dev)
    rows = layer.query("SELECT doc_id, head_id, predicate, tail_id, method, score, head_text, tail_text, sentence "
                       "FROM edges ORDER BY id").fetchall()
    edges: dict[tuple[str, str, str], list[tuple]] = defaultdict(list)
    for r in rows:
        edges[(r[1], r[2], r[3])].append(r)
    pools: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for key, rs in edges.items():
        if all(r[0] in dev for r in rs):
            continue
        pools[key[1]].append(key)
    rng = random.Random(args.seed)
    sample = []
    for pred in sorted(pools):
        keys = sorted(pools[pred])
        rng.shuffle(keys)
        sample += keys[: PER_PREDICATE.get(pred, 10)]
    names = kg.concepts({x for k in sample for x in (k[0], k[2])})
    if args.judged:
        verdicts = {}
        with open(args.judged, encoding="utf-8") as fh:
            for row in csv.reader(fh, delimiter="\t"):
                if row and not row[0].startswith("#"):
                    verdicts[(row[1], row[2], row[3])] = row[4]
        per: dict[str, Counter] = defaultdict(Counter)
        for k in sample:
            if k in verdicts:
                per[k[1]][verdicts[k]] += 1
        total = Counter()
        for pred, c in sorted(per.items()):
            n = sum(c.values())
            total.update(c)
            print(f"{pred:14s} judged {n:3d}  relation and concepts right {c['y']:3d} ({c['y'] / n:.0%})  "
                  f"relation right, a concept wrong {c['r']:3d}  wrong {c['n']:3d}")
        n = sum(total.values())
        print(f"{'all':14s} judged {n:3d}  relation and concepts right {total['y']:3d} ({total['y'] / n:.0%})  "
              f"relation right (either) {total['y'] + total['r']:3d} ({(total['y'] + total['r']) / n:.0%})")
        return
    for k in sample:
        rs = sorted(edges[k], key=lambda r: (-r[5], r[0]))
        best = next(r for r in rs if r[0] not in dev)
        hn = names[k[0]].name if k[0] in names else "?"
        tn = names[k[2]].name if k[2] in names else "?"
        print(f"{best[0]}\t{k[0]}\t{k[1]}\t{k[2]}\t?\t")
        print(f"#   {best[6]!r} [{hn}] --{k[1]}--> {best[7]!r} [{tn}]  {best[4]} {best[5]:.2f}  ({len(rs)} evidence)")
        print(f"#   {best[8]}")


if __name__ == "__main__":
    main()
