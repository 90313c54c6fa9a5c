"""PHEE dev: exact-match F1 of the ADE tagger's arguments (sub-arguments and main arguments).

PHEE (Sun et al. 2022, MIT; ``../shared/data/phee``) annotates pharmacovigilance
events in case-report sentences. The tagger (``medlens/assets/ade``, or any
ONNX folder written by ``medlens export``) tags each sentence alone; a
predicted argument counts when its type and character offsets equal a gold
argument of any event of the sentence (exact match; gold arguments are
deduplicated per sentence, and the arguments the flat training spans had to
drop because they overlap are still gold, so they count as misses).

* sub-arguments: DOSAGE, ROUTE, FREQ, DURATION (PHEE's Treatment sub-arguments
  the medication attributes need); main arguments: DRUG and EFFECT. (PHEE's
  published "main arguments" are Subject, Treatment and Effect, and its
  sub-arguments also count Drug, Age, Gender, Disorder, ...: these groups are
  not the published ones, see benchmarks/README.md.)
* the tagger's spans are decoded as the component reads them
  (:func:`medlens.medications.ade.tidy_spans`): fragments of one label cut inside
  a number ("40." + "8 mg") are joined, a span cut inside a decimal number takes
  the whole number, two same-label sub-argument spans one space apart are one
  ("sublingual ingestion"); ``--join-only`` applies only the joining of
  fragments (the decoding before 2026-12-02 round 2), ``--no-join`` scores the
  raw spans.
* ``--subargs DIR``: the drug-conditioned sub-argument tagger
  (:mod:`medlens.medications.subargs`, one pass per predicted DRUG) with
  ``--subargs-mode``: ``filter`` keeps a sub-argument of the ADE tagger only when
  the conditioned tagger found an overlapping one of its type, ``replace`` takes
  the conditioned tagger's sub-arguments instead, ``union`` both.
* ``--rules``: also run the rule-based attribute extractor
  (:mod:`medlens.medications.attributes`) after each predicted DRUG and add its
  strength/dose (as DOSAGE), route, frequency and duration spans where the model
  found none of that type overlapping them, with PHEE's conventions
  (:func:`medlens.medications.phee.attribute_to_phee`: no "for" in durations, no
  percentages as dosages, no routes only implied by a form).

    python benchmarks/phee_eval.py --model medlens/assets/ade [--split dev] [--rules] [--json out.json]
    python benchmarks/phee_eval.py --pipeline default   # + the pipeline's doc._.adverse_events (needs the graph)
    python benchmarks/phee_eval.py --split tune --model CKPT/onnx   # the tune slice of train (choices are made here)
    python benchmarks/phee_eval.py --write-splits /tmp/phee       # train90.jsonl / tune10.jsonl for `medlens train ner`
    python benchmarks/phee_eval.py --subargs DIR --subargs-mode filter   # + the drug-conditioned sub-argument tagger

The official PHEE test split is not in ../shared/data and is never used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from medlens.components.transformer_ner import OnnxTagger  # noqa: E402
from medlens.medications.ade import join_fragments, tidy_spans  # noqa: E402
from medlens.medications.phee import (  # noqa: E402
    MAIN_ARGUMENTS,
    SUB_ARGUMENTS,
    attribute_to_phee,
    gold_arguments,
    read_phee,
    score_arguments,
    tune_split,
    write_span_jsonl,
)

DATA = ROOT.parent / "shared" / "data" / "phee"


def predict(model: Path, texts: list[str], threads: int, join: bool = True,
            tidy: bool = True) -> list[set[tuple[str, int, int]]]:
    tagger = OnnxTagger.from_path(model, threads=threads)
    out = []
    for text, ents in zip(texts, tagger.entities(texts, batch_size=32)):
        spans = [(e.label, e.start, e.end) for e in ents]
        if join:
            spans = tidy_spans(text, spans) if tidy else join_fragments(text, spans)
        out.append(set(spans))
    return out


def add_subargs(texts: list[str], preds: list[set[tuple[str, int, int]]], folder: Path,
                mode: str = "filter") -> list[set[tuple[str, int, int]]]:
    """The ADE tagger's spans with their sub-arguments filtered, replaced or joined by the drug-conditioned
    tagger's (one pass per predicted DRUG span)."""
    from medlens.medications.subargs import SubArgumentTagger

    tagger = SubArgumentTagger.from_path(folder)
    cond = tagger.predict_many([(t, sorted({(a, b) for lab, a, b in p if lab == "DRUG"})) for t, p in zip(texts, preds)])
    out = []
    for text, pred, extra in zip(texts, preds, cond):
        main = {x for x in pred if x[0] not in SUB_ARGUMENTS}
        own = {x for x in pred if x[0] in SUB_ARGUMENTS}
        if mode == "filter":
            subs = {x for x in own if any(y[0] == x[0] and x[1] < y[2] and y[1] < x[2] for y in extra)}
        elif mode == "replace":
            subs = set(extra)
        elif mode == "union":
            subs = set(tidy_spans(text, sorted(own | extra, key=lambda x: (x[1], x[2], x[0]))))
        else:
            raise ValueError(f"unknown --subargs-mode {mode!r}: filter, replace or union")
        out.append(main | subs)
    return out


