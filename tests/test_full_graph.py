"""The default pipeline over the real default knowledge graph (built by `make test`).

Skips, with a message, when the graph has not been built (`medlens kg build`).
"""

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def full_nlp(full_kg_path):
    import medlens

    return medlens.load(kg_path=str(full_kg_path))


@pytest.fixture(scope="module")
def full_kg(full_kg_path):
    from medlens.kg.store import KnowledgeGraph

    with KnowledgeGraph.open(full_kg_path) as kg:
        yield kg


def ents(nlp, text):
    return {e.text: e for e in nlp(text).ents}


def test_full_graph_sources_and_sizes(full_kg, full_kg_path):
    stats = full_kg.stats()
    assert {"icd10cm", "hpo", "omim", "orphanet", "mesh", "drugs", "medlens"} <= set(stats)
    assert stats["icd10cm"]["concepts"] > 40_000 and stats["hpo"]["concepts"] > 15_000
    assert stats["drugs"]["concepts"] > 15_000 and stats["mesh"]["concepts"] > 5_000
    assert full_kg_path.stat().st_size < 300e6
    assert all(s.version for s in full_kg.sources())


def test_full_graph_api_on_real_concepts(full_kg):
    e11 = full_kg.get("ICD10CM:E11.9")
    assert "Type 2 diabetes mellitus" in {s.text for s in full_kg.synonyms(e11.id)}
    assert full_kg.parents("ICD10CM:E11.9") == ["ICD10CM:E11"]
    assert full_kg.get("HP:0001945").label == "SYMPTOM"
    assert "HP:0000118" in full_kg.ancestors("HP:0001945")
    pheno = full_kg.relations("ORPHA:558", predicate="has_phenotype")  # Marfan syndrome
    assert len(pheno) > 20 and any(r.attrs.get("frequency") for r in pheno)
    assert full_kg.search("diabetis melitus type 2", limit=3)[0].matched.lower() == "diabetes mellitus type 2"


def test_full_graph_clinical_abbreviations_resolve(full_nlp):
    found = ents(full_nlp, "PMH: HTN, DM2, CHF and COPD. s/p CVA.")
    top = {t: e._.concepts[0].concept_id for t, e in found.items()}
    assert top["HTN"] == "ICD10CM:I10"
    assert top["DM2"] == "ICD10CM:E11"
    assert top["CHF"].startswith("ICD10CM:I50")
    # MeSH lists "COPD" itself as a synonym (exact), the ICD code comes through the abbreviation
    assert any(c.concept_id.startswith("ICD10CM:J44") for c in found["COPD"]._.concepts)
    assert "CVA" in found and all(e._.is_historical for e in found.values())


def test_full_graph_classic_assertion_cases(full_nlp):
    cases = {
        "The patient denies chest pain or shortness of breath.": {"chest pain": "negated", "shortness of breath": "negated"},
        "No evidence of pneumonia but there is a pleural effusion.": {"pneumonia": "negated", "pleural effusion": "present"},
        "Admitted to rule out MI.": {"MI": "uncertain"},
        "Mother had breast cancer.": {"breast cancer": "family"},
        "History of stroke.": {"stroke": "historical"},
        "Return if fever develops.": {"fever": "hypothetical"},
        "Urine culture is negative for E. coli.": {},
    }
    for text, expected in cases.items():
        got = {t: e._.assertion.status for t, e in ents(full_nlp, text).items()}
        for mention, status in expected.items():
            assert got.get(mention) == status, (text, got)


def test_full_graph_drugs_link_to_drugbank(full_nlp):
    found = ents(full_nlp, "Metformin 500 mg PO BID and aspirin 81 mg daily; started lisinopril.")
    assert {t: e._.concepts[0].concept_id for t, e in found.items() if e.label_ == "DRUG"} == {
        "Metformin": "DB00331", "aspirin": "DB00945", "lisinopril": "DB00722"}


def test_full_graph_section_headers_are_not_entities(full_nlp):
    doc = full_nlp("HISTORY OF PRESENT ILLNESS: cough.\nALLERGIES: penicillin.")
    assert [e.text for e in doc.ents] == ["cough", "penicillin"]


def test_full_graph_example_notes(full_nlp):
    notes = sorted(EXAMPLES.glob("*.txt"))
    assert len(notes) >= 5
    for note in notes:
        doc = full_nlp(note.read_text())
        assert len(doc.ents) >= 10, note.name
        # what the dictionary found is linked; the model may find names the graph does not hold
        assert all(e._.concepts for e in doc.ents if e._.ner_source == "dictionary"), note.name
        linked = sum(bool(e._.concepts) for e in doc.ents)
        assert linked >= 0.7 * len(doc.ents), (note.name, [e.text for e in doc.ents if not e._.concepts])


def test_brand_names_link_to_their_generics(full_nlp, full_kg):
    found = ents(full_nlp, "MEDICATIONS: Versed 2 mg IV, Percocet 5/325 mg 1 tab q6h prn, Augmentin 875 mg PO BID, "
                           "Kaletra 2 tablets BID.")
    ids = {t: e._.concepts[0].concept_id for t, e in found.items() if e._.concepts}
    assert ids.get("Versed") == "DB00683"  # midazolam
    assert ids.get("Percocet") == "COMBO:DB00316+DB00497"  # acetaminophen + oxycodone
    assert ids.get("Augmentin") == "COMBO:DB00766+DB01060"
    assert ids.get("Kaletra") == "COMBO:DB00503+DB01601"
    assert found["Augmentin"]._.attributes["route"].value == "PO"
    assert {r.object for r in full_kg.relations("COMBO:DB00503+DB01601", "has_ingredient")} == {"DB00503", "DB01601"}


