"""medlens_relation_patterns on sentences: cue phrases, adverse events, distant labels, appending."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medlens.doc.types import Relation
from medlens.errors import ResourceError
from medlens.relations.patterns import RelationPatterns, load_pattern_rules


@pytest.fixture(scope="module")
def patterns(tiny_kg):
    rules = load_pattern_rules()
    # the tiny graph's own source ("tiny") as a distant-label source, as omim/orphanet are for the real graph
    distant = [d.model_copy(update={"sources": ["tiny"]}) for d in rules.distant]
    return RelationPatterns(kg=tiny_kg, rules=rules.model_copy(update={"distant": distant}))


def _rels(rules_nlp, patterns, text):
    doc = patterns(rules_nlp(text))
    return [(r.head_id, r.predicate, r.tail_id, r.method) for r in doc._.relations], doc


def test_treats_in_both_orders(rules_nlp, patterns):
    rels, doc = _rels(rules_nlp, patterns, "Hypertension was treated with lisinopril.")
    assert rels == [("T:M003", "treats", "T:D003", "pattern:treats")]
    r = doc._.relations[0]
    assert (r.head, r.tail) == ("lisinopril", "Hypertension")
    assert doc.text[slice(*r.evidence[0])] == "Hypertension was treated with lisinopril."
    rels, _ = _rels(rules_nlp, patterns, "Metformin is effective in the treatment of type 2 diabetes.")
    assert rels == [("T:M001", "treats", "T:D001", "pattern:treats")]


def test_has_finding_and_detects(rules_nlp, patterns):
    rels, _ = _rels(rules_nlp, patterns, "Stroke presenting with seizure.")
    assert rels == [("T:D008", "has_finding", "T:S008", "pattern:has_finding")]
    rels, _ = _rels(rules_nlp, patterns, "Vomiting due to pneumonia.")
    assert ("T:D005", "has_finding", "T:S006", "pattern:has_finding") in rels


def test_a_comorbidity_in_the_patients_description_does_not_own_the_presenting_complaint(rules_nlp, patterns):
    rels, _ = _rels(rules_nlp, patterns, "A 50 year old man with a history of stroke presented with seizure.")
    assert not [r for r in rels if r[1] == "has_finding"]
    rels, _ = _rels(rules_nlp, patterns, "Known stroke; presents with seizure.")
    assert rels == []  # ';' ends the clause, and the gap holds it: no relation either way
    rels, _ = _rels(rules_nlp, patterns, "In this series, stroke presented with seizure in 12 patients.")
    assert ("T:D008", "has_finding", "T:S008", "pattern:has_finding") in rels


def test_no_cue_no_relation_and_no_cross_sentence(rules_nlp, patterns):
    rels, _ = _rels(rules_nlp, patterns, "Hypertension. Lisinopril was refilled.")
    assert rels == []
    rels, _ = _rels(rules_nlp, patterns, "Lisinopril and hypertension were discussed at length with the family today.")
    assert rels == []


def test_adverse_events_become_relations_but_not_negated_ones(rules_nlp, patterns):
    rels, doc = _rels(rules_nlp, patterns, "He developed nausea after metformin.")
    assert doc._.adverse_events  # written by medlens_adverse_events (rules)
    assert rels == [("T:M001", "adverse_event", "T:S005", "pattern:ade")]
    rels, _ = _rels(rules_nlp, patterns, "No nausea after metformin.")
    assert rels == []


def test_distant_label_from_the_curated_graph(rules_nlp, patterns):
    # no cue phrase between them, but the graph says pneumonia has_phenotype cough
    rels, doc = _rels(rules_nlp, patterns, "Pneumonia, cough.")
    assert rels == [("T:D005", "has_finding", "T:S004", "distant:tiny")]
    assert doc._.relations[0].score == 0.5
    # without the graph, nothing
    no_kg = RelationPatterns(kg=None, rules=patterns.rules)
    assert no_kg(rules_nlp("Pneumonia, cough."))._.relations == ()


def test_negated_mention_takes_no_part(rules_nlp, patterns):
    rels, _ = _rels(rules_nlp, patterns, "Pneumonia without cough.")
    assert rels == []


def test_appends_to_relations_written_before(rules_nlp, patterns):
    doc = rules_nlp("Hypertension was treated with lisinopril.")
    earlier = Relation("T:M003", "T:D003", "lisinopril", "Hypertension", 30, 40, 0, 12, "induces", 0.9,
                       method="model:relations")
    doc._.relations = (earlier,)
    doc = patterns(doc)
    assert doc._.relations[0] is earlier and len(doc._.relations) == 2
    assert doc._.relations[1].method == "pattern:treats"


def test_factory_in_a_pipeline(tiny_kg_path):
    import medlens
    from medlens.config import RULES_ONLY

    nlp = medlens.load(kg_path=str(tiny_kg_path), components=RULES_ONLY)
    import medlens.relations.patterns

    nlp.add_pipe("medlens_relation_patterns", config={"kg_path": str(tiny_kg_path)})
    doc = nlp("Hypertension was treated with lisinopril.")
    assert [r.predicate for r in doc._.relations] == ["treats"]


def test_bad_rules_file_names_the_field(tmp_path: Path):
    bad = tmp_path / "rules.json"
    bad.write_text(json.dumps({"predicates": [{"name": "treats", "head_labels": ["DRUG"], "tail_labels": ["DISEASE"],
                                               "groups": [{"order": "sideways", "score": 0.5, "cues": ["for"]}]}]}))
    with pytest.raises(ResourceError, match="order"):
        load_pattern_rules(str(bad))
