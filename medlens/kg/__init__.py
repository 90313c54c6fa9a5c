"""The embedded medical knowledge graph (SQLite): concepts, synonyms, relations, provenance."""

from medlens.kg.store import (
    LABELS,
    Concept,
    GraphWriter,
    KnowledgeGraph,
    Relation,
    SearchHit,
    SourceInfo,
    Synonym,
    default_graph_path,
    shared_graph,
)

__all__ = [
    "LABELS",
    "Concept",
    "GraphWriter",
    "KnowledgeGraph",
    "Relation",
    "SearchHit",
    "SourceInfo",
    "Synonym",
    "default_graph_path",
    "shared_graph",
]
