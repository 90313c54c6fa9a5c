"""Concept normalization to MeSH/OMIM ids on NCBI-disease and BC5CDR (PubTator files).

Two measures, on the DEV files of ``../shared/data/ncbi-disease-ids`` and
``../shared/data/cdr-relations`` (or, while tuning, on the 20% of the TRAIN documents
held out of the mention table: ``--split holdout --holdout-list FILE``):

* **given-mention acc@1**: for every gold mention (its text and type; Disease ->
  label DISEASE, Chemical -> DRUG) the system gives its ids; the mention is correct when
  the set of predicted ids equals the set of gold ids, each predicted id counting as any
  id of its MEDIC entry (a MEDIC concept with a MeSH and an OMIM id matches either).
  Composite gold ids (``D001943|D010051``, NCBI's ``+``) are split into their set; the
  prediction must name the same set. Mentions with gold ``-1`` (no concept) are left out.
* **end-to-end normalization** (``--e2e``): medlens runs on each document (title + " " +
  abstract; default pipeline with the models, ``prefer=["mesh"]``), each entity of a
  compatible label (DISEASE/SYMPTOM/FINDING for Disease, DRUG for Chemical) gets ids by
  the system named (as below: ``before`` = its first MeSH/OMIM link with the default
  ranking, ``linker`` = its first link with ``prefer``, mapped to MeSH, ``normalizer`` =
  the :class:`MentionNormalizer` given the document's abbreviations); scored as
  precision/recall/F1 of (document, id) pairs per type, the concept-level measure of
  BioCreative V CDR (each gold id counted once per document; composite ids split).

Systems:

* ``before``: the linker as on main (``source_priority`` default, no ``prefer``): the
  first of its (up to 5) candidates whose id is MeSH or OMIM (a generous reading: the
  first candidate itself is usually ICD-10-CM or HPO).
* ``linker``: the linker with ``prefer=["mesh", "omim"]``: its first candidate, mapped to
  MeSH with ``kg.map_to`` when it is of another vocabulary.
* ``normalizer``: :class:`medlens.components.mention_ids.MentionNormalizer` (document
  abbreviations, composite splitting, spelling variants, then the preferring linker),
  with its semantic route (sentence-encoder nearest concept text) unless ``--no-semantic``,
  and with ``--reranker shipped|FILE`` its trained candidate reranker
  (:mod:`medlens.components.mention_rerank`); with the shipped composite mention table
  unless ``--composites none``.

    python benchmarks/normalization.py --kg KG [--split dev|holdout] [--holdout-list F]
        [--systems before,linker,normalizer] [--e2e before,linker,normalizer] [--no-model]
        [--no-semantic] [--reranker shipped|FILE] [--composites FILE|none] [--no-own-name] [--errors N]
        [--json OUT]

The normalizer reads the shipped composite mention table (``composites=True``: train texts the
annotators coded mostly with several ids get them all); ``--composites`` gives it another one (the
80% one of the hold-out protocol, ``scripts/make_mesh_tables.py --train-fraction 0.8``) or
``none``. It also uses ``own_name=True`` (a disease concept whose own name is the mention before one
that has it only as a synonym); ``--no-own-name`` turns that off.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = Path(os.environ.get("MEDLENS_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))

FILES = {"ncbi": "ncbi-disease-ids/{split}.PubTator.txt", "cdr": "cdr-relations/{split}.PubTator.txt"}
LABEL = {"Disease": "DISEASE", "Chemical": "DRUG"}
COMPATIBLE = {"Disease": {"DISEASE", "SYMPTOM", "FINDING"}, "Chemical": {"DRUG", "CHEMICAL"}}


def read_pubtator(path: Path, keep: set[str] | None = None) -> dict[str, dict]:
    """Documents of a PubTator file: ``{pmid: {"text", "mentions": [(start, end, text, type, ids)]}}``."""
    docs: dict[str, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "|t|" in line[:20] or "|a|" in line[:20]:
            pmid, kind, text = line.split("|", 2)
            d = docs.setdefault(pmid, {"title": "", "abstract": "", "mentions": []})
            d["title" if kind == "t" else "abstract"] = text
            continue
        parts = line.split("\t")
        if len(parts) >= 6 and parts[1].isdigit():
            typ = "Chemical" if parts[4] == "Chemical" else "Disease"
            docs[parts[0]]["mentions"].append((int(parts[1]), int(parts[2]), parts[3], typ, parts[5]))
    for d in docs.values():
        d["text"] = d["title"] + " " + d["abstract"]
    if keep is not None:
        docs = {k: v for k, v in docs.items() if k in keep}
    return docs


def gold_ids(raw: str) -> frozenset[str]:
    """``D001943|D010051`` -> {MESH:D001943, MESH:D010051}; ``OMIM:312080+OMIM:312920`` -> two OMIM ids."""
    out = set()
    for part in raw.replace("+", "|").split("|"):
        part = part.strip()
        if not part or part == "-1":
            continue
        out.add(part if part.startswith("OMIM:") else f"MESH:{part.removeprefix('MESH:')}")
    return frozenset(out)


class Equivalence:
    """The ids of a predicted concept's MEDIC entry (MeSH <-> OMIM xrefs of source ``medic``)."""

    def __init__(self, kg) -> None:
        self.kg = kg
        self._cache: dict[str, frozenset[str]] = {}

    def __call__(self, cid: str) -> frozenset[str]:
        if cid not in self._cache:
            ids = {cid}
            try:
                for r in self.kg.relations(cid, predicate="xref", direction="both"):
                    if r.source == "medic":
                        ids.add(r.object if r.subject == cid else r.subject)
            except Exception:  # noqa: BLE001 - a graph without relations for it
                pass
            self._cache[cid] = frozenset(ids)
        return self._cache[cid]


