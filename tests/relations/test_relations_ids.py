"""The relation component's concept ids: the mention normalizer (abbreviations, composite mentions) or the first link."""

from __future__ import annotations

import pytest
import spacy

from medlens.doc import extensions
from medlens.doc.types import ConceptLink
from medlens.errors import ConfigError

TEXT = ("Women with breast cancer (BC) took Tylenol. In BC the drug was safe; breast and ovarian cancers were not "
        "more frequent.")
# (text, label, the linker's links): "BC" got no link, the composite mention only its first concept's
ENTS = [("breast cancer", "DISEASE", ["MESH:D001943"]), ("Tylenol", "DRUG", ["DB00316"]), ("BC", "DISEASE", []),
        ("breast and ovarian cancers", "DISEASE", ["MESH:D001943"])]


@pytest.fixture(scope="module")
def ids_kg(tmp_path_factory):
    from medlens.kg.store import KnowledgeGraph

    from tests.kg.conftest import build_ids_graph

    with KnowledgeGraph.open(build_ids_graph(tmp_path_factory.mktemp("relids") / "ids.sqlite")) as kg:
        yield kg


def make_doc():
    extensions.register()
    doc = spacy.blank("en")(TEXT)
    spans, pos = [], 0
    for text, label, _links in ENTS:
        start = TEXT.index(text, pos)
        pos = start + len(text)
        spans.append(doc.char_span(start, pos, label=label))
    doc.ents = spans
    for span, (_t, _l, links) in zip(doc.ents, ENTS):
        span._.concepts = [ConceptLink(c, c, "mesh" if c.startswith("MESH:") else "drugs", 1.0, "exact")
                           for c in links]
    return doc


def extractor(model_path, kg, **kwargs):
    from medlens.components.relations import RelationExtractor
    from medlens.relations.model import RelationModel

    return RelationExtractor(spacy.blank("en"), model=RelationModel.from_path(model_path, threads=1), kg=kg,
                             threshold=0.0, hypernym_filter=False, **kwargs)


def test_normalizer_ids_expand_abbreviations_and_split_composites(tiny_relation_onnx, ids_kg):
    rel = extractor(tiny_relation_onnx, ids_kg)  # the default way
    assert rel.ids == "normalizer"
    mentions, spans = rel.mentions(make_doc())
    assert [(s.text, m.ids) for m, s in zip(mentions, spans)] == [
        ("breast cancer", ("MESH:D001943",)), ("Tylenol", ("MESH:D000082",)),
        ("BC", ("MESH:D001943",)),  # the document's "breast cancer (BC)"
        ("breast and ovarian cancers", ("MESH:D001943", "MESH:D010051"))]
    doc = rel(make_doc())
    assert {(r.head_id, r.tail_id) for r in doc._.relations} == {("MESH:D000082", "MESH:D001943"),
                                                                  ("MESH:D000082", "MESH:D010051")}
    ovarian = next(r for r in doc._.relations if r.tail_id == "MESH:D010051")
    assert ovarian.tail == "breast and ovarian cancers"


def test_links_way_keeps_the_first_link(tiny_relation_onnx, ids_kg):
    rel = extractor(tiny_relation_onnx, ids_kg, ids="links")
    mentions, spans = rel.mentions(make_doc())
    # "BC" has no link and takes no part; the composite mention keeps its first link; Tylenol is mapped to MeSH
    assert [(s.text, m.ids) for m, s in zip(mentions, spans)] == [
        ("breast cancer", ("MESH:D001943",)), ("Tylenol", ("MESH:D000082",)),
        ("breast and ovarian cancers", ("MESH:D001943",))]
    doc = rel(make_doc())
    assert {(r.head_id, r.tail_id) for r in doc._.relations} == {("MESH:D000082", "MESH:D001943")}


def test_normalizer_needs_a_graph_and_a_known_way(tiny_relation_onnx):
    rel = extractor(tiny_relation_onnx, None)  # no graph: the links way
    assert rel.normalizer is None
    mentions, _ = rel.mentions(make_doc())
    assert [m.ids for m in mentions] == [("MESH:D001943",), ("MESH:D001943",)]
    with pytest.raises(ConfigError, match="ids must be one of normalizer, links"):
        extractor(tiny_relation_onnx, None, ids="first")


def test_pipeline_setting_selects_the_way(tiny_kg_path, tiny_relation_onnx):
    import medlens
    from medlens.config import RULES_ONLY

    for setting, way in ((None, "normalizer"), ("links", "links")):
        extra = {"relations_ids": setting} if setting else {}
        nlp = medlens.load(kg_path=str(tiny_kg_path), components=[*RULES_ONLY, "relations"],
                           relations_model_path=str(tiny_relation_onnx), **extra)
        assert nlp.get_pipe("medlens_relations").ids == way
        assert nlp.get_pipe("medlens_relations").semantic is False  # the default
        assert isinstance(nlp("Women with breast cancer (BC) took cisplatin.")._.relations, tuple)


