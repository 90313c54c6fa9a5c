import pytest

from medlens.kg.sources.drugs import read_drugs_report


@pytest.fixture(scope="module")
def drugs():
    return read_drugs_report()


def test_drugs_aspirin_and_metformin(drugs):
    data, _ = drugs
    by_id = {c.id: c for c in data.concepts}
    assert by_id["DB00945"].name == "Aspirin" and by_id["DB00945"].label == "DRUG"
    assert by_id["DB00331"].name == "Metformin"
    assert data.info.name == "drugs" and data.info.version.startswith("drug-named-entity-recognition")


def test_drugs_brand_names(drugs):
    data, _ = drugs
    syns = {(s.concept_id, s.text): s.kind for s in data.synonyms}
    assert syns[("DB01076", "lipitor")] == "brand"


def test_drugs_ids_unique_and_forms(drugs):
    data, report = drugs
    ids = [c.id for c in data.concepts]
    assert len(ids) == len(set(ids)) > 10_000
    assert all(i.startswith(("DB", "MEDLINEPLUS:", "MESHTREE:")) for i in ids)
    assert set(report) == {"skipped_records", "duplicate_ids", "dropped_stopword_variants", "dropped_short_variants"}
    assert not any(len(s.text) < 3 for s in data.synonyms if s.kind != "preferred")


def test_drugs_untrusted_mesh_ids_not_used(drugs):
    data, _ = drugs
    assert not any(r.object.startswith("MESH:") for r in data.relations)
    assert not any(c.id.startswith("MESH:") for c in data.concepts)


def test_mesh_only_drug_records_get_their_descriptor_id():
    from medlens.kg.sources.drugs import read_drugs
    from medlens.kg.sources.mesh_ids import read_descriptors_table

    data = read_drugs(descriptors=read_descriptors_table())
    by_name = {c.name: c for c in data.concepts}
    assert by_name["Phosphates"].id == "MESH:D010710"
    assert by_name["Phosphates"].attrs["mesh_trees"]
    assert sum(c.id.startswith("MESHTREE:") for c in data.concepts) < 20
