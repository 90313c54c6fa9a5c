"""Disease–symptom tables supplied as CSV, and a naive Bayes scorer over them.

The format is that of the public "disease symptom description" dataset
(itachi9604/healthcare-chatbot), four files without header rows:

* ``dataset.csv``: ``disease,symptom,symptom,...`` — one row per observed case
  (rows may repeat; blank cells and blank rows are skipped). Symptom names are
  snake_case (``skin_rash``); stray spaces are removed (``dischromic _patches``
  → ``dischromic_patches``).
* ``Symptom_severity.csv`` (optional): ``symptom,weight``.
* ``symptom_Description.csv`` (optional): ``disease,description``.
* ``symptom_precaution.csv`` (optional): ``disease,precaution,precaution,...``.

:class:`NaiveBayesScorer` estimates ``P(symptom | disease)`` from the rows with
add-``alpha`` smoothing and scores a patient by
``log P(d) + Σ_present log P(s|d) + Σ_absent log(1 - P(s|d))``; symptoms the
patient was not asked about are left out (unknown, not absent). The result
is an exact posterior under the naive Bayes assumptions (uniform prior).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medlens.errors import Errors, SourceError

DATASET_NAMES = ("dataset.csv",)
SEVERITY_NAMES = ("Symptom_severity.csv", "symptom_severity.csv")
DESCRIPTION_NAMES = ("symptom_Description.csv", "symptom_description.csv", "descriptions.csv")
PRECAUTION_NAMES = ("symptom_precaution.csv", "precautions.csv")


def symptom_key(raw: str) -> str:
    """``" dischromic _patches"`` → ``"dischromic_patches"``."""
    return re.sub(r"[\s_]+", "_", raw.strip()).strip("_").lower()


def symptom_text(key: str) -> str:
    """``"dischromic_patches"`` → ``"dischromic patches"``."""
    return key.replace("_", " ")


@dataclass
class DiseaseSymptomTable:
    """A disease–symptom table with case counts, and optional weights, descriptions and precautions.

    Attributes:
        name: the table's name (its folder, or what the caller chose); cited as provenance.
        diseases: disease names, as written.
        symptoms: symptom keys (snake_case).
        counts: ``counts[d, s]`` = rows of disease ``d`` that list symptom ``s``.
        rows: ``rows[d]`` = rows of disease ``d``.
        weights: symptom key → severity weight (``Symptom_severity.csv``).
        descriptions: disease → description.
        precautions: disease → precautions.
    """

    name: str
    diseases: list[str]
    symptoms: list[str]
    counts: np.ndarray
    rows: np.ndarray
    weights: dict[str, float] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    precautions: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_csv(cls, dataset: str | Path, severity: str | Path | None = None, descriptions: str | Path | None = None,
                 precautions: str | Path | None = None, name: str | None = None) -> DiseaseSymptomTable:
        """Read the table files (see the module docstring for the format).

        Raises:
            SourceError: a file is missing or unreadable, or a row is malformed (the message names file and line).
        """
        dataset = Path(dataset)
        cases: dict[str, list[set[str]]] = {}
        for line, row in _csv_rows(dataset):
            disease = row[0].strip()
            syms = {symptom_key(c) for c in row[1:] if c.strip()}
            if not disease:
                if syms:
                    raise SourceError(Errors.E105.format(path=dataset, line=line,
                                                         details="the first column (the disease) is empty but the row lists symptoms"))
                continue
            cases.setdefault(" ".join(disease.split()), []).append(syms)
        if not cases:
            raise SourceError(Errors.E105.format(path=dataset, line=1, details="no disease rows; expected disease,symptom,symptom,..."))
        diseases = list(cases)
        symptoms = sorted({s for rows in cases.values() for r in rows for s in r})
        s_index = {s: i for i, s in enumerate(symptoms)}
        counts = np.zeros((len(diseases), len(symptoms)))
        n_rows = np.zeros(len(diseases))
        for d, rows in enumerate(cases.values()):
            n_rows[d] = len(rows)
            for r in rows:
                for s in r:
                    counts[d, s_index[s]] += 1
        weights: dict[str, float] = {}
        if severity:
            for line, row in _csv_rows(Path(severity)):
                if len(row) < 2 or not row[0].strip():
                    continue
                try:
                    weights[symptom_key(row[0])] = float(row[1])
                except ValueError:
                    raise SourceError(Errors.E105.format(path=severity, line=line,
                                                         details=f"weight '{row[1]}' is not a number")) from None
        descs = {" ".join(r[0].split()): r[1].strip() for _, r in _csv_rows(Path(descriptions)) if len(r) >= 2} if descriptions else {}
        precs = {" ".join(r[0].split()): [c.strip() for c in r[1:] if c.strip()]
                 for _, r in _csv_rows(Path(precautions)) if r and r[0].strip()} if precautions else {}
        return cls(name or dataset.parent.name or dataset.stem, diseases, symptoms, counts, n_rows, weights, descs, precs)

    @classmethod
    def from_dir(cls, folder: str | Path, name: str | None = None) -> DiseaseSymptomTable:
        """Read a folder holding ``dataset.csv`` and, when present, the three optional files.

        Raises:
            SourceError: the folder has no ``dataset.csv``.
        """
        folder = Path(folder)

        def find(names: Sequence[str]) -> Path | None:
            return next((folder / n for n in names if (folder / n).is_file()), None)

        dataset = find(DATASET_NAMES)
        if dataset is None:
            raise SourceError(Errors.E104.format(source="disease-symptom table", path=folder,
                                                 details=f"no {' or '.join(DATASET_NAMES)} in the folder"))
        return cls.from_csv(dataset, find(SEVERITY_NAMES), find(DESCRIPTION_NAMES), find(PRECAUTION_NAMES),
                            name=name or folder.name)

    def description(self, disease: str) -> str | None:
        return self.descriptions.get(disease) or _casefold_get(self.descriptions, disease)

    def precautions_of(self, disease: str) -> list[str]:
        return self.precautions.get(disease) or _casefold_get(self.precautions, disease) or []


def _casefold_get(d: dict, key: str):
    k = key.strip().casefold()
    for name, v in d.items():
        if name.strip().casefold() == k:
            return v
    return None


def _csv_rows(path: Path):
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise SourceError(Errors.E104.format(source="disease-symptom table", path=path, details=exc)) from exc
    with fh:
        reader = csv.reader(fh)
        try:
            for row in reader:
                if any(c.strip() for c in row):
                    yield reader.line_num, row
        except (csv.Error, UnicodeDecodeError) as exc:
            raise SourceError(Errors.E105.format(path=path, line=reader.line_num, details=exc)) from exc


class NaiveBayesScorer:
    """Naive Bayes over present and absent symptoms.

    Args:
        table: the disease–symptom table.
        alpha: add-alpha (Laplace) smoothing of ``P(symptom | disease)`` (default 1.0).
        leak: a floor on ``P(symptom | disease)`` so that one unexpected symptom cannot rule a disease
            out entirely (default 0.01).
    """

    def __init__(self, table: DiseaseSymptomTable, alpha: float = 1.0, leak: float = 0.01) -> None:
        self.table = table
        p = (table.counts + alpha) / (table.rows[:, None] + 2 * alpha)
        self.p = np.clip(p, leak, 1 - leak)
        self.log_p = np.log(self.p)
        self.log_q = np.log1p(-self.p)
        self.symptom_index = {s: i for i, s in enumerate(table.symptoms)}

    def score(self, present: Sequence[int], absent: Sequence[int] = ()) -> np.ndarray:
        """Log-likelihood of each disease (uniform prior) given symptom indices."""
        present = list(dict.fromkeys(present))
        absent = [a for a in dict.fromkeys(absent) if a not in set(present)]
        s = np.zeros(len(self.table.diseases))
        if present:
            s += self.log_p[:, present].sum(axis=1)
        if absent:
            s += self.log_q[:, absent].sum(axis=1)
        return s

    @staticmethod
    def probabilities(scores: np.ndarray) -> np.ndarray:
        z = np.exp(scores - scores.max())
        return z / z.sum()
