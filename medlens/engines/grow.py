"""Growing the knowledge graph from a batch job's partitions (``medlens batch --task grow``).

The workers read the corpus (:class:`medlens.relations.grow.GrowTask`, one ``GrowResult`` per document,
written to the job's partitions); this process then adds the results to the grown layer with the one
writer the layer has (:class:`medlens.kg.grown.GrowWriter`), exactly as ``medlens kg grow`` does. The
writer counts a document once (by id and text hash), so merging the same partitions again, or after an
interrupted merge, adds nothing twice.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


def merge_grow(output: str | Path, kg_path: str | Path | None) -> dict:
    """Add the ``GrowResult`` partitions of job folder ``output`` to the grown layer beside ``kg_path``.

    Returns:
        Counts: ``added``, ``replaced``, ``skipped`` (already counted), ``failed``, ``relations_added``,
        the layer's ``path`` and ``seconds``.
    """
    from medlens import __version__
    from medlens.engines.job import read_partitions
    from medlens.kg.grown import GrownLayer, GrowWriter, grown_path
    from medlens.pipeline import shared_graph

    start = time.perf_counter()
    graph = shared_graph(kg_path)
    writer = GrowWriter(grown_path(graph.path), graph=str(graph.path), commit_every=512)
    pipeline: list[str] = []
    try:
        for res in read_partitions(output):
            if res.error is not None:
                writer.counts.failed += 1
                writer.counts.errors.append(f"{res.id}: {res.error}")
                continue
            if writer.is_counted(res.id, res.hash):
                writer.counts.skipped += 1
                continue
            pipeline = pipeline or res.pipeline
            writer.add(res.rows())
        if pipeline:
            writer.set_meta("pipeline", json.dumps(pipeline))
            writer.set_meta("medlens_version", __version__)
        path = writer.finish()
    except BaseException:
        writer.abort()
        raise
    c = writer.counts
    with GrownLayer.open(path) as layer:
        documents = layer.document_count()
    return {"path": str(path), "added": c.added, "replaced": c.replaced, "skipped": c.skipped, "failed": c.failed,
            "relations_added": c.edges, "layer_documents": documents, "seconds": round(time.perf_counter() - start, 3)}
