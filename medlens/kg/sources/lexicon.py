"""The curated resources shipped with medlens, and their schemas.

* ``label_rules.json`` — how each source's concepts get an entity label
  (:class:`LabelRules`, read by the ICD-10-CM, HPO, MeSH and UMLS readers).
* ``clinical_lexicon.json`` — tests, procedures, anatomy and clinician-style
  symptom phrases that the ontologies lack (:func:`read_clinical_lexicon`,
  source ``medlens``, ids ``MEDLENS:T0001`` ...).
* ``abbreviations.json`` — clinical abbreviations and their expansions
  (:func:`read_abbreviations`).

Every file is validated on load with a schema that rejects unknown keys.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from medlens.errors import Errors, SourceError
from medlens.kg.sources.base import SourceData
from medlens.kg.store import Concept, Relation, SourceInfo, Synonym
from medlens.resources import load_resource

Label = Literal["DISEASE", "SYMPTOM", "FINDING", "DRUG", "TEST", "PROCEDURE", "ANATOMY", "OTHER"]

LABEL_RULES = "label_rules.json"
CLINICAL_LEXICON = "clinical_lexicon.json"
ABBREVIATIONS = "abbreviations.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- label_rules.json ---------------------------------------------------------------
class NamedTerm(_Strict):
    """An ontology term named in a rules file (the name is for the reader of the file)."""

    id: str
    name: str


class FrequencyTerm(NamedTerm):
    """An HPO frequency term and the 0..1 frequency it stands for."""

    value: float = Field(ge=0.0, le=1.0)


class HpoRules(_Strict):
    """Labels of HPO terms: FINDING under the phenotype root, SYMPTOM under the symptom roots, OTHER elsewhere."""

    phenotype_root: NamedTerm
    phenotype_label: Label
    outside_label: Label
    symptom_label: Label
    symptom_roots: list[NamedTerm]
    frequency_terms: list[FrequencyTerm]


class CodeRange(_Strict):
    """An inclusive range of 3-character ICD-10-CM categories (``R00``..``R69``) and its label."""

    first: str = Field(pattern=r"^[A-Z][0-9][0-9A-Z]$")
    last: str = Field(pattern=r"^[A-Z][0-9][0-9A-Z]$")
    label: Label
    name: str


class Icd10cmRules(_Strict):
    """Labels of ICD-10-CM chapters, blocks and codes, and the qualifiers stripped to derive short names."""

    chapter_label: Label
    default_label: Label
    ranges: list[CodeRange]
    strip_suffixes: list[str]


class MeshRules(_Strict):
    """MeSH diseases are SYMPTOM when a tree number starts with one of the prefixes."""

    symptom_tree_prefixes: list[str]
    symptom_label: Label
    default_label: Label


class UmlsRules(_Strict):
    """UMLS semantic types (TUIs) to labels; a concept with several takes the first label in ``label_priority``."""

    default_label: Label
    tui_labels: dict[str, Label]
    label_priority: list[Label]


class LabelRules(_Strict):
    """Schema of ``label_rules.json``."""

    version: str
    description: str
    hpo: HpoRules
    icd10cm: Icd10cmRules
    mesh: MeshRules
    umls: UmlsRules


def label_rules(path: str | Path | None = None) -> LabelRules:
    """The label rules (cached after the first call).

    Args:
        path: a rules file; ``None`` reads the shipped ``label_rules.json``.

    Returns:
        The validated rules.
    """
    return load_resource(path or LABEL_RULES, LabelRules)
