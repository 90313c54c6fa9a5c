"""The default pipeline with the shipped transformer recognizer: merging with the dictionary, headers,
clinical shorthand, label filters. Uses the real int8 model over the tiny graph."""

from __future__ import annotations

import pytest

from medlens.config import NER_DIR

pytestmark = pytest.mark.skipif(not (NER_DIR / "model.int8.onnx").is_file(), reason="no shipped NER model")


def _ents(doc):
    return [(e.text, e.label_, e._.ner_source) for e in doc.ents]


def test_model_finds_what_the_graph_does_not_know_and_the_graph_links_what_it_does(nlp, rules_nlp):
    text = "Cisplatin induced nephrotoxicity in a patient with diabetes mellitus type 2."
    ents = {e.text: e for e in nlp(text).ents}
    assert {"Cisplatin", "nephrotoxicity", "diabetes mellitus type 2"} <= set(ents)
    assert ents["diabetes mellitus type 2"]._.concepts[0].concept_id == "T:D002"  # the graph supplies the code
    assert ents["diabetes mellitus type 2"].label_ == "DISEASE"
    assert "nephrotoxicity" not in {e.text for e in rules_nlp(text).ents}
    # the model's confidence rides on its entities (the least sure word's tag probability)
    assert 0.0 < ents["nephrotoxicity"]._.ner_score <= 1.0 and ents["Cisplatin"]._.ner_score > 0.5


def test_section_headers_and_shorthand_are_not_entities(nlp):
    doc = nlp("HISTORY OF PRESENT ILLNESS: cough\nALLERGIES:\npenicillin allergy\nPlan: aspirin 81 mg PO BID")
    texts = [e.text for e in doc.ents]
    assert not any("\n" in t or "ALLERGIES" in t or "ILLNESS" in t for t in texts), texts
    assert "PO" not in texts and "BID" not in texts
    assert {"cough", "aspirin"} <= set(texts)


def test_labels_filter_applies_to_model_entities(tiny_kg_path):
    import medlens

    nlp = medlens.load(kg_path=str(tiny_kg_path), labels=("DRUG",))
    doc = nlp("Cisplatin induced nephrotoxicity; aspirin 81 mg daily; diabetes.")
    assert [e.label_ for e in doc.ents] == ["DRUG"] and doc.ents[0].text == "aspirin"


def test_longer_graph_finding_around_a_model_span_wins(tiny_kg_path):
    """The graph's symptom "shortness of breath" replaces a shorter model span inside it; a disease
    the graph knows around a model span does not (the model learned disease boundaries)."""
    from spacy.tokens import Span

    import medlens

    nlp = medlens.load(kg_path=str(tiny_kg_path), components=("sections", "sentences", "dictionary_ner"))

    def run(text: str, start: int, end: int):
        doc = nlp.make_doc(text)
        short = Span(doc, start, end, label="DISEASE")
        short._.ner_source = "model"
        doc.ents = [short]
        for _, proc in nlp.pipeline:
            doc = proc(doc)
        return _ents(doc)

    assert run("Worse shortness of breath today.", 3, 4) == [("shortness of breath", "SYMPTOM", "dictionary")]
    assert run("Known diabetes mellitus type 2 for years.", 1, 3) == [("diabetes mellitus", "DISEASE", "model")]
