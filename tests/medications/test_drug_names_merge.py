"""Drug names with salts and forms are one entity, linked to the drug (issue 14)."""

from __future__ import annotations

import spacy
from spacy.tokens import Span

from medlens.doc import extensions
from medlens.medications.names import implied_route, merge_drug_names, name_parts_end


def test_metoprolol_succinate_is_one_drug_linked_to_metoprolol(meds_nlp):
    doc = meds_nlp("Metoprolol succinate 25 mg PO BID.")
    ents = [(e.text, e.label_) for e in doc.ents]
    assert ents == [("Metoprolol succinate", "DRUG")]
    assert doc.ents[0]._.concepts[0].concept_id == "T:M101"


def test_form_words_join_the_drug_and_keep_its_concept(meds_nlp):
    doc = meds_nlp("Albuterol inhaler 2 puffs q4h PRN wheezing.")
    drug = doc.ents[0]
    assert drug.text == "Albuterol inhaler" and drug.label_ == "DRUG"
    assert drug._.concepts[0].concept_id == "T:M102"
    assert drug._.attributes["route"].value == "INH"  # implied by the inhaler


def test_model_split_salt_is_absorbed():
    """The shipped NER model tags "Metoprolol" and "succinate" as two chemicals: the merge joins them."""
    extensions.register()
    nlp = spacy.blank("en")
    doc = nlp("Metoprolol succinate 25 mg daily and aspirin 81 mg.")
    a, b, c = Span(doc, 0, 1, label="CHEMICAL"), Span(doc, 1, 2, label="CHEMICAL"), Span(doc, 6, 7, label="DRUG")
    a._.ner_source = b._.ner_source = "model"
    merged = merge_drug_names(doc, [a, b, c], {(0, 2): ("DRUG", ("DB00264",), "dictionary")})
    assert [(e.text, e.label_) for e in merged] == [("Metoprolol succinate", "DRUG"), ("aspirin", "DRUG")]
    assert merged[0]._.match_ids == ("DB00264",) and merged[0]._.ner_source == "model"


def test_dose_numbers_are_trimmed_off_a_drug_entity():
    extensions.register()
    nlp = spacy.blank("en")
    doc = nlp("Oxycodone 1-2 tabs q4h prn pain")
    ent = Span(doc, 0, 3, label="CHEMICAL")
    assert ent.text.startswith("Oxycodone 1")
    merged = merge_drug_names(doc, [ent])
    assert [e.text for e in merged] == ["Oxycodone"]


def test_name_parts_need_to_follow_directly():
    text = "atorvastatin calcium 40 mg; aspirin, calcium carbonate"
    assert text[:name_parts_end(text, len("atorvastatin"))] == "atorvastatin calcium"
    at = text.index("aspirin") + len("aspirin")
    assert name_parts_end(text, at) == at  # a comma stands between
    assert "Tylenol #3 1 tab"[:name_parts_end("Tylenol #3 1 tab", 7)] == "Tylenol #3"
    assert implied_route("fluticasone nasal spray") == "NAS"
    assert implied_route("metoprolol") is None


def test_glargine_stays_the_graphs_entity(meds_nlp):
    doc = meds_nlp("Insulin glargine 20 units SC at bedtime.")
    drug = doc.ents[0]
    assert drug.text == "Insulin glargine" and drug._.concepts[0].concept_id == "T:M108"
    assert {k: a.value for k, a in drug._.attributes.items()} == {"dose": "20 unit", "route": "SC", "frequency": "HS"}


def test_a_status_before_a_list_of_drugs_belongs_to_each(meds_nlp):
    doc = meds_nlp("He was started on metoprolol, atorvastatin 40 mg qhs and prednisone 40 mg daily. Gabapentin was continued.")
    status = {e.text: e._.attributes["status"].value for e in doc.ents if e._.attributes and "status" in e._.attributes}
    assert status == {"metoprolol": "started", "atorvastatin": "started", "prednisone": "started", "Gabapentin": "continued"}
    doc = meds_nlp("Stopped metoprolol because of bradycardia, then amoxicillin 500 mg TID.")
    drugs = {e.text: e._.attributes for e in doc.ents if e._.attributes is not None}
    assert drugs["metoprolol"]["status"].value == "stopped" and "status" not in drugs["amoxicillin"]


def test_a_form_alone_is_no_drug_and_insulin_joins_a_brand():
    extensions.register()
    nlp = spacy.blank("en")
    doc = nlp("fluticasone 50 mcg nasal spray, Lantus insulin 50 units")
    ents = [Span(doc, 0, 1, label="CHEMICAL"), Span(doc, 3, 5, label="CHEMICAL"), Span(doc, 6, 7, label="DRUG"),
            Span(doc, 7, 8, label="CHEMICAL")]
    assert [e.text for e in ents] == ["fluticasone", "nasal spray", "Lantus", "insulin"]
    assert [e.text for e in merge_drug_names(doc, ents)] == ["fluticasone", "Lantus insulin"]


def test_a_parenthesized_second_name_leaves_the_attributes_to_the_first(meds_nlp):
    doc = meds_nlp("Metoprolol (Albuterol) 0.1 mg IV, Prednisone 5 mg daily.")
    got = {e.text: {k: a.value for k, a in e._.attributes.items()} for e in doc.ents if e._.attributes is not None}
    assert got == {"Metoprolol": {"strength": "0.1 mg", "route": "IV"}, "Albuterol": {},
                   "Prednisone": {"strength": "5 mg", "frequency": "QD"}}


def test_a_drug_entity_over_a_line_break_keeps_the_drug_line():
    """The shipped model tagged "BID\\n- Lisinopril" of a bulleted list as one chemical."""
    extensions.register()
    nlp = spacy.blank("en")
    doc = nlp("- Metformin 500 mg PO BID\n- Lisinopril 20 mg PO daily\nAspirin\n- 81 mg")
    spans = [doc.char_span(a, b, label="CHEMICAL") for a, b in ((2, 11), (22, 38), (54, 66))]
    assert [s.text for s in spans] == ["Metformin", "BID\n- Lisinopril", "Aspirin\n- 81"]
    assert [e.text for e in merge_drug_names(doc, spans)] == ["Metformin", "Lisinopril", "Aspirin"]


def test_two_drugs_joined_by_and_share_the_schedule_but_not_the_strength(meds_nlp):
    doc = meds_nlp("Prednisone and Albuterol 2 mg p.r.n., Metoprolol, Gabapentin daily.")
    got = {e.text: {k: a.value for k, a in e._.attributes.items()} for e in doc.ents if e._.attributes is not None}
    assert got == {"Prednisone": {"frequency": "PRN"}, "Albuterol": {"strength": "2 mg", "frequency": "PRN"},
                   "Metoprolol": {}, "Gabapentin": {"frequency": "QD"}}


def test_a_status_after_two_drugs_belongs_to_both(meds_nlp):
    doc = meds_nlp("Her Prednisone and Gabapentin are on hold.")
    got = {e.text: {k: a.value for k, a in e._.attributes.items()} for e in doc.ents if e._.attributes is not None}
    assert got == {"Prednisone": {"status": "held"}, "Gabapentin": {"status": "held"}}