def match(pred: list[str], gold: frozenset[str], eq: Equivalence) -> bool:
    """Whether each gold id is named by a predicted id and each predicted id names a gold id."""
    if not pred or not gold:
        return False
    sets = [eq(p) for p in pred]
    return all(any(g in s for s in sets) for g in gold) and all(s & gold for s in sets)


def make_systems(kg, names: list[str], semantic: bool = True, reranker=None, composites=None, own_name: bool = True):
    from medlens.components.linker import EntityLinker

    systems = {}
    if "before" in names:
        base = EntityLinker(None, kg=kg)

        def before(text, label, doc_text):
            for link in base.link_text(text, label):
                if link.concept_id.startswith(("MESH:", "OMIM:")):
                    return [link.concept_id]
            return []

        systems["before"] = before
    if "linker" in names:
        pref = EntityLinker(None, kg=kg, prefer=["mesh", "omim"])

        def linker(text, label, doc_text):
            for link in pref.link_text(text, label)[:1]:
                if link.concept_id.startswith(("MESH:", "OMIM:")):
                    return [link.concept_id]
                mapped = kg.map_to(link.concept_id, "mesh", broader=0)
                return [mapped[0].concept_id] if mapped else []
            return []

        systems["linker"] = linker
    if "normalizer" in names:
        import spacy

        from medlens.components.mention_ids import MentionNormalizer, find_abbreviations

        norm = MentionNormalizer(EntityLinker(spacy.blank("en"), kg=kg), kg, semantic=semantic, reranker=reranker,
                                 composites=composites, own_name=own_name)
        abbr_cache: dict[str, dict] = {}

        def normalizer(text, label, doc_text):
            if doc_text not in abbr_cache:
                abbr_cache.clear()
                abbr_cache[doc_text] = find_abbreviations(doc_text)
            return list(norm.normalize(text, label, abbr_cache[doc_text]).ids)

        systems["normalizer"] = normalizer
    return systems


