"""MTSamples medication lists: attribute-level precision and recall of the drug attributes (issue 14, item 3).

Gold: ``data/medication_lists_{dev,heldout}.jsonl`` (211 drug mentions of 40
medication sections, written by hand before any rule was tuned on them; see
:mod:`medication_lists_gold`). Each note is analyzed whole by a medlens
pipeline; the drug entities (``span._.attributes`` not None) inside the
annotated section are compared with the gold mentions.

* Mentions: a gold mention and a system drug entity match when their character
  spans overlap (each used once, left to right). The attributes of a gold
  mention with no system entity are misses; those of a system entity with no
  gold mention are false positives.
* Attributes, per type: a true positive when the matched system entity has the
  attribute and its normalized value equals the gold one; a gold attribute
  missing or with another value is a false negative, a system attribute absent
  from gold or with another value a false positive (a wrong value counts both).
* Normalized values:

  - strength: the amounts (numbers of ranges "25-50" and combinations "5/325",
    thousands commas removed) equal, and the unit (lower case; ug/µg = mcg)
    equal when gold has one ("Advair 250/50" has none);
  - dose: the amount equal, and the form (singular, lower case) equal when gold has one;
  - route: the route code (PO, IV, SC, IM, SL, INH, NAS, TOP, TD, OTIC = medlens OT, ...);
    routes the drug's form states ("inhaler", "nasal spray", "patch") are gold too;
  - frequency: times per day (and the upper bound of a range) equal within 1e-3 (the pipeline rounds to 4 decimals),
    and as-needed equal: so "q.h.s.", "every night" and "daily" all match
    once a day; "p.r.n." alone is as-needed with no times per day;
  - duration: amount and unit ("10 d");
  - prn_reason, indication: the words, lower case, equal;
  - status: the status word (started, stopped, held, ...).

    python benchmarks/medication_lists.py [--half dev|heldout|both] [--no-model] [--errors] [--json out.json]

``--errors`` prints the dev half's differences only (the held-out half's
errors are never printed, so rules are not tuned on them).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = Path(__file__).resolve().parent / "data"
NOTES = ROOT.parent / "shared" / "data" / "mtsamples" / "notes.csv"
KINDS = ("strength", "dose", "route", "frequency", "duration", "prn_reason", "status", "indication")
_UNITS = {"ug": "mcg", "µg": "mcg", "mcg": "mcg", "milligram": "mg", "milligrams": "mg", "ml": "ml", "meq": "meq",
          "units": "unit", "u": "unit", "iu": "unit", "[iu]": "unit", "[meq]": "meq"}
_ROUTE_ALIASES = {"OTIC": "OT"}  # the gold says OTIC, medlens OT (SNOMED CT otic route)


def _amounts(s: str) -> tuple[float, ...]:
    return tuple(float(x) for x in re.split(r"\s*[-/]\s*|\s+to\s+", s.replace(",", "").strip()) if x)


def _unit(u: str | None) -> str | None:
    if not u:
        return None
    u = u.strip().lower().rstrip(".")
    return _UNITS.get(u, u)


def _form(f: str | None) -> str | None:
    if not f:
        return None
    f = f.strip().lower()
    return f[:-1] if f.endswith("s") and not f.endswith("ss") else f


def system_value(kind: str, attrs: dict) -> tuple | None:
    """The normalized value of one system attribute kind of a drug entity (None: absent)."""
    if kind == "prn_reason":
        f = attrs.get("frequency")
        reason = f and f.details.get("as_needed_reason")
        return (reason.strip().lower(),) if reason else None
    a = attrs.get(kind)
    if a is None:
        return None
    d = a.details or {}
    if kind == "strength":
        amount, _, unit = str(a.value).partition(" ")
        try:
            return (_amounts(amount), _unit(unit))
        except ValueError:
            return ((), _unit(unit))
    if kind == "dose":
        amount = str(a.value).partition(" ")[0]
        try:
            return (_amounts(amount), _form(d.get("form")))
        except ValueError:
            return ((), _form(d.get("form")))
    if kind == "frequency":
        return (d.get("per_day"), d.get("per_day_max"), bool(d.get("as_needed")))
    if kind == "duration":
        return (_amounts(str(d.get("amount", ""))) if d.get("amount") is not None else (), d.get("unit"))
    if kind == "indication":
        return (str(d.get("label") or a.text).strip().lower(),)
    return (str(a.value),)


def gold_value(kind: str, g: dict) -> tuple:
    if kind == "strength":
        return (_amounts(g["value"]), _unit(g["unit"]))
    if kind == "dose":
        return (_amounts(g["value"]), _form(g["unit"]))
    if kind == "frequency":
        return (g["per_day"], g["per_day_max"], g["as_needed"])
    if kind == "duration":
        return (_amounts(g["value"]), g["unit"])
    if kind in ("prn_reason", "indication"):
        return (g["value"].strip().lower(),)
    if kind == "route":
        return (_ROUTE_ALIASES.get(g["value"], g["value"]),)
    return (g["value"],)


def same(kind: str, gold: tuple, pred: tuple | None) -> bool:
    """Whether a system value equals the gold value under the matching rules of the module doc."""
    if pred is None:
        return False
    if kind == "strength":
        return gold[0] == pred[0] and (gold[1] is None or gold[1] == pred[1])
    if kind == "dose":
        return gold[0] == pred[0] and (gold[1] is None or gold[1] == pred[1])
    if kind == "frequency":
        def close(x, y):
            return (x is None and y is None) or (x is not None and y is not None and abs(x - y) < 1e-3)
        return close(gold[0], pred[0]) and close(gold[1], pred[1]) and gold[2] == pred[2]
    return gold == pred


def score(gold: list[dict], notes: dict[str, str], nlp, errors: bool = False) -> dict:
    """Attribute-level counts and P/R/F1 per type.

    Args:
        gold: Gold mention records of one half.
        notes: note_id -> transcription.
        nlp: A medlens pipeline.
        errors: Print each difference.

    Returns:
        ``{kind: {"tp", "fp", "fn", "precision", "recall", "f1"}, "_mentions": {...}}``.
    """
    counts = {k: {"tp": 0, "fp": 0, "fn": 0} for k in KINDS}
    mentions = {"gold": len(gold), "matched": 0, "system": 0}
    by_note: dict[str, list[dict]] = {}
    for g in gold:
        by_note.setdefault(g["note_id"], []).append(g)
    ids = list(by_note)
    for nid, doc in zip(ids, nlp.pipe(notes[n] for n in ids)):
        golds = by_note[nid]
        lo, hi = golds[0]["section_start"], golds[0]["section_end"]
        ents = [e for e in doc.ents if e._.attributes is not None and lo <= e.start_char < hi]
        mentions["system"] += len(ents)
        used: set[int] = set()
        pairs = []
        for g in golds:
            match = next((i for i, e in enumerate(ents) if i not in used
                          and e.start_char < g["end"] and g["start"] < e.end_char), None)
            if match is not None:
                used.add(match)
                mentions["matched"] += 1
            pairs.append((g, ents[match] if match is not None else None))
        pairs += [(None, e) for i, e in enumerate(ents) if i not in used]
        for g, e in pairs:
            attrs = e._.attributes if e is not None else {}
            for k in KINDS:
                gv = gold_value(k, g[k]) if g is not None and k in g else None
                pv = system_value(k, attrs)
                if gv is not None and same(k, gv, pv):
                    counts[k]["tp"] += 1
                    continue
                if gv is not None:
                    counts[k]["fn"] += 1
                if pv is not None:
                    counts[k]["fp"] += 1
                if errors and (gv is not None or pv is not None):
                    name = g["drug"] if g else f"[no gold] {e.text}"
                    print(f"  note {nid} {name!r:28} {k:10} gold={gv} system={pv}"
                          f"{'' if e is not None else ' (no system entity)'}")
    for c in counts.values():
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        c.update(precision=round(p, 3), recall=round(r, 3), f1=round(2 * p * r / (p + r), 3) if p + r else 0.0)
    return {**counts, "_mentions": mentions}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--half", choices=("dev", "heldout", "both"), default="both")
    ap.add_argument("--no-model", action="store_true", help="the rules-only pipeline (medlens analyze --no-model)")
    ap.add_argument("--errors", action="store_true", help="print the dev half's differences")
    ap.add_argument("--data", type=Path, default=NOTES, help="MTSamples notes.csv")
    ap.add_argument("--json", type=Path, help="write the scores here")
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"MTSamples not found at {args.data}", file=sys.stderr)
        return 2
    import medlens
    from medlens.config import RULES_ONLY

    notes = {r["note_id"]: r["transcription"] for r in csv.DictReader(args.data.open(encoding="utf-8"))}
    nlp = medlens.load(components=RULES_ONLY) if args.no_model else medlens.load()
    halves = ("dev", "heldout") if args.half == "both" else (args.half,)
    result = {}
    for half in halves:
        gold = [json.loads(line) for line in (DATA / f"medication_lists_{half}.jsonl").open(encoding="utf-8")]
        t0 = time.perf_counter()
        res = score(gold, notes, nlp, errors=args.errors and half == "dev")
        res["_seconds"] = round(time.perf_counter() - t0, 1)
        result[half] = res
        m = res["_mentions"]
        print(f"{half}: {m['gold']} gold mentions, {m['system']} system drug entities, {m['matched']} matched "
              f"({res['_seconds']} s)")
        print(f"  {'attribute':11} {'gold':>5} {'P':>6} {'R':>6} {'F1':>6}")
        for k in KINDS:
            c = res[k]
            print(f"  {k:11} {c['tp'] + c['fn']:5d} {c['precision']:6.3f} {c['recall']:6.3f} {c['f1']:6.3f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
