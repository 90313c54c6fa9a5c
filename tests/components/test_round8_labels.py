"""Issue 11, eighth round: a complaint or sign named before a preposition of place ("pain in the back") is a
SYMPTOM or FINDING, not a DISEASE; a word in small letters that is only the plural-folded key of an acronym
("hard" of "HARDS") is no entity. Sentences written for these tests."""

from __future__ import annotations

import spacy
import pytest

from tests.conftest import linked_labels, mini_graph_linker, sectioned_model_doc


@pytest.fixture(scope="module")
def linker(tmp_path_factory):
    from medlens.kg.sources.base import Concept

    concepts = [Concept("X:1", "Pain", "x", "SYMPTOM"), Concept("X:2", "Carcinoma", "x", "DISEASE")]
    with mini_graph_linker(tmp_path_factory.mktemp("kg") / "mini.sqlite", concepts) as linker:
        yield linker


def test_the_head_before_a_preposition_of_place_names_a_complaint(linker):
    text = "She has pain in her back and hips.  Choking in the neck.  Visual complaints.  Uterus enlargement."
    got = linked_labels(linker, sectioned_model_doc(text, [("pain in her back and hips", "DISEASE"),
                                                           ("Visual complaints", "DISEASE"),
                                                           ("Uterus enlargement", "DISEASE")],
                                                    "history_of_present_illness"))
    assert [(t, lab) for t, lab, _ in got] == [("pain in her back and hips", "SYMPTOM"),
                                              ("Visual complaints", "SYMPTOM"), ("Uterus enlargement", "FINDING")]
    assert [c for _, _, c in got] == [None, None, None]  # the place is not dropped: no link to bare Pain


def test_a_disease_before_a_preposition_stays_a_disease(linker):
    got = linked_labels(linker, sectioned_model_doc("Carcinoma in situ of the cervix.",
                                                    [("Carcinoma in situ of the cervix", "DISEASE")], "history"))
    assert got[0][1] == "DISEASE"


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory):
    from medlens.components.dictionary_ner import DictionaryRecognizer
    from medlens.doc import extensions
    from medlens.kg.build import build_graph
    from medlens.kg.sources.base import Concept, SourceData, SourceInfo, Synonym
    from medlens.kg.store import KnowledgeGraph

    concepts = [Concept("X:1", "Hantavirus Pulmonary Syndrome", "x", "DISEASE"),
                Concept("X:2", "Nodule", "x", "FINDING")]
    syns = [Synonym("X:1", "Hantavirus Pulmonary Syndrome", "preferred", "x"), Synonym("X:1", "hards", "exact", "x"),
            Synonym("X:1", "HARDS", "mention", "x"), Synonym("X:2", "Nodule", "preferred", "x"),
            Synonym("X:2", "nodules", "exact", "x")]
    path = tmp_path_factory.mktemp("kg") / "acr.sqlite"
    build_graph(path, sources=(), extra=[SourceData(SourceInfo("x", "1", "x", "CC0", "test"), concepts, syns, [])])
    extensions.register()
    with KnowledgeGraph.open(path) as kg:
        nlp = spacy.blank("en")
        yield nlp, DictionaryRecognizer(nlp, kg=kg)


def test_a_word_that_is_only_an_acronyms_folded_plural_is_no_entity(recognizer):
    nlp, rec = recognizer
    doc = rec(nlp.make_doc("He works hard.  A nodule.  HARDS in 1999.  Hantavirus pulmonary syndrome."))
    assert [e.text for e in doc.ents] == ["nodule", "HARDS", "Hantavirus pulmonary syndrome"]