def given_mention(docs_by_corpus, systems, eq, n_errors: int = 0):
    results = {}
    for corpus, docs in docs_by_corpus.items():
        for sys_name, fn in systems.items():
            tally: Counter = Counter()
            errors = []
            t0 = time.perf_counter()
            for pmid, d in docs.items():
                for _s, _e, text, typ, raw in d["mentions"]:
                    gold = gold_ids(raw)
                    if not gold:
                        tally[(typ, "no_concept")] += 1
                        continue
                    pred = fn(text, LABEL[typ], d["text"])
                    ok = match(pred, gold, eq)
                    tally[(typ, "n")] += 1
                    tally[(typ, "ok")] += ok
                    if len(gold) > 1:
                        tally[(typ, "composite_n")] += 1
                        tally[(typ, "composite_ok")] += ok
                    if not ok and len(errors) < n_errors * 50:
                        errors.append((typ, text, sorted(gold), pred))
            secs = time.perf_counter() - t0
            for typ in ("Disease", "Chemical"):
                n = tally[(typ, "n")]
                if n:
                    results[(corpus, typ, sys_name)] = {
                        "n": n, "acc@1": round(100 * tally[(typ, "ok")] / n, 1),
                        "composite": f"{tally[(typ, 'composite_ok')]}/{tally[(typ, 'composite_n')]}",
                        "no_concept_left_out": tally[(typ, "no_concept")], "seconds": round(secs, 1)}
            if n_errors:
                import random

                random.Random(0).shuffle(errors)
                print(f"--- {corpus} {sys_name}: sample of errors")
                for e in errors[:n_errors]:
                    print("   ", e)
    return results


