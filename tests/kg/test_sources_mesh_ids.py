import gzip

import pytest

from medlens.errors import SourceError
from medlens.kg.sources.mesh_ids import (
    MentionPair,
    descriptor_concepts,
    graph_id,
    looks_chemical,
    read_medic,
    read_medic_table,
    read_mentions,
    read_mentions_table,
    recover_mesh_id,
    medic_name_index,
)
from medlens.kg.store import Concept
from tests.kg.conftest import KG_FIXTURES


def test_graph_ids():
    assert graph_id("D003920") == "MESH:D003920"
    assert graph_id("C567755") == "MESH:C567755"
    assert graph_id("OMIM:145250") == graph_id("145250") == "OMIM:145250"
    assert graph_id("C04.588") is None and graph_id("-1") is None


def test_medic_table_concepts_synonyms_and_xrefs():
    entries = read_medic_table(KG_FIXTURES / "ids_medic.tsv.gz")
    assert entries[0].ids == ("MESH:D001943", "OMIM:114480")
    existing = {"MESH:D001943": Concept("MESH:D001943", "Breast Neoplasms", "mesh", "DISEASE")}
    data = read_medic(entries, existing)
    assert {c.id: c.source for c in data.concepts} == {"OMIM:114480": "omim", "MESH:D003920": "mesh", "OMIM:145250": "omim"}
    kinds = {(s.concept_id, s.text): s.kind for s in data.synonyms}
    assert ("MESH:D001943", "Breast Neoplasms") not in kinds  # the name the concept already has
    # linker only: MEDIC names do not change what the dictionary recognizer finds in text
    assert set(kinds.values()) == {"mention"}
    assert ("MESH:D001943", "BRCA1") in kinds and ("MESH:D003920", "Diabetes Mellitus") in kinds
    assert [(r.subject, r.predicate, r.object) for r in data.relations] == [("MESH:D001943", "xref", "OMIM:114480")]


def test_recover_mesh_id_prefers_preferred_names_and_refuses_ambiguity():
    entries = read_medic_table(KG_FIXTURES / "ids_medic.tsv.gz")
    by_name, by_any = medic_name_index(entries)
    assert recover_mesh_id(["Diabetes mellitus"], by_name, by_any) == "MESH:D003920"
    assert recover_mesh_id(["nothing", "breast cancer"], by_name, by_any) == "MESH:D001943"
    by_any["breast cancer"].add("MESH:D999999")
    assert recover_mesh_id(["breast cancer"], by_name, by_any) is None


def test_bad_tables_name_the_line(tmp_path):
    bad = tmp_path / "medic.tsv.gz"
    with gzip.open(bad, "wt") as fh:
        fh.write("# header\nD001943\tBreast Neoplasms\t\nC04.588\tNeoplasms\t\n")
    with pytest.raises(SourceError, match="line 3"):
        read_medic_table(bad)
    bad2 = tmp_path / "mentions.tsv.gz"
    with gzip.open(bad2, "wt") as fh:
        fh.write("naloxone\tChemical\tD009270\tx\tcdr\n")
    with pytest.raises(SourceError, match="line 1"):
        read_mentions_table(bad2)
    with pytest.raises(SourceError, match="not found"):
        read_mentions_table(tmp_path / "absent.tsv.gz")


def test_mentions_majority_id_and_new_chemical_concepts():
    pairs = [MentionPair("DOX", "Chemical", "MESH:D004317", 5), MentionPair("doxorubicin", "Chemical", "MESH:D004317", 9),
             MentionPair("dox", "Chemical", "MESH:D000000", 1), MentionPair("hypertensive", "Disease", "MESH:D006973", 3)]
    data = read_mentions(pairs, existing={"MESH:D006973"})
    assert {(s.concept_id, s.text, s.kind) for s in data.synonyms} == {
        ("MESH:D004317", "DOX", "mention"), ("MESH:D004317", "doxorubicin", "mention"),
        ("MESH:D006973", "hypertensive", "mention")}
    assert [(c.id, c.name, c.label, c.source) for c in data.concepts] == [("MESH:D004317", "doxorubicin", "DRUG", "mesh")]


def test_descriptor_chemicals_and_drug_xrefs():
    descriptors = {"MESH:D003622": "Dapsone", "MESH:D000001": "Abattoirs", "MESH:D010126": "Ozone",
                   "MESH:D009270": "Naloxone"}
    concepts, synonyms, relations = descriptor_concepts(
        descriptors, existing={"MESH:D009270"}, drug_names={"dapsone": {"DB00250"}, "naloxone": {"DB01183"}},
        extend={"MESH:D009270"})
    assert sorted(c.id for c in concepts) == ["MESH:D003622", "MESH:D010126"]  # not Abattoirs; Naloxone exists
    assert {(r.subject, r.object) for r in relations} == {("DB00250", "MESH:D003622"), ("DB01183", "MESH:D009270")}
    assert all(s.kind == "mention" for s in synonyms)
    assert looks_chemical("Potassium Chloride") and not looks_chemical("Breast")
