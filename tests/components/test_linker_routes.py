import pytest
import spacy

from medlens.components.linker import EntityLinker


@pytest.fixture(scope="module")
def linker(tiny_kg):
    return EntityLinker.from_kg(tiny_kg, nlp=spacy.blank("en"))


def test_linker_exact_synonym(linker):
    top = linker.link_text("Heart attack", label="DISEASE")[0]
    assert (top.concept_id, top.method, top.score) == ("T:D004", "exact", 1.0)
    assert top.name == "Myocardial infarction"


def test_linker_normalized_plural_and_punctuation(linker):
    top = linker.link_text("Pleural-effusions")[0]
    assert (top.concept_id, top.method) == ("T:D006", "normalized")
    assert 0.9 <= top.score < 1.0


def test_linker_word_order(linker):
    top = linker.link_text("mellitus type 2 diabetes")[0]
    assert (top.concept_id, top.method, top.score) == ("T:D002", "normalized", 0.9)


def test_linker_abbreviation(linker):
    top = linker.link_text("MI")[0]
    assert (top.concept_id, top.method) == ("T:D004", "abbreviation")


def test_linker_fuzzy_misspelling_scores_below_exact(linker):
    links = linker.link_text("pnuemonia", label="DISEASE")
    assert links[0].concept_id == "T:D005" and links[0].method == "fuzzy"
    assert 0.5 < links[0].score < 0.9


def test_linker_fuzzy_respects_threshold_and_label_family(linker):
    assert linker.link_text("xylophone quartet") == []
    # a drug-like misspelling never links to a disease
    assert all(link.concept_id.startswith("T:M") for link in linker.link_text("asprin", label="DRUG"))


def test_linker_fuzzy_can_be_turned_off(tiny_kg):
    strict = EntityLinker.from_kg(tiny_kg, nlp=spacy.blank("en"), fuzzy=False)
    assert strict.link_text("pnuemonia") == []


def test_linker_ranks_several_concepts_and_caps_top_k(tiny_kg):
    linker = EntityLinker.from_kg(tiny_kg, nlp=spacy.blank("en"), top_k=1)
    assert len(linker.link_text("diabetes")) == 1


def test_linker_partial_falls_back_to_the_head(linker):
    top = linker.link_text("acute recurrent pneumonia", label="DISEASE")[0]
    assert (top.concept_id, top.method, top.score, top.matched) == ("T:D005", "partial", 0.7, "pneumonia")


def test_linker_fuzzy_search_is_cached_per_mention_and_label_family(tiny_kg, monkeypatch):
    linker = EntityLinker.from_kg(tiny_kg, nlp=spacy.blank("en"))
    calls = []
    real = tiny_kg.search

    def counting(text, **kw):
        calls.append(text)
        return real(text, **kw)

    monkeypatch.setattr(tiny_kg, "search", counting)
    first = linker.link_text("pnuemonia", label="DISEASE")
    again = linker.link_text("Pnuemonia", label="DISEASE")  # same normalized text: no second search
    assert [link.concept_id for link in first] == [link.concept_id for link in again] and len(calls) == 1
    linker.link_text("pnuemonia", label="DRUG")  # another label family: its own search
    assert len(calls) == 2


def test_linker_fuzzy_needs_each_word_to_be_a_typo(linker):
    # "chest gain" is not a misspelling of "chest pain" (another word, another first letter)
    assert all(l.concept_id != "T:S001" for l in linker.link_text("chest gain", label="SYMPTOM"))
    top = linker.link_text("chest pian", label="SYMPTOM")[0]
    assert (top.concept_id, top.method) == ("T:S001", "fuzzy")


def test_linker_modifier_before_a_name_links_by_its_tail_not_fuzzy(linker):
    # "left pleural effusion" once linked by character ratio to a name with another first word
    top = linker.link_text("left pleural effusion", label="DISEASE")[0]
    assert (top.concept_id, top.method, top.score) == ("T:D006", "partial", 0.7)


def test_linker_partial_does_not_drop_an_acronym(linker):
    # "ST depressions" is not a kind of "depression"
    assert [l.method for l in linker.link_text("ST pleural effusion", label="DISEASE")] != ["partial"]
    assert all(l.method != "partial" for l in linker.link_text("ST pleural effusion", label="DISEASE"))


def test_linker_name_with_one_more_word_inside(linker):
    # notes drop a name's middle word: "ST depressions" for "ST segment depression"
    top = linker.link_text("high pressures", label="DISEASE")[0]
    assert (top.concept_id, top.method, top.score, top.matched) == ("T:D003", "fuzzy", 0.8, "high blood pressure")
    # the extra word must be inside the name, and the label family must fit
    assert all(l.concept_id != "T:D003" for l in linker.link_text("blood pressures", label="DISEASE"))
    assert all(l.concept_id != "T:D003" for l in linker.link_text("high pressures", label="DRUG"))


