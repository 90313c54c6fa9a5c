"""The whole default pipeline on small realistic notes, over the tiny fixture graph."""

import pytest

import medlens
from medlens.errors import ConfigError, KnowledgeGraphError, PipelineError
from medlens.results import DocumentResult


def by_text(doc):
    return {e.text: e for e in doc.ents}


def test_pipeline_components_in_order(nlp, rules_nlp):
    from medlens.config import CLASSIFIER_DIR, NER_DIR

    models = ["medlens_transformer_ner"] if (NER_DIR / "model.int8.onnx").is_file() else []
    last = ["medlens_classifier"] if (CLASSIFIER_DIR / "model.int8.onnx").is_file() else []
    assert nlp.pipe_names == ["medlens_sections", "medlens_sentences", *models, "medlens_dictionary_ner",
                              "medlens_linker", "medlens_context", "medlens_drug_attributes", "medlens_adverse_events",
                              *last]
    assert rules_nlp.pipe_names == ["medlens_sections", "medlens_sentences", "medlens_dictionary_ner", "medlens_linker",
                                    "medlens_context", "medlens_drug_attributes", "medlens_adverse_events"]


def test_pipeline_note_entities_sections_assertions_and_links(nlp):
    text = (
        "CHIEF COMPLAINT: chest pain\n\n"
        "HPI: 60 yo man with HTN presents with chest pain. Denies fever or cough. "
        "No evidence of pneumonia but there is an effusion.\n\n"
        "PAST MEDICAL HISTORY:\nType 2 diabetes mellitus\n\n"
        "FAMILY HISTORY:\nMother had breast cancer.\n\n"
        "PLAN:\nStart metformin 500 mg PO b.i.d. Return if fever develops.\n"
    )
    doc = nlp(text)
    ents = [(e.text, e.label_, e._.section, e._.assertion.status) for e in doc.ents]
    assert ("chest pain", "SYMPTOM", "chief_complaint", "present") in ents
    assert ("HTN", "DISEASE", "history_of_present_illness", "present") in ents
    assert ("fever", "SYMPTOM", "history_of_present_illness", "negated") in ents
    assert ("cough", "SYMPTOM", "history_of_present_illness", "negated") in ents
    assert ("pneumonia", "DISEASE", "history_of_present_illness", "negated") in ents
    assert ("effusion", "FINDING", "history_of_present_illness", "present") in ents
    assert ("Type 2 diabetes mellitus", "DISEASE", "past_medical_history", "historical") in ents
    assert ("breast cancer", "DISEASE", "family_history", "family") in ents
    assert ("metformin", "DRUG", "plan", "present") in ents
    plan_fever = [e for e in doc.ents if e.text == "fever" and e._.section == "plan"][0]
    assert plan_fever._.is_hypothetical
    htn = by_text(doc)["HTN"]
    assert htn._.concepts[0].concept_id == "T:D003" and htn._.concepts[0].method == "abbreviation"
    # offsets point into the original text
    assert all(text[e.start_char:e.end_char] == e.text for e in doc.ents)


def test_pipeline_result_json_is_stable(nlp):
    doc = nlp("Denies chest pain or shortness of breath.")
    result = DocumentResult.from_doc(doc, doc_id="n1")
    data = result.model_dump(mode="json")
    assert data["id"] == "n1" and data["sentences"] == 1
    assert [(e["text"], e["assertion"]["status"], e["concepts"][0]["id"]) for e in data["entities"]] == [
        ("chest pain", "negated", "T:S001"), ("shortness of breath", "negated", "T:S002")]
    assert DocumentResult.model_validate_json(result.model_dump_json()) == result


def test_pipeline_load_rejects_unknown_settings():
    with pytest.raises(ConfigError, match="linker.top_k"):
        medlens.load(linker={"top_k": 0})
    with pytest.raises(ConfigError, match="colour"):
        medlens.load(colour="red")


def test_pipeline_missing_graph_is_a_clear_error(tmp_path):
    with pytest.raises(KnowledgeGraphError, match="medlens kg build"):
        medlens.load(kg_path=str(tmp_path / "missing.sqlite"))


def test_pipeline_order_is_checked(tiny_kg_path):
    with pytest.raises(PipelineError, match="medlens_context.*requires.*doc.ents"):
        medlens.load(kg_path=str(tiny_kg_path), components=("sections", "sentences", "context"))


def test_pipeline_subset_of_components(tiny_kg_path):
    nlp = medlens.load(kg_path=str(tiny_kg_path), components=("sections", "sentences"))
    doc = nlp("HPI: cough.\nPLAN: rest.")
    assert [s.category for s in doc._.sections] == ["history_of_present_illness", "plan"]
    assert doc.ents == ()
