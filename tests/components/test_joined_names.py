"""An entity and the word or entity right after it can be one entity of another kind (issue 11, fifth
round): "thyroid problem", "oxygen desaturation", "bicarbonate solution", an adjective the model cut off
a disease name ("Obstructive" + "sleep apnea"); unlinked sensations ("aching") are symptoms, and an
unlinked model disease among an operation's findings is a finding. Sentences written for these tests."""

from __future__ import annotations

import pytest

from tests.conftest import linked_labels, mini_graph_linker, sectioned_model_doc


@pytest.fixture(scope="module")
def linker(tmp_path_factory):
    from medlens.kg.sources.base import Concept, Synonym

    concepts = [Concept("X:1", "Thyroid", "x", "ANATOMY"), Concept("X:2", "Thyroid disease", "x", "DISEASE"),
                Concept("X:3", "Sleep apnea", "x", "DISEASE"), Concept("X:4", "Obstructive sleep apnea", "x", "DISEASE"),
                Concept("X:5", "Oxygen", "x", "DRUG"), Concept("X:6", "Central sleep apnea", "x", "DISEASE")]
    synonyms = [Synonym("X:2", "thyroid problem", "synonym", "x")]
    with mini_graph_linker(tmp_path_factory.mktemp("kg") / "mini.sqlite", concepts, synonyms) as linker:
        yield linker


def _labels(linker, text: str, spans: list[tuple[str, str]], section: str = "history_of_present_illness"):
    return linked_labels(linker, sectioned_model_doc(text, spans, section))


def test_an_organ_and_problem_is_a_disease(linker):
    assert _labels(linker, "She saw a specialist for a thyroid problem.", [("thyroid", "ANATOMY")]) == [
        ("thyroid problem", "DISEASE", "X:2")]


def test_a_drug_and_desaturation_is_a_finding_and_a_solution_is_a_drug(linker):
    got = _labels(linker, "Oxygen desaturation to 85%.  Hydrated with bicarbonate solution.",
                  [("Oxygen", "DRUG"), ("bicarbonate", "TEST")])
    assert [g[:2] for g in got] == [("Oxygen desaturation", "FINDING"), ("bicarbonate solution", "DRUG")]


def test_an_adjective_cut_off_a_disease_joins_it(linker):
    got = _labels(linker, "Obstructive sleep apnea with loud snoring.", [("Obstructive", "DISEASE"), ("sleep apnea", "DISEASE")])
    assert got == [("Obstructive sleep apnea", "DISEASE", "X:4")]
    # a noun before a disease is an entity of its own
    got = _labels(linker, "Oxygen sleep apnea study.", [("Oxygen", "DRUG"), ("sleep apnea", "DISEASE")])
    assert [g[0] for g in got] == ["Oxygen", "sleep apnea"]


def test_an_unlinked_sensation_is_a_symptom(linker):
    assert _labels(linker, "She describes a deep aching in the hip.", [("aching", "DISEASE")]) == [
        ("aching", "SYMPTOM", None)]


def test_an_unlinked_model_disease_among_operative_findings_is_a_finding(linker):
    got = _labels(linker, "There was no evidence of impingement of the nerve root.", [("impingement", "DISEASE")],
                  "procedures")
    assert got == [("impingement", "FINDING", None)]


@pytest.mark.parametrize("text, expected", [
    ("Chondroplasty of the left knee", "PROCEDURE"),
    ("bilateral foraminotomies", "PROCEDURE"),
    ("carcinoma of the lung", "DISEASE"),
])
def test_a_procedure_named_before_of_or_in_the_plural(text, expected):
    from medlens.components.transformer_ner import model_label, procedure_endings

    assert model_label(text, "DISEASE", procedure_endings()) == expected


def test_an_unlinked_model_disease_named_like_a_structure_is_anatomy(linker):
    got = _labels(linker, "The uterosacral ligament was transfixed to the cuff.", [("uterosacral ligament", "DISEASE")],
                  "procedures")
    assert got == [("uterosacral ligament", "ANATOMY", None)]


def test_outside_a_sectioned_note_an_adjective_is_not_joined(linker):
    # an abstract's "bilateral breast cancer": the corpora annotate the disease without its modifier
    got = _labels(linker, "Obstructive sleep apnea in adults.", [("Obstructive", "DISEASE"), ("sleep apnea", "DISEASE")],
                  "unknown")
    assert [g[0] for g in got] == ["Obstructive", "sleep apnea"]
