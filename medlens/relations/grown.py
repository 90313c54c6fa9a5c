"""The grown graph for callers: a concept's learned edges with their evidence, and the layer's statistics.

    >>> from medlens.kg.store import KnowledgeGraph
    >>> from medlens.relations.grown import relations_of
    >>> kg = KnowledgeGraph.open()
    >>> for e in relations_of(kg, "MESH:D056486", predicate="induces", direction="in"):   # drug-induced liver injury
    ...     print(e.head_name, e.score, e.evidence[0].sentence)

Every edge returned is learned from text (``GrownEdge.learned``); curated relations stay in
``KnowledgeGraph.relations``. A graph that has never been grown has no learned edges: the functions return
nothing rather than fail.

(The functions live in :mod:`medlens.kg.grown`, one layer down, so that every capability package — reasoning,
question answering — can read the grown layer without importing another capability package.)
"""

from medlens.kg.grown import (
    EQUIVALENT_VOCABULARIES,
    PREDICATES,
    EdgeEvidence,
    GrownEdge,
    equivalent_ids,
    grown_layer,
    grown_stats,
    relations_of,
)

__all__ = ["EQUIVALENT_VOCABULARIES", "PREDICATES", "EdgeEvidence", "GrownEdge", "equivalent_ids", "grown_layer",
           "grown_stats", "relations_of"]