def test_semantic_route_names_a_disease_no_spelling_route_finds(tiny_relation_onnx, ids_kg, tmp_path, monkeypatch):
    from medlens.components.mention_semantic import SemanticIndex

    from tests.kg.test_mention_semantic import BagOfWords

    monkeypatch.setenv("MEDLENS_CACHE", str(tmp_path))
    text = "After Tylenol a mellitus diabetes of type 2 onset was seen."
    ents = [("Tylenol", "DRUG", ["DB00316"]), ("mellitus diabetes of type 2 onset", "DISEASE", [])]

    def doc():
        extensions.register()
        d = spacy.blank("en")(text)
        d.ents = [d.char_span(text.index(t), text.index(t) + len(t), label=label) for t, label, _ in ents]
        for span, (_t, _l, links) in zip(d.ents, ents):
            span._.concepts = [ConceptLink(c, c, "drugs", 1.0, "exact") for c in links]
        return d

    index = SemanticIndex(ids_kg, labels=("DISEASE", "FINDING", "SYMPTOM"), accept=("MESH:",), encoder=BagOfWords(),
                          progress=False)
    rel = extractor(tiny_relation_onnx, ids_kg, semantic=index)
    mentions, spans = rel.mentions(doc())
    # word overlap 4 of 6 and 4 words: cosine 0.82 >= the normalizer's threshold 0.7
    assert [(s.text, m.ids) for m, s in zip(mentions, spans)] == [
        ("Tylenol", ("MESH:D000082",)), ("mellitus diabetes of type 2 onset", ("MESH:D003924",))]
    assert {(r.head_id, r.tail_id) for r in rel(doc())._.relations} == {("MESH:D000082", "MESH:D003924")}
    off = extractor(tiny_relation_onnx, ids_kg, semantic=False)
    assert [s.text for s in off.mentions(doc())[1]] == ["Tylenol"]  # no id: the disease takes no part
    assert off.normalizer.semantic is None and extractor(tiny_relation_onnx, ids_kg).semantic is False


def test_pipeline_setting_turns_the_semantic_route_on(tiny_kg_path, tiny_relation_onnx):
    import medlens
    from medlens.config import RULES_ONLY

    nlp = medlens.load(kg_path=str(tiny_kg_path), components=[*RULES_ONLY, "relations"],
                       relations_model_path=str(tiny_relation_onnx), relations_semantic=True)
    rel = nlp.get_pipe("medlens_relations")
    assert rel.semantic is True and rel.normalizer.semantic is not None
    assert rel.normalizer.semantic.labels == ("DISEASE", "FINDING", "SYMPTOM")


@pytest.fixture(scope="module")
def table_kg(tmp_path_factory):
    """The ids fixture graph plus four annotated training mentions (source ``mentions``)."""
    import gzip

    from medlens.kg.build import build_graph
    from medlens.kg.sources.csv_tables import read_csv_tables
    from medlens.kg.sources.mesh_ids import read_mentions, read_mentions_table
    from medlens.kg.store import KnowledgeGraph

    from tests.kg.conftest import KG_FIXTURES as f

    folder = tmp_path_factory.mktemp("table")
    table = folder / "mentions.tsv.gz"
    with gzip.open(table, "wt", encoding="utf-8") as fh:
        fh.write("paracetamol\tChemical\tD000082\t2\tcdr\nbreast carcinoma\tDisease\tD001943\t3\tcdr\n"
                 "BC\tDisease\tD001943\t5\tcdr\npain\tDisease\tD010146\t4\tcdr\n")
    parts = [read_csv_tables(f / "ids_mesh_concepts.csv", f / "ids_mesh_synonyms.csv", f / "ids_mesh_relations.csv",
                             source="mesh"),
             read_csv_tables(f / "ids_drug_concepts.csv", f / "ids_drug_synonyms.csv", f / "ids_drug_relations.csv",
                             source="drugs")]
    known = {c.id for p in parts for c in p.concepts}
    parts.append(read_mentions(read_mentions_table(table), known))
    build_graph(folder / "t.sqlite", sources=(), extra=parts, abbreviations=False)
    with KnowledgeGraph.open(folder / "t.sqlite") as kg:
        yield kg


def test_table_mentions_add_annotated_mentions_no_entity_covers(tiny_relation_onnx, table_kg):
    text = "Paracetamol was given. Breast carcinoma (BC) and pain-free days; BC grew, and pain."

    def doc():
        extensions.register()
        d = spacy.blank("en")(text)
        d.ents = [d.char_span(0, len("Paracetamol"), label="DRUG")]
        d.ents[0]._.concepts = [ConceptLink("MESH:D000082", "Acetaminophen", "mesh", 1.0, "exact")]
        return d

    rel = extractor(tiny_relation_onnx, table_kg, table_mentions=True)
    # short forms without a lower-case letter ("BC") are left out of the table
    assert rel.table() == {"paracetamol": "chemical", "breast carcinoma": "disease", "pain": "disease"}
    # case ignored; "pain-free" is no word boundary for "pain"; the entity "Paracetamol" keeps its place
    assert [(text[s:e], k) for s, e, k in rel.table_matches(text)] == [
        ("Paracetamol", "chemical"), ("Breast carcinoma", "disease"), ("pain", "disease")]
    mentions, spans = rel.mentions(doc())
    assert [(s.text, m.kind, m.ids) for m, s in zip(mentions, spans)] == [
        ("Paracetamol", "chemical", ("MESH:D000082",)), ("Breast carcinoma", "disease", ("MESH:D001943",)),
        ("pain", "disease", ("MESH:D010146",))]
    assert {(r.head_id, r.tail_id) for r in rel(doc())._.relations} == {("MESH:D000082", "MESH:D001943"),
                                                                         ("MESH:D000082", "MESH:D010146")}
    off = extractor(tiny_relation_onnx, table_kg)  # the default: no table mentions
    assert [s.text for s in off.mentions(doc())[1]] == ["Paracetamol"]
    assert extractor(tiny_relation_onnx, None).table_matches(text) == []  # no graph: no table
