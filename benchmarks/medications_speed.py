"""Speed cost of the medication components (drug attributes, adverse events) on real notes.

Runs the pipeline over the first ``--notes`` MTSamples notes (``../shared/data/mtsamples/notes.csv``) with
and without ``medlens_drug_attributes`` and ``medlens_adverse_events`` (spaCy ``select_pipes``), taking turns
for ``--rounds`` rounds and reporting the median, and counts what the components found. ``--no-model``:
the rules-only pipeline (the ADE tagger does not run there).

    python benchmarks/medications_speed.py [--notes 100] [--rounds 3] [--no-model]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOTES = ROOT.parent / "shared" / "data" / "mtsamples" / "notes.csv"
MED_PIPES = ("medlens_drug_attributes", "medlens_adverse_events")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--notes", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-model", action="store_true")
    args = ap.parse_args(argv)
    if not NOTES.is_file():
        print(f"MTSamples not found at {NOTES}", file=sys.stderr)
        return 2
    csv.field_size_limit(10**8)
    with NOTES.open(encoding="utf-8") as fh:
        texts = [r["transcription"] for r in csv.DictReader(fh) if r["transcription"].strip()][: args.notes]
    import medlens
    from medlens.config import RULES_ONLY

    nlp = medlens.load(components=RULES_ONLY) if args.no_model else medlens.load()
    list(nlp.pipe(texts[:5]))  # warm up
    with_s, without_s = [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        docs = list(nlp.pipe(texts))
        with_s.append(time.perf_counter() - t0)
        with nlp.select_pipes(disable=[p for p in MED_PIPES if p in nlp.pipe_names]):
            t0 = time.perf_counter()
            list(nlp.pipe(texts))
            without_s.append(time.perf_counter() - t0)
    kinds: Counter = Counter()
    drugs = with_attrs = 0
    events = Counter()
    for doc in docs:
        for e in doc.ents:
            if e._.attributes is not None:
                drugs += 1
                with_attrs += bool(e._.attributes)
                kinds.update(list(e._.attributes))
        events.update(ev.source for ev in doc._.adverse_events)
    chars = sum(len(t) for t in texts)
    a, b = statistics.median(with_s), statistics.median(without_s)
    print(f"{len(texts)} MTSamples notes ({chars} characters), pipeline {'rules only' if args.no_model else 'default'}, "
          f"median of {args.rounds} rounds")
    print(f"with the medication components: {a:.2f} s; without: {b:.2f} s; cost {a - b:+.2f} s ({100 * (a - b) / b:+.1f} %)")
    print(f"drug mentions {drugs}, with at least one attribute {with_attrs}; attributes {dict(kinds.most_common())}")
    print(f"adverse events by source {dict(events)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
