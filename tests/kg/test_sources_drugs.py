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
    assert all(i.startswith(("DB", "MEDLINEPLUS:", "MESHTREE:", "COMBO:")) for i in ids)
    assert set(report) == {"combinations", "curated_brands", "skipped_records", "duplicate_ids",
                           "dropped_stopword_variants", "dropped_short_variants"}
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


def test_combination_records_become_concepts_with_their_ingredients(drugs):
    data, report = drugs
    syns = {(s.text.casefold(), s.concept_id) for s in data.synonyms}
    # Kaletra is a brand of the dictionary's record "lopinavir/ritonavir", which has no id of its own
    assert ("kaletra", "COMBO:DB00503+DB01601") in syns  # ritonavir DB00503, lopinavir DB01601
    combo = {c.id: c for c in data.concepts}["COMBO:DB00503+DB01601"]
    assert combo.label == "DRUG" and combo.name == "Lopinavir/ritonavir"
    ingredients = {r.object for r in data.relations if r.subject == combo.id and r.predicate == "has_ingredient"}
    assert ingredients == {"DB00503", "DB01601"}
    assert ("bactrim", "COMBO:DB00440+DB01015") in syns and report["combinations"] > 100
    # a record whose parts are not all drugs is no combination
    assert not any(c.id.startswith("COMBO:") and "salts" in c.name.casefold() for c in data.concepts)


def test_curated_brands_link_to_their_generics(drugs):
    data, report = drugs
    syns = {(s.text, s.concept_id): s.kind for s in data.synonyms}
    assert syns[("Versed", "DB00683")] == "brand"  # midazolam
    assert syns[("Percocet", "COMBO:DB00316+DB00497")] == "brand"  # acetaminophen + oxycodone
    assert syns[("Augmentin", "COMBO:DB00766+DB01060")] == "brand"  # clavulanic acid + amoxicillin
    assert syns[("Betadine", "DB06812")] == "brand"  # povidone-iodine (was fuzzy-linked to betaine)
    assert report["curated_brands"] == 22


def test_curated_brands_are_only_brands_the_dictionary_cannot_link():
    """Each brand of brands.json is missing from the dictionary, or names only records without an id."""
    import json

    from medlens.kg.sources.drugs import BRANDS_FILE, DIST, _concept_id
    from medlens.kg.sources.mesh import load_pickle
    from medlens.resources import resource_path

    data, _ = load_pickle(DIST, "drug_named_entity_recognition/drug_ner_dictionary.pkl.bz2", "drugs")
    canon, variants = data["drug_canonical_to_data"], data["drug_variant_to_canonical"]
    for b in json.loads(resource_path(BRANDS_FILE).read_text())["brands"]:
        linked = [t for t in variants.get(b["brand"].casefold(), []) if _concept_id(canon.get(t, {}), False)]
        assert not linked, f"{b['brand']} is already linked by the dictionary to {linked}"


def test_a_brand_with_an_unknown_generic_is_a_clear_error(tmp_path):
    from medlens.errors import SourceError

    bad = tmp_path / "brands.json"
    bad.write_text('{"description": "x", "brands": [{"brand": "Foobar", "generics": ["notadrugatall"]}]}')
    with pytest.raises(SourceError, match="Foobar.*notadrugatall"):
        read_drugs_report(brands_path=str(bad))
    bad.write_text('{"description": "x", "brands": [{"brand": "Foobar", "generic": ["aspirin"]}]}')
    with pytest.raises(Exception, match="generic"):
        read_drugs_report(brands_path=str(bad))
