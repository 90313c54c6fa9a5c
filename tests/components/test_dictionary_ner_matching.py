import pytest
import spacy
from spacy.tokens import Span

from medlens.components.dictionary_ner import DictionaryRecognizer
from medlens.doc import extensions


@pytest.fixture(scope="module")
def recognizer(tiny_kg):
    extensions.register()
    nlp = spacy.blank("en")
    return nlp, DictionaryRecognizer(nlp, kg=tiny_kg)


def ents(recognizer, text):
    nlp, rec = recognizer
    doc = rec(nlp.make_doc(text))
    return [(e.text, e.label_, e._.match_ids) for e in doc.ents]


def test_dictionary_ner_longest_match_wins(recognizer):
    assert ents(recognizer, "Known type-2 diabetes mellitus.") == [("type-2 diabetes mellitus", "DISEASE", ("T:D002",))]


def test_dictionary_ner_plural_possessive_and_case_variants(recognizer):
    found = ents(recognizer, "Had SEIZURES and Parkinson's disease; also Parkinson disease.")
    assert [f[0] for f in found] == ["SEIZURES", "Parkinson's disease", "Parkinson disease"]
    assert found[0][2] == ("T:S008",) and found[1][2] == found[2][2] == ("T:D011",)


def test_dictionary_ner_only_whole_tokens(recognizer):
    assert ents(recognizer, "prehypertension and feverish") == []


def test_dictionary_ner_abbreviation_resolves_and_respects_case(recognizer):
    found = ents(recognizer, "History of MI and CHF. Walked 5 mi today.")
    assert [(t, ids[0]) for t, _, ids in found] == [("MI", "T:D004"), ("CHF", "T:D009")]


def test_dictionary_ner_other_label_concepts_are_not_matched(recognizer):
    # "Disease" is an OTHER concept in the fixture graph
    assert ents(recognizer, "Disease") == []


def test_dictionary_ner_labels_filter(tiny_kg):
    nlp = spacy.blank("en")
    rec = DictionaryRecognizer(nlp, kg=tiny_kg, labels=["DRUG"])
    doc = rec(nlp.make_doc("Fever treated with aspirin and Lantus."))
    assert [(e.text, e.label_) for e in doc.ents] == [("aspirin", "DRUG"), ("Lantus", "DRUG")]


def test_dictionary_ner_unknown_label_is_a_clear_error(tiny_kg):
    from medlens.errors import ConfigError

    with pytest.raises(ConfigError, match="Unknown label 'DRUGS'. Accepted labels: DISEASE"):
        DictionaryRecognizer(spacy.blank("en"), kg=tiny_kg, labels=["DRUGS"])


def test_dictionary_ner_keeps_existing_entities_by_default(recognizer):
    nlp, rec = recognizer
    doc = nlp.make_doc("Acute chest pain today")
    doc.ents = [Span(doc, 0, 2, label="MODEL")]
    rec(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("Acute chest", "MODEL")]


def test_dictionary_ner_predict_is_pure(recognizer):
    nlp, rec = recognizer
    doc = nlp.make_doc("fever and cough")
    matches = rec.predict(doc)
    assert len(matches) == 2 and doc.ents == ()


def test_dictionary_ner_skips_section_headers(rules_nlp):
    # "ILLNESS" and "ALLERGIES" name sections here, not findings; the body is matched
    doc = rules_nlp("HISTORY OF PRESENT ILLNESS: cough\nALLERGIES:\npenicillin allergy\nPlan: aspirin")
    assert [(e.text, e._.section) for e in doc.ents] == [("cough", "history_of_present_illness"), ("aspirin", "plan")]


def test_dictionary_ner_document_defined_abbreviations(recognizer):
    found = ents(recognizer, "Breast cancer (BC) is common. BC screening; bc no.")
    assert [(t, ids) for t, _, ids in found] == [
        ("Breast cancer", ("T:D007",)), ("BC", ("T:D007",)), ("BC", ("T:D007",))]
    # a short form that does not fit its long form is not taken as a definition
    assert [t for t, _, _ in ents(recognizer, "Fever (XYZ) again. XYZ.")] == ["Fever"]


def test_dictionary_ner_local_abbreviations_can_be_turned_off(tiny_kg):
    nlp = spacy.blank("en")
    rec = DictionaryRecognizer(nlp, kg=tiny_kg, local_abbreviations=False)
    doc = rec(nlp.make_doc("Breast cancer (BC). BC again."))
    assert [e.text for e in doc.ents] == ["Breast cancer"]


def test_dictionary_ner_enriches_a_model_entity_with_the_same_boundaries(recognizer):
    nlp, rec = recognizer
    doc = nlp.make_doc("Started aspirin for chest pain")
    model = Span(doc, 1, 2, label="CHEMICAL")
    model._.ner_source = "model"
    doc.ents = [model]
    rec(doc)
    got = [(e.text, e.label_, e._.ner_source, e._.match_ids) for e in doc.ents]
    assert got == [("aspirin", "DRUG", "model", ("T:M002",)), ("chest pain", "SYMPTOM", "dictionary", ("T:S001",))]


def test_dictionary_ner_model_modifier_joins_the_symptom_after_it(recognizer):
    # the model (trained on disease names) tags "substernal" alone; the graph knows "chest pain"
    nlp, rec = recognizer
    doc = nlp.make_doc("He has substernal chest pain.")
    model_span = Span(doc, 2, 3, label="DISEASE")
    model_span._.ner_source = "model"
    doc.ents = [model_span]
    doc = rec(doc)
    assert [(e.text, e.label_, e._.match_ids, e._.matched_form) for e in doc.ents] == [
        ("substernal chest pain", "SYMPTOM", ("T:S001",), "modifier")]


def test_dictionary_ner_modifier_not_joined_across_punctuation_or_to_diseases(recognizer):
    nlp, rec = recognizer
    doc = nlp.make_doc("Severe, chest pain and acute pneumonia.")
    doc.ents = [Span(doc, 0, 1, label="DISEASE"), Span(doc, 5, 6, label="DISEASE")]
    doc = rec(doc)
    assert [e.text for e in doc.ents] == ["Severe", "chest pain", "acute", "pneumonia"]


def test_dictionary_ner_test_name_around_a_model_chemical_wins(recognizer):
    # "oxygen saturation" around the model's CHEMICAL "oxygen"; here "complete blood count" around "blood"
    nlp, rec = recognizer
    doc = nlp.make_doc("Complete blood count pending.")
    doc.ents = [Span(doc, 1, 2, label="CHEMICAL")]
    doc = rec(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("Complete blood count", "TEST")]


def test_dictionary_ner_model_disease_ending_in_a_known_symptom_is_a_symptom(recognizer):
    # the model tags "left chest pain" DISEASE; its head is the graph's symptom "chest pain"
    nlp, rec = recognizer
    doc = nlp.make_doc("He has left chest pain and severe pleural effusion, ST chest pain.")
    spans = [Span(doc, 2, 5, label="DISEASE"), Span(doc, 6, 9, label="DISEASE"), Span(doc, 10, 13, label="DISEASE")]
    for s in spans:
        s._.ner_source = "model"
    doc.ents = spans
    doc = rec(doc)
    assert [(e.text, e.label_, e._.ner_source) for e in doc.ents] == [
        ("left chest pain", "SYMPTOM", "model"),  # boundaries kept, the head's label
        ("severe pleural effusion", "DISEASE", "model"),  # the head is a disease: unchanged
        ("ST chest pain", "DISEASE", "model")]  # an acronym before the head is no qualifier