def end_to_end(docs_by_corpus, kg_path: str, eq, mode: str, model: bool = True, semantic: bool = True,
               reranker=None, composites=None, own_name: bool = True):
    import medlens
    from medlens.config import COMPONENTS, RULES_ONLY

    if mode == "normalizer":
        from medlens.components.mention_ids import MentionNormalizer, find_abbreviations

    nlp = medlens.load(kg_path=kg_path, linker={"prefer": ["mesh", "omim"]} if mode != "before" else None,
                       components=COMPONENTS if model else RULES_ONLY)
    linker = nlp.get_pipe("medlens_linker")
    kg = linker.kg
    norm = MentionNormalizer(linker, kg, semantic=semantic, reranker=reranker, composites=composites,
                             own_name=own_name) if mode == "normalizer" else None  # noqa: F821 (imported above)
    results = {}
    for corpus, docs in docs_by_corpus.items():
        gold: dict[str, set] = defaultdict(set)
        pred: dict[str, set] = defaultdict(set)
        t0 = time.perf_counter()
        texts = list(docs.items())
        for (pmid, d), doc in zip(texts, nlp.pipe(d["text"] for _, d in texts)):
            for _s, _e, _t, typ, raw in d["mentions"]:
                for g in gold_ids(raw):
                    gold[typ].add((pmid, g))
            abbrevs = find_abbreviations(d["text"]) if norm is not None else {}
            for ent in doc.ents:
                for typ, labels in COMPATIBLE.items():
                    if ent.label_ not in labels:
                        continue
                    if norm:
                        ids = list(norm.normalize(ent.text, LABEL[typ], abbrevs).ids)
                    elif mode == "before":  # as on main: the first MeSH/OMIM link of the entity's links
                        ids = [next((link.concept_id for link in ent._.concepts
                                     if link.concept_id.startswith(("MESH:", "OMIM:"))), None)]
                        ids = [i for i in ids if i]
                    else:
                        ids = []
                        for link in ent._.concepts[:1]:
                            if link.concept_id.startswith(("MESH:", "OMIM:")):
                                ids = [link.concept_id]
                            else:
                                ids = [m.concept_id for m in kg.map_to(link.concept_id, "mesh", broader=0)[:1]]
                    for i in ids:
                        # a predicted id counts as the gold id of its MEDIC entry when there is one
                        gold_like = [g for g in eq(i) if (pmid, g) in gold[typ]]
                        pred[typ].add((pmid, gold_like[0] if gold_like else i))
        secs = time.perf_counter() - t0
        for typ in ("Disease", "Chemical"):
            if not gold[typ]:
                continue
            tp = len(gold[typ] & pred[typ])
            p = tp / len(pred[typ]) if pred[typ] else 0.0
            r = tp / len(gold[typ])
            f = 2 * p * r / (p + r) if p + r else 0.0
            results[(corpus, typ)] = {"gold": len(gold[typ]), "pred": len(pred[typ]), "P": round(100 * p, 1),
                                      "R": round(100 * r, 1), "F1": round(100 * f, 1), "seconds": round(secs, 1)}
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kg", required=True)
    ap.add_argument("--split", choices=("dev", "holdout"), default="dev")
    ap.add_argument("--holdout-list", type=Path, default=None, help="PMIDs (corpus:pmid) of the held-out train slice")
    ap.add_argument("--systems", default="before,linker,normalizer")
    ap.add_argument("--e2e", default="", help="end-to-end systems, comma-separated: before, linker, normalizer")
    ap.add_argument("--no-model", action="store_true", help="end-to-end with the dictionary recognizer only")
    ap.add_argument("--no-semantic", action="store_true", help="normalizer without the semantic (sentence-encoder) route")
    ap.add_argument("--reranker", default="", help="normalizer with a candidate reranker: 'shipped' or a model file "
                    "(scripts/train_mention_reranker.py); default none")
    ap.add_argument("--composites", default="", help="normalizer's composite mention table: a file "
                    "(scripts/make_mesh_tables.py) or 'none'; default the shipped one")
    ap.add_argument("--no-own-name", action="store_true", help="normalizer without own_name (a disease concept whose "
                    "own name is the mention before one holding it as a synonym; on by default here)")
    ap.add_argument("--errors", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    for rel in FILES.values():
        if not (DATA / rel.format(split="dev")).is_file():
            raise SystemExit(f"skipped: {DATA / rel.format(split='dev')} is absent (see ../shared/data/README.md)")

    from medlens.kg.store import KnowledgeGraph

    docs_by_corpus = {}
    for corpus, rel in FILES.items():
        if args.split == "dev":
            docs_by_corpus[corpus] = read_pubtator(DATA / rel.format(split="dev"))
        else:
            if not args.holdout_list:
                raise SystemExit("--split holdout needs --holdout-list (written by scripts/make_mesh_tables.py)")
            keep = {line.split(":", 1)[1] for line in args.holdout_list.read_text().split() if line.startswith(corpus + ":")}
            docs_by_corpus[corpus] = read_pubtator(DATA / rel.format(split="train"), keep)
    kg = KnowledgeGraph.open(args.kg)
    eq = Equivalence(kg)
    reranker = True if args.reranker == "shipped" else (args.reranker or None)
    composites = False if args.composites == "none" else (args.composites or True)
    out: dict = {"split": args.split, "kg": args.kg}
    if args.systems:
        systems = make_systems(kg, [s.strip() for s in args.systems.split(",") if s.strip()], not args.no_semantic,
                               reranker, composites, not args.no_own_name)
        res = given_mention(docs_by_corpus, systems, eq, args.errors)
        out["given_mention"] = {" ".join(k): v for k, v in res.items()}
        for k, v in res.items():
            print(" ".join(k), v)
    for mode in [m.strip() for m in args.e2e.split(",") if m.strip()]:
        res = end_to_end(docs_by_corpus, args.kg, eq, mode, model=not args.no_model, semantic=not args.no_semantic,
                         reranker=reranker, composites=composites, own_name=not args.no_own_name)
        out.setdefault("end_to_end", {}).update({" ".join((*k, mode)): v for k, v in res.items()})
        for k, v in res.items():
            print("e2e", " ".join(k), mode, v, flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