def add_rules(texts: list[str], preds: list[set[tuple[str, int, int]]]) -> list[set[tuple[str, int, int]]]:
    from medlens.medications.attributes import AttributeExtractor

    ex = AttributeExtractor()
    out = []
    for text, pred in zip(texts, preds):
        pred = set(pred)
        for lab, s, e in sorted(p for p in pred if p[0] == "DRUG"):
            for kind, attr in ex.extract(text, s, e).items():
                span = attribute_to_phee(kind, attr.text, attr.start_char, attr.end_char, attr.source)
                if span is None:
                    continue
                t, a, b = span
                if any(p[0] == t and p[1] < b and a < p[2] for p in pred):
                    continue
                if any(p[1] < b and a < p[2] for p in pred if p[0] in ("DRUG", "EFFECT")):
                    continue
                pred.add(span)
        out.append(pred)
    return out


def pair_scores(sents, preds) -> dict[str, float]:
    """Exact-match F1 of adverse (drug, effect) pairs: gold from the Adverse_event events (every drug of an
    event with every effect), predicted by :func:`medlens.medications.ade.events_from_tags` on the tagger's
    spans (effects with a therapeutic trigger dropped, as the component does)."""
    from medlens.medications.ade import AdeRules, events_from_tags

    rules = AdeRules()
    tp = ng = np_ = 0
    for s, pred in zip(sents, preds):
        gold = set()
        for ev in s.events:
            if ev.kind != "Adverse_event":
                continue
            drugs = [(a, b) for lab, a, b in ev.arguments if lab == "DRUG"]
            effects = [(a, b) for lab, a, b in ev.arguments if lab == "EFFECT"]
            gold |= {(d, e) for d in drugs for e in effects}
        got = {((e.drug_start, e.drug_end), (e.effect_start, e.effect_end))
               for e in events_from_tags(s.text, 0, len(s.text), sorted(pred, key=lambda x: x[1]), [], rules)}
        tp += len(gold & got)
        ng += len(gold)
        np_ += len(got)
    p = 100 * tp / np_ if np_ else 0.0
    r = 100 * tp / ng if ng else 0.0
    return {"p": p, "r": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "gold": ng, "pred": np_, "tp": tp}


