"""How the model's DISEASE and CHEMICAL entities of real notes are read against the graph and the note
(issue 11, fourth round): procedures named by a link, "<finding> of <place>", organs whose "-itis" is a
disease, unlinked diseases of an exam, spinal levels, the organ's adjective before an operation, words
that name nothing in an operative note."""

from __future__ import annotations

import pytest
import spacy

from medlens.components.linker import EntityLinker
from medlens.doc import extensions
from tests.conftest import linked_labels, mini_graph_linker, sectioned_model_doc


@pytest.fixture(scope="module")
def mini_linker(tmp_path_factory):
    from medlens.kg.sources.base import Concept, Synonym

    concepts = [Concept("X:1", "Joint injection", "x", "PROCEDURE"), Concept("X:2", "Deformity", "x", "FINDING"),
                Concept("X:3", "Congenital deformity", "x", "DISEASE"), Concept("X:4", "Epiglottitis", "x", "DISEASE"),
                Concept("X:5", "Pharyngitis", "x", "DISEASE"), Concept("X:6", "Carcinoma", "x", "DISEASE"),
                Concept("X:7", "Potassium", "x", "PROCEDURE")]
    synonyms = [Synonym("X:1", "steroid injection", "synonym", "x")]
    with mini_graph_linker(tmp_path_factory.mktemp("kg") / "mini.sqlite", concepts, synonyms) as linker:
        yield linker


def _doc(text: str, spans: list[tuple[str, str]], section: str = "procedures"):
    return sectioned_model_doc(text, spans, section)


def test_model_name_of_several_words_linked_to_a_procedure_is_a_procedure(mini_linker):
    doc = _doc("L3-L5 epidural steroid injection. Potassium given.", [("steroid injection", "CHEMICAL"), ("Potassium", "CHEMICAL")])
    # one word is not enough ("potassium" is a drug and a test)
    assert linked_labels(mini_linker, doc) == [("steroid injection", "PROCEDURE", "X:1"), ("Potassium", "CHEMICAL", "X:7")]


def test_model_finding_of_a_place_takes_the_finding_label_and_link(mini_linker):
    doc = _doc("No deformity of the ears and nose. Carcinoma of the lung.",
               [("deformity of the ears and nose", "DISEASE"), ("Carcinoma of the lung", "DISEASE")], "physical_exam")
    # keep_kind (the default): the word before "of" alone would drop the place, so no link rather than a broader one
    assert linked_labels(mini_linker, doc) == [("deformity of the ears and nose", "FINDING", None),
                                               ("Carcinoma of the lung", "DISEASE", None)]
    mini_linker.keep_kind = False
    try:
        assert linked_labels(mini_linker, doc) == [("deformity of the ears and nose", "FINDING", "X:2"),
                                                   ("Carcinoma of the lung", "DISEASE", "X:6")]
    finally:
        mini_linker.keep_kind = True


def test_model_organ_whose_inflammation_is_a_disease_is_anatomy(mini_linker):
    doc = _doc("Short epiglottis. Oral cavity, hypopharynx and larynx normal. Epiglottitis.",
               [("epiglottis", "DISEASE"), ("hypopharynx", "CHEMICAL"), ("Epiglottitis", "DISEASE")])
    # not fuzzy-linked to epiglottitis; the disease itself stays a disease
    assert not mini_linker._names_organ_of_inflammation("pharyngosis")  # a condition ("-osis"), not an organ
    assert not mini_linker._names_organ_of_inflammation("europharynx")  # "euro" is no place before an organ
    assert linked_labels(mini_linker, doc) == [("epiglottis", "ANATOMY", None), ("hypopharynx", "ANATOMY", None),
                                         ("Epiglottitis", "DISEASE", "X:4")]


def test_model_unlinked_disease_of_an_exam_is_a_finding(mini_linker):
    text = "HEENT: Head is normocephalic and atraumatic."
    exam = _doc(text, [("normocephalic", "DISEASE")], "physical_exam")
    assert linked_labels(mini_linker, exam) == [("normocephalic", "FINDING", None)]
    history = _doc(text, [("normocephalic", "DISEASE")], "history_of_present_illness")
    assert linked_labels(mini_linker, history) == [("normocephalic", "DISEASE", None)]
    # named like a disease: stays one
    named = _doc("GU: Peyronie's. Thought disorder noted.", [("Peyronie's", "DISEASE"), ("Thought disorder", "DISEASE")],
                 "physical_exam")
    assert [label for _, label, _ in linked_labels(mini_linker, named)] == ["DISEASE", "DISEASE"]


def test_model_relabels_are_off_with_label_from_link(tmp_path_factory, mini_linker):
    off = EntityLinker.from_kg(mini_linker.kg, nlp=spacy.blank("en"), label_from_link=False)
    doc = _doc("Short epiglottis, normocephalic.", [("epiglottis", "DISEASE"), ("normocephalic", "DISEASE")], "physical_exam")
    assert [e.label_ for e in off(doc).ents] == ["DISEASE", "DISEASE"]


