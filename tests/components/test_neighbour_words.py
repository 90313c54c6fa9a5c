"""The words around an entity tell what it is (issue 11, fifth round): part of a person's or an
institution's name, an organ naming a device, the substance or organ a test's name begins with,
a disease whose last word names a sign. Sentences written for these tests."""

from __future__ import annotations

import pytest

from tests.conftest import linked_labels, mini_graph_linker, sectioned_model_doc


@pytest.fixture(scope="module")
def linker(tmp_path_factory):
    from medlens.kg.sources.base import Concept

    concepts = [Concept("X:1", "Lithium level", "x", "TEST"), Concept("X:2", "Boutonniere deformity", "x", "DISEASE"),
                Concept("X:3", "Lithium", "x", "DRUG"), Concept("X:4", "Chest", "x", "ANATOMY"),
                Concept("X:5", "Gout", "x", "DISEASE")]
    with mini_graph_linker(tmp_path_factory.mktemp("kg") / "mini.sqlite", concepts) as linker:
        yield linker


def _labels(linker, text: str, spans: list[tuple[str, str]], section: str = "history_of_present_illness"):
    return linked_labels(linker, sectioned_model_doc(text, spans, section))


def test_names_of_people_and_institutions_are_no_entities(linker):
    text = "She was seen by Dr. Gout at the Lithium Hospital and later at Chest Medical Center for gout."
    assert _labels(linker, text, [("Gout", "DISEASE"), ("Lithium", "CHEMICAL"), ("Chest", "ANATOMY"),
                                  ("gout", "DISEASE")]) == [("gout", "DISEASE", "X:5")]


def test_lowercase_words_before_an_institution_word_stay(linker):
    assert _labels(linker, "Gout brought her to the hospital.", [("Gout", "DISEASE")]) == [("Gout", "DISEASE", "X:5")]


def test_a_substance_before_a_test_head_is_the_test(linker):
    text = "Her lithium level was 1.1.  Lithium was continued."
    assert _labels(linker, text, [("lithium", "CHEMICAL"), ("Lithium", "CHEMICAL")]) == [
        ("lithium level", "TEST", "X:1"), ("Lithium", "CHEMICAL", "X:3")]


def test_a_named_scale_is_a_test_and_an_organ_with_a_word_between(linker):
    text = "Pain Analog Scale 6.  Chest wall profile.  At the chest level."
    got = _labels(linker, text, [("Pain", "SYMPTOM"), ("Chest", "ANATOMY"), ("chest", "ANATOMY")])
    assert got == [("Pain Analog Scale", "TEST", None), ("Chest wall profile", "TEST", None), ("chest", "ANATOMY", "X:4")]


def test_a_symptom_before_a_lowercase_head_stays(linker):
    assert _labels(linker, "Pain level 4.", [("Pain", "SYMPTOM")])[0][:2] == ("Pain", "SYMPTOM")


def test_an_organ_before_a_device_word_is_no_entity(linker):
    text = "A chest drain was left.  Chest was clear."
    assert _labels(linker, text, [("chest", "ANATOMY"), ("Chest", "ANATOMY")]) == [("Chest", "ANATOMY", "X:4")]


def test_a_disease_named_by_a_sign_is_a_finding(linker):
    got = _labels(linker, "Boutonniere deformity of the left index finger.", [("Boutonniere deformity", "DISEASE")],
                  "physical_exam")
    assert got == [("Boutonniere deformity", "FINDING", "X:2")]


def test_a_disease_before_level_is_a_place_not_a_test(linker):
    assert _labels(linker, "The scope was advanced to the gout levels.", [("gout", "DISEASE")]) == [
        ("gout", "DISEASE", "X:5")]


def test_outside_a_sectioned_note_a_substance_before_a_head_keeps_its_label(linker):
    # an abstract's "lithium levels" keeps its chemical (the corpora annotate the substance)
    assert _labels(linker, "Serum lithium levels rose.", [("lithium", "CHEMICAL")], "unknown") == [
        ("lithium", "CHEMICAL", "X:3")]
