import pytest

from medlens.errors import KnowledgeGraphError
from medlens.kg.store import vocabulary_name


def test_map_to_follows_xref_edges(ids_kg):
    found = ids_kg.map_to("DB00316", "mesh")
    assert [(m.concept_id, m.via, m.path) for m in found] == [("MESH:D000082", "xref", ("DB00316", "MESH:D000082"))]
    # either direction, and "drugbank" names the drugs source
    assert [m.concept_id for m in ids_kg.map_to("MESH:D000082", "drugbank")] == ["DB00316"]


def test_map_to_by_shared_name_puts_mesh_descriptors_first(ids_kg):
    found = ids_kg.map_to("ICD10CM:C50", "mesh")
    assert found[0].concept_id == "MESH:D001943" and found[0].via == "name"
    assert ids_kg.map_to("ICD10CM:E11", "mesh")[0].concept_id == "MESH:D003924"


def test_map_to_climbs_to_a_broader_concept_only_when_asked(ids_kg):
    found = ids_kg.map_to("ICD10CM:C50.9", "mesh")
    assert found[0].concept_id == "MESH:D001943"
    assert found[0].via == "broader" and found[0].path[:2] == ("ICD10CM:C50.9", "ICD10CM:C50")
    assert ids_kg.map_to("ICD10CM:C50.9", "mesh", broader=0) == []


def test_map_to_same_vocabulary_and_errors(ids_kg):
    assert [(m.concept_id, m.via) for m in ids_kg.map_to("MESH:D001943", "MeSH")] == [("MESH:D001943", "same")]
    with pytest.raises(KnowledgeGraphError, match="hpo"):
        ids_kg.map_to("MESH:D001943", "hpo")
    with pytest.raises(KnowledgeGraphError, match="MESH:D00194"):
        ids_kg.map_to("MESH:D00194", "icd10cm")


def test_vocabulary_aliases():
    assert vocabulary_name(" DrugBank ") == "drugs"
    assert vocabulary_name("ICD-10-CM") == "icd10cm"
    assert vocabulary_name("mesh") == "mesh"
