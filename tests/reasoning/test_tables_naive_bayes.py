"""The CSV disease-symptom loader and the naive Bayes scorer on a 6-row table.

Flu: 4 rows (fever 4, cough 3, headache 1); Cystitis: 2 rows (burning micturition 2, bladder discomfort 1).
With add-1 smoothing P(s|d) = (count + 1) / (rows + 2).
"""

from math import log
from pathlib import Path

import pytest

from medlens.errors import SourceError
from medlens.reasoning.tables import DiseaseSymptomTable, NaiveBayesScorer, symptom_key

# A hand-written 6-row table in the layout of the disease-symptom-kb folder (the loader reads
# those file names); written to a temporary folder so that the repository carries no file
# named like the shared corpus.
TABLE_FILES = {
    "dataset.csv": ",,,\nFlu,fever, cough,\nFlu,fever, cough, headache\nFlu,fever,,\nFlu,fever, cough,\n"
                   "Cystitis,burning_micturition, bladder _discomfort,\nCystitis,burning_micturition,,\n",
    "Symptom_severity.csv": "fever,4\ncough,3\n",
    "symptom_Description.csv": "Flu,A viral infection of the airways.\nCystitis,Infection of the bladder.\n",
    "symptom_precaution.csv": "Flu,rest,drink fluids,,\nCystitis,drink water,see a doctor,,\n",
}


@pytest.fixture(scope="module")
def table_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("table")
    for name, text in TABLE_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def table(table_dir: Path):
    return DiseaseSymptomTable.from_dir(table_dir)


def test_tables_loader_reads_all_files(table):
    assert table.diseases == ["Flu", "Cystitis"]
    assert "bladder_discomfort" in table.symptoms  # "bladder _discomfort" cleaned
    s = {n: i for i, n in enumerate(table.symptoms)}
    assert table.counts[0, s["fever"]] == 4 and table.counts[0, s["cough"]] == 3 and table.rows.tolist() == [4, 2]
    assert table.description("flu") == "A viral infection of the airways."
    assert table.precautions_of("Cystitis") == ["drink water", "see a doctor"]
    assert table.weights == {"fever": 4.0, "cough": 3.0}


def test_tables_symptom_key():
    assert symptom_key(" dischromic _patches") == "dischromic_patches"
    assert symptom_key("foul_smell_of urine") == "foul_smell_of_urine"


def test_tables_naive_bayes_present(table):
    nb = NaiveBayesScorer(table, alpha=1.0)
    s = {n: i for i, n in enumerate(table.symptoms)}
    scores = nb.score([s["fever"], s["cough"]])
    assert scores[0] == pytest.approx(log(5 / 6) + log(4 / 6))
    assert scores[1] == pytest.approx(log(1 / 4) + log(1 / 4))
    p = nb.probabilities(scores)
    assert p[0] == pytest.approx((20 / 36) / (20 / 36 + 1 / 16))


def test_tables_naive_bayes_absent(table):
    nb = NaiveBayesScorer(table, alpha=1.0)
    s = {n: i for i, n in enumerate(table.symptoms)}
    scores = nb.score([s["fever"]], [s["cough"]])
    assert scores[0] == pytest.approx(log(5 / 6) + log(2 / 6))
    assert scores[1] == pytest.approx(log(1 / 4) + log(3 / 4))
    assert nb.probabilities(scores)[0] == pytest.approx((10 / 36) / (10 / 36 + 3 / 16))


def test_tables_bad_row_names_file_and_line(tmp_path):
    bad = tmp_path / "dataset.csv"
    bad.write_text("Flu,fever\n,cough\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"dataset.csv, line 2"):
        DiseaseSymptomTable.from_csv(bad)


def test_tables_missing_dataset(tmp_path):
    with pytest.raises(SourceError, match="dataset.csv"):
        DiseaseSymptomTable.from_dir(tmp_path)
