"""The record every source reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from medlens.kg.store import Concept, Relation, SourceInfo, Synonym


@dataclass
class SourceData:
    """Everything one source contributes to the graph.

    Attributes:
        info: provenance (name, version, title, license, origin).
        concepts: concepts with the source's own ids.
        synonyms: names of those concepts (include the preferred name, kind ``preferred``).
        relations: edges (``is_a``, ``xref``, ``has_phenotype``, ...); objects may
            belong to other sources.
    """

    info: SourceInfo
    concepts: list[Concept] = field(default_factory=list)
    synonyms: list[Synonym] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
