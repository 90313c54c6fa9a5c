"""Train the relation stacker (:mod:`medlens.relations.stacker`) on a PubTator training file.

By default every document trains (``--holdout 0``); ``--holdout 50`` keeps apart the same documents as
``medlens train relations`` (drawn with ``seed``). The prior tables count the training part; every training document's features leave its own counts
out; the decision threshold is the best of a grid on 5-fold out-of-fold probabilities of the training
part (hypernym filter on, as the component runs by default); the held-out documents are scored once
with the final stacker, which is fit on the whole training part.

    python -m medlens.training.relation_stacker --train train.PubTator.txt --model MODEL_DIR --kg KG \\
        --output stacker.json [--features text|all] [--c 0.2] [--context 1] [--min-count 3] [--holdout 0]
        [--no-booster] [--leaves 15] [--iterations 300] [--learning-rate 0.05] [--l2 1.0] [--bag 3]
        [--max-features 0.5]

By default (since round 4 of issue 13) the stacker carries a booster
(:func:`~medlens.relations.stacker.fit_boosted_stacker`): gradient-boosted trees over the features, the
logistic regression's out-of-fold logit and its ranks in the document. The features of
:data:`~medlens.relations.stacker.BOOSTER_ONLY` (round 5) are read by the booster alone. With ``--holdout 0`` the
out-of-fold figures are the only ones.

``--features text`` (default) uses no feature of the network (:data:`~medlens.relations.stacker.NETWORK_FEATURES`):
the stacker then re-scores from the text alone and the network is not run.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

from medlens.relations.encoding import hypernym_filter
from medlens.relations.pubtator import PubTatorDocument, read_pubtator
from medlens.relations.stacker import (
    BOOSTER_ONLY,
    NETWORK_FEATURES,
    STACK_FEATURES,
    fit_boosted_stacker,
    fit_stacker,
    pair_words,
    prior_tables,
    stack_features,
)

GRID = tuple(k / 40 for k in range(2, 38))


def _candidates(enc) -> list[tuple[str, str]]:
    return [(enc.entities[h].id, enc.entities[t].id) for h, t in enc.pairs]


def _f1(gold: Sequence[set], encs, probs: Sequence[Sequence[float]], th: float, trees) -> dict:
    tp = npred = 0
    for g, enc, p in zip(gold, encs, probs):
        found = [c for c, x in zip(_candidates(enc), p) if x >= th]
        if trees:
            drop = hypernym_filter(found, trees)
            found = [c for c in found if c not in drop]
        tp += len(set(found) & g)
        npred += len(found)
    ng = sum(map(len, gold))
    p = tp / npred if npred else 0.0
    r = tp / ng if ng else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(100 * p, 1), "recall": round(100 * r, 1), "f1": round(100 * f, 1), "tp": tp,
            "predicted": npred, "gold": ng, "threshold": th}


def train_stacker(train_docs: Sequence[PubTatorDocument], held_docs: Sequence[PubTatorDocument], model, trees,
                  *, features: Sequence[str], c: float = 0.2, min_count: int = 3, words: bool = True,
                  folds: int = 5, seed: int = 13, context: int = 1, booster: dict | None = None) -> tuple:
    """(stacker, report): fit on ``train_docs``, threshold from out-of-fold probabilities, scored on ``held_docs``.

    ``model``: a :class:`~medlens.relations.model.RelationModel` (its tokenizer reads the documents; its
    network scores the pairs only when ``features`` include a network feature). ``booster``: the settings
    of :func:`~medlens.relations.stacker.fit_boosted_stacker` (``leaves``, ``iterations``, ``learning_rate``,
    ``l2``, ``bag``, ``max_features``) to add one; None: the logistic regression alone. The logistic regression
    reads ``features`` but :data:`~medlens.relations.stacker.BOOSTER_ONLY`; the booster reads all of ``features``.
    """
    import numpy as np

    from medlens.training.relations import document_mentions, gold_pairs

    use_net = any(f in NETWORK_FEATURES for f in features)

    def encode(docs):
        encs = [model.encode(d.text, document_mentions(d), title_end=len(d.title)) for d in docs]
        probs = model.score(encs) if use_net else [[0.5] * len(e.pairs) for e in encs]
        return encs, probs

    t0 = time.perf_counter()
    enc_t, prob_t = encode(train_docs)
    gold_t = [gold_pairs(d) for d in train_docs]
    prior = prior_tables(((_candidates(e), g) for e, g in zip(enc_t, gold_t)), trees)
    rows, labels, bags, doc_of, keys = [], [], [], [], []
    for i, (d, e, p, g) in enumerate(zip(train_docs, enc_t, prob_t, gold_t)):
        rows += stack_features(d.text, e, p, prior=prior, trees=trees, own_relations=g)
        bags += pair_words(d.text, e, context=context) if words else [set() for _ in e.pairs]
        labels += [int(x in g) for x in _candidates(e)]
        doc_of += [i] * len(e.pairs)
        keys += [(i, h, t) for h, t in e.pairs]

    lr_features = [f for f in features if f not in BOOSTER_ONLY]

    def fit(idx, **kw):
        common = dict(features=lr_features, words=[bags[i] for i in idx] if words else None, min_count=min_count, c=c,
                      **kw)
        if booster is None:
            return fit_stacker([rows[i] for i in idx], [labels[i] for i in idx], **common)
        return fit_boosted_stacker([rows[i] for i in idx], [labels[i] for i in idx], [keys[i] for i in idx],
                                   booster_features=features, seed=seed, **booster, **common)
    doc_of = np.asarray(doc_of)
    order = np.random.default_rng(seed).permutation(len(train_docs))
    fold_of_doc = np.empty(len(train_docs), dtype=int)
    fold_of_doc[order] = np.arange(len(train_docs)) % folds
    oof = np.zeros(len(rows))
    for k in range(folds):
        tr = np.flatnonzero(fold_of_doc[doc_of] != k)
        te = np.flatnonzero(fold_of_doc[doc_of] == k)
        st = fit(tr, notes={"word_context": context})
        for d in np.unique(doc_of[te]):  # one document at a time (a booster ranks its pairs)
            idx = te[doc_of[te] == d]
            oof[idx] = st.probabilities([rows[i] for i in idx], [bags[i] for i in idx] if words else None,
                                        [keys[i][1:] for i in idx])
    split, k = [], 0
    for e in enc_t:
        split.append(oof[k:k + len(e.pairs)].tolist())
        k += len(e.pairs)
    best = max((_f1(gold_t, enc_t, split, th, trees) for th in GRID), key=lambda r: r["f1"])
    stacker = fit(list(range(len(rows))), threshold=best["threshold"], prior=prior,
                  notes={"trained_on": f"{len(train_docs)} documents", "out_of_fold": best, "word_context": context})
    report = {"train_documents": len(train_docs), "pairs": len(rows), "out_of_fold": best,
              "out_of_fold_no_filter": _f1(gold_t, enc_t, split, best["threshold"], None),
              "seconds": round(time.perf_counter() - t0, 1)}
    if held_docs:
        enc_h, prob_h = encode(held_docs)
        gold_h = [gold_pairs(d) for d in held_docs]
        scores = [stacker.rescore(d.text, e, p if use_net else None, trees)
                  for d, e, p in zip(held_docs, enc_h, prob_h)]
        report["held_out"] = _f1(gold_h, enc_h, scores, stacker.threshold, trees)
        report["held_out_no_filter"] = _f1(gold_h, enc_h, scores, stacker.threshold, None)
        stacker.data["held_out"] = report["held_out"]
    return stacker, report


def main(argv: Sequence[str] | None = None) -> None:
    from medlens.kg.store import KnowledgeGraph
    from medlens.relations.model import RelationModel
    from medlens.relations.trees import mesh_trees
    from medlens.runtime import RELATIONS_DIR
    from medlens.training.relations import holdout_split

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", required=True, help="PubTator training file")
    ap.add_argument("--model", default=None, help="relation model folder (its tokenizer; default: the shipped one)")
    ap.add_argument("--kg", required=True, help="knowledge graph (MeSH tree numbers)")
    ap.add_argument("--output", required=True, help="stacker JSON to write")
    ap.add_argument("--holdout", type=int, default=0, help="documents held out (drawn with --seed; 0: train on all)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--features", choices=("text", "all"), default="text")
    ap.add_argument("--context", type=int, default=1, help="words before/after each mention as word features")
    ap.add_argument("--c", type=float, default=0.2, help="inverse L2 strength of the logistic regression")
    ap.add_argument("--min-count", type=int, default=3, help="word features seen in fewer pairs are left out")
    ap.add_argument("--no-words", action="store_true")
    ap.add_argument("--folds", type=int, default=5, help="out-of-fold folds (by document) for the threshold")
    ap.add_argument("--no-booster", action="store_true", help="the logistic regression alone (the round-3 stacker)")
    ap.add_argument("--leaves", type=int, default=15, help="booster: leaves per tree")
    ap.add_argument("--iterations", type=int, default=300, help="booster: trees")
    ap.add_argument("--learning-rate", type=float, default=0.05, help="booster: learning rate")
    ap.add_argument("--l2", type=float, default=1.0, help="booster: L2 regularization")
    ap.add_argument("--bag", type=int, default=3,
                    help="boosters averaged, each on the regression's out-of-fold logits of its own fold draw")
    ap.add_argument("--max-features", type=float, default=0.5,
                    help="booster: share of its inputs each split may choose from (1.0: all)")
    args = ap.parse_args(argv)
    docs = read_pubtator(args.train)
    train, held = holdout_split(docs, args.holdout, args.seed) if args.holdout else (docs, [])
    with KnowledgeGraph.open(args.kg) as kg:
        trees = mesh_trees(kg, bare=True)
    model = RelationModel.from_path(args.model or RELATIONS_DIR, threads=1, stacker=False)
    features = [f for f in STACK_FEATURES if args.features == "all" or f not in NETWORK_FEATURES]
    stacker, report = train_stacker(train, held, model, trees, features=features, c=args.c, min_count=args.min_count,
                                    words=not args.no_words, seed=args.seed, folds=args.folds,
                                    context=args.context,
                                    booster=None if args.no_booster else {
                                        "leaves": args.leaves, "iterations": args.iterations,
                                        "learning_rate": args.learning_rate, "l2": args.l2, "bag": args.bag,
                                        "max_features": args.max_features})
    stacker.save(args.output)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
