import pytest

from medlens.kg.sources.icd10cm import read_icd10cm, strip_qualifiers


@pytest.fixture(scope="module")
def icd():
    return read_icd10cm()


def _syns(data, cid):
    return {s.text: s.kind for s in data.synonyms if s.concept_id == cid}


def _parents(data, cid):
    return [r.object for r in data.relations if r.subject == cid and r.predicate == "is_a"]


def test_icd10cm_version_and_provenance(icd):
    assert icd.info.name == "icd10cm"
    assert icd.info.version.startswith("20")
    assert "(" in icd.info.version  # e.g. "2026 (April 1, 2026)"
    assert "simple-icd-10-cm" in icd.info.origin


def test_icd10cm_e119_short_name_and_hierarchy(icd):
    syns = _syns(icd, "ICD10CM:E11.9")
    assert syns["Type 2 diabetes mellitus without complications"] == "preferred"
    assert syns["Type 2 diabetes mellitus"] == "exact"
    assert _parents(icd, "ICD10CM:E11.9") == ["ICD10CM:E11"]
    assert _parents(icd, "ICD10CM:E11") == ["ICD10CM:E08-E13"]
    assert _parents(icd, "ICD10CM:E08-E13") == ["ICD10CM:chapter-4"]


def test_icd10cm_labels_by_range(icd):
    labels = {c.id: c.label for c in icd.concepts}
    assert labels["ICD10CM:R07.9"] == "SYMPTOM"
    assert labels["ICD10CM:R79.89"] == "FINDING"
    assert labels["ICD10CM:Z79.4"] == "OTHER"
    assert labels["ICD10CM:W19"] == "OTHER"
    assert labels["ICD10CM:E11.9"] == "DISEASE"
    assert labels["ICD10CM:chapter-4"] == "OTHER"
    assert _syns(icd, "ICD10CM:R07.9")["Chest pain"] == "exact"


def test_icd10cm_inclusion_terms(icd):
    assert _syns(icd, "ICD10CM:A01.0")["Infection due to Salmonella typhi"] == "inclusion"


def test_icd10cm_strip_qualifiers():
    suffixes = [", unspecified", " NOS", " without complications"]
    assert strip_qualifiers("Chest pain, unspecified", suffixes) == "Chest pain"
    assert strip_qualifiers("Anemia NOS", suffixes) == "Anemia"
    assert strip_qualifiers("NOS", suffixes) == "NOS"


def test_icd10cm_ids_unique(icd):
    ids = [c.id for c in icd.concepts]
    assert len(ids) == len(set(ids)) > 40_000
