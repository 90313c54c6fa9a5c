"""Graph questions on the tiny five-vocabulary graph: answers are graph facts with evidence; no fact -> no answer."""

from __future__ import annotations

from medlens.qa.models import Answer


def test_graph_findings_of_disease_with_frequencies(graph_qa):
    a = graph_qa.answer("What are the symptoms of Marfan syndrome?")
    assert isinstance(a, Answer) and a.kind == "graph" and a.intent == "findings_of"
    ids = [i.id for i in a.answers]
    assert ids == ["HP:0001166", "HP:0002616"]  # ranked by frequency 0.76 > 0.5
    ev = a.answers[0].evidence[0]
    assert ev.kind == "fact" and ev.source == "omim"
    assert "OMIM:154700" in ev.text and "16/21" in ev.provenance and "PMID:31772430" in ev.provenance
    assert "OMIM:154700" in a.searched[0]  # found through the MeSH/ICD concept's OMIM equivalent


def test_graph_icd10_code(graph_qa):
    a = graph_qa.answer("what is the ICD-10 code of type 2 diabetes?")
    assert a.intent == "icd10_code"
    assert a.answers[0].id == "ICD10CM:E11"
    assert a.answers[0].evidence[0].source == "icd10cm"


def test_graph_diseases_with_findings_uses_more_specific_terms(graph_qa):
    a = graph_qa.answer("which diseases cause hearing loss and short stature?")
    assert a.intent == "diseases_with_findings"
    # OMIM:100001 has both (its hearing term is a child of the asked one); OMIM:100002 only hearing impairment
    assert [i.id for i in a.answers] == ["OMIM:100001"]
    assert len(a.answers[0].evidence) == 2
    assert any("HP:0000407" in e.text for e in a.answers[0].evidence)
    # no disease has both: those with some of them, said so
    a = graph_qa.answer("which diseases cause hearing loss and fever?")
    assert {i.id for i in a.answers} == {"OMIM:100001", "OMIM:100002", "OMIM:100003"}
    assert "No disease of the graph has all the findings" in a.message


def test_graph_absent_finding_counts_against(graph_qa):
    a = graph_qa.answer("which diseases have fever but no rash?")
    top = a.answers[0]
    assert top.id == "OMIM:100003"
    assert any(e.provenance and e.provenance.startswith("reported absent") for e in top.evidence)
    assert top.score < 1.0


def test_graph_definition_and_codes(graph_qa):
    a = graph_qa.answer("what is hyperkalemia?")
    assert a.intent == "definition"
    assert a.answers[0].evidence[0].text == "An abnormally increased potassium concentration in the blood."
    assert {"ICD10CM:E87.5", "MESH:D006947"} <= {i.id for i in a.answers}


def test_graph_code_lookup(graph_qa):
    for q in ("what does E11.9 mean?", "what is ICD10CM:E11.9?"):
        a = graph_qa.answer(q)
        assert a.intent == "code_lookup", q
        assert a.answers[0].id == "ICD10CM:E11.9"
        assert any("is_a Type 2 diabetes mellitus (ICD10CM:E11)" in e.text for e in a.answers[0].evidence)


def test_graph_synonyms(graph_qa):
    a = graph_qa.answer("what are other names for type 2 diabetes?")
    assert a.intent == "synonyms"
    texts = [i.text for i in a.answers]
    assert "adult-onset diabetes" in texts and "Diabetes Mellitus, Type 2" in texts
    assert "type 2 diabetes" not in texts  # the asked name itself is not an answer


def test_graph_no_term_is_no_answer(graph_qa):
    a = graph_qa.answer("what is the treatment of frobnicitis?")
    assert a.kind == "none" and not a.answers
    assert a.searched and "term" in a.message


def test_graph_drugs_without_grown_layer_is_no_answer(graph_qa):
    a = graph_qa.answer("which drugs can induce hyperkalemia?")
    assert a.intent == "drugs_inducing"
    assert a.kind == "none" and not a.answers
    assert "learned relation layer" in a.message


def test_graph_ambiguous_term_lists_readings(graph_qa):
    a = graph_qa.answer("what is Kleine syndrome type C?")
    assert not a.answers
    assert len(a.readings) == 2
    assert any("OMIM:300001" in r for r in a.readings) and any("OMIM:300002" in r for r in a.readings)
    assert "several concepts" in a.message


def test_graph_misspelled_term_found_by_fuzzy_search(graph_qa):
    a = graph_qa.answer("what are the symptoms of Marfan syndrom?")
    assert a.kind == "graph" and a.answers[0].id == "HP:0001166"


