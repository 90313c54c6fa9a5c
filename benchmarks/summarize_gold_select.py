"""Pick the MTSamples notes of the note-summary gold set (fixed seed, stratified by specialty).

The selection is reproducible: specialties are visited round-robin in a seeded
order, each giving its next seeded note of 500-3,000 characters (short enough to
read whole as a clinician), until 60 notes are picked; within each specialty the
notes alternate between ``dev`` and ``heldout`` (odd strata start on the other
half so the halves stay even). The gold problem and medication lists in
``benchmarks/data/summarize_gold.jsonl`` were written by reading each picked note
before any summarizer rule existed.

Usage: python benchmarks/summarize_gold_select.py [--data ../shared/data/mtsamples/notes.csv]
"""

from __future__ import annotations

import argparse
import csv
import random
from collections import defaultdict
from pathlib import Path

SEED = 16
N_NOTES = 60
MIN_CHARS, MAX_CHARS = 500, 3000


def select(path: Path) -> list[dict]:
    """Return the picked rows with their ``split``.

    Args:
        path: ``notes.csv`` of the MTSamples development half.

    Returns:
        Rows (note_id, medical_specialty, sample_name, transcription, split).
    """
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if MIN_CHARS <= len(r["transcription"]) <= MAX_CHARS]
    by_spec: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_spec[row["medical_specialty"].strip()].append(row)
    rng = random.Random(SEED)
    specs = sorted(by_spec)
    rng.shuffle(specs)
    for spec in specs:
        rng.shuffle(by_spec[spec])
    picked: list[dict] = []
    taken: dict[str, int] = defaultdict(int)
    while len(picked) < N_NOTES:
        progress = False
        for i, spec in enumerate(specs):
            if len(picked) == N_NOTES:
                break
            k = taken[spec]
            if k >= len(by_spec[spec]):
                continue
            row = dict(by_spec[spec][k])
            row["split"] = "dev" if (k + i) % 2 == 0 else "heldout"
            taken[spec] += 1
            picked.append(row)
            progress = True
        if not progress:
            break
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[1] / "../shared/data/mtsamples/notes.csv")
    parser.add_argument("--show", choices=["dev", "heldout", "all"], default=None, help="print the notes to read")
    args = parser.parse_args()
    picked = select(args.data)
    for row in picked:
        if args.show and args.show in ("all", row["split"]):
            print(f"===== {row['note_id']} | {row['medical_specialty'].strip()} | {row['sample_name'].strip()} | {row['split']}")
            print(row["transcription"])
        elif not args.show:
            print(row["note_id"], row["split"], row["medical_specialty"].strip(), sep="\t")


if __name__ == "__main__":
    main()
