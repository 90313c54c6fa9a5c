"""Assertion cues on real note sentences: negated lists, "no evidence of", "free of",
"resolved", "negative for", termination by "but"/"however", review-of-systems runs.

Data: ``benchmarks/data/assertion_cues_{dev,heldout}.jsonl`` — sentences (and
review-of-systems passages) of MTSamples notes (../shared/data/mtsamples, none of
the 40 notes of the entity sample), with the findings in them labelled by hand
before the rules were changed: ``negated``, ``present`` (affirmed: must not be
negated), ``historical`` ("resolved"), ``uncertain``. The split is by a hash of
note and sentence. Rules were tuned on the dev half only.

Each target is given as a gold entity (the recognizer is not measured here):
the text goes through ``medlens_sections`` and ``medlens_sentences``, the
targets become ``doc.ents``, then ``medlens_context`` runs.

Run: ``python benchmarks/assertion_cues.py [--split dev|heldout|both] [--errors]``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent

FLAG = {"negated": "negated", "historical": "historical", "uncertain": "uncertain",
        "hypothetical": "hypothetical", "family": "family"}


def load(split: str) -> list[dict]:
    return [json.loads(line) for line in (HERE / "data" / f"assertion_cues_{split}.jsonl").open(encoding="utf-8")]


def evaluate(items: list[dict], show_errors: bool = False) -> dict:
    """Per-category recall, negation precision and accuracy of the context component on gold targets."""
    import medlens

    nlp = medlens.load(components=("sections", "sentences", "dictionary_ner", "context"))
    got = Counter()
    total = Counter()
    neg_pred = neg_pred_ok = 0
    errors = []
    for item in items:
        doc = nlp.make_doc(item["text"])
        for name in ("medlens_sections", "medlens_sentences"):
            doc = nlp.get_pipe(name)(doc)
        spans = [doc.char_span(t["start"], t["end"], label="FINDING", alignment_mode="expand") for t in item["targets"]]
        doc.ents = spans
        doc = nlp.get_pipe("medlens_context")(doc)
        for t, ent in zip(item["targets"], doc.ents, strict=True):
            a = ent._.assertion
            exp = t["expected"]
            total[exp] += 1
            if exp == "present":
                ok = not a.negated
            else:
                ok = bool(getattr(a, FLAG[exp]))
            got[exp] += ok
            if a.negated:
                neg_pred += 1
                neg_pred_ok += exp == "negated"
            if not ok:
                errors.append((item["id"], item["cue_kind"], t["text"], exp, a.status, item["text"]))
    if show_errors:
        for e in errors:
            print("  ", e[0], e[1], repr(e[2]), "expected", e[3], "got", e[4], "||", e[5][:200])
    n = sum(total.values())
    return {
        "sentences": len(items), "targets": n,
        **{f"{k}_recall": (got[k] / total[k], total[k]) for k in sorted(total)},
        "negation_precision": neg_pred_ok / max(1, neg_pred),
        "accuracy": sum(got.values()) / max(1, n),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=["dev", "heldout", "both"], default="both")
    ap.add_argument("--errors", action="store_true", help="print the targets it gets wrong (use on dev only)")
    args = ap.parse_args()
    for split in (["dev", "heldout"] if args.split == "both" else [args.split]):
        r = evaluate(load(split), args.errors and split == "dev")
        print(split, {k: (round(v[0], 3), v[1]) if isinstance(v, tuple) else (round(v, 3) if isinstance(v, float) else v)
                      for k, v in r.items()})


if __name__ == "__main__":
    main()
