"""MeSH tree numbers of the graph's disease concepts, for the hypernym filter of relation decisions."""

from __future__ import annotations

import json

from medlens.kg.store import KnowledgeGraph


def mesh_trees(kg: KnowledgeGraph, *, bare: bool = False) -> dict[str, list[str]]:
    """MeSH id -> tree numbers of every graph concept that has them (``attrs["mesh_trees"]``).

    Args:
        kg: the knowledge graph.
        bare: key by the bare descriptor id (``D006973``, as PubTator files write it) rather than
            the graph id (``MESH:D006973``).
    """
    out: dict[str, list[str]] = {}
    rows = kg.query("SELECT id, json_extract(attrs, '$.mesh_trees') FROM concepts "
                    "WHERE id >= 'MESH:' AND id < 'MESH;' AND json_extract(attrs, '$.mesh_trees') IS NOT NULL")
    for cid, trees in rows:
        values = json.loads(trees) if isinstance(trees, str) else trees
        if values:
            out[cid[5:] if bare else cid] = list(values)
    return out
