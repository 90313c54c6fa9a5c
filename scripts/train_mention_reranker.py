"""Train the mention normalizer's candidate reranker (medlens/components/mention_rerank.py).

The reranker learns from mentions the graph's mention table has NOT seen: the 20% of the
NCBI-disease and BC5CDR TRAIN documents held out by ``scripts/make_mesh_tables.py
--train-fraction 0.8 --holdout-list FILE``, read against a graph built with the other 80%
(benchmarks/README.md, "Concept normalization"). The dev and test files are never read.

    # 1. candidates and features of every held-out mention (minutes: linker + encoder)
    python scripts/train_mention_reranker.py features --kg KG80 --holdout-list holdout.txt --out feats.json
    # 2. 5-fold cross-validation by document on those mentions, then the model on all of them
    python scripts/train_mention_reranker.py fit --features feats.json [--l2 0.01] [--out reranker.json]

``fit`` prints the accuracy of the routes' own choice and of the reranker per corpus in
cross-validation (each fold's mentions scored by a model that did not see them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def cmd_features(args) -> None:
    import spacy
    from normalization import DATA, FILES, LABEL, Equivalence, gold_ids, read_pubtator
    from tqdm import tqdm

    from medlens.components.linker import EntityLinker
    from medlens.components.mention_ids import MentionNormalizer, find_abbreviations
    from medlens.components.mention_rerank import FEATURES, CandidateGenerator
    from medlens.kg.store import KnowledgeGraph

    kg = KnowledgeGraph.open(args.kg)
    eq = Equivalence(kg)
    norm = MentionNormalizer(EntityLinker(spacy.blank("en"), kg=kg), kg, semantic=True)
    gen = CandidateGenerator(norm)
    types = [t.strip() for t in args.types.split(",")]
    rows = []
    listed = args.holdout_list.read_text().split()
    t0 = time.perf_counter()
    for corpus, rel in FILES.items():
        keep = {x.split(":", 1)[1] for x in listed if x.startswith(corpus + ":")}
        docs = read_pubtator(DATA / rel.format(split="train"), keep)
        mentions = [(pmid, d, m) for pmid, d in docs.items() for m in d["mentions"] if m[3] in types]
        abbr: dict[str, dict] = {}
        for pmid, d, (_s, _e, text, typ, raw) in tqdm(mentions, desc=f"{corpus} mentions"):
            gold = gold_ids(raw)
            if not gold:
                continue
            if pmid not in abbr:
                abbr = {pmid: find_abbreviations(d["text"])}
            base = norm.normalize(text, LABEL[typ], abbr[pmid])
            cands = gen.candidates(text, LABEL[typ], abbr[pmid], base)
            rows.append({
                "corpus": corpus, "type": typ, "doc": pmid, "text": text, "gold": sorted(gold),
                "base": list(base.ids), "route": base.route,
                "cands": [c.concept_id for c in cands], "x": [list(c.features) for c in cands],
                "y": [int(bool(eq(c.concept_id) & gold)) for c in cands],
                "base_ok": bool(base.ids) and all(eq(b) & gold for b in base.ids)
                and all(any(g in eq(b) for b in base.ids) for g in gold),
            })
    args.out.write_text(json.dumps({"features": list(FEATURES), "kg": str(args.kg), "rows": rows}))
    print(f"{len(rows)} mentions, {sum(len(r['cands']) for r in rows)} candidates, {time.perf_counter() - t0:.0f} s")


def _applies(r, routes) -> bool:
    """Whether the reranker decides for this mention (one id or none from the routes, a route it may overturn)."""
    return len(r["base"]) <= 1 and bool(r["cands"]) and r["route"] in routes


def _decide(rows, model_scores, routes):
    """Accuracy per corpus/type: routes' choice vs reranked (composites and empty lists keep the routes' choice)."""
    out: dict[str, list[int]] = {}
    for r, scores in zip(rows, model_scores):
        key = f"{r['corpus']} {r['type']}"
        tally = out.setdefault(key, [0, 0, 0, 0])  # n, base ok, reranked ok, ceiling
        tally[0] += 1
        tally[1] += r["base_ok"]
        tally[3] += int(any(r["y"]) and len(r["gold"]) == 1) or (len(r["gold"]) > 1 and r["base_ok"])
        if not _applies(r, routes) or scores is None:
            tally[2] += r["base_ok"]
        else:
            best = int(np.argmax(scores))
            tally[2] += int(len(r["gold"]) == 1 and r["y"][best] == 1)
    return out


def _fit(rows, names, cols, l2, routes):
    """A linear scorer trained listwise: the softmax over each mention's candidates should put its
    mass on the right ones (conditional logit; L-BFGS, L2 penalty ``l2`` on the standardized weights)."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    groups = [(np.asarray([[x[c] for c in cols] for x in r["x"]], dtype=np.float64), np.asarray(r["y"], dtype=bool))
              for r in rows if len(r["gold"]) == 1 and any(r["y"]) and _applies(r, routes)]
    allx = np.concatenate([g[0] for g in groups])
    mean, scale = allx.mean(0), allx.std(0)
    scale[scale == 0] = 1.0
    groups = [((x - mean) / scale, y) for x, y in groups]

    def loss(w):
        total, grad = 0.0, np.zeros_like(w)
        for x, y in groups:
            s = x @ w
            all_, pos = logsumexp(s), logsumexp(s[y])
            total += all_ - pos
            p_all = np.exp(s - all_)
            p_pos = np.where(y, np.exp(s - pos), 0.0)
            grad += x.T @ (p_all - p_pos)
        n = len(groups)
        return total / n + l2 * float(w @ w), grad / n + 2 * l2 * w

    w = minimize(loss, np.zeros(len(cols)), jac=True, method="L-BFGS-B").x
    return mean, scale, w, 0.0


