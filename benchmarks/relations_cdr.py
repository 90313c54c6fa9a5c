"""Chemical-induces-disease relations on BioCreative V CDR: document-level precision / recall / F1.

Scored as in the BioCreative V CDR task: the set of (document, chemical MeSH id, disease
MeSH id) triples predicted against the CID relations of the PubTator file (exact ids).

* ``gold``: the relation model (``medlens/assets/relations`` or ``--model``) given the gold
  mentions and their gold MeSH ids (composite mentions name several; ``-1`` mentions left out);
* ``e2e``: end to end: medlens reads each document (title + " " + abstract) with its own
  recognizer and linker (``linker={"prefer": ["mesh", "omim"]}``), the ``medlens_relations``
  component pairs the entities' MeSH ids, found each way of ``--ids`` (``normalizer``: the
  mention normalizer, the component's default, with its semantic route with ``--semantic``
  and the annotated-mention recall route with ``--table-mentions`` (both off by default);
  ``links``: the first MeSH link); each way also
  reports ``candidate_pairs``, every chemical x disease pair of its ids (the recall ceiling);
* ``cooc``: the co-occurrence baseline, for orientation: every (chemical, disease) pair with a
  mention of each in one sentence (gold mentions; with ``e2e`` also medlens's own entities).

With a stacker (``--stacker``, or ``stacker.json`` in the model folder;
:mod:`medlens.relations.stacker`) the stacker's scores and threshold decide.

Each relation system is scored with and without the hypernym filter (a pair is dropped when
the same chemical has a pair with a more specific disease, by MeSH tree numbers of the graph).

    python benchmarks/relations_cdr.py --kg KG [--split dev|holdout] [--systems gold,e2e,cooc]
        [--model FOLDER] [--threshold T] [--limit N] [--json OUT] [--cache ENTITIES.json]
        [--ids normalizer,links] [--semantic] [--table-mentions] [--stacker JSON|none]

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

from medlens.relations.encoding import Mention, split_sentences
from medlens.relations.pubtator import PubTatorDocument, read_pubtator

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


def load_model(model_dir, stacker: str | None):
    """The relation model of ``model_dir`` with ``stacker`` (a JSON file; ``none``: without one; None: the
    folder's own ``stacker.json`` if it has one)."""
    from medlens.relations.model import RelationModel
    from medlens.relations.stacker import Stacker

    model = RelationModel.from_path(model_dir, threads=1, stacker=stacker is None)
    if stacker not in (None, "none"):
        model.stacker = Stacker.from_path(stacker)
    return model


def run_gold(docs, model_dir, trees, threshold, stacker=None):
    model = load_model(model_dir, stacker)
    t0 = time.perf_counter()
    enc = [model.encode(d.text, gold_mentions(d), title_end=len(d.title)) for d in docs]
    probs = model.final_scores([d.text for d in docs], enc, trees)
    secs = time.perf_counter() - t0
    th = model.threshold if threshold is None else threshold
    gold = [gold_of(d) for d in docs]
    out = {}
    for name, use in (("model", None), ("model+hypernym", trees)):
        from medlens.training.relations import (
            decide,  # torch-free function; the module imports torch lazily
        )

        pred = [set(decide(e, p, th, use)) for e, p in zip(enc, probs)]
        out[name] = {**score(gold, pred), "threshold": th}
    out["model"]["seconds"] = round(secs, 1)
    out["model"]["docs_per_s"] = round(len(docs) / secs, 2)
    cooc = [cooccurring(d.text, gold_mentions(d), split_sentences(d.text, [len(d.title)])) for d in docs]
    out["cooccurrence"] = score(gold, cooc)
    return out


def pipeline_entities(docs, kg_path, cache: Path | None):
    """Each document's entities from medlens's own pipeline (sections, sentences, recognizers, linker
    preferring MeSH: the components the relation component reads) as ``[start, end, label, links]``
    and its sentences; cached in ``cache`` (JSON) when given, so the relation component's id ways can
    be scored on the same entities without reading the documents again."""
    if cache is not None and cache.exists():
        data = json.loads(cache.read_text(encoding="utf-8"))
        if all(d.pmid in data["docs"] and "entities" in data["docs"][d.pmid] for d in docs):
            return data
    import dataclasses

    import medlens
    from medlens.config import COMPONENTS

    wanted = ("sections", "sentences", "transformer_ner", "dictionary_ner", "linker")
    t0 = time.perf_counter()
    nlp = medlens.load(kg_path=kg_path, components=[c for c in COMPONENTS if c in wanted],
                       linker={"prefer": ["mesh", "omim"]})
    load_secs = time.perf_counter() - t0
    out = {}
    t0 = time.perf_counter()
    for d, doc in zip(docs, nlp.pipe(d.text for d in docs)):
        out[d.pmid] = {"entities": [[e.start_char, e.end_char, e.label_, [dataclasses.asdict(x) for x in e._.concepts or ()]]
                                    for e in doc.ents],
                       "sentences": [(s.start_char, s.end_char) for s in doc.sents] if doc.has_annotation("SENT_START")
                       else split_sentences(doc.text)}
    data = {"docs": out, "pipeline_seconds": round(time.perf_counter() - t0, 1), "load_seconds": round(load_secs, 1)}
    if cache is not None:
        cache.write_text(json.dumps(data), encoding="utf-8")
    return data


def component_mentions(rel, nlp, text: str, entities) -> list[Mention]:
    """The relation component's mentions (its id way) of a document rebuilt from cached entities."""
    from medlens.doc.types import ConceptLink

    doc = nlp.make_doc(text)
    spans = [doc.char_span(s, e, label=label) for s, e, label, _links in entities]
    doc.ents = spans
    for span, (_s, _e, _label, links) in zip(doc.ents, entities):
        span._.concepts = [ConceptLink(**x) for x in links]
    return rel.mentions(doc)[0]


def run_e2e(docs, model_dir, kg_path, trees_graph_ids, threshold, cache: Path | None, ways=("normalizer",),
            stacker=None, semantic: bool = False, table_mentions: bool = False):
    """The component's own steps (its entity ids, for each id way of ``ways``; the model; the hypernym
    filter) on the pipeline's entities and sentences."""
    import medlens
    from medlens.components.relations import RelationExtractor
    from medlens.doc import extensions
    from medlens.pipeline import shared_graph
    from medlens.relations.encoding import hypernym_filter
    from medlens.relations.model import RelationModel
    from medlens.runtime import RELATIONS_DIR

    extensions.register()
    data = pipeline_entities(docs, kg_path, cache)
    model = load_model(model_dir or RELATIONS_DIR, stacker)
    nlp = medlens.load(kg_path=kg_path, components=["sections"])  # medlens's tokenizer
    strip = lambda i: i[5:] if i.startswith("MESH:") else i
    gold = [gold_of(d) for d in docs]
    th = model.threshold if threshold is None else threshold
    out = {"pipeline_seconds": data["pipeline_seconds"], "load_seconds": data["load_seconds"]}
    for way in ways:
        rel = RelationExtractor(nlp, model=model, kg=shared_graph(kg_path), threshold=th, hypernym_filter=False,
                                ids=way, semantic=semantic, table_mentions=table_mentions)
        t0 = time.perf_counter()
        enc, cooc, cand = [], [], []
        for d in docs:
            item = data["docs"][d.pmid]
            mentions = component_mentions(rel, nlp, d.text, item["entities"])
            sentences = [tuple(x) for x in item["sentences"]]
            enc.append(model.encode(d.text, mentions, sentences=sentences))
            bare = [Mention(m.start, m.end, m.kind, tuple(strip(i) for i in m.ids)) for m in mentions]
            cooc.append(cooccurring(d.text, bare, sentences))
            chems = {i for m in bare if m.kind == "chemical" for i in m.ids}
            dis = {i for m in bare if m.kind == "disease" for i in m.ids}
            cand.append({(c, x) for c in chems for x in dis if c != x})
        id_secs = time.perf_counter() - t0
        t0 = time.perf_counter()
        probs = model.final_scores([d.text for d in docs], enc, trees_graph_ids)
        secs = time.perf_counter() - t0
        results = {}
        for name, use in (("model", None), ("model+hypernym", trees_graph_ids)):
            pred = []
            for e, p in zip(enc, probs):
                found = [(e.entities[h].id, e.entities[t].id) for (h, t), x in zip(e.pairs, p) if x >= th]
                drop = hypernym_filter(found, use) if use else set()
                pred.append({(strip(a), strip(b)) for a, b in found if (a, b) not in drop})
            results[name] = {**score(gold, pred), "threshold": th}
        results["model"].update({"ids_seconds": round(id_secs, 1), "relation_seconds": round(secs, 1)})
        results["cooccurrence"] = score(gold, cooc)
        results["candidate_pairs"] = score(gold, cand)  # the ceiling: every chemical x disease pair
        out[f"ids={way}"] = results
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kg", default=None, help="knowledge graph (MeSH tree numbers; the e2e pipeline)")
    ap.add_argument("--split", choices=("dev", "holdout"), default="dev")
    ap.add_argument("--systems", default="gold,e2e")
    ap.add_argument("--model", default=None, help="relation model folder (default: medlens/assets/relations)")
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--stacker", default=None,
                    help="stacker JSON re-scoring the pairs (`none`: the network alone; default: the model folder's)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--cache", default=None, help="JSON file caching the pipeline's entities for e2e (reused if present)")
    ap.add_argument("--semantic", action="store_true",
                    help="the normalizer way with its semantic route (the component's semantic=True)")
    ap.add_argument("--table-mentions", action="store_true",
                    help="the normalizer way with the annotated-mention recall route (table_mentions=True)")
    ap.add_argument("--ids", default="normalizer,links",
                    help="the relation component's id ways scored end to end (comma-separated: normalizer, links)")
    args = ap.parse_args()
    if not (DATA / "cdr-relations").is_dir():
        sys.exit(f"no CDR data at {DATA / 'cdr-relations'} (set MEDLENS_SHARED_DATA)")
    from medlens.relations.trees import mesh_trees

    from medlens.kg.store import KnowledgeGraph
    from medlens.runtime import RELATIONS_DIR

    model_dir = Path(args.model) if args.model else RELATIONS_DIR
    docs = load_split(args.split)[: args.limit]
    with KnowledgeGraph.open(args.kg) as kg:
        trees = mesh_trees(kg, bare=True)
        trees_graph_ids = mesh_trees(kg)
    systems = args.systems.split(",")
    report = {"split": args.split, "documents": len(docs), "model": str(model_dir)}
    if "gold" in systems:
        report["gold_entities"] = run_gold(docs, model_dir, trees, args.threshold, args.stacker)
        print(json.dumps({"gold_entities": report["gold_entities"]}, indent=1), flush=True)
    if "e2e" in systems:
        report["end_to_end"] = run_e2e(docs, args.model, args.kg, trees_graph_ids, args.threshold,
                                       Path(args.cache) if args.cache else None, tuple(args.ids.split(",")),
                                       args.stacker, semantic=args.semantic,
                                       table_mentions=args.table_mentions)
        print(json.dumps({"end_to_end": report["end_to_end"]}, indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
