"""A grow over real PHEE sentences with the full graph (slow: needs the built graph and ../shared/data)."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import shared_data


@pytest.mark.slow
def test_grow_real_case_report_sentences(full_kg_path, tmp_path):
    from medlens.kg.grown import GrownLayer, grown_path
    from medlens.kg.store import KnowledgeGraph
    from medlens.relations.grow import grow
    from medlens.relations.grown import relations_of

    phee = shared_data("phee", "train.jsonl")
    kg_path = tmp_path / "kg.sqlite"
    shutil.copyfile(full_kg_path, kg_path)
    corpus = tmp_path / "phee.jsonl"
    with phee.open(encoding="utf-8") as src, corpus.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= 150:
                break
            o = json.loads(line)
            dst.write(json.dumps({"id": o["id"], "text": o["context"]}) + "\n")
    report = grow(kg_path, [corpus], processes=1, model=False)
    assert report.counts.added >= 145 and report.counts.failed == 0
    with GrownLayer.open(grown_path(kg_path)) as layer:
        stats = layer.stats()
        rows = layer.query("SELECT head_text, tail_text, sentence FROM edges").fetchall()
    assert stats["predicates"]["adverse_event"]["edges"] >= 30  # PHEE sentences report adverse events
    # every evidence sentence holds the two mentions it names
    assert all(h in s and t in s for h, t, s in rows)
    kg = KnowledgeGraph.open(kg_path)
    edges = relations_of(kg, layer_head(kg_path), direction="out")
    assert edges and all(e.learned and e.evidence for e in edges)


def layer_head(kg_path):
    from medlens.kg.grown import GrownLayer, grown_path

    with GrownLayer.open(grown_path(kg_path)) as layer:
        return layer.query("SELECT head_id FROM edges GROUP BY head_id ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]
