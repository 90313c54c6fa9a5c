"""Build the gold drug attributes of MTSamples medication lists (issue 14, item 3).

The sample: medication sections ("MEDICATIONS:", "CURRENT MEDICATIONS:",
"MEDICATIONS ON ADMISSION:", ...) of ``../shared/data/mtsamples/notes.csv``
with at least two dosing words (mg, mcg, units, daily, b.i.d., t.i.d., q.d.,
p.o.), one note per specialty in turn, specialties and notes shuffled with
seed 14; the first 40 sections. Section ``k`` of that order goes to the dev
half when ``k`` is even and to the held-out half when it is odd.

The annotations were written by hand, before any rule was tuned on them, in
``data/medication_lists_annotations.txt``, one drug mention a line::

    <section k> <drug text> ; s=<as written>~<strength> ; d=<as written>~<dose> ; r=<as written>~<ROUTE>
        ; f=<as written>~<FREQ> ; u=<as written>~<duration> ; p=<PRN reason> ; st=<as written>~<status> ; i=<indication>

This script finds each drug (in order, in its section) and each attribute's
text (first occurrence as whole words from the drug on) in the note, and writes
``data/medication_lists_dev.jsonl`` and ``data/medication_lists_heldout.jsonl``
(one mention a line, character offsets into the note's transcription).

    python benchmarks/medication_lists_gold.py [--data ../shared/data/mtsamples/notes.csv]
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_NOTES = HERE.parent.parent / "shared" / "data" / "mtsamples" / "notes.csv"
SEED = 14
N_SECTIONS = 40

_SECTION = re.compile(r"(?:^|(?<=[\s,.]))((?:DISCHARGE |CURRENT |HOME |ADMISSION |OUTPATIENT |PRESENT )?MEDICATIONS?"
                      r"(?: ON (?:ADMISSION|DISCHARGE))?)\s*:\s*")
_HEADING = re.compile(r"(?<=[\s.,])[A-Z][A-Z /&]{3,}:")
_DOSING = re.compile(r"\b(mg|mcg|units?|daily|b\.?i\.?d|t\.?i\.?d|q\.?d|p\.?o)\b", re.I)
_FIXED_PER_DAY = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "HS": 1.0, "QAM": 1.0, "QPM": 1.0,
                  "WK": 1 / 7, "PRN": None}
KINDS = {"s": "strength", "d": "dose", "r": "route", "f": "frequency", "u": "duration", "p": "prn_reason",
         "st": "status", "i": "indication"}


def sections(notes_csv: Path) -> list[tuple[str, str, int, int]]:
    """The sampled medication sections, in sample order.

    Args:
        notes_csv: ``notes.csv`` of MTSamples.

    Returns:
        ``(specialty, note_id, start, end)`` per section (offsets into the transcription).
    """
    rows = list(csv.DictReader(notes_csv.open(encoding="utf-8")))
    rnd = random.Random(SEED)
    by = collections.defaultdict(list)
    for r in rows:
        t = r["transcription"]
        for m in _SECTION.finditer(t):
            s = m.end()
            h = _HEADING.search(t, s)
            e = h.start() if h else min(len(t), s + 600)
            if len(_DOSING.findall(t[s:e])) >= 2:
                by[r["medical_specialty"]].append((r["note_id"], s, e))
                break
    for k in by:
        rnd.shuffle(by[k])
    specs = sorted(by)
    rnd.shuffle(specs)
    out = []
    while any(by[s] for s in specs):
        for s in specs:
            if by[s]:
                out.append((s,) + by[s].pop(0))
    return out[:N_SECTIONS]


def frequency_value(code: str) -> dict:
    """Times per day of a gold frequency code (``BID``, ``Q6H``, ``Q4-6H PRN``, ``2-3XD``, ``Q3D``, ``PRN``).

    Args:
        code: The code.

    Returns:
        ``{"code", "per_day", "per_day_max", "as_needed"}``.
    """
    prn = code.endswith("PRN")
    base = code.replace("PRN", "").strip()
    per_day = per_day_max = None
    if base in _FIXED_PER_DAY:
        per_day = _FIXED_PER_DAY[base]
    elif m := re.fullmatch(r"Q(\d+)(?:-(\d+))?H", base):
        per_day = 24 / int(m.group(2) or m.group(1))
        per_day_max = 24 / int(m.group(1)) if m.group(2) else None
    elif m := re.fullmatch(r"Q(\d+)D", base):
        per_day = 1 / int(m.group(1))
    elif m := re.fullmatch(r"(\d+)(?:-(\d+))?XD", base):
        per_day = float(m.group(1))
        per_day_max = float(m.group(2)) if m.group(2) else None
    elif base:
        raise ValueError(f"unknown frequency code {code!r}")
    return {"code": code, "per_day": per_day, "per_day_max": per_day_max, "as_needed": prn}


def build(notes_csv: Path, annotations: Path) -> dict[str, list[dict]]:
    """Reads the annotations and finds their offsets.

    Args:
        notes_csv: ``notes.csv`` of MTSamples.
        annotations: The annotation file.

    Returns:
        ``{"dev": [...], "heldout": [...]}`` mention records.

    Raises:
        ValueError: A drug or attribute text not found (with the annotation line).
    """
    secs = sections(notes_csv)
    text = {r["note_id"]: r["transcription"] for r in csv.DictReader(notes_csv.open(encoding="utf-8"))}
    cursor: dict[int, int] = {}
    out: dict[str, list[dict]] = {"dev": [], "heldout": []}
    for lineno, line in enumerate(annotations.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        head, *fields = [f.strip() for f in line.split(";")]
        k_str, drug = head.split(" ", 1)
        k = int(k_str)
        spec, nid, s0, e0 = secs[k]
        t = text[nid]
        at = t.find(drug, cursor.get(k, s0), e0)
        if at < 0:
            raise ValueError(f"line {lineno}: drug {drug!r} not found in section {k} (note {nid})")
        cursor[k] = at + len(drug)
        rec = {"note_id": nid, "specialty": spec, "section": k, "section_start": s0, "section_end": e0,
               "drug": drug, "start": at, "end": at + len(drug)}
        for f in fields:
            key, val = f.split("=", 1)
            kind = KINDS[key]
            surface, _, norm = val.partition("~")
            m = re.compile(rf"(?<!\w){re.escape(surface)}(?!\w)").search(t, at, e0)
            a = m.start() if m else -1
            if a < 0:
                raise ValueError(f"line {lineno}: {kind} text {surface!r} not found after {drug!r}")
            attr = {"text": surface, "start": a, "end": a + len(surface)}
            if kind in ("strength", "dose", "duration"):
                amount, _, unit = (norm or surface).partition(" ")
                attr.update(value=amount, unit=unit or None)
            elif kind == "frequency":
                attr.update(frequency_value(norm))
            elif kind in ("route", "status"):
                attr["value"] = norm
            else:
                attr["value"] = surface
            rec[kind] = attr
        out["dev" if k % 2 == 0 else "heldout"].append(rec)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_NOTES, help="MTSamples notes.csv")
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"MTSamples not found at {args.data}", file=sys.stderr)
        return 2
    out = build(args.data, HERE / "data" / "medication_lists_annotations.txt")
    for half, recs in out.items():
        path = HERE / "data" / f"medication_lists_{half}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
        counts = collections.Counter(k for r in recs for k in KINDS.values() if k in r)
        print(f"{half}: {len(recs)} mentions in {len({r['note_id'] for r in recs})} notes; {dict(counts)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
