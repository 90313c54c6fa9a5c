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
    """MeSH terms are SYMPTOM when a tree number starts with one of ``symptom_tree_prefixes``,
    ``default_label`` when one starts with one of ``disease_tree_prefixes``, else ``other_label``
    (the package also lists psychology and family terms such as "Fathers", trees F01/F04/I01/M01).
    A term whose disease-tree numbers all start with one of ``finding_tree_prefixes`` (C23.550,
    Pathologic Processes: "inflammation", "fibrosis", "necrosis", "ischemia") is ``finding_label``:
    a process seen in a body, not a disease of its own; not those under ``finding_tree_exceptions``
    (syndromes filed there: shock, systemic inflammatory response syndrome, premenstrual syndrome; disease
    attributes: "chronic disease", "acute disease")."""

    symptom_tree_prefixes: list[str]
    symptom_label: Label
    disease_tree_prefixes: list[str]
    default_label: Label
    other_label: Label
    finding_tree_prefixes: list[str] = []
    finding_label: Label = "FINDING"
    finding_tree_exceptions: list[str] = []


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


# -- clinical_lexicon.json ----------------------------------------------------------
_LEXICON_ID = re.compile(r"^MEDLENS:[TPASDF]\d{4}$")
_ID_LETTER = {"TEST": "T", "PROCEDURE": "P", "ANATOMY": "A", "SYMPTOM": "S", "DISEASE": "D", "FINDING": "F"}


class LexiconEntry(_Strict):
    """One curated concept: ``MEDLENS:T0001`` (T test, P procedure, A anatomy, S symptom, D disease, F finding: a sign
    the examiner sees, such as a bruit)."""

    id: str = Field(pattern=_LEXICON_ID.pattern)
    name: str = Field(min_length=1)
    label: Literal["TEST", "PROCEDURE", "ANATOMY", "SYMPTOM", "DISEASE", "FINDING"]
    synonyms: list[str] = []
    xrefs: list[str] = []

    @model_validator(mode="after")
    def _letter_matches_label(self) -> LexiconEntry:
        if self.id[8] != _ID_LETTER[self.label]:
            raise ValueError(f"id {self.id} does not fit label {self.label} (expected MEDLENS:{_ID_LETTER[self.label]}####)")
        return self


class ClinicalLexicon(_Strict):
    """Schema of ``clinical_lexicon.json``."""

    version: str
    description: str
    license: str
    entries: list[LexiconEntry]

    @field_validator("entries")
    @classmethod
    def _unique_ids(cls, entries: list[LexiconEntry]) -> list[LexiconEntry]:
        seen: set[str] = set()
        for e in entries:
            if e.id in seen:
                raise ValueError(f"duplicate id {e.id}")
            seen.add(e.id)
        return entries


def read_clinical_lexicon(path: str | Path | None = None) -> SourceData:
    """The curated clinical lexicon (tests, procedures, anatomy, clinician-style symptom phrases).

    Args:
        path: a lexicon file in the same schema; ``None`` reads the shipped
            ``clinical_lexicon.json``.

    Returns:
        Source ``medlens``: one concept per entry, its name (``preferred``) and
        synonyms (``exact``), and an ``xref`` relation to each listed ontology concept.

    Raises:
        ResourceError: the file does not match the schema.
    """
    lex = load_resource(path or CLINICAL_LEXICON, ClinicalLexicon)
    source = "medlens"
    concepts: list[Concept] = []
    synonyms: list[Synonym] = []
    relations: list[Relation] = []
    for e in lex.entries:
        concepts.append(Concept(e.id, e.name, source, e.label))
        synonyms.append(Synonym(e.id, e.name, "preferred", source))
        seen = {e.name.casefold()}
        for s in e.synonyms:
            if s.casefold() not in seen:
                seen.add(s.casefold())
                synonyms.append(Synonym(e.id, s, "exact", source))
        relations.extend(Relation(e.id, "xref", x, source) for x in e.xrefs)
    where = str(path) if path else f"medlens/resources/en/{CLINICAL_LEXICON}"
    info = SourceInfo(source, lex.version, "medlens curated clinical lexicon", lex.license, where)
    return SourceData(info, concepts, synonyms, relations)


# -- abbreviations.json -------------------------------------------------------------
class Abbreviation(_Strict):
    """A clinical abbreviation and what it stands for.

    Attributes:
        abbr: the abbreviation as written (``MI``).
        expansions: full forms, most likely first; each is a synonym in the graph.
        case_sensitive: match only with this exact casing (``PE`` but not ``pe``).
        label: the entity label of the expansions.
        ambiguous: the abbreviation has other common meanings; callers should
            require context before trusting it.
        not_in_sections: section names where the abbreviation means something else
            (``PE`` is "physical exam" in ``physical_exam``).
    """

    abbr: str = Field(min_length=1)
    expansions: list[str] = Field(min_length=1)
    case_sensitive: bool = True
    label: Label
    ambiguous: bool = False
    not_in_sections: list[str] = []


class AbbreviationList(_Strict):
    """Schema of ``abbreviations.json``."""

    version: str
    description: str
    abbreviations: list[Abbreviation]

    @field_validator("abbreviations")
    @classmethod
    def _unique(cls, items: list[Abbreviation]) -> list[Abbreviation]:
        seen: set[tuple[str, bool]] = set()
        for a in items:
            key = (a.abbr if a.case_sensitive else a.abbr.casefold(), a.case_sensitive)
            if key in seen:
                raise ValueError(f"abbreviation {a.abbr!r} is listed twice")
            seen.add(key)
        return items


def read_abbreviations(path: str | Path | None = None) -> list[Abbreviation]:
    """The clinical abbreviations.

    Args:
        path: a file in the same schema; ``None`` reads the shipped ``abbreviations.json``.

    Returns:
        The abbreviations, in file order.

    Raises:
        ResourceError: the file does not match the schema.
    """
    return list(load_resource(path or ABBREVIATIONS, AbbreviationList).abbreviations)
