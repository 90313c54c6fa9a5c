"""Issue 11, sixth round: a partial link keeps the organ and the kind of the mention (no link rather than a
broader concept), a disease named by a sign's or a complaint's head word is a FINDING or a SYMPTOM, and a
name that reads like a disease in a diagnosis list is a DISEASE. Sentences written for these tests."""

from __future__ import annotations

import pytest

from tests.conftest import linked_labels, mini_graph_linker, sectioned_model_doc


@pytest.fixture(scope="module")
def linker(tmp_path_factory):
    from medlens.kg.sources.base import Concept

    concepts = [Concept("X:1", "Pain", "x", "SYMPTOM"), Concept("X:2", "Infections", "x", "DISEASE"),
                Concept("X:3", "Pleural effusion", "x", "DISEASE"), Concept("X:4", "Adenocarcinoma", "x", "DISEASE"),
                Concept("X:5", "Radiculopathy", "x", "DISEASE"), Concept("X:6", "Lumbar spinal stenosis", "x", "FINDING"),
                Concept("X:7", "Anemia", "x", "DISEASE"), Concept("X:8", "Vaginal discharge", "x", "DISEASE"),
                Concept("X:9", "Leg weakness", "x", "FINDING")]
    with mini_graph_linker(tmp_path_factory.mktemp("kg") / "mini.sqlite", concepts) as linker:
        assert linker.keep_kind  # on by default (see EntityLinker)
        yield linker


def _labels(linker, text: str, spans: list[tuple[str, str]], section: str = "history_of_present_illness"):
    return linked_labels(linker, sectioned_model_doc(text, spans, section))


def test_a_partial_link_may_leave_out_qualifiers(linker):
    text = "Severe chronic pain.  Small left pleural effusion.  L5 radiculopathy."
    got = _labels(linker, text, [("Severe chronic pain", "SYMPTOM"), ("Small left pleural effusion", "DISEASE"),
                                 ("L5 radiculopathy", "DISEASE")])
    assert [c for _, _, c in got] == ["X:1", "X:3", "X:5"]


def test_a_partial_link_does_not_drop_the_organ_or_the_kind(linker):
    text = "Radicular pain.  No testicular infections.  Endometrial adenocarcinoma."
    got = _labels(linker, text, [("Radicular pain", "SYMPTOM"), ("testicular infections", "DISEASE"),
                                 ("Endometrial adenocarcinoma", "DISEASE")])
    assert [c for _, _, c in got] == [None, None, None]


def test_the_part_before_of_is_not_linked_without_its_place(linker):
    got = _labels(linker, "Adenocarcinoma of the prostate.", [("Adenocarcinoma of the prostate", "DISEASE")])
    assert got == [("Adenocarcinoma of the prostate", "DISEASE", None)]


def test_without_keep_kind_the_head_is_linked(linker):
    linker.keep_kind = False
    try:
        got = _labels(linker, "Radicular pain.", [("Radicular pain", "SYMPTOM")])
    finally:
        linker.keep_kind = True
    assert got == [("Radicular pain", "SYMPTOM", "X:1")]


def test_the_mention_normalizer_still_gets_the_head(linker):
    assert [link.concept_id for link in linker.link_text("radicular pain", "SYMPTOM")] == ["X:1"]


def test_a_disease_named_by_a_sign_or_a_complaint(linker):
    text = "A breast lump.  Cafe au lait spots.  Instability of the knee.  Left leg weakness.  Vaginal discharge."
    got = _labels(linker, text, [("breast lump", "DISEASE"), ("Cafe au lait spots", "DISEASE"),
                                 ("Instability of the knee", "DISEASE"), ("Left leg weakness", "DISEASE"),
                                 ("Vaginal discharge", "DISEASE")], "physical_exam")
    assert [(t, lb) for t, lb, _ in got] == [("breast lump", "FINDING"), ("Cafe au lait spots", "FINDING"),
                                             ("Instability of the knee", "FINDING"), ("Left leg weakness", "SYMPTOM"),
                                             ("Vaginal discharge", "SYMPTOM")]
    assert got[3][2] == "X:9" and got[4][2] == "X:8"


