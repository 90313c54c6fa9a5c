"""Chemical-induces-disease relations on BioCreative V CDR: document-level precision / recall / F1.

Scored as in the BioCreative V CDR task: the set of (document, chemical MeSH id, disease
MeSH id) triples predicted against the CID relations of the PubTator file (exact ids).

* ``gold``: the relation model (``medlens/assets/relations`` or ``--model``) given the gold
  mentions and their gold MeSH ids (composite mentions name several; ``-1`` mentions left out);
* ``e2e``: end to end: medlens reads each document (title + " " + abstract) with its own
  recognizer and linker (``linker={"prefer": ["mesh", "omim"]}``), the ``medlens_relations``
  component pairs the entities' MeSH ids;
* ``cooc``: the co-occurrence baseline, for orientation: every (chemical, disease) pair with a
  mention of each in one sentence (gold mentions; with ``e2e`` also medlens's own entities).

Each relation system is scored with and without the hypernym filter (a pair is dropped when
the same chemical has a pair with a more specific disease, by MeSH tree numbers of the graph).

    python benchmarks/relations_cdr.py --kg KG [--split dev|holdout] [--systems gold,e2e,cooc]
        [--model FOLDER] [--threshold T] [--limit N] [--json OUT]

``--split holdout`` scores the 50 training documents held out to pick the epoch and threshold
(the draw of ``medlens train relations`` with its default seed), where the decisions were made.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = Path(os.environ.get("MEDLENS_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))

from medlens.relations.encoding import Mention, split_sentences  # noqa: E402
from medlens.relations.pubtator import PubTatorDocument, read_pubtator  # noqa: E402

KINDS = {"Chemical": "chemical", "Disease": "disease"}


def load_split(split: str, holdout: int = 50, seed: int = 13) -> list[PubTatorDocument]:
    if split == "dev":
        return read_pubtator(DATA / "cdr-relations" / "dev.PubTator.txt")
    from medlens.training.relations import holdout_split

    return holdout_split(read_pubtator(DATA / "cdr-relations" / "train.PubTator.txt"), holdout, seed)[1]


def gold_of(doc: PubTatorDocument) -> set[tuple[str, str]]:
    return {(r.head, r.tail) for r in doc.relations if r.type == "CID"}


def score(gold: list[set], pred: list[set]) -> dict:
    tp = sum(len(g & p) for g, p in zip(gold, pred))
    n_pred, n_gold = sum(map(len, pred)), sum(map(len, gold))
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(100 * p, 1), "recall": round(100 * r, 1), "f1": round(100 * f, 1), "tp": tp,
            "predicted": n_pred, "gold": n_gold}


def cooccurring(text: str, mentions: list[Mention], sentences: list[tuple[int, int]]) -> set[tuple[str, str]]:
    """Every (chemical id, disease id) with a mention of each in one sentence."""
    by_sent: dict[int, list[Mention]] = {}
    for m in mentions:
        k = next((i for i, (s, e) in enumerate(sentences) if s <= m.start < e), -1)
        by_sent.setdefault(k, []).append(m)
    out = set()
    for ms in by_sent.values():
        chems = {i for m in ms if m.kind == "chemical" for i in m.ids}
        dis = {i for m in ms if m.kind == "disease" for i in m.ids}
        out |= {(c, d) for c in chems for d in dis if c != d}
    return out


def gold_mentions(doc: PubTatorDocument) -> list[Mention]:
    return [Mention(m.start, m.end, KINDS[m.type], m.ids) for m in doc.mentions if m.type in KINDS and m.ids]


def run_gold(docs, model_dir, trees, threshold):
    from medlens.relations.model import RelationModel

    model = RelationModel.from_path(model_dir, threads=1)
    t0 = time.perf_counter()
    enc = [model.encode(d.text, gold_mentions(d), title_end=len(d.title)) for d in docs]
    probs = model.score(enc)
    secs = time.perf_counter() - t0
    th = model.threshold if threshold is None else threshold
    gold = [gold_of(d) for d in docs]
    out = {}
    for name, use in (("model", None), ("model+hypernym", trees)):
        from medlens.training.relations import decide  # torch-free function; the module imports torch lazily

        pred = [set(decide(e, p, th, use)) for e, p in zip(enc, probs)]
        out[name] = {**score(gold, pred), "threshold": th}
    out["model"]["seconds"] = round(secs, 1)
    out["model"]["docs_per_s"] = round(len(docs) / secs, 2)
    cooc = [cooccurring(d.text, gold_mentions(d), split_sentences(d.text, [len(d.title)])) for d in docs]
    out["cooccurrence"] = score(gold, cooc)
    return out


def run_e2e(docs, model_dir, kg_path, threshold):
    import medlens
    from medlens.config import COMPONENTS

    t0 = time.perf_counter()
    nlp = medlens.load(kg_path=kg_path, components=[*COMPONENTS, "relations"], linker={"prefer": ["mesh", "omim"]},
                       relations_model_path=str(model_dir) if model_dir else None)
    rel = nlp.get_pipe("medlens_relations")
    if threshold is not None:
        rel.threshold = threshold
    trees = rel.trees
    load_secs = time.perf_counter() - t0
    gold = [gold_of(d) for d in docs]
    strip = lambda i: i[5:] if i.startswith("MESH:") else i  # noqa: E731
    results = {}
    preds = {"model+hypernym": [], "model": [], "cooccurrence": []}
    t0 = time.perf_counter()
    rel.trees = None  # score every pair once without the filter; the filter is applied below
    pipe_secs = rel_secs = 0.0
    names = [n for n in nlp.pipe_names if n != "medlens_relations"]
    for d in docs:
        t1 = time.perf_counter()
        with nlp.select_pipes(enable=names):
            doc = nlp(d.text)
        t2 = time.perf_counter()
        rels = rel.predict([doc])[0]
        t3 = time.perf_counter()
        pipe_secs += t2 - t1
        rel_secs += t3 - t2
        found = {(strip(r.head_id), strip(r.tail_id)) for r in rels}
        preds["model"].append(found)
        if trees:
            from medlens.relations.encoding import hypernym_filter

            drop = hypernym_filter([(r.head_id, r.tail_id) for r in rels], trees)
            preds["model+hypernym"].append({(strip(r.head_id), strip(r.tail_id)) for r in rels
                                            if (r.head_id, r.tail_id) not in drop})
        mentions, _ = rel.mentions(doc)
        mentions = [Mention(m.start, m.end, m.kind, tuple(strip(i) for i in m.ids)) for m in mentions]
        preds["cooccurrence"].append(cooccurring(d.text, mentions, rel.sentences(doc)))
    for name, pred in preds.items():
        if pred:
            results[name] = score(gold, pred)
    results["model"].update({"pipeline_seconds": round(pipe_secs, 1), "relation_seconds": round(rel_secs, 1),
                             "load_seconds": round(load_secs, 1), "threshold": rel.model.threshold if threshold is None
                             else threshold, "total_seconds": round(time.perf_counter() - t0, 1)})
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kg", default=None, help="knowledge graph (MeSH tree numbers; the e2e pipeline)")
    ap.add_argument("--split", choices=("dev", "holdout"), default="dev")
    ap.add_argument("--systems", default="gold,e2e")
    ap.add_argument("--model", default=None, help="relation model folder (default: medlens/assets/relations)")
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if not (DATA / "cdr-relations").is_dir():
        sys.exit(f"no CDR data at {DATA / 'cdr-relations'} (set MEDLENS_SHARED_DATA)")
    from medlens.kg.store import KnowledgeGraph
    from medlens.relations.trees import mesh_trees
    from medlens.runtime import RELATIONS_DIR

    model_dir = Path(args.model) if args.model else RELATIONS_DIR
    docs = load_split(args.split)[: args.limit]
    with KnowledgeGraph.open(args.kg) as kg:
        trees = mesh_trees(kg, bare=True)
    systems = args.systems.split(",")
    report = {"split": args.split, "documents": len(docs), "model": str(model_dir)}
    if "gold" in systems:
        report["gold_entities"] = run_gold(docs, model_dir, trees, args.threshold)
        print(json.dumps({"gold_entities": report["gold_entities"]}, indent=1), flush=True)
    if "e2e" in systems:
        report["end_to_end"] = run_e2e(docs, args.model, args.kg, args.threshold)
        print(json.dumps({"end_to_end": report["end_to_end"]}, indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