def pipeline_pairs(sents, no_model: bool = False) -> dict[str, dict[str, float]]:
    """The pipeline's ``doc._.adverse_events`` (recognizer entities, rules, gated tagger) against the gold
    adverse (drug, effect) pairs of each sentence: exact offsets, and overlap (each side shares a character)."""
    import medlens
    from medlens.config import RULES_ONLY

    nlp = medlens.load(components=RULES_ONLY) if no_model else medlens.load()
    counts = {"exact": [0, 0, 0, 0], "overlap": [0, 0, 0, 0]}  # predictions matched, gold, predicted, gold matched
    for s, doc in zip(sents, nlp.pipe([x.text for x in sents])):
        gold = set()
        for ev in s.events:
            if ev.kind == "Adverse_event":
                drugs = [(a, b) for lab, a, b in ev.arguments if lab == "DRUG"]
                effects = [(a, b) for lab, a, b in ev.arguments if lab == "EFFECT"]
                gold |= {(d, e) for d in drugs for e in effects}
        got = {((e.drug_start, e.drug_end), (e.effect_start, e.effect_end)) for e in doc._.adverse_events}
        counts["exact"][0] += len(gold & got)
        counts["exact"][3] += len(gold & got)

        def ov(x, y):
            return x[0] < y[1] and y[0] < x[1]

        counts["overlap"][0] += sum(any(ov(g[0], p[0]) and ov(g[1], p[1]) for g in gold) for p in got)
        counts["overlap"][3] += sum(any(ov(g[0], p[0]) and ov(g[1], p[1]) for p in got) for g in gold)
        for k in counts:
            counts[k][1] += len(gold)
            counts[k][2] += len(got)
    out = {}
    for k, (tp, ng, np_, tg) in counts.items():
        p = 100 * tp / np_ if np_ else 0.0
        r = 100 * tg / ng if ng else 0.0
        out[k] = {"p": p, "r": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "gold": ng, "pred": np_, "tp": tp}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=ROOT / "medlens" / "assets" / "ade")
    ap.add_argument("--file", type=Path, default=None, help="a PHEE jsonl file (default: ../shared/data/phee/<split>.jsonl)")
    ap.add_argument("--split", default="dev", choices=["dev", "train", "tune", "train90"],
                    help="dev; train; tune = the tune slice of train (10%% of the PMIDs, seed 13: "
                         "medlens.medications.phee.tune_split), train90 = the rest of train")
    ap.add_argument("--write-splits", type=Path, default=None, metavar="DIR",
                    help="write DIR/train90.jsonl and DIR/tune10.jsonl (span JSONL for `medlens train ner`) and exit")
    ap.add_argument("--rules", action="store_true", help="add the rule-based attributes where the model found none")
    ap.add_argument("--subargs", type=Path, default=None, metavar="DIR",
                    help="the drug-conditioned sub-argument tagger's folder (medlens.medications.subargs)")
    ap.add_argument("--subargs-mode", default="filter", choices=["filter", "replace", "union"],
                    help="how its spans combine with the ADE tagger's sub-arguments (default: filter)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-join", action="store_true", help="score the tagger's spans as decoded (no join_fragments)")
    ap.add_argument("--join-only", action="store_true",
                    help="only join fragments cut inside a number (no whole numbers, no merging of sub-arguments)")
    ap.add_argument("--json", type=Path, default=None, help="write the scores here")
    ap.add_argument("--pipeline", choices=["default", "rules"], default=None,
                    help="also score the pipeline's adverse events (default pipeline or --no-model rules only; "
                         "needs the knowledge graph)")
    args = ap.parse_args(argv)
    sliced = args.split in ("tune", "train90") or args.write_splits is not None
    path = args.file or DATA / f"{'train' if sliced else args.split}.jsonl"
    if not path.is_file():
        print(f"PHEE data not found at {path}: nothing to evaluate", file=sys.stderr)
        return 2
    sents = read_phee(path)
    if sliced:
        rest, tune = tune_split(sents)
        if args.write_splits is not None:
            for name, part in (("train90", rest), ("tune10", tune)):
                write_span_jsonl(part, args.write_splits / f"{name}.jsonl")
            print(f"{args.write_splits}/train90.jsonl ({len(rest)} sentences), {args.write_splits}/tune10.jsonl ({len(tune)})")
            return 0
        sents = tune if args.split == "tune" else rest
    texts = [s.text for s in sents]
    t0 = time.perf_counter()
    preds = predict(args.model, texts, args.threads, join=not args.no_join, tidy=not args.join_only)
    if args.subargs is not None:
        preds = add_subargs(texts, preds, args.subargs, args.subargs_mode)
    secs = time.perf_counter() - t0
    if args.rules:
        preds = add_rules(texts, preds)
    scores = score_arguments([gold_arguments(s) for s in sents], preds)
    print(f"{path}{' [' + args.split + ' slice]' if sliced else ''} ({len(sents)} sentences), model {args.model}{' + rules' if args.rules else ''}{f' + {args.subargs} ({args.subargs_mode})' if args.subargs else ''}, "
          f"{secs:.1f} s ({len(sents) / secs:.0f} sentences/s)")
    print(f"{'type':<16}{'P':>7}{'R':>7}{'F1':>7}{'gold':>7}")
    order = [*SUB_ARGUMENTS, *MAIN_ARGUMENTS, "TRIGGER", "INDICATION", "sub-arguments", "main arguments"]
    for k in order:
        if k in scores:
            v = scores[k]
            print(f"{k:<16}{v['p']:7.1f}{v['r']:7.1f}{v['f1']:7.1f}{v['gold']:7d}")
    pairs = pair_scores(sents, preds)
    print(f"{'drug-effect pairs':<16}{pairs['p']:7.1f}{pairs['r']:7.1f}{pairs['f1']:7.1f}{pairs['gold']:7d}"
          "  (adverse events: each EFFECT paired with its nearest DRUG, as medlens_adverse_events does)")
    scores["drug-effect pairs"] = pairs
    if args.pipeline:
        pp = pipeline_pairs(sents, no_model=args.pipeline == "rules")
        for k, v in pp.items():
            print(f"{'pipeline ' + k:<16}{v['p']:7.1f}{v['r']:7.1f}{v['f1']:7.1f}{v['gold']:7d}"
                  f"  (medlens.load({'RULES_ONLY' if args.pipeline == 'rules' else ''}) doc._.adverse_events vs adverse pairs)")
            scores[f"pipeline {args.pipeline} {k}"] = v
    if args.json:
        args.json.write_text(json.dumps({"file": str(path), "model": str(args.model), "rules": args.rules,
                                         "seconds": secs, "scores": scores}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
