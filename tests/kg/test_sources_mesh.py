import pytest

from medlens.kg.sources.mesh import read_mesh_diseases, repair_trees, trusted_ids


@pytest.fixture(scope="module")
def mesh():
    from medlens.kg.sources.mesh_ids import read_descriptors_table, read_medic_table

    return read_mesh_diseases(medic=read_medic_table(), descriptors=read_descriptors_table())


def test_mesh_known_concepts(mesh):
    by_name = {c.name: c for c in mesh.concepts}
    assert by_name["Pneumonia"].id == "MESH:D011014"
    assert by_name["Heart Failure"].id == "MESH:D006333"
    dm = by_name["Diabetes Mellitus"]
    # the package files Diabetes Mellitus under a borrowed id (D018589, Gastroparesis): the MeSH
    # heading table gives it its own descriptor id back; the tree numbers stay as attributes
    assert dm.id == "MESH:D003920"
    assert dm.attrs["mesh_id_in_source"] == "D018589"
    assert dm.attrs["mesh_trees"] == ["C18.452.394.750", "C19.246"]
    assert dm.label == "DISEASE"
    # the package gives Diabetes Insipidus the id of Diabetes Mellitus (D003920)
    assert by_name["Diabetes Insipidus"].id == "MESH:D003919"
    assert by_name["Fever"].id == "MESH:D005334"


def test_mesh_symptom_label_and_tree_hierarchy(mesh):
    by_name = {c.name: c for c in mesh.concepts}
    assert by_name["Fever"].label == "SYMPTOM"
    assert by_name["Dyspnea"].label == "SYMPTOM"
    t2 = by_name["Diabetes Mellitus, Type 2"].id
    parents = {r.object for r in mesh.relations if r.subject == t2 and r.predicate == "is_a"}
    assert by_name["Diabetes Mellitus"].id in parents


def test_mesh_variants_are_exact_synonyms(mesh):
    dm = next(c for c in mesh.concepts if c.name == "Diabetes Mellitus, Type 2")
    syns = {s.text: s.kind for s in mesh.synonyms if s.concept_id == dm.id}
    assert syns["Diabetes Mellitus, Type 2"] == "preferred"
    assert any(kind == "exact" for kind in syns.values())


def test_mesh_ids_unique(mesh):
    ids = [c.id for c in mesh.concepts]
    assert len(ids) == len(set(ids))


def test_every_mesh_record_carries_a_descriptor_id(mesh):
    # issue 11: no MESHTREE:C04.588.180-style ids are left when the shipped id tables are read
    assert not [c.id for c in mesh.concepts if not c.id.startswith("MESH:")]
    without = read_mesh_diseases(descriptors=None, medic=None)
    assert sum(c.id.startswith("MESHTREE:") for c in without.concepts) > 1000


def test_mesh_repair_trees_and_trusted_ids():
    assert sorted(repair_trees(["94.750", "C18.452.3", "C19.246"])) == ["C18.452.394.750", "C19.246"]
    assert repair_trees(["C01.001"]) == ["C01.001"]
    assert trusted_ids(["D000001", "D000900", "D000003", "D000005", "D000003"]) == [True, False, True, True, False]


def test_mesh_label_pathologic_processes_are_findings():
    from medlens.kg.sources.lexicon import label_rules
    from medlens.kg.sources.mesh import mesh_label

    rules = label_rules().mesh
    assert mesh_label(["C23.550.470"], rules) == "FINDING"  # Inflammation
    assert mesh_label(["C23.550.717"], rules) == "FINDING"  # Necrosis
    assert mesh_label(["C23.550.414.838"], rules) == "FINDING"  # Hematoma
    # a pathologic process that another disease tree also files is a disease (Sepsis: C01 too)
    assert mesh_label(["C01.757", "C23.550.470.790.500"], rules) == "DISEASE"
    # syndromes filed under pathologic processes stay diseases
    assert mesh_label(["C23.550.835"], rules) == "DISEASE"  # Shock
    assert mesh_label(["C23.550.470.790"], rules) == "DISEASE"  # SIRS
    assert mesh_label(["C23.550.291.500"], rules) == "DISEASE"  # Chronic Disease (a disease attribute)
    assert mesh_label(["C23.888.119.344"], rules) == "SYMPTOM"  # Fever
    assert mesh_label(["C14.280.647"], rules) == "DISEASE"
    assert mesh_label(["F01.145"], rules) == "OTHER"


def test_mesh_pathologic_process_records(mesh):
    by_name = {c.name: c for c in mesh.concepts}
    for name in ("Inflammation", "Fibrosis", "Necrosis", "Ischemia"):
        assert by_name[name].label == "FINDING", name
    assert by_name["Pneumonia"].label == "DISEASE"
