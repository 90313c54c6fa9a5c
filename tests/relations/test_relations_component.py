"""The `medlens_relations` component: Relation objects with the right ids, mentions, offsets and evidence, appended."""

from __future__ import annotations

import pytest
import spacy
from medlens.relations.encoding import split_sentences

from medlens.doc import extensions
from medlens.doc.types import ConceptLink, Relation
from medlens.errors import PipelineError

TEXT = ("Cisplatin induced renal failure. Two of 40 patients given cisplatin for ovarian cancer developed renal failure "
        "and hearing loss; magnesium did not prevent it.")
ENTS = [("Cisplatin", "DRUG", "MESH:D002945"), ("renal failure", "DISEASE", "MESH:D051437"),
        ("cisplatin", "DRUG", "MESH:D002945"), ("ovarian cancer", "DISEASE", "MESH:D010051"),
        ("renal failure", "DISEASE", "MESH:D051437"), ("hearing loss", "FINDING", "MESH:D034381"),
        ("magnesium", "DRUG", "DB01378")]


def make_doc(links: bool = True):
    extensions.register()
    nlp = spacy.blank("en")
    doc = nlp(TEXT)
    spans, pos = [], 0
    for text, label, cid in ENTS:
        start = TEXT.index(text, pos)
        pos = start + len(text)
        span = doc.char_span(start, pos, label=label)
        spans.append(span)
    doc.ents = spans
    if links:
        for span, (_t, _l, cid) in zip(doc.ents, ENTS):
            span._.concepts = [ConceptLink(cid, cid, "mesh" if cid.startswith("MESH:") else "drugs", 1.0, "exact")]
    return doc


@pytest.fixture(scope="module")
def extractor(tiny_relation_onnx):
    from medlens.components.relations import RelationExtractor
    from medlens.relations.model import RelationModel

    return RelationExtractor(None, model=RelationModel.from_path(tiny_relation_onnx, threads=1), kg=None, threshold=0.0)


def test_component_writes_relations_with_offsets_and_evidence(extractor):
    doc = extractor(make_doc())
    rels = doc._.relations
    # every (chemical, disease) pair of MeSH concepts; magnesium has no MeSH id and no graph to map it: no part
    assert {(r.head_id, r.tail_id) for r in rels} == {("MESH:D002945", d) for d in
                                                     ("MESH:D051437", "MESH:D010051", "MESH:D034381")}
    sentences = split_sentences(TEXT)
    for r in rels:
        assert isinstance(r, Relation)
        assert r.predicate == "induces" and r.method == "model:relations-cdr"
        assert 0.0 <= r.score <= 1.0
        assert TEXT[r.head_start:r.head_end] == r.head and TEXT[r.tail_start:r.tail_end] == r.tail
        assert r.head.lower() == "cisplatin"
        assert all(span in sentences for span in r.evidence)
        covered = lambda a, b: any(s <= a and b <= e for s, e in r.evidence)
        assert covered(r.head_start, r.head_end) and covered(r.tail_start, r.tail_end)
    hearing = next(r for r in rels if r.tail_id == "MESH:D034381")
    # the nearest mentions: the cisplatin of the second sentence, one sentence of evidence
    assert hearing.head_start == TEXT.index("cisplatin")
    assert hearing.evidence == (sentences[1],)
    failure = next(r for r in rels if r.tail_id == "MESH:D051437")
    assert (failure.head_start, failure.tail_start) == (0, TEXT.index("renal failure"))


def test_component_appends_to_existing_relations(extractor):
    doc = make_doc()
    pattern = Relation("MESH:X", "MESH:Y", "x", "y", 0, 1, 2, 3, "treats", 0.9, ((0, 10),), "pattern:test")
    doc._.relations = (pattern,)
    extractor(doc)
    assert doc._.relations[0] == pattern
    assert len(doc._.relations) == 4


def test_component_threshold_and_pipe(extractor, tiny_relation_onnx):
    from medlens.components.relations import RelationExtractor
    from medlens.relations.model import RelationModel

    strict = RelationExtractor(None, model=RelationModel.from_path(tiny_relation_onnx, threads=1), threshold=1.01)
    assert strict(make_doc())._.relations == ()
    docs = list(extractor.pipe([make_doc(), make_doc()], batch_size=1))
    assert [len(d._.relations) for d in docs] == [3, 3]
    assert docs[0]._.relations == docs[1]._.relations


def test_component_needs_concept_links(extractor):
    with pytest.raises(PipelineError, match="medlens_linker"):
        extractor(make_doc(links=False))


def test_component_in_a_pipeline_after_the_linker(tiny_kg_path, tiny_relation_onnx):
    import medlens
    from medlens.config import RULES_ONLY

    nlp = medlens.load(kg_path=str(tiny_kg_path), components=[*RULES_ONLY, "relations"],
                       relations_model_path=str(tiny_relation_onnx))
    assert nlp.pipe_names[-1] == "medlens_relations"
    assert isinstance(nlp("The patient took cisplatin.")._.relations, tuple)
    with pytest.raises(PipelineError, match="span._.concepts"):
        medlens.load(kg_path=str(tiny_kg_path), components=["sections", "sentences", "dictionary_ner", "relations"],
                     relations_model_path=str(tiny_relation_onnx))


def test_relations_in_the_json_result(extractor):
    from medlens.results import DocumentResult

    doc = extractor(make_doc())
    result = DocumentResult.from_doc(doc, doc_id="d1")
    assert len(result.relations) == 3
    for out, rel in zip(result.relations, doc._.relations):
        assert (out.head_id, out.tail_id, out.head_start, out.tail_end, out.predicate, out.score, out.method) == (
            rel.head_id, rel.tail_id, rel.head_start, rel.tail_end, rel.predicate, rel.score, rel.method)
        assert [tuple(e) for e in out.evidence] == list(rel.evidence)
    assert "relations" in result.model_dump_json()
