"""relations_of over the identifier fixture graph: the same concept under another vocabulary's id."""

from __future__ import annotations

import shutil

import pytest

from medlens.kg.grown import DocumentRows, EdgeRow, GrowWriter, grown_path
from tests.kg.conftest import ids_kg_path  # noqa: F401 - the identifier fixture graph
from medlens.kg.store import KnowledgeGraph
from medlens.relations.grown import equivalent_ids, relations_of


@pytest.fixture
def ids_grown(ids_kg_path, tmp_path):
    kg_path = tmp_path / "ids.sqlite"
    shutil.copyfile(ids_kg_path, kg_path)
    with GrowWriter(grown_path(kg_path)) as w:  # acetaminophen read as a DrugBank id in one text, MeSH in another
        w.add(DocumentRows("a", "h1", 1, edges=(EdgeRow("DB00316", "treats", "ICD10CM:C50", "pattern:treats", 0.7,
                                                        "acetaminophen", "breast cancer", 0, 20, ((0, 40),), "s1"),)))
        w.add(DocumentRows("b", "h2", 1, edges=(EdgeRow("MESH:D000082", "adverse_event", "MESH:D003924", "pattern:ade",
                                                        0.7, "paracetamol", "diabetes", 0, 30, ((0, 50),), "s2"),)))
    with KnowledgeGraph.open(kg_path) as kg:
        yield kg


def test_equivalents_bring_in_other_vocabularies(ids_grown):
    assert "MESH:D000082" in equivalent_ids(ids_grown, "DB00316")
    only = relations_of(ids_grown, "DB00316")
    assert [(e.predicate, e.tail_id) for e in only] == [("treats", "ICD10CM:C50")]
    both = relations_of(ids_grown, "DB00316", equivalents=True)
    assert {(e.head_id, e.predicate) for e in both} == {("DB00316", "treats"), ("MESH:D000082", "adverse_event")}
    assert both[0].head_name in ("Acetaminophen",)


def test_direction_and_predicate_filters(ids_grown):
    assert relations_of(ids_grown, "ICD10CM:C50", direction="out") == []
    [e] = relations_of(ids_grown, "ICD10CM:C50", direction="in")
    assert (e.head_id, e.tail_name, e.learned, e.evidence[0].sentence) == ("DB00316", "Breast cancer", True, "s1")
    assert relations_of(ids_grown, "DB00316", predicate="adverse_event", equivalents=True)[0].tail_id == "MESH:D003924"
    assert relations_of(ids_grown, "DB00316", min_score=0.8) == []
