"""Derive the gold answers of the KG question set from the graph (issue 15, part 2).

The questions are hand-written in ``benchmarks/data/kg_questions_source.tsv`` (intent, anchor ids, question); this
script reads the graph and writes ``benchmarks/data/kg_questions.jsonl`` with the gold answers as graph ids, a note
on how each gold was derived and a seeded dev / held-out split stratified by intent. It was run once to freeze the set
(see the "KG question set" section of benchmarks/README.md); re-running it on the same graph gives the same file.

    PYTHONPATH=. MEDLENS_KG=$KG python benchmarks/build_kg_questions.py --cdr ../shared/data/cdr-relations/train.PubTator.txt

How gold is derived, per intent (anchors are the ids written next to each question):

- ``disease_symptoms`` (set): the union of the ``has_phenotype`` objects (HPO terms) of the anchor diseases
  (OMIM / Orphanet entries of the same disease), minus their ``lacks_phenotype`` objects, with the highest annotated
  frequency; for a DDXPlus disease the ``has_finding`` objects that are symptoms (``antecedent`` false), each with
  its HPO cross-references as accepted alternatives.
- ``icd10_code`` (single): the listed ICD-10-CM codes are all accepted (the category and its unspecified code).
- ``diseases_with_findings`` (set): the OMIM / Orphanet / DECIPHER diseases annotated (``has_phenotype``) with
  every finding or one of its HPO descendants.
- ``what_is`` (single): the anchor concept, plus the concepts of other vocabularies with the same preferred name
  and the anchor's direct ``xref`` neighbours in the graph; ``gold_values`` hold the anchor's name, label, source and
  definition.
- ``code_lookup`` (single): the concept with that code.
- ``drugs_inducing`` (set): the chemicals (MeSH ids) of the chemical-induced-disease (CID) pairs of the anchor
  disease in the BC5CDR training documents (the graph has no curated drug-adverse-effect edges at freeze time);
  DrugBank concepts cross-referenced to each MeSH chemical are accepted alternatives.
- ``none``: no gold (concept not in the graph, or not a question the graph can answer).
- ``ambiguous``: the anchor ids are the readings a good answer would list (for the reader; scoring only checks
  that medlens lists readings or asks back).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

from medlens.kg.store import KnowledgeGraph

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "data" / "kg_questions_source.tsv"
OUTPUT = HERE / "data" / "kg_questions.jsonl"
SEED = 15
DEV_SHARE = 0.4
ANSWER_TYPES = {"disease_symptoms": "set", "icd10_code": "single", "diseases_with_findings": "set",
                "what_is": "single", "code_lookup": "single", "drugs_inducing": "set", "none": "none",
                "ambiguous": "ambiguous"}
DISEASE_SOURCES = ("omim", "orphanet", "decipher")


def read_source(path: Path) -> list[tuple[str, list[str], str]]:
    """The hand-written rows: (intent, anchor ids, question)."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] not in ANSWER_TYPES:
            raise SystemExit(f"{path}:{number}: expected 'intent<TAB>anchors<TAB>question', got {line!r}")
        intent, anchors, question = parts
        rows.append((intent, [] if anchors == "-" else [a for a in anchors.replace("+", ",").split(",") if a], question))
    return rows


def read_cdr(path: Path) -> dict[str, set[str]]:
    """Disease MeSH id -> chemical MeSH ids of the CID relations of a PubTator file (ids prefixed ``MESH:``)."""
    pairs: dict[str, set[str]] = defaultdict(set)
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[1] == "CID":
            for chem in parts[2].split("|"):
                for dis in parts[3].split("|"):
                    pairs[f"MESH:{dis}"].add(f"MESH:{chem}")
    return pairs