def test_linker_name_with_one_more_word_inside_is_cached_by_key_and_label(tmp_path):
    # the graph's LIKE queries run once per (mention key, label); later mentions read the cache
    from medlens.kg.sources.base import Concept
    from tests.conftest import mini_graph_linker

    concepts = [Concept("X:3", "ST segment depression", "x", "FINDING")]
    with mini_graph_linker(tmp_path / "mini.sqlite", concepts) as linker:
        first = linker.link_text("ST depressions", label="DISEASE")
        queries = []
        real_query = linker.kg.query
        linker.kg.query = lambda sql, params=(): queries.append(sql) or real_query(sql, params)
        assert linker.link_text("ST depressions", label="DISEASE") == first
        assert not [q for q in queries if "LIKE" in q]
        linker.link_text("ST depressions", label="DRUG")  # another label: its own lookup, its own answer
        assert [q for q in queries if "LIKE" in q]
        assert all(l.concept_id != "X:3" for l in linker.link_text("ST depressions", label="DRUG"))


def test_linker_finding_of_a_place_links_the_finding(linker):
    # "plantar fascitis of left distal lateral foot": the name is before "of"
    top = linker.link_text("pleural effusion of the left side", label="DISEASE")[0]
    assert (top.concept_id, top.method, top.score) == ("T:D006", "partial", 0.7)


def test_linker_head_of_another_label_family_is_not_a_link(linker):
    # "left face, arm" (a weakness) once linked to the arm: a disease mention's head must be a finding
    assert all(l.concept_id != "T:A001" for l in linker.link_text("sharp left chest", label="DISEASE"))
    top = linker.link_text("sharp left chest", label="ANATOMY")[0]
    assert (top.concept_id, top.method) == ("T:A001", "partial")



def test_linker_head_before_a_name_with_one_more_word(tmp_path):
    # "acute injury" is an injury, not "acute kidney injury": a qualifier less before a word more
    from medlens.kg.sources.base import Concept
    from tests.conftest import mini_graph_linker

    concepts = [Concept("X:1", "Acute kidney injury", "x", "DISEASE"), Concept("X:2", "Injury", "x", "DISEASE"),
                Concept("X:3", "ST segment depression", "x", "FINDING")]
    with mini_graph_linker(tmp_path / "mini.sqlite", concepts) as linker:
        assert [(l.concept_id, l.method) for l in linker.link_text("acute injury", label="DISEASE")] == [("X:2", "partial")]
        top = linker.link_text("ST depressions", label="DISEASE")[0]
        assert (top.concept_id, top.method, top.score) == ("X:3", "fuzzy", 0.8)


def _model_doc(text: str, spans: list[tuple[str, str]]):
    from tests.conftest import set_model_spans

    return set_model_spans(spacy.blank("en")(text), spans)


def test_linker_label_from_a_confident_link(linker):
    doc = _model_doc("Effusion over the chest. Fever today.", [("Effusion", "DISEASE"), ("chest", "CHEMICAL"), ("Fever", "DISEASE")])
    doc.ents[0]._.assertion = None
    doc = linker(doc)
    got = [(e.text, e.label_, e._.concepts[0].concept_id, e._.ner_source) for e in doc.ents]
    # a finding and anatomy the graph knows exactly take its label, and keep their attributes;
    # a symptom does not (a concept's label does not separate symptoms from diseases as the graph's keys do)
    assert got == [("Effusion", "FINDING", "T:F001", "model"), ("chest", "ANATOMY", "T:A001", "model"),
                   ("Fever", "DISEASE", "T:S003", "model")]


def test_linker_label_from_link_needs_a_confident_link_and_can_be_off(tiny_kg):
    doc = _model_doc("Efusion noted.", [("Efusion", "DISEASE")])
    linker = EntityLinker.from_kg(tiny_kg, nlp=spacy.blank("en"))
    assert linker(doc).ents[0].label_ == "DISEASE"  # a fuzzy link is not enough
    off = EntityLinker.from_kg(tiny_kg, nlp=spacy.blank("en"), label_from_link=False)
    assert off(_model_doc("Effusion noted.", [("Effusion", "DISEASE")])).ents[0].label_ == "DISEASE"


def test_linker_curated_findings_rank_before_mesh():
    from medlens.components.linker import DEFAULT_SOURCE_PRIORITY

    for label in ("SYMPTOM", "FINDING"):
        order = DEFAULT_SOURCE_PRIORITY[label]
        assert order.index("medlens") < order.index("mesh"), label  # "deformity" is not MeSH's Congenital Abnormalities
