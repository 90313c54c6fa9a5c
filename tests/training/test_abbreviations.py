"""Abbreviations a document defines: propagation of the long form's entity type to the short form."""

from __future__ import annotations

from medlens.tagging.abbreviations import apply_definitions, find_definitions, merge_definitions, propagate_abbreviations


def _tags(words: list[str], spans: dict[tuple[int, int], str]) -> list[str]:
    tags = ["O"] * len(words)
    for (s, e), label in spans.items():
        tags[s:e] = ["B-" + label] + ["I-" + label] * (e - s - 1)
    return tags


def test_short_form_takes_the_type_of_the_entity_it_follows() -> None:
    words = "atelosteogenesis type 2 ( AO2 ) is rare ; AO2 and AO - 2 patients".split()
    tags = _tags(words, {(0, 3): "DISEASE"})
    out = propagate_abbreviations(words, tags)
    assert out[4] == "B-DISEASE"  # inside the parentheses
    assert out[9] == "B-DISEASE"  # later mention
    assert out[11:14] == ["O", "O", "O"]  # "AO - 2" is another short form, not defined here
    assert out[:3] == tags[:3]


def test_multiword_short_form_and_existing_entities_kept() -> None:
    words = "5 - hydroxytryptamine ( 5 - HT ) levels ; 5 - HT and serotonin ( 5 - HT )".split()
    tags = _tags(words, {(0, 3): "CHEMICAL", (13, 14): "CHEMICAL"})
    out = propagate_abbreviations(words, tags)
    assert out[4:7] == ["B-CHEMICAL", "I-CHEMICAL", "I-CHEMICAL"]
    assert out[10:13] == ["B-CHEMICAL", "I-CHEMICAL", "I-CHEMICAL"]
    assert out[13] == "B-CHEMICAL"


def test_short_forms_that_do_not_name_the_whole_entity_are_ignored() -> None:
    # ASPA abbreviates the enzyme, not "deficiency of aspartoacylase"
    words = "deficiency of aspartoacylase ( ASPA ) ; mutations in ASPA".split()
    assert propagate_abbreviations(words, _tags(words, {(0, 3): "DISEASE"}))[9] == "O"
    # letters that do not fit the long form
    words = "breast cancer ( XYZ ) ; XYZ".split()
    assert propagate_abbreviations(words, _tags(words, {(0, 2): "DISEASE"}))[6] == "O"
    # no capital letter: "( see )" is not a short form
    words = "seizure episodes ( se ) ; se".split()
    assert find_definitions(words, _tags(words, {(0, 2): "DISEASE"})) == {}


def test_conflicting_definitions_are_not_propagated() -> None:
    a = "myotonic dystrophy ( DM ) .".split()
    b = "diabetes mellitus ( DM ) .".split()
    defs = merge_definitions([find_definitions(a, _tags(a, {(0, 2): "DISEASE"})),
                              find_definitions(b, _tags(b, {(0, 2): "DISEASE"})),
                              find_definitions(["dimethyl", "malonate", "(", "DM", ")"],
                                               _tags(["dimethyl", "malonate", "(", "DM", ")"], {(0, 2): "CHEMICAL"}))])
    assert defs == {("DM",): None}
    words = ["DM", "was", "seen"]
    assert apply_definitions(words, ["O"] * 3, defs) == ["O"] * 3


def test_mention_inside_or_before_an_entity_is_left_alone() -> None:
    words = "Huntington disease ( HD ) ; juvenile HD onset ; HD".split()
    tags = _tags(words, {(0, 2): "DISEASE", (6, 8): "DISEASE"})
    out = propagate_abbreviations(words, tags)
    assert out[6:8] == ["B-DISEASE", "I-DISEASE"]  # already inside an entity
    assert out[10] == "B-DISEASE"
