"""Section coverage and sentence splitting on real transcribed notes (MTSamples).

Data: ../shared/data/mtsamples/notes.csv (1,193 notes of 40 specialties). In
this export the notes' line breaks became commas, so headers sit inline:
"...access.,POSTOPERATIVE DIAGNOSIS: , Need for ...", "PLAN:,  ...".

Measured per specialty, with the rule-based components only
(``medlens_sections`` + ``medlens_sentences``):

* **coverage**: share of the note's characters that lie under a recognized
  section (any category but ``unknown``);
* **headers recognized**: of the inline ALL-CAPS headers (a run of capitalized
  words followed by ``:``, found by a regex independent of the rules), the
  share at which a recognized section starts (a note whose only recognized
  header is its first line is 100% covered but has one section);
* **headers split**: of the inline ALL-CAPS headers (a run of capitalized words
  followed by ``:``, found by a regex independent of the rules), the share at
  which a sentence starts;
* **list items split**: of the numbered list items ("1.  ", "2.  " after a
  period, comma or colon), the share at which a sentence starts.

Run: ``python benchmarks/mtsamples_notes.py --json /tmp/after.json [--before /tmp/before.json]``;
with ``--before`` it prints a before/after markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from bisect import bisect_left
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "mtsamples" / "notes.csv"

HEADER = re.compile(r"(?:^|(?<=[.,:;]))[ ,]*(?P<h>[A-Z][A-Z&/()#\-]*(?: [A-Z&/()#\-]+){0,5}):")
ITEM = re.compile(r"(?:^|(?<=[.,:]))[ ,]*(?P<n>\d{1,2}\.)[ ]+(?=[A-Za-z])")


def measure(limit: int | None = None) -> dict[str, dict[str, float]]:
    import medlens

    if not DATA.exists():
        sys.exit(f"{DATA} not found: this benchmark needs ../shared/data/mtsamples")
    rows = list(csv.DictReader(DATA.open(newline="", encoding="utf-8")))[:limit]
    nlp = medlens.load(components=("sections", "sentences"))
    acc: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        text = row["transcription"]
        if not text.strip():
            continue
        spec = row["medical_specialty"].strip()
        doc = nlp(text)
        covered = sum(s.end_char - s.start_char for s in doc._.sections if s.category != "unknown")
        starts = sorted(s[0].idx for s in doc.sents)
        sec_starts = {s.start_char for s in doc._.sections if s.category != "unknown"}
        for key in (spec, "all"):
            a = acc[key]
            a["notes"] += 1
            a["chars"] += len(text)
            a["covered"] += covered
            a["sentences"] += len(starts)
        for rx, group, name in ((HEADER, "h", "headers"), (ITEM, "n", "items")):
            for m in rx.finditer(text):
                pos = m.start(group)
                i = bisect_left(starts, pos)
                hit = i < len(starts) and starts[i] == pos
                for key in (spec, "all"):
                    acc[key][name] += 1
                    acc[key][name + "_split"] += hit
                    if name == "headers":
                        acc[key]["headers_recognized"] += pos in sec_starts
    return {k: dict(v) for k, v in acc.items()}


def pct(a: float, b: float) -> str:
    return f"{100 * a / b:.1f}" if b else "–"


def table(after: dict, before: dict | None) -> str:
    keys = sorted((k for k in after if k != "all"), key=lambda k: -after[k]["chars"]) + ["all"]
    head = ["specialty", "notes"]
    cols = [("coverage %", "covered", "chars"), ("headers recognized %", "headers_recognized", "headers"),
            ("headers split %", "headers_split", "headers"),
            ("list items split %", "items_split", "items")]
    for title, _, _ in cols:
        head += ([f"{title} before"] if before else []) + [title + (" after" if before else "")]
    lines = ["| " + " | ".join(head) + " |", "| --- | ---: |" + " ---: |" * (len(head) - 2)]
    for k in keys:
        a = after[k]
        cells = [f"**{k}**" if k == "all" else k, f"{int(a['notes'])}"]
        for _, num, den in cols:
            if before:
                b = before.get(k, {})
                cells.append(pct(b.get(num, 0), b.get(den, 0)))
            cells.append(pct(a.get(num, 0), a.get(den, 0)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", help="write the raw counts here")
    ap.add_argument("--before", help="counts of an earlier run, for a before/after table")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    after = measure(args.limit)
    if args.json:
        Path(args.json).write_text(json.dumps(after, indent=1))
    before = json.loads(Path(args.before).read_text()) if args.before else None
    print(table(after, before))


if __name__ == "__main__":
    main()