def test_graph_drugs_from_a_grown_layer(graph_qa, monkeypatch):
    """The learned layer's edges (medlens.relations.grown.relations_of's GrownEdge records) become drug answers
    with their evidence sentences; a graph without a grown layer says so."""
    from medlens.kg.grown import EdgeEvidence, GrownEdge
    from medlens.kg import grown as grown_mod

    calls = []

    def relations_of(kg, concept_id, predicate=None, direction="both", min_score=0.0, limit=50):
        calls.append((concept_id, predicate, direction))
        if concept_id == "MESH:D006947" and predicate == "induces":
            ev = EdgeEvidence("pmid:1", "Spironolactone induced hyperkalemia.", 0, 36, "Spironolactone",
                              "hyperkalemia", 0.9, "model:relations")
            return [GrownEdge("DB00001", "induces", concept_id, 0.9, 3, 3, ("model:relations",), (ev,),
                              head_name="Spironolactone", tail_name="Hyperkalemia")]
        return []

    monkeypatch.setattr(grown_mod, "relations_of", relations_of)
    monkeypatch.setattr(grown_mod, "grown_layer", lambda kg: object())
    a = graph_qa.answer("which drugs can induce hyperkalemia?")
    assert a.kind == "graph" and a.answers[0].id == "DB00001"
    assert a.answers[0].evidence[0].source == "grown"
    assert a.answers[0].evidence[1].kind == "sentence" and a.answers[0].evidence[1].doc_id == "pmid:1"
    assert all(direction == "in" for _, _, direction in calls)
    a = graph_qa.answer("which drugs treat hyperkalemia?")
    assert a.kind == "none" and "no drug that treats" in a.message
    monkeypatch.setattr(grown_mod, "grown_layer", lambda kg: None)
    a = graph_qa.answer("which drugs can induce hyperkalemia?")
    assert a.kind == "none" and "no learned relation layer" in a.message


def test_graph_unclear_wording_answers_and_lists_readings(graph_qa):
    u = graph_qa.understand("Marfan syndrome problems")
    assert u.masked == "X problems" and u.probability < 0.45
    a = graph_qa.answer("Marfan syndrome problems")
    assert len(a.readings) == 2 and a.answers
    assert a.readings[0].startswith(("what Marfan syndrome is", "the symptoms and findings of Marfan syndrome"))


def test_graph_code_wording_without_code_asks_for_the_code(graph_qa):
    a = graph_qa.answer("Marfan syndrome code")
    assert a.intent == "icd10_code" and a.answers[0].id == "ICD10CM:Q87.4"


def test_graph_out_of_scope_and_codes_written_with_vocabulary_words(graph_qa):
    a = graph_qa.answer("who discovered hyperkalemia?")
    assert a.kind == "none" and a.intent == "out_of_scope"
    for q in ("hpo 0001166", "which phenotype is HP:0001166?", "omim 154700"):
        a = graph_qa.answer(q)
        assert a.intent == "code_lookup", q
        assert a.answers[0].id in ("HP:0001166", "OMIM:154700"), q


def test_graph_icd10_block_asks_back(tmp_path):
    """A term whose code is a block of categories (E08-E13) is asked back with the categories as readings."""
    from medlens.kg.build import build_graph
    from medlens.kg.sources.csv_tables import read_csv_tables
    from medlens.kg.store import KnowledgeGraph
    from medlens.qa.graph import GraphQA

    (tmp_path / "c.csv").write_text("id,name,label,definition\nICD10CM:E08-E13,Diabetes mellitus (E08-E13),DISEASE,\n"
                                    "ICD10CM:E10,Type 1 diabetes mellitus,DISEASE,\nICD10CM:E11,Type 2 diabetes mellitus,DISEASE,\n",
                                    encoding="utf-8")
    (tmp_path / "s.csv").write_text("concept_id,text,kind\nICD10CM:E08-E13,diabetes,exact\n", encoding="utf-8")
    (tmp_path / "r.csv").write_text("subject,predicate,object,attrs\nICD10CM:E10,is_a,ICD10CM:E08-E13,\n"
                                    "ICD10CM:E11,is_a,ICD10CM:E08-E13,\n", encoding="utf-8")
    build_graph(tmp_path / "g.sqlite", sources=(), abbreviations=False, extra=[read_csv_tables(
        tmp_path / "c.csv", tmp_path / "s.csv", tmp_path / "r.csv", source="icd10cm")])
    with KnowledgeGraph.open(tmp_path / "g.sqlite") as kg:
        a = GraphQA(kg).answer("ICD code for diabetes?")
    assert a.kind == "none" and "?" in a.message
    assert sorted(a.readings) == ["the ICD-10-CM code of Type 1 diabetes mellitus (ICD10CM:E10)",
                                  "the ICD-10-CM code of Type 2 diabetes mellitus (ICD10CM:E11)"]
