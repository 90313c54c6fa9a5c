"""Calibrate the semantic matcher's thresholds on the lay DEV set (never on the frozen evaluation set).

For each description of ``benchmarks/data/lay_dev.jsonl`` the pipeline findings
and every semantic candidate (the closest graph concept and table symptom of
each clause, with its cosine) are computed once; then each pair of thresholds
(graph, table) of a grid keeps the candidates at or above them and the table
scorer ranks the diseases. Prints top-1/top-3 per pair, best first.

Run: ``.venv/bin/python benchmarks/lay_calibrate.py [--dev FILE] [--table DIR]``
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "benchmarks" / "data" / "lay_dev.jsonl"
TABLE = ROOT.parent / "shared" / "data" / "disease-symptom-kb"


def norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dev", type=Path, default=DEV)
    ap.add_argument("--table", type=Path, default=TABLE)
    ap.add_argument("--kg", type=Path, default=None)
    args = ap.parse_args()
    if "frozen" in args.dev.name:
        sys.exit("refusing to calibrate on the frozen evaluation set")
    from medlens.reasoning import DiagnosisEngine
    from medlens.reasoning.engine import TABLE_PREFIX
    from medlens.reasoning.findings import dedupe

    engine = DiagnosisEngine.load(args.kg, table=args.table)
    matcher = engine.extractor.semantic
    matcher.graph_threshold = matcher.table_threshold = -1.0
    phrases = engine._table_phrases()
    cases = [json.loads(line) for line in args.dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    prepared = []
    for c in cases:
        base = engine.extractor.from_text(c["text"], phrases, semantic=False)
        prepared.append((c, base, matcher.match(c["text"], base, phrases)))
    grid = [round(0.40 + 0.025 * i, 3) for i in range(15)]
    results = []
    for tg, tt in itertools.chain(itertools.product(grid, grid), [(9.0, 9.0)]):
        top1 = top3 = 0
        for c, base, cands in prepared:
            keep = [f for f in cands if f.score >= (tt if f.id.startswith(TABLE_PREFIX) else tg)]
            res = engine.diagnose(dedupe([*base, *keep]), top=len(engine.table.diseases), questions=0)
            names = [norm(d.name) for d in res.diagnoses]
            rank = names.index(norm(c["disease"])) + 1 if norm(c["disease"]) in names else 99
            top1 += rank == 1
            top3 += rank <= 3
        results.append((top3 + top1, tg, tt, 100 * top1 / len(cases), 100 * top3 / len(cases)))
    results.sort(reverse=True)
    print(f"{len(cases)} dev descriptions; graph threshold, table threshold, top-1 %, top-3 %")
    for _, tg, tt, t1, t3 in results[:25]:
        print(f"{tg:.3f} {tt:.3f} {t1:.1f} {t3:.1f}")
    table = {(tg, tt): (t1, t3) for _, tg, tt, t1, t3 in results}
    print("top-1 / top-3 by graph threshold (rows) and table threshold (columns):")
    print("       " + " ".join(f"{tt:>11.3f}" for tt in grid[::2]))
    for tg in grid[::2]:
        print(f"{tg:.3f}  " + " ".join(f"{table[tg, tt][0]:5.1f}/{table[tg, tt][1]:5.1f}" for tt in grid[::2]))
    print("no semantic:", [f"{t1:.1f} {t3:.1f}" for _, tg, tt, t1, t3 in results if tg == 9.0])


if __name__ == "__main__":
    main()