def test_full_graph_real_note_words_round3(full_nlp):
    """Issue 11, third round: curated anatomy, signs and newborn measurements; words that are no entity."""
    found = ents(full_nlp, "Apgars were 8 and 9. Birth weight 3.2 kg. TMs are clear. No carotid bruits. "
                           "The ACL was intact. The leg was wrapped in Esmarch. He is in no acute disease. "
                           "There is some inflammation and necrosis.")
    assert found["Apgars"].label_ == "TEST" and found["Birth weight"].label_ == "TEST"
    assert found["TMs"].label_ == "ANATOMY" and found["ACL"].label_ == "ANATOMY"
    assert found["carotid bruits"].label_ == "FINDING" and found["carotid bruits"]._.is_negated
    assert "Esmarch" not in found and "acute disease" not in found
    assert found["inflammation"].label_ == "FINDING" and found["necrosis"].label_ == "FINDING"
    found = ents(full_nlp, "The back was prepped with Betadine. ABDOMEN: Positive bowel sounds. No focal sensory deficits.")
    assert found["Betadine"]._.concepts[0].name == "Povidone-iodine"  # was betaine, a one-letter fuzzy match
    assert found["bowel sounds"].label_ == "FINDING" and found["sensory deficits"]._.is_negated


def _after_dictionary(nlp, text, model_spans):
    """``text`` through the pipeline up to the dictionary recognizer, with ``model_spans`` (words, label)
    standing for the transformer's entities."""
    from tests.conftest import set_model_spans

    doc = nlp.make_doc(text)
    for name in ("medlens_sections", "medlens_sentences"):
        doc = nlp.get_pipe(name)(doc)
    return nlp.get_pipe("medlens_dictionary_ner")(set_model_spans(doc, model_spans))


def test_full_graph_model_span_ending_in_a_body_part_is_anatomy(full_nlp):
    doc = _after_dictionary(full_nlp, "Osteomyelitis of left distal fifth metatarsal bone. Carcinoma of the lung.",
                            [("left distal fifth metatarsal bone", "DISEASE"), ("Carcinoma of the lung", "DISEASE")])
    assert [(e.text, e.label_) for e in doc.ents if e._.ner_source == "model"] == [
        ("left distal fifth metatarsal bone", "ANATOMY"), ("Carcinoma of the lung", "DISEASE")]


def test_full_graph_lab_analyte_trimmed_of_its_value_is_a_test(full_nlp):
    doc = _after_dictionary(full_nlp, "LABS: Sodium 135, potassium 5, BUN 6.", [("potassium 5", "CHEMICAL")])
    assert ("potassium", "TEST") in [(e.text, e.label_) for e in doc.ents]
    found = ents(full_nlp, "MEDICATIONS: Metoprolol succinate 25 mg PO daily.")
    assert found["Metoprolol succinate"].label_ == "DRUG"


def test_full_graph_disease_name_around_a_model_word_that_names_nothing(full_nlp):
    doc = _after_dictionary(full_nlp, "Chest x-ray: No pleural effusion. History of essential tremor.",
                            [("pleural", "DISEASE"), ("tremor", "DISEASE")])
    texts = {e.text: e.label_ for e in doc.ents}
    assert texts.get("pleural effusion") == "DISEASE" and "pleural" not in texts
    # a model word the graph knows on its own keeps the model's boundaries (as on NCBI/BC5CDR)
    assert "tremor" in texts and "essential tremor" not in texts


def test_full_graph_ecg_finding_around_the_model_fragments(full_nlp):
    # the model cut "ST depression" into "ST" and a "depression" (a mood disorder); the graph knows the ECG finding
    doc = _after_dictionary(full_nlp, "No significant ST elevation and ST depression noted in one channel.",
                            [("ST", "DISEASE"), ("depression", "DISEASE")])
    assert [(e.text, e.label_) for e in doc.ents] == [("ST elevation", "FINDING"), ("ST depression", "FINDING")]


def test_full_graph_renal_transplant_is_a_procedure(full_nlp):
    found = ents(full_nlp, "PAST SURGICAL HISTORY: Cadaveric renal transplant in 1996.")
    assert found["renal transplant"].label_ == "PROCEDURE"


def test_full_graph_exam_anatomy(full_nlp):
    # the exam's places, which the model (trained on diseases and chemicals) calls diseases
    doc = _after_dictionary(full_nlp, "Sclerae anicteric. Tonsils not enlarged. Nasal mucosa pale. Uvula midline.",
                            [("Sclerae", "DISEASE"), ("Nasal mucosa", "DISEASE")])
    assert {e.text: e.label_ for e in doc.ents} == {"Sclerae": "ANATOMY", "Tonsils": "ANATOMY",
                                                     "Nasal mucosa": "ANATOMY", "Uvula": "ANATOMY"}
