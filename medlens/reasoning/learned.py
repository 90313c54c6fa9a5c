"""Drug reactions from the grown graph: a drug the patient takes that text says can cause one of their findings.

The grown layer (``medlens kg grow``) holds ``drug --induces--> disease`` (the trained relation model) and
``drug --adverse_event--> effect`` edges read from the literature. For every drug of the note that is not
negated, every present finding of the patient that such an edge reaches becomes a :class:`DrugReaction`,
citing the edge's score, documents and evidence sentences. These are listed apart (``Differential.drug_reactions``),
marked "learned from text", and never enter the curated scoring.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from medlens.kg.grown import open_grown
from medlens.kg.store import KnowledgeGraph
from medlens.reasoning.models import DrugReaction, Finding, LearnedEvidence

REACTION_PREDICATES = ("induces", "adverse_event")
MIN_SCORE = 0.5
"""Learned edges below this combined score are not cited (one pattern sentence scores 0.7, a speculated one 0.42)."""


@dataclass(frozen=True, slots=True)
class DrugMention:
    """A drug of the note: its linked concept ids (best first) and the words as written."""

    ids: tuple[str, ...]
    text: str


def taken_drug_ents(doc) -> list:
    """The DRUG entities of an analyzed Doc that are not negated, hypothetical or about the family: the drugs the
    patient takes or took, for the graph's learned reactions and those read from the text."""
    out = []
    for ent in doc.ents:
        if ent.label_ != "DRUG":
            continue
        a = ent._.assertion
        if a is None or not (a.negated or a.hypothetical or a.family):
            out.append(ent)
    return out


def drugs_of(doc) -> list[DrugMention]:
    """The DRUG entities of an analyzed Doc that are not negated, hypothetical or about the family."""
    out = []
    for ent in taken_drug_ents(doc):
        ids = tuple(c.concept_id for c in ent._.concepts or ()) or tuple(ent._.match_ids or ())
        if ids:
            out.append(DrugMention(ids, ent.text))
    return out


def drug_reactions(kg: KnowledgeGraph, drugs: Iterable[DrugMention], findings: Sequence[Finding],
                   min_score: float = MIN_SCORE, limit: int = 10) -> list[DrugReaction]:
    """Learned drug -> finding edges between the patient's drugs and present findings, best first.

    Args:
        kg: the knowledge graph (its grown layer is read; none: no reactions).
        drugs: the patient's drugs (see :func:`drugs_of`).
        findings: the patient's findings; only ``present`` ones count, matched by any of their concept ids.
        min_score: the lowest learned-edge score cited.
        limit: most reactions returned.
    """
    layer = open_grown(kg.path)
    if layer is None:
        return []
    present: dict[str, Finding] = {}
    for f in findings:
        if f.status == "present":
            for cid in (f.id, *f.concepts):
                present.setdefault(cid, f)
    if not present:
        return []
    found: dict[tuple[str, str], DrugReaction] = {}
    for drug in drugs:
        for drug_id in drug.ids:  # every linked candidate: the relation model pairs MeSH ids, the linker may rank DrugBank first
            for e in layer.edges(drug_id, predicate=REACTION_PREDICATES, direction="out", min_score=min_score, limit=200):
                f = present.get(e.tail_id)
                if f is None:
                    continue
                key = (drug.ids[0], f.id)
                if key in found and found[key].score >= e.score:
                    continue
                found[key] = DrugReaction(
                    drug=e.head_id, drug_name=e.head_id, drug_text=drug.text, finding=f.id, finding_name=f.name,
                    finding_text=f.text, predicate=e.predicate, score=e.score, documents=e.documents,
                    methods=list(e.methods),
                    evidence=[LearnedEvidence(doc_id=x.doc_id, sentence=x.sentence, method=x.method, score=x.score)
                              for x in e.evidence])
    names = kg.concepts({r.drug for r in found.values()})
    out = [r.model_copy(update={"drug_name": names[r.drug].name}) if r.drug in names else r for r in found.values()]
    out.sort(key=lambda r: (-r.score, -r.documents, r.drug, r.finding))
    return out[:limit]