def test_a_disease_name_in_a_diagnosis_list_is_a_disease(linker):
    text = "Lumbar spinal stenosis.  Left leg weakness."
    got = _labels(linker, text, [("Lumbar spinal stenosis", "DISEASE"), ("Left leg weakness", "DISEASE")], "impression")
    assert got == [("Lumbar spinal stenosis", "DISEASE", "X:6"), ("Left leg weakness", "SYMPTOM", "X:9")]
    # the same name in an exam stays what the graph calls it
    assert _labels(linker, "Lumbar spinal stenosis.", [("Lumbar spinal stenosis", "DISEASE")], "physical_exam") == [
        ("Lumbar spinal stenosis", "FINDING", "X:6")]


def test_an_unlinked_exam_disease_whose_head_is_a_disease_stays_one(linker):
    got = _labels(linker, "Perioperative anemia.  Normocephalic.", [("Perioperative anemia", "DISEASE"),
                                                                    ("Normocephalic", "DISEASE")], "physical_exam")
    assert got == [("Perioperative anemia", "DISEASE", None), ("Normocephalic", "FINDING", None)]


@pytest.fixture(scope="module")
def note_linker(tmp_path_factory):
    from medlens.kg.sources.base import Concept

    concepts = [Concept("Y:1", "Breast cancer", "x", "DISEASE"), Concept("Y:2", "Hypertension", "x", "DISEASE"),
                Concept("Y:3", "Tracheostomy", "x", "PROCEDURE"), Concept("Y:4", "Weight loss", "x", "SYMPTOM"),
                Concept("Y:5", "Ulnar collateral ligament sprain", "x", "DISEASE"), Concept("Y:6", "Ethanol", "x", "DRUG")]
    with mini_graph_linker(tmp_path_factory.mktemp("kg") / "note.sqlite", concepts) as linker:
        yield linker


def test_words_of_a_header_in_capitals_are_no_entities(note_linker):
    text = "BREAST CANCER HISTORY:  She found it herself.\nHYPERTENSION:  Continue lisinopril."
    got = _labels(note_linker, text, [("BREAST CANCER", "DISEASE"), ("HYPERTENSION", "DISEASE")])
    assert got == [("HYPERTENSION", "DISEASE", "Y:2")]  # a problem-list item alone before its colon stays


def test_a_line_in_capitals_before_a_flattened_line_break_is_no_header(note_linker):
    text = "NO HISTORY OF BREAST CANCER,PHYSICAL EXAMINATION:  Normal."
    assert _labels(note_linker, text, [("BREAST CANCER", "DISEASE")]) == [("BREAST CANCER", "DISEASE", "Y:1")]


def test_a_procedure_before_a_device_word_names_the_device(note_linker):
    assert _labels(note_linker, "The tracheostomy tube was changed.", [("tracheostomy", "PROCEDURE")]) == []


def test_a_symptom_before_program_or_diet_is_the_procedure(note_linker):
    got = _labels(note_linker, "He tried weight loss diets.  Weight loss was noted.", [("weight loss", "SYMPTOM"),
                                                                                     ("Weight loss", "SYMPTOM")])
    assert [(t, lb) for t, lb, _ in got] == [("weight loss diets", "PROCEDURE"), ("Weight loss", "SYMPTOM")]


def test_a_substance_before_craving_is_the_symptom(note_linker):
    got = _labels(note_linker, "To reduce alcohol craving.", [("alcohol", "CHEMICAL")])
    assert [(t, lb) for t, lb, _ in got] == [("alcohol craving", "SYMPTOM")]


def test_a_structure_fuzzy_linked_to_an_injury_of_it_is_anatomy(note_linker):
    got = _labels(note_linker, "Normal ulnar collateral ligament.", [("ulnar collateral ligament", "DISEASE")], "findings")
    assert got == [("ulnar collateral ligament", "ANATOMY", None)]


def test_the_pipeline_settings_keep_the_kind_by_default():
    from medlens.config import LinkerSettings, PipelineConfig
    from medlens.pipeline import _component_config

    assert _component_config("linker", PipelineConfig())["keep_kind"] is True
    off = PipelineConfig(linker=LinkerSettings(keep_kind=False))
    assert _component_config("linker", off)["keep_kind"] is False
