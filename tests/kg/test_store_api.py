from pathlib import Path

import pytest

from medlens.errors import KnowledgeGraphError
from medlens.kg.build import build_graph
from medlens.kg.sources.base import SourceData
from medlens.kg.store import Concept, KnowledgeGraph, SourceInfo, Synonym


def test_store_open_missing_file_names_the_path_and_the_fix(tmp_path: Path):
    with pytest.raises(KnowledgeGraphError, match=r"No knowledge graph at .*nope.sqlite.*medlens kg build"):
        KnowledgeGraph.open(tmp_path / "nope.sqlite")


def test_store_open_rejects_a_file_that_is_not_a_graph(tmp_path: Path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(KnowledgeGraphError, match="not a medlens knowledge graph"):
        KnowledgeGraph.open(bad)


def test_store_concept_synonyms_and_hierarchy(tiny_kg):
    c = tiny_kg.get("T:D002")
    assert c.name == "Type 2 diabetes mellitus" and c.label == "DISEASE" and c.source == "tiny"
    texts = {s.text for s in tiny_kg.synonyms("T:D002")}
    assert {"Type 2 diabetes mellitus", "type II diabetes"} <= texts
    assert tiny_kg.parents("T:D002") == ["T:D001"]
    assert tiny_kg.ancestors("T:D002") == ["T:D001", "T:X001"]
    assert set(tiny_kg.children("T:D012")) == {"T:D009", "T:D004"}
    assert set(tiny_kg.descendants("T:X001")) >= {"T:D001", "T:D002", "T:D012", "T:D004"}


def test_store_unknown_concept_error_suggests_ids(tiny_kg):
    with pytest.raises(KnowledgeGraphError, match=r"'T:D0999' is not in the knowledge graph. Did you mean: T:D0"):
        tiny_kg.get("T:D0999")


def test_store_relations_keep_attributes_and_provenance(tiny_kg):
    rels = tiny_kg.relations("T:D005", predicate="has_phenotype")
    freq = {r.object: r.attrs["frequency"] for r in rels}
    assert freq == {"T:S003": 0.8, "T:S004": 0.9}
    assert all(r.source == "tiny" for r in rels)
    incoming = tiny_kg.relations("T:S003", direction="in")
    assert [r.subject for r in incoming] == ["T:D005"]
    with pytest.raises(KnowledgeGraphError, match="Accepted: out, in, both"):
        tiny_kg.relations("T:D005", direction="sideways")


def test_store_search_tolerates_misspelling_and_word_order(tiny_kg):
    assert tiny_kg.search("diabetis melitus")[0].concept.id == "T:D001"
    assert tiny_kg.search("cancer breast")[0].concept.id == "T:D007"
    hits = tiny_kg.search("pnuemonia", labels=["DRUG"])
    assert all(h.concept.label == "DRUG" for h in hits)


def test_store_lookup_is_case_insensitive(tiny_kg):
    assert [c.id for c in tiny_kg.lookup("HEART ATTACK")] == ["T:D004"]


def test_store_stats_count_per_source(tiny_kg):
    stats = tiny_kg.stats()
    assert stats["tiny"]["concepts"] == 30
    assert stats["tiny"]["relations"] == 7
    # abbreviations resolved against the tiny graph are recorded as medlens synonyms
    assert stats["medlens"]["synonyms"] >= 5


def _source(name: str) -> SourceData:
    info = SourceInfo(name, "1", name, "CC0", "test")
    return SourceData(info, [Concept(f"{name}:1", "Fever", name, "SYMPTOM")], [Synonym(f"{name}:1", "Fever", "preferred", name)])


def test_build_interrupted_keeps_the_old_graph_and_leaves_no_temp_file(tmp_path: Path):
    target = tmp_path / "kg.sqlite"
    build_graph(target, sources=(), extra=[_source("first")], abbreviations=False)

    def explode() -> SourceData:
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        build_graph(target, sources=(), extra=[_source("second"), explode], abbreviations=False)
    with KnowledgeGraph.open(target) as kg:
        assert [s.name for s in kg.sources()] == ["first"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg.sqlite"]


def test_build_rebuild_replaces_the_graph(tmp_path: Path):
    target = tmp_path / "kg.sqlite"
    build_graph(target, sources=(), extra=[_source("first")], abbreviations=False)
    build_graph(target, sources=(), extra=[_source("second")], abbreviations=False)
    with KnowledgeGraph.open(target) as kg:
        assert [s.name for s in kg.sources()] == ["second"]
        assert kg.concept("second:1").name == "Fever"