def test_model_label_of_a_spinal_level_is_anatomy():
    from medlens.components.transformer_ner import model_label, procedure_endings

    endings = procedure_endings()
    for text in ("L3-L5", "C5-6", "T12", "L5-S1"):
        assert model_label(text, "CHEMICAL", endings) == "ANATOMY", text
    assert model_label("LDL", "CHEMICAL", endings) == "CHEMICAL"
    assert model_label("L-dopa", "CHEMICAL", endings) == "CHEMICAL"


def test_model_adjective_before_an_operation_joins_it():
    from medlens.components.transformer_ner import procedure_endings, with_procedure_word

    endings = procedure_endings()
    text = "cadaveric renal transplant in 1996, aneurysm repair, renal failure"
    a = text.index("renal")
    assert text[a:with_procedure_word(text, a, a + 5, endings)] == "renal transplant"
    b = text.index("aneurysm")  # a noun: the disease keeps its span
    assert with_procedure_word(text, b, b + 8, endings) == b + 8
    c = text.rindex("renal")
    assert with_procedure_word(text, c, c + 5, endings) == c + 5


def test_section_not_entities_of_operative_notes():
    from medlens.components.transformer_ner import not_entities, section_not_entities

    words = section_not_entities()
    assert "wound" in words["procedures"] and "wound" not in words.get("history_of_present_illness", ())
    assert {"cannulas", "trocar", "signs and symptoms", "recurrence"} <= not_entities()


class _WordTagger:
    """Tags given words with given labels wherever they occur (a test double of OnnxTagger)."""

    labels = ["O", "B-CHEMICAL", "I-CHEMICAL", "B-DISEASE", "I-DISEASE"]

    def __init__(self, words: dict[str, str]) -> None:
        self.words = words

    def entities(self, texts, batch_size=32, abbreviations=False):
        import re

        from medlens.components.transformer_ner import CharEntity

        return [[CharEntity(label, m.start(), m.end()) for word, label in self.words.items()
                 for m in re.finditer(re.escape(word), t)] for t in texts]


def test_recognizer_drops_operative_words_and_joins_the_operation():
    import medlens.components.sections  # noqa: F401
    from medlens.components.transformer_ner import TransformerRecognizer

    extensions.register()
    nlp = spacy.blank("en")
    sections = nlp.add_pipe("medlens_sections")
    rec = TransformerRecognizer(nlp, tagger=_WordTagger({"wound": "DISEASE", "renal": "DISEASE", "L4-L5": "CHEMICAL"}))
    text = "HISTORY:  Gunshot wound, renal transplant in 1996.  PROCEDURE:  L4-L5 injection.  The wound was irrigated."
    doc = rec(sections(nlp.make_doc(text)))
    assert [(e.text, e.label_) for e in doc.ents] == [("wound", "DISEASE"), ("renal transplant", "PROCEDURE"),
                                                      ("L4-L5", "ANATOMY")]


def test_model_disease_before_a_vaccine_word_is_a_drug():
    from medlens.components.transformer_ner import next_word_labels, with_next_word

    words = next_word_labels()
    text = "tetanus booster in 2010, HIV testing negative, hepatitis B."
    a = text.index("tetanus")
    assert with_next_word(text, a, a + 7, words) == (a + len("tetanus booster"), "DRUG")
    b = text.index("HIV")  # a test is not negated by "never had" (context rules): left as it is
    assert with_next_word(text, b, b + 3, words) == (b + 3, None)
    c = text.index("hepatitis B")
    assert with_next_word(text, c, c + len("hepatitis B"), words) == (c + len("hepatitis B"), None)


def test_model_plural_the_keys_do_not_fold_takes_the_finding_label(tmp_path):
    from medlens.kg.sources.base import Concept

    with mini_graph_linker(tmp_path / "p.sqlite", [Concept("X:1", "Hypopnea", "x", "FINDING")]) as linker:
        doc = _doc("109 apneas and 197 hypopneas. Hypopnoeaz.", [("hypopneas", "DISEASE"), ("Hypopnoeaz", "DISEASE")])
        # a typo-level fuzzy link is not enough; a plural "s" the keys do not fold is
        assert linked_labels(linker, doc) == [("hypopneas", "FINDING", "X:1"), ("Hypopnoeaz", "DISEASE", "X:1")]


def test_recognizer_drops_a_device_name():
    from medlens.components.transformer_ner import TransformerRecognizer, device_words

    assert {"catheter", "stent"} <= device_words() and "injection" not in device_words()
    extensions.register()
    nlp = spacy.blank("en")
    rec = TransformerRecognizer(nlp, tagger=_WordTagger({"Yueh": "CHEMICAL", "Marcaine": "CHEMICAL"}))
    doc = rec(nlp.make_doc("A 5-French Yueh catheter was placed and 5 cc of Marcaine was injected."))
    assert [(e.text, e.label_) for e in doc.ents] == [("Marcaine", "CHEMICAL")]