def _score(rows, cols, model):
    mean, scale, coef, b = model
    out = []
    for r in rows:
        if not r["x"]:
            out.append(None)
            continue
        X = np.asarray([[x[c] for c in cols] for x in r["x"]], dtype=np.float64)
        out.append(((X - mean) / scale) @ coef + b)
    return out


def cmd_fit(args) -> None:
    data = json.loads(args.features.read_text())
    names = data["features"]
    rows = [r for r in data["rows"] if r["type"] in args.types.split(",")]
    use = [n for n in names if n not in set(args.drop.split(","))] if args.drop else list(names)
    cols = [names.index(n) for n in use]
    routes = set(args.routes.split(","))
    docs = sorted({(r["corpus"], r["doc"]) for r in rows})
    rng = np.random.default_rng(0)
    fold_of = {d: int(f) for d, f in zip(docs, rng.permutation(len(docs)) % args.folds)}
    scores: list = [None] * len(rows)
    for k in range(args.folds):
        train = [r for r in rows if fold_of[(r["corpus"], r["doc"])] != k]
        model = _fit(train, use, cols, args.l2, routes)
        idx = [i for i, r in enumerate(rows) if fold_of[(r["corpus"], r["doc"])] == k]
        for i, s in zip(idx, _score([rows[i] for i in idx], cols, model)):
            scores[i] = s
    for key, (n, base, rr, ceil) in sorted(_decide(rows, scores, routes).items()):
        print(f"{key}: n={n} routes {100 * base / n:.1f}  reranked (CV) {100 * rr / n:.1f}  ceiling {100 * ceil / n:.1f}")
    if args.errors:
        shown = 0
        for r, s in zip(rows, scores):
            if s is not None and _applies(r, routes) and r["y"][int(np.argmax(s))] != 1 and shown < args.errors:
                shown += 1
                print("  ", r["text"], r["gold"], "->", r["cands"][int(np.argmax(s))], "| routes:", r["base"], r["route"])
    if args.out:
        mean, scale, coef, b = _fit(rows, use, cols, args.l2, routes)
        for n_, c in sorted(zip(use, coef), key=lambda t: -abs(t[1])):
            print(f"  {n_:20s} {c:+.3f}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "format": "medlens mention reranker v1 (linear, listwise softmax over each mention's candidates, standardized features)",
            "labels": ["DISEASE"] if args.types == "Disease" else ["DISEASE", "DRUG"],
            "routes": sorted(routes), "features": use, "mean": [round(v, 6) for v in mean], "scale": [round(v, 6) for v in scale],
            "coef": [round(v, 6) for v in coef], "intercept": round(b, 6), "l2": args.l2,
            "trained_on": f"{sum(1 for r in rows)} held-out train mentions ({args.types}), graph {data['kg']}",
        }, indent=1) + "\n")
        print(f"wrote {args.out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("features", help="candidates and features of the held-out train mentions")
    f.add_argument("--kg", required=True)
    f.add_argument("--holdout-list", type=Path, required=True)
    f.add_argument("--types", default="Disease")
    f.add_argument("--out", type=Path, required=True)
    t = sub.add_parser("fit", help="cross-validate, then fit on all mentions and write the model")
    t.add_argument("--features", type=Path, required=True)
    t.add_argument("--types", default="Disease")
    t.add_argument("--folds", type=int, default=5)
    t.add_argument("--l2", type=float, default=0.01, help="L2 penalty on the weights")
    t.add_argument("--drop", default="", help="features left out, comma-separated")
    t.add_argument("--routes", default="link,variant,semantic,head,none",
                   help="routes whose choice the reranker may overturn (default: all but annotated, abbreviation, composite)")
    t.add_argument("--errors", type=int, default=0)
    t.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    cmd_features(args) if args.cmd == "features" else cmd_fit(args)


if __name__ == "__main__":
    main()
