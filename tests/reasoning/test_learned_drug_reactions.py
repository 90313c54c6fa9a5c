"""Drug reactions learned from text: a drug of the note that the grown graph says causes a present finding."""

from __future__ import annotations

import json
import shutil

import pytest

LITERATURE = {
    "p1": "He developed nausea after metformin.",
    "p2": "Severe nausea after metformin was reported.",
    "p3": "Hypertension was treated with lisinopril.",
}


@pytest.fixture(scope="module")
def grown_kg(tiny_kg_path, tmp_path_factory):
    from medlens.kg.store import KnowledgeGraph
    from medlens.relations.grow import grow

    folder = tmp_path_factory.mktemp("learned")
    kg_path = folder / "kg.sqlite"
    shutil.copyfile(tiny_kg_path, kg_path)
    corpus = folder / "lit.jsonl"
    corpus.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in LITERATURE.items()))
    grow(kg_path, [corpus], processes=1, model=False)
    with KnowledgeGraph.open(kg_path) as kg:
        yield kg


def test_drug_taken_and_learned_effect_raise_a_drug_reaction(grown_kg, rules_nlp):
    from medlens.reasoning.engine import DiagnosisEngine

    engine = DiagnosisEngine(grown_kg, nlp=rules_nlp)
    result = engine.diagnose(rules_nlp("Takes metformin daily. Complains of nausea and cough."), top=3)
    [reaction] = result.drug_reactions
    assert (reaction.drug, reaction.drug_name, reaction.finding, reaction.predicate) == (
        "T:M001", "Metformin", "T:S005", "adverse_event")
    assert reaction.knowledge == "learned from text" and reaction.documents == 2
    assert {e.doc_id for e in reaction.evidence} == {"p1", "p2"}
    assert "nausea after metformin" in reaction.evidence[0].sentence
    # the learned edge is not curated evidence of any ranked diagnosis
    for d in result.diagnoses:
        assert all(e.source != "grown" for e in d.supporting + d.contradicting)


def test_no_reaction_without_the_drug_or_the_finding(grown_kg, rules_nlp):
    from medlens.reasoning.engine import DiagnosisEngine

    engine = DiagnosisEngine(grown_kg, nlp=rules_nlp)
    assert engine.diagnose(rules_nlp("Complains of nausea."), top=3).drug_reactions == []
    assert engine.diagnose(rules_nlp("Takes metformin. Denies nausea. Has a cough."), top=3).drug_reactions == []
    assert engine.diagnose(rules_nlp("Stopped lisinopril. No metformin. Nausea today."), top=3).drug_reactions == []


def test_graph_never_grown_has_no_drug_reactions(tiny_kg, rules_nlp):
    from medlens.reasoning.engine import DiagnosisEngine

    engine = DiagnosisEngine(tiny_kg, nlp=rules_nlp)
    assert engine.diagnose(rules_nlp("Takes metformin daily. Complains of nausea."), top=3).drug_reactions == []
