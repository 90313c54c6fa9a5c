"""Visit notes from ACI-bench conversations: train the turn classifier (train split) and score the notes.

Data: ../shared/data/aci-bench/train.csv (67) and valid.csv (20) (the official test sets are not used).

    python benchmarks/summarize_dialogue.py train              # writes medlens/resources/en/dialogue_turns.json
    python benchmarks/summarize_dialogue.py eval --split valid # ROUGE-1/2/L, concepts, groundedness, time
    python benchmarks/summarize_dialogue.py eval --split valid --generate --baselines   # and the local generator
    python benchmarks/summarize_dialogue.py cv none default no-numbers no-hedges  # 5-fold CV on train, per variant

Scores: ROUGE-1/2/L F1 (rouge-score, Porter stemmer) of the full note against
the reference note; baselines scored the same way: the longest doctor turn and
the whole transcript. Concept measure: the medlens concepts (DISEASE, SYMPTOM,
FINDING, DRUG, TEST, PROCEDURE; top link) of the reference note found in the
generated note (recall), and the generated note's DRUG and DISEASE concepts
that the dialogue does not contain (unsupported). Groundedness: share of note
sentences with at least one source turn.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MEDLENS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "aci-bench"


def read(split: str) -> list[dict]:
    path = DATA / f"{split}.csv"
    if not path.is_file():
        sys.exit(f"ACI-bench not found at {path} (../shared/data/aci-bench beside the project, or set MEDLENS_SHARED_DATA)")
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _examples(rows: list[dict]) -> list:
    from medlens.summarize.dialogue import _clean, _rules, parse_dialogue

    fillers = _rules().fillers
    examples = []
    for r in rows:
        turns, _ = parse_dialogue(r["dialogue"])
        examples.append(([(t.speaker, _clean(t.text, fillers)) for t in turns], r["note"]))
    return examples


def train() -> None:
    from medlens.summarize.turns import shipped_model_path, train_turn_classifier

    rows = read("train")
    examples = _examples(rows)
    model = train_turn_classifier(examples, description=(
        f"naive Bayes over dialogue turns, weak labels from the notes of ACI-bench train ({len(rows)} dialogues), "
        f"trained {date.today().isoformat()} by benchmarks/summarize_dialogue.py"))
    path = shipped_model_path()
    text = model.model_dump_json()
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({len(text) / 1024:.0f} KB, {model.vocabulary} features, labels {model.labels})")


def _concepts(nlp, text: str, labels: tuple[str, ...], words: bool = False):
    doc = nlp(text)
    ents = [e for e in doc.ents if e.label_ in labels and e._.concepts and not (e._.assertion and e._.assertion.negated)]
    ids = {e._.concepts[0].concept_id for e in ents}
    if not words:
        return ids
    from medlens.normalize import key_of_tokens

    return ids, {e._.concepts[0].concept_id: key_of_tokens(e.text.split()) for e in ents}


def evaluate(split: str, limit: int | None, baselines: bool, generate: bool = False) -> None:
    """Score the visit notes of a split; with ``generate`` also the notes rewritten by the local model (one pass:
    the extractive and the generated note of each dialogue are scored side by side)."""
    from rouge_score import rouge_scorer

    import medlens
    from medlens.normalize import key_of_tokens
    from medlens.summarize import summarize

    rows = read(split)[:limit]
    nlp = _CachedNlp(medlens.load())
    systems = ["extractive"] + (["generate"] if generate else [])
    if generate:
        from medlens.summarize.generate import default_generator

        t0 = time.perf_counter()
        default_generator()
        print(json.dumps({"generator_load_seconds": round(time.perf_counter() - t0, 1)}), flush=True)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    keys = ("rouge1", "rouge2", "rougeL")
    totals = {s: dict.fromkeys(keys, 0.0) for s in systems}
    base = {"longest_doctor_turn": dict.fromkeys(keys, 0.0), "transcript": dict.fromkeys(keys, 0.0)}
    stats = {s: {"found": 0, "gen_n": 0, "unsupported": 0, "grounded": 0.0, "seconds": 0.0, "examples": []}
             for s in systems}
    gold_n = kept = tried = 0
    all_labels = ("DISEASE", "SYMPTOM", "FINDING", "DRUG", "TEST", "PROCEDURE")
    for n_done, r in enumerate(rows, 1):
        t_row = time.perf_counter()
        dialogue_c = _concepts(nlp, r["dialogue"], all_labels)
        dialogue_words = " " + key_of_tokens(r["dialogue"].split()) + " "
        gold_c = _concepts(nlp, r["note"], all_labels)
        gold_n += len(gold_c)
        if baselines:
            doctor = [line[len("[doctor]"):] for line in r["dialogue"].splitlines() if line.startswith("[doctor]")]
            for name, cand in (("longest_doctor_turn", max(doctor, key=len) if doctor else ""), ("transcript", r["dialogue"])):
                sc = scorer.score(r["note"], cand)
                for k in keys:
                    base[name][k] += sc[k].fmeasure
        extractive_seconds = 0.0
        for system in systems:
            t0 = time.perf_counter()
            # the extractive note runs first and analyzes the turns (its time is the real one); the generated
            # note reuses those docs, so its time is the extractive time plus the rewriting
            note = summarize(r["dialogue"], kind="dialogue", nlp=nlp, doc_id=r["encounter_id"],
                             generate=system == "generate")
            st = stats[system]
            took = time.perf_counter() - t0
            if system == "extractive":
                extractive_seconds = took
            st["seconds"] += took if system == "extractive" else extractive_seconds + took
            if system == "generate":
                m = re.match(r"(\d+) of (\d+) sentences", note.warnings[-1])
                kept, tried = kept + int(m.group(1)), tried + int(m.group(2))
            scores = scorer.score(r["note"], note.text)
            for k in keys:
                totals[system][k] += scores[k].fmeasure
            gen_c = _concepts(nlp, note.text, all_labels)
            st["found"] += len(gold_c & gen_c)
            gen_key, gen_words = _concepts(nlp, note.text, ("DRUG", "DISEASE"), words=True)
            st["gen_n"] += len(gen_key)
            # unsupported: a concept the dialogue's analysis never found, written with words the dialogue never says
            bad = {c for c in gen_key - dialogue_c if f" {gen_words[c]} " not in dialogue_words}
            st["unsupported"] += len(bad)
            st["examples"] += [f"{r['encounter_id']}:{c}:{gen_words[c]}" for c in sorted(bad)][:3]
            st["grounded"] += note.grounded
        print(json.dumps({"done": n_done, "of": len(rows), "seconds": round(time.perf_counter() - t_row, 1)}),
              file=sys.stderr, flush=True)
    n = len(rows)
    for system in systems:
        st = stats[system]
        out = {"split": split, "system": system, "dialogues": n,
               **{k: round(100 * v / n, 1) for k, v in totals[system].items()},
               "concept_recall": round(100 * st["found"] / max(1, gold_n), 1),
               "unsupported_drug_disease": f"{st['unsupported']}/{st['gen_n']}", "unsupported_examples": st["examples"][:10],
               "grounded": round(st["grounded"] / n, 3), "seconds_per_dialogue": round(st["seconds"] / n, 2)}
        if system == "generate":
            out["rewrites_kept"] = f"{kept}/{tried}"
        print(json.dumps(out), flush=True)
    if baselines:
        print(json.dumps({"baselines": {name: {k: round(100 * v / n, 1) for k, v in b.items()} for name, b in base.items()}}))


class _CachedNlp:
    """The pipeline with a cache of its docs by text: the variants of a CV run analyze the same turns."""

    def __init__(self, nlp):
        self.nlp, self.cache = nlp, {}

    def pipe(self, texts):
        texts = list(texts)
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        for t, doc in zip(todo, self.nlp.pipe(todo)):
            self.cache[t] = doc
        return [self.cache[t] for t in texts]

    def __call__(self, text):
        return self.pipe([text])[0]


def cv(folds: int, variants: list[str], seed: int) -> None:
    """K-fold cross-validation on train: the turn classifier is retrained on the other folds for each fold,
    and each variant (the default, or the default less some rewrite steps: ``no-numbers``, ``no-numbers,no-hedges``,
    or ``none`` for no rewrite step) writes the held-out fold's notes. Nothing of valid is read."""
    import random

    from rouge_score import rouge_scorer

    import medlens
    from medlens.summarize.dialogue import STEPS, summarize_dialogue
    from medlens.summarize.turns import train_turn_classifier

    rows = read("train")
    examples = _examples(rows)
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    fold_of = {i: k % folds for k, i in enumerate(order)}
    nlp = _CachedNlp(medlens.load())
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    models = [train_turn_classifier([examples[i] for i in range(len(rows)) if fold_of[i] != f]) for f in range(folds)]
    results = {}
    for variant in variants:
        skip = set(STEPS) if variant == "none" else {x.strip().removeprefix("no-") for x in variant.split(",")
                                                     if x.strip() and x != "default"}
        totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
        t0 = time.perf_counter()
        for i, r in enumerate(rows):
            note = summarize_dialogue(r["dialogue"], nlp=nlp, doc_id=r["encounter_id"], turn_model=models[fold_of[i]],
                                      skip=skip)
            sc = scorer.score(r["note"], note.text)
            for k in totals:
                totals[k] += sc[k].fmeasure
        results[variant] = {k: round(100 * v / len(rows), 2) for k, v in totals.items()}
        print(json.dumps({"variant": variant, "skip": sorted(skip), **results[variant],
                          "seconds": round(time.perf_counter() - t0, 1)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("train", help="train the turn classifier on ACI-bench train")
    ev = sub.add_parser("eval", help="score visit notes")
    ev.add_argument("--split", choices=["train", "valid"], default="train")
    ev.add_argument("--limit", type=int, default=None)
    ev.add_argument("--baselines", action="store_true", help="also score the longest doctor turn and the transcript")
    ev.add_argument("--generate", action="store_true",
                    help="also score the notes rewritten by the local model (needs the generate extra)")
    cvp = sub.add_parser("cv", help="k-fold cross-validation on train (classifier retrained per fold), per variant")
    cvp.add_argument("--folds", type=int, default=5)
    cvp.add_argument("--seed", type=int, default=0)
    cvp.add_argument("variants", nargs="*", default=["default"],
                     help="'default', 'none' (no rewrite step) or the steps to leave out, e.g. no-numbers,no-hedges")
    args = parser.parse_args()
    if args.cmd == "train":
        train()
    elif args.cmd == "cv":
        cv(args.folds, args.variants, args.seed)
    else:
        evaluate(args.split, args.limit, args.baselines, args.generate)


if __name__ == "__main__":
    main()
