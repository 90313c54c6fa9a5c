from pathlib import Path

import pytest

from medlens.errors import SourceError
from medlens.kg.sources.csv_tables import read_csv_tables

FIXTURES = Path(__file__).parent.parent / "fixtures" / "kg"


def test_csv_tables_reads_fixture():
    data = read_csv_tables(FIXTURES / "concepts.csv", FIXTURES / "synonyms.csv", FIXTURES / "relations.csv",
                           source="local", title="Local", license="CC0", version="1")
    assert data.info.name == "local" and data.info.version == "1"
    assert len(data.concepts) == 6
    troponin = next(c for c in data.concepts if c.id == "LOCAL:3")
    assert troponin.label == "TEST" and troponin.definition == "Cardiac muscle protein, measured in blood"
    kinds = {(s.concept_id, s.text): s.kind for s in data.synonyms}
    assert kinds[("LOCAL:2", "Myocardial infarction")] == "preferred"
    assert kinds[("LOCAL:2", "heart attack")] == "lay"
    assert kinds[("LOCAL:4", "acetylsalicylic acid")] == "exact"
    rel = data.relations[0]
    assert (rel.subject, rel.predicate, rel.object, rel.attrs) == ("LOCAL:2", "has_symptom", "LOCAL:1", {"frequency": 0.8})


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_csv_tables_missing_required_column(tmp_path):
    p = _write(tmp_path, "c.csv", "id,name\nA,a\n")
    with pytest.raises(SourceError, match=r"c\.csv, line 1: missing required column\(s\) label"):
        read_csv_tables(p)


def test_csv_tables_unknown_label_lists_accepted(tmp_path):
    p = _write(tmp_path, "c.csv", "id,name,label\nA,a,DISEASE\nB,b,ILLNESS\n")
    with pytest.raises(SourceError, match=r"c\.csv, line 3: Unknown label 'ILLNESS'. Accepted labels: DISEASE, SYMPTOM"):
        read_csv_tables(p)


def test_csv_tables_empty_id(tmp_path):
    p = _write(tmp_path, "c.csv", "id,name,label\nA,a,DISEASE\n,b,DISEASE\n")
    with pytest.raises(SourceError, match=r"c\.csv, line 3: empty 'id'"):
        read_csv_tables(p)


def test_csv_tables_duplicate_id(tmp_path):
    p = _write(tmp_path, "c.csv", "id,name,label\nA,a,DISEASE\nA,b,DISEASE\n")
    with pytest.raises(SourceError, match="line 3: duplicate id 'A' \\(first on line 2\\)"):
        read_csv_tables(p)


def test_csv_tables_bad_json_attrs(tmp_path):
    c = _write(tmp_path, "c.csv", "id,name,label\nA,a,DISEASE\n")
    r = _write(tmp_path, "r.csv", 'subject,predicate,object,attrs\nA,is_a,B,\nA,rel,B,"{not json}"\n')
    with pytest.raises(SourceError, match=r"r\.csv, line 3: attrs is not valid JSON"):
        read_csv_tables(c, relations_csv=r)
    r = _write(tmp_path, "r.csv", 'subject,predicate,object,attrs\nA,rel,B,"[1, 2]"\n')
    with pytest.raises(SourceError, match="line 2: attrs must be a JSON object"):
        read_csv_tables(c, relations_csv=r)


def test_csv_tables_bad_synonym_rows(tmp_path):
    c = _write(tmp_path, "c.csv", "id,name,label\nA,a,DISEASE\n")
    s = _write(tmp_path, "s.csv", "concept_id,text,kind\nA,alpha,exact\nA,beta,nickname\n")
    with pytest.raises(SourceError, match=r"s\.csv, line 3: unknown synonym kind 'nickname'; accepted: preferred"):
        read_csv_tables(c, synonyms_csv=s)
    s = _write(tmp_path, "s.csv", "concept_id,text\nZ,zeta\n")
    with pytest.raises(SourceError, match="line 2: concept_id 'Z' is not in c.csv"):
        read_csv_tables(c, synonyms_csv=s)


def test_csv_tables_wrong_field_count_and_empty_file(tmp_path):
    p = _write(tmp_path, "c.csv", "id,name,label\nA,a,DISEASE,extra\n")
    with pytest.raises(SourceError, match="line 2: expected 3 fields"):
        read_csv_tables(p)
    p = _write(tmp_path, "e.csv", "")
    with pytest.raises(SourceError, match=r"e\.csv, line 1: the file is empty"):
        read_csv_tables(p)


def test_csv_tables_missing_file(tmp_path):
    with pytest.raises(SourceError, match="Could not read CSV table"):
        read_csv_tables(tmp_path / "none.csv")