class Deriver:
    def __init__(self, kg: KnowledgeGraph, cdr: dict[str, set[str]]) -> None:
        self.kg = kg
        self.cdr = cdr

    def name(self, cid: str) -> str:
        return self.kg.get(cid).name

    def exists(self, cid: str) -> bool:
        return self.kg.concept(cid) is not None

    def xrefs(self, cid: str) -> list[str]:
        out = [r.object for r in self.kg.relations(cid, "xref")] + [r.subject for r in self.kg.relations(cid, "xref", direction="in")]
        return sorted({x for x in out if x != cid and self.exists(x)})

    def symptoms(self, anchors: list[str]) -> tuple[list[dict], str]:
        items: dict[str, dict] = {}
        for anchor in anchors:
            if anchor.startswith("DDXPLUS:"):
                for rel in self.kg.relations(anchor, "has_finding"):
                    ev = self.kg.concept(rel.object)
                    if ev is None or ev.attrs.get("antecedent"):
                        continue
                    alt = [x for x in self.xrefs(ev.id) if x.startswith("HP:")]
                    item = items.setdefault(ev.id, {"id": ev.id, "name": ev.name, "alt": alt, "frequency": 0.0})
                    item["frequency"] = max(item["frequency"], rel.attrs.get("probability") or 0.0)
                continue
            lacks = {r.object for r in self.kg.relations(anchor, "lacks_phenotype")}
            for rel in self.kg.relations(anchor, "has_phenotype"):
                if rel.object in lacks:
                    continue
                item = items.setdefault(rel.object, {"id": rel.object, "name": self.name(rel.object), "frequency": None})
                freq = rel.attrs.get("frequency")
                if freq is not None:
                    item["frequency"] = max(item["frequency"] or 0.0, freq)
        gold = sorted(items.values(), key=lambda i: (-(i["frequency"] if i["frequency"] is not None else 0.5), i["id"]))
        src = "has_finding (DDXPlus, symptoms only; HPO xrefs accepted)" if anchors[0].startswith("DDXPLUS:") else "has_phenotype minus lacks_phenotype"
        return gold, f"union of {src} of {', '.join(anchors)}"

    def with_findings(self, findings: list[str]) -> tuple[list[dict], str]:
        result: set[str] | None = None
        for finding in findings:
            closure = {finding, *self.kg.descendants(finding)}
            placeholders = ",".join("?" * len(closure))
            rows = self.kg.query(
                f"SELECT DISTINCT subject FROM relations WHERE predicate='has_phenotype' AND object IN ({placeholders})",
                tuple(closure)).fetchall()
            diseases = {r[0] for r in rows if self.kg.get(r[0]).source in DISEASE_SOURCES}
            result = diseases if result is None else result & diseases
        gold = [{"id": d, "name": self.name(d)} for d in sorted(result or ())]
        names = " AND ".join(f"{f} ({self.name(f)})" for f in findings)
        return gold, f"OMIM/Orphanet/DECIPHER diseases with has_phenotype to each of {names} or an HPO descendant"

    def equivalents(self, anchor: str) -> list[str]:
        concept = self.kg.get(anchor)
        same = [r[0] for r in self.kg.query("SELECT id FROM concepts WHERE lower(name) = lower(?) AND id != ?",
                                            (concept.name, anchor)).fetchall()]
        found = set(same) | {x for x in self.xrefs(anchor) if not x.startswith("COMBO:")}
        # DDXPlus evidences (a symptom or an antecedent asked to the patient) are not the concept itself
        return sorted(x for x in found if not x.startswith("DDXPLUS:") or "prior" in self.kg.get(x).attrs)

    def derive(self, intent: str, anchors: list[str]) -> tuple[list[dict], str, dict]:
        for anchor in anchors:
            if not self.exists(anchor):
                raise SystemExit(f"anchor {anchor} ({intent}) is not in the graph")
        if intent == "disease_symptoms":
            gold, note = self.symptoms(anchors)
            return gold, note, {}
        if intent == "diseases_with_findings":
            gold, note = self.with_findings(anchors)
            return gold, note, {}
        if intent == "icd10_code":
            return ([{"id": a, "name": self.name(a)} for a in anchors],
                    "any of the listed ICD-10-CM codes (category and its unspecified code) is accepted", {})
        if intent == "code_lookup":
            return [{"id": anchors[0], "name": self.name(anchors[0])}], "the concept carrying the asked code", {}
        if intent == "what_is":
            concept = self.kg.get(anchors[0])
            gold = [{"id": concept.id, "name": concept.name}] + [{"id": e, "name": self.name(e)} for e in self.equivalents(concept.id)]
            values = {"name": concept.name, "label": concept.label, "source": concept.source, "definition": concept.definition}
            return gold, "the concept, or a same-named concept of another vocabulary / a direct xref neighbour", values
        if intent == "drugs_inducing":
            chems = sorted(set().union(*(self.cdr.get(a, set()) for a in anchors)))
            gold = []
            for chem in chems:
                if not self.exists(chem):
                    raise SystemExit(f"CDR chemical {chem} of {anchors} is not in the graph")
                alt = [x for x in self.xrefs(chem) if x.startswith("DB")]
                gold.append({"id": chem, "name": self.name(chem), "alt": alt})
            note = (f"chemicals of the CID pairs of {', '.join(anchors)} ({self.name(anchors[0])}) in the BC5CDR training "
                    "documents (cdr-relations/train.PubTator.txt); cross-referenced DrugBank ids accepted")
            return gold, note, {}
        if intent == "ambiguous":
            return ([{"id": a, "name": self.name(a)} for a in anchors],
                    "readings a good answer would list; correct when medlens lists readings or asks back", {})
        return [], "the graph holds no answer (unknown concept or not a graph question)", {}


def assign_splits(rows: list[dict]) -> None:
    """40% dev / 60% held-out, drawn with a fixed seed within each intent."""
    rng = random.Random(SEED)
    by_intent: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_intent[row["intent"]].append(row)
    for intent in sorted(by_intent):
        group = by_intent[intent]
        order = list(range(len(group)))
        rng.shuffle(order)
        n_dev = round(DEV_SHARE * len(group))
        for rank, index in enumerate(order):
            group[index]["split"] = "dev" if rank < n_dev else "heldout"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kg", default=None, help="graph file (default: $MEDLENS_KG or the default graph)")
    parser.add_argument("--cdr", type=Path, required=True, help="cdr-relations/train.PubTator.txt")
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    kg = KnowledgeGraph.open(args.kg)
    deriver = Deriver(kg, read_cdr(args.cdr))
    rows = []
    for number, (intent, anchors, question) in enumerate(read_source(args.source), 1):
        gold, note, values = deriver.derive(intent, anchors)
        if ANSWER_TYPES[intent] == "set" and not gold:
            raise SystemExit(f"empty gold for {intent} question {question!r} (anchors {anchors})")
        row = {"id": f"kgq-{number:03d}", "question": question, "intent": intent, "answer_type": ANSWER_TYPES[intent],
               "gold": gold, "note": note}
        if values:
            row["gold_values"] = values
        rows.append(row)
    assign_splits(rows)
    with args.output.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} questions to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
