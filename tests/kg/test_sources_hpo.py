import pytest

from medlens.errors import SourceError
from medlens.kg.sources.hpo import parse_frequency, read_hpo

FREQ = {"HP:0040283": 0.17, "HP:0040280": 1.0}


@pytest.fixture(scope="module")
def hpo():
    return {d.info.name: d for d in read_hpo()}


def test_hpo_sources_and_versions(hpo):
    assert set(hpo) == {"hpo", "omim", "orphanet", "decipher"}
    assert hpo["hpo"].info.version[:2] == "20"
    assert hpo["omim"].info.version[:2] == "20"


def test_hpo_labels(hpo):
    labels = {c.id: c.label for c in hpo["hpo"].concepts}
    assert labels["HP:0001945"] == "SYMPTOM"  # Fever
    assert labels["HP:0002315"] == "SYMPTOM"  # Headache
    assert labels["HP:0001250"] == "FINDING"  # Seizure
    assert labels["HP:0000006"] == "OTHER"  # Autosomal dominant inheritance


def test_hpo_disease_ids_and_phenotype_frequency(hpo):
    omim = {c.id: c for c in hpo["omim"].concepts}
    assert omim["OMIM:154700"].label == "DISEASE"
    assert "ORPHA:558" in {c.id for c in hpo["orphanet"].concepts}
    rels = [r for r in hpo["omim"].relations if r.subject == "OMIM:154700" and r.predicate == "has_phenotype"]
    assert rels
    with_freq = [r for r in rels if r.attrs["frequency"] is not None]
    assert with_freq and all(0.0 <= r.attrs["frequency"] <= 1.0 for r in with_freq)
    assert set(rels[0].attrs) >= {"frequency", "frequency_raw", "onset", "evidence", "reference"}
    preds = {r.predicate for d in ("omim", "orphanet") for r in hpo[d].relations}
    assert {"has_phenotype", "lacks_phenotype", "has_inheritance", "has_clinical_course"} <= preds


def test_hpo_parse_frequency():
    assert parse_frequency("HP:0040283", FREQ) == 0.17
    assert parse_frequency("3/4", FREQ) == 0.75
    assert parse_frequency("25%", FREQ) == 0.25
    assert parse_frequency("", FREQ) is None
    with pytest.raises(ValueError, match="unknown frequency"):
        parse_frequency("often", FREQ)
    with pytest.raises(ValueError):
        parse_frequency("1/0", FREQ)


def test_hpo_bad_hpoa_line_names_line(tmp_path):
    bad = tmp_path / "phenotype.hpoa"
    bad.write_text("#version: 2025-01-01\nOMIM:1\tX\t\tHP:0000001\tPMID:1\tPCS\t\toften\t\t\tP\tx\n", encoding="utf-8")
    from medlens.kg.sources.hpo import read_hpo_annotations

    with pytest.raises(SourceError, match=r"phenotype\.hpoa, line 2: unknown frequency 'often'"):
        read_hpo_annotations(bad)
