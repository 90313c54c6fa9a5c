"""The grown graph for callers: a concept's learned edges with their evidence, and the layer's statistics.

    >>> from medlens.kg.store import KnowledgeGraph
    >>> from medlens.relations.grown import relations_of
    >>> kg = KnowledgeGraph.open()
    >>> for e in relations_of(kg, "MESH:D056486", predicate="induces", direction="in"):   # drug-induced liver injury
    ...     print(e.head_name, e.score, e.evidence[0].sentence)

Every edge returned is learned from text (``GrownEdge.learned``); curated relations stay in
``KnowledgeGraph.relations``. A graph that has never been grown has no learned edges: the functions return
nothing rather than fail.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medlens.kg.grown import EdgeEvidence, GrownEdge, GrownLayer, open_grown
from medlens.kg.store import KnowledgeGraph

__all__ = ["EdgeEvidence", "GrownEdge", "equivalent_ids", "grown_layer", "grown_stats", "relations_of"]


PREDICATES = ("induces", "adverse_event", "treats", "has_finding", "detects")
"""The predicates medlens reads (a layer may hold others, written by a user's own relation component)."""


def grown_layer(kg: KnowledgeGraph | str | os.PathLike[str]) -> GrownLayer | None:
    """The grown layer beside ``kg`` (a graph or its path), or None when it has never been grown
    (:func:`medlens.kg.grown.open_grown`)."""
    return open_grown(kg.path if isinstance(kg, KnowledgeGraph) else Path(kg))


EQUIVALENT_VOCABULARIES = ("mesh", "icd10cm", "hpo", "drugs")
"""Where :func:`relations_of` looks for the same concept under other ids (``equivalents=True``)."""


def equivalent_ids(kg: KnowledgeGraph, concept_id: str) -> list[str]:
    """``concept_id`` and the ids that stand for the same concept in the other shipped vocabularies
    (``KnowledgeGraph.map_to`` without climbing: cross-references and shared names). Text links one mention
    of "hepatitis" to ``ICD10CM:K75.9`` and another to ``MESH:D006505``; this finds both."""
    names = {s.name for s in kg.sources()}
    out = [concept_id]
    for vocabulary in EQUIVALENT_VOCABULARIES:
        if vocabulary in names:
            out += [m.concept_id for m in kg.map_to(concept_id, vocabulary, broader=0) if m.via != "same"]
    return list(dict.fromkeys(out))


def relations_of(kg: KnowledgeGraph, concept_id: str, predicate: str | Sequence[str] | None = None,
                 direction: str = "both", min_score: float = 0.0, limit: int = 50, *,
                 equivalents: bool = False) -> list[GrownEdge]:
    """The edges learned from text that touch a concept, best first, each with its evidence sentences.

    Args:
        kg: the knowledge graph (its grown layer is the file beside it, see :func:`medlens.kg.grown.grown_path`).
        concept_id: the concept (``MESH:D006505``, ``DB00951``, ``HP:0001945``, ...).
        predicate: ``induces`` (chemical induces disease, the trained model), ``adverse_event``, ``treats``,
            ``has_finding``, ``detects``; several as a list; None for all.
        direction: ``out`` (the concept is the head: what a drug induces or treats), ``in`` (the tail: what
            induces a disease) or ``both``.
        min_score: drop edges with a lower combined score (noisy-or over documents, 0..1).
        limit: most edges returned.
        equivalents: also the edges of the same concept under the ids of the other vocabularies
            (:func:`equivalent_ids`: ``MESH:D006505`` Hepatitis brings in ``ICD10CM:K75.9``'s edges).

    Returns:
        :class:`~medlens.kg.grown.GrownEdge` records (``learned`` is always True) with the head's and tail's
        names from the graph, documents, methods, co-occurrence statistics and up to three evidence sentences
        from different documents; empty when the graph has no grown layer.

    Raises:
        KnowledgeGraphError: an unknown ``direction`` (E106) or predicate (E324: neither one medlens reads nor
            one of the layer's).
    """
    layer = grown_layer(kg)
    if layer is None:
        if direction not in ("out", "in", "both"):
            from medlens.errors import Errors, KnowledgeGraphError

            raise KnowledgeGraphError(Errors.E106.format(value=direction, opts="out, in, both"))
        return []
    wanted = [predicate] if isinstance(predicate, str) else list(predicate or ())
    if wanted:
        known = set(PREDICATES) | {r[0] for r in layer.query("SELECT DISTINCT predicate FROM edges")}
        unknown = [p for p in wanted if p not in known]
        if unknown:
            from medlens.errors import Errors, KnowledgeGraphError

            raise KnowledgeGraphError(Errors.E324.format(value=unknown[0], opts=", ".join(sorted(known))))
    ids = equivalent_ids(kg, concept_id) if equivalents else [concept_id]
    edges = [e for cid in ids
             for e in layer.edges(cid, predicate=predicate, direction=direction, min_score=min_score, limit=limit)]
    if len(ids) > 1:
        edges = list({(e.head_id, e.predicate, e.tail_id): e for e in edges}.values())
        edges.sort(key=lambda e: (-e.score, -e.documents, e.predicate, e.head_id, e.tail_id))
        edges = edges[:limit]
    names = kg.concepts({x for e in edges for x in (e.head_id, e.tail_id)})
    from dataclasses import replace

    return [replace(e, head_name=names[e.head_id].name if e.head_id in names else None,
                    tail_name=names[e.tail_id].name if e.tail_id in names else None) for e in edges]


def grown_stats(kg: KnowledgeGraph) -> dict[str, Any] | None:
    """Statistics of the grown layer beside ``kg`` (documents, sentences, concepts, pairs, edges per
    predicate and per method), or None when the graph has never been grown."""
    layer = grown_layer(kg)
    return layer.stats() if layer is not None else None
