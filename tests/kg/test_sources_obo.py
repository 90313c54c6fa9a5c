from pathlib import Path

import pytest

from medlens.errors import SourceError
from medlens.kg.sources.obo import read_obo

FIXTURES = Path(__file__).parent.parent / "fixtures" / "kg"


@pytest.fixture(scope="module")
def mini():
    return read_obo(FIXTURES / "mini.obo", "mini", "Mini ontology", "CC0")


def test_obo_reads_terms_and_version(mini):
    assert mini.info.version == "2024-06-01"
    assert [c.id for c in mini.concepts] == ["MINI:0000001", "MINI:0000118", "MINI:0001945", "MINI:0002315"]
    fever = next(c for c in mini.concepts if c.id == "MINI:0001945")
    assert fever.definition == "Body temperature elevated above the normal range."
    assert fever.attrs == {"alt_ids": ["MINI:0009999"]}
    assert fever.label == "FINDING"


def test_obo_skips_obsolete_terms_and_edges_to_them(mini):
    assert "MINI:0000777" not in {c.id for c in mini.concepts}
    assert all(r.object != "MINI:0000777" for r in mini.relations)


def test_obo_synonym_scopes_and_types(mini):
    kinds = {s.text: s.kind for s in mini.synonyms if s.concept_id == "MINI:0001945"}
    assert kinds == {"Fever": "preferred", "Pyrexia": "exact", "High temperature": "lay", "Hyperthermia": "related",
                     "Febrile illness": "broad", "Low-grade fever": "narrow"}
    headache = {s.text: s.kind for s in mini.synonyms if s.concept_id == "MINI:0002315"}
    assert headache["HA"] == "abbreviation"
    assert 'Cephalgia "head pain"' in headache


def test_obo_is_a_and_normalized_xrefs(mini):
    rels = {(r.subject, r.predicate, r.object) for r in mini.relations}
    assert ("MINI:0001945", "is_a", "MINI:0000118") in rels
    assert ("MINI:0001945", "xref", "MESH:D005334") in rels
    assert ("MINI:0001945", "xref", "UMLS:C0015967") in rels


def test_obo_id_prefix_map_and_explicit_version():
    data = read_obo(FIXTURES / "mini.obo", "mini", "Mini", "CC0", version="v9", default_label="SYMPTOM",
                    id_prefix_map={"MINI": "HP"})
    assert data.info.version == "v9"
    assert {c.id for c in data.concepts} >= {"HP:0001945"}
    assert {c.label for c in data.concepts} == {"SYMPTOM"}
    assert ("HP:0001945", "HP:0000118") in {(r.subject, r.object) for r in data.relations if r.predicate == "is_a"}


def test_obo_malformed_synonym_names_line(tmp_path):
    bad = tmp_path / "bad.obo"
    bad.write_text('format-version: 1.2\n\n[Term]\nid: X:1\nname: x\nsynonym: unquoted EXACT []\n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"bad\.obo, line 6: synonym"):
        read_obo(bad, "x", "X", "CC0")


def test_obo_line_without_colon_and_term_without_id(tmp_path):
    bad = tmp_path / "bad.obo"
    bad.write_text("format-version: 1.2\n\n[Term]\nid X:1\n", encoding="utf-8")
    with pytest.raises(SourceError, match="line 4"):
        read_obo(bad, "x", "X", "CC0")
    bad.write_text("format-version: 1.2\n\n[Term]\nname: nameless\n", encoding="utf-8")
    with pytest.raises(SourceError, match="line 3: \\[Term\\] stanza without an 'id'"):
        read_obo(bad, "x", "X", "CC0")


def test_obo_missing_file_is_E104(tmp_path):
    with pytest.raises(SourceError, match="Could not read x from"):
        read_obo(tmp_path / "nope.obo", "x", "X", "CC0")


def test_obo_unknown_default_label():
    with pytest.raises(SourceError, match="Unknown label 'WHATEVER'"):
        read_obo(FIXTURES / "mini.obo", "x", "X", "CC0", default_label="WHATEVER")
