"""``prefer``: ids of the vocabularies a user asks for come first (issue 11, part 2)."""

import pytest
import spacy

from medlens.components.linker import EntityLinker
from medlens.config import LinkerSettings, make_config
from medlens.errors import ConfigError


@pytest.fixture(scope="module")
def ids_kg(tmp_path_factory):
    from medlens.kg.store import KnowledgeGraph
    from tests.kg.conftest import build_ids_graph

    path = build_ids_graph(tmp_path_factory.mktemp("ids") / "ids.sqlite")
    with KnowledgeGraph.open(path) as kg:
        yield kg


def test_default_ranking_keeps_icd10cm_first_for_diseases(ids_kg):
    links = EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en")).link_text("breast cancer", label="DISEASE")
    assert links[0].concept_id == "ICD10CM:C50"


def test_prefer_mesh_puts_mesh_ids_first(ids_kg):
    linker = EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en"), prefer=["mesh"])
    links = linker.link_text("breast cancer", label="DISEASE")
    assert links[0].concept_id == "MESH:D001943" and links[0].method == "exact"
    assert "ICD10CM:C50" in [link.concept_id for link in links]


def test_prefer_maps_a_brand_name_to_its_mesh_id_through_xref(ids_kg):
    plain = EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en")).link_text("Tylenol", label="DRUG")
    assert [link.concept_id for link in plain] == ["DB00316"]
    links = EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en"), prefer=["mesh"]).link_text("Tylenol", label="DRUG")
    assert (links[0].concept_id, links[0].method, links[0].score) == ("MESH:D000082", "xref", 1.0)
    assert links[1].concept_id == "DB00316"


def test_prefer_drugbank_alias_and_source_priority_override(ids_kg):
    links = EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en"), prefer=["DrugBank"]).link_text("APAP", label="DRUG")
    assert links[0].concept_id == "DB00316"
    linker = EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en"), source_priority={"DISEASE": ["mesh", "icd10cm"]})
    assert linker.link_text("breast cancer", label="DISEASE")[0].concept_id == "MESH:D001943"
    assert linker.source_priority["DRUG"] == ["drugs", "mesh"]  # labels not named keep their default order


def test_linker_settings_validate_prefer():
    assert LinkerSettings(prefer=["MeSH", "drugbank"]).prefer == ["mesh", "drugs"]
    with pytest.raises(ConfigError, match="listed twice"):
        make_config(linker={"prefer": ["mesh", "MESH"]})
