from pathlib import Path

import pytest

from medlens.errors import SourceError
from medlens.kg.sources.umls import read_umls_rrf

META = Path(__file__).parent.parent / "fixtures" / "kg" / "umls_META"


@pytest.fixture(scope="module")
def umls():
    return read_umls_rrf(META)


def test_umls_concepts_preferred_names_and_labels(umls):
    by_id = {c.id: c for c in umls.concepts}
    assert set(by_id) == {"UMLS:C0011849", "UMLS:C0011860", "UMLS:C0015967", "UMLS:C0004057", "UMLS:C0018787"}
    assert by_id["UMLS:C0011849"].name == "Diabetes Mellitus"  # TS=P, STT=PF, ISPREF=Y beats the first row
    assert by_id["UMLS:C0011849"].label == "DISEASE"
    assert by_id["UMLS:C0015967"].label == "SYMPTOM"  # T184 outranks T033
    assert by_id["UMLS:C0004057"].label == "DRUG"
    assert by_id["UMLS:C0018787"].label == "ANATOMY"


def test_umls_synonyms_skip_other_languages_and_suppressed(umls):
    texts = {s.text for s in umls.synonyms if s.concept_id == "UMLS:C0011849"}
    assert texts == {"Diabetes Mellitus", "DM"}


def test_umls_relations_par_chd_rb_ro(umls):
    rels = {(r.subject, r.predicate, r.object) for r in umls.relations}
    assert ("UMLS:C0011860", "is_a", "UMLS:C0011849") in rels
    assert sum(1 for r in umls.relations if r.predicate == "is_a") == 1  # PAR and CHD give the same edge once
    assert ("UMLS:C0011849", "may_be_treated_by", "UMLS:C0004057") in rels
    assert ("UMLS:C0015967", "broader", "UMLS:C0011849") in rels
    assert ("UMLS:C0015967", "related", "UMLS:C0018787") in rels
    assert not any(p == "may_treat" for _, p, _ in rels)  # suppressed row


def test_umls_sab_filter():
    data = read_umls_rrf(META, sabs=["SNOMEDCT_US"])
    assert [c.id for c in data.concepts] == ["UMLS:C0011849"]
    assert data.relations == []


def test_umls_wrong_column_count(tmp_path):
    for name in ("MRCONSO.RRF", "MRSTY.RRF"):
        (tmp_path / name).write_text((META / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "MRSTY.RRF").write_text("C0011849|T047|B2.2.1.2.1|Disease or Syndrome|AT0001||\nC0011849|T047|\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"MRSTY\.RRF, line 2: expected 6 '\|'-separated fields, got 2"):
        read_umls_rrf(tmp_path)


def test_umls_missing_files(tmp_path):
    with pytest.raises(SourceError, match="Could not read UMLS"):
        read_umls_rrf(tmp_path)
