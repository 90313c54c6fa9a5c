"""Note summaries against the frozen gold problem and medication lists (benchmarks/data/summarize_gold.jsonl).

Matching (normalized text): every name is reduced to the knowledge graph's key
form (case-folded, accents stripped, punctuation split, light singular:
``medlens.normalize.key_of_tokens``). A predicted item goes by its text, its
concept's preferred name and the texts of all its source spans; a gold item by
its name and its alternative names. They match when a predicted name equals a
gold name or contains all of a gold name's words (the prediction may be more
specific: "left buttock abscess" matches gold "abscess"). Each gold item is
matched at most once.

- problem recall = gold problems matched by an item of ``summary.problems`` / gold problems;
- problem precision = items of ``summary.problems`` that match some gold problem / items;
- medication recall = gold medications matched by an item of ``summary.medications``;
- status agreement = matched problems whose status equals the gold status.

MTSamples stores each note's line breaks as commas (``"...illness.,PAST MEDICAL HISTORY:,..."``);
the script puts a line break back before each upper-case header and after its
colon, as the notes were written, before analysis.

Usage:
    python benchmarks/summarize_eval.py --split dev [--show-errors]
    python benchmarks/summarize_eval.py --split heldout        # totals only, never --show-errors while tuning
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
GOLD = ROOT / "benchmarks" / "data" / "summarize_gold.jsonl"
NOTES = ROOT.parent / "shared" / "data" / "mtsamples" / "notes.csv"


def restore_lines(text: str) -> str:
    """MTSamples' commas back to line breaks before and after section headers."""
    text = re.sub(r",\s*(?=[A-Z][A-Z0-9 /&\-\(\)]{2,}:)", "\n", text)
    return re.sub(r":\s*,", ":\n", text)


def _key(text: str) -> str:
    from medlens.normalize import key_of_tokens

    return key_of_tokens(text.split())


def _matches(pred_names: set[str], gold_names: set[str]) -> bool:
    for p in pred_names:
        pw = set(p.split())
        for g in gold_names:
            if p == g or (g and set(g.split()) <= pw):
                return True
    return False


def _pred_names(item) -> set[str]:
    names = {item.text, *(s.text for s in item.sources)}
    if item.concept_name:
        names.add(item.concept_name)
    return {_key(n) for n in names} - {""}


def _gold_names(g: dict) -> set[str]:
    return {_key(n) for n in [g["name"], *g["alt"]]} - {""}


def score(gold: list[dict], summaries: dict[str, object], show_errors: bool = False) -> dict[str, float]:
    """Recall, precision and status agreement over the given gold notes."""
    n_gold_p = n_hit_p = n_pred_p = n_ok_p = n_gold_m = n_hit_m = n_status = 0
    for g in gold:
        s = summaries[g["note_id"]]
        preds = [(_pred_names(i), i) for i in s.problems]
        used: set[int] = set()
        correct_pred: set[int] = set()
        missed = []
        for gp in g["problems"]:
            names = _gold_names(gp)
            n_gold_p += 1
            hit = next((k for k, (pn, _) in enumerate(preds) if k not in used and _matches(pn, names)), None)
            if hit is None:
                hit = next((k for k, (pn, _) in enumerate(preds) if _matches(pn, names)), None)
            if hit is not None:
                n_hit_p += 1
                used.add(hit)
                n_status += preds[hit][1].status == gp["status"]
            else:
                missed.append(gp["name"])
        all_gold = [_gold_names(gp) for gp in g["problems"]]
        for k, (pn, _) in enumerate(preds):
            if any(_matches(pn, names) for names in all_gold):
                correct_pred.add(k)
        n_pred_p += len(preds)
        n_ok_p += len(correct_pred)
        mpreds = [_pred_names(i) for i in s.medications]
        missed_m = []
        for gm in g["medications"]:
            n_gold_m += 1
            if any(_matches(pn, _gold_names(gm)) for pn in mpreds):
                n_hit_m += 1
            else:
                missed_m.append(gm["name"])
        if show_errors:
            wrong = [preds[k][1].text for k in range(len(preds)) if k not in correct_pred]
            print(f"--- {g['note_id']} ({g['specialty']})\n  missed problems: {missed}\n  extra problems: {wrong}"
                  f"\n  missed medications: {missed_m}")
    return {
        "notes": len(gold), "gold_problems": n_gold_p, "predicted_problems": n_pred_p,
        "problem_recall": n_hit_p / max(1, n_gold_p), "problem_precision": n_ok_p / max(1, n_pred_p),
        "status_agreement": n_status / max(1, n_hit_p),
        "gold_medications": n_gold_m, "medication_recall": n_hit_m / max(1, n_gold_m),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["dev", "heldout", "all"], default="dev")
    parser.add_argument("--show-errors", action="store_true", help="print each note's misses (dev only)")
    parser.add_argument("--no-model", action="store_true", help="the dictionary recognizer alone")
    args = parser.parse_args()
    if args.show_errors and args.split != "dev":
        sys.exit("--show-errors is for the dev half only: the held-out half is never inspected while tuning.")
    if not NOTES.is_file():
        sys.exit(f"MTSamples not found at {NOTES} (../shared/data/mtsamples/notes.csv beside the project)")
    import medlens
    from medlens.config import RULES_ONLY
    from medlens.summarize import summarize

    gold = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    gold = [g for g in gold if args.split == "all" or g["split"] == args.split]
    with NOTES.open(newline="", encoding="utf-8") as handle:
        texts = {r["note_id"]: r["transcription"] for r in csv.DictReader(handle)}
    nlp = medlens.load(components=RULES_ONLY) if args.no_model else medlens.load()
    t0 = time.perf_counter()
    summaries = {g["note_id"]: summarize(restore_lines(texts[g["note_id"]]), nlp=nlp, doc_id=g["note_id"]) for g in gold}
    seconds = time.perf_counter() - t0
    result = score(gold, summaries, args.show_errors)
    result["seconds_per_note"] = seconds / max(1, len(gold))
    print(json.dumps({"split": args.split, **{k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}}))


if __name__ == "__main__":
    main()
