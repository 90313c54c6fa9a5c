import re

import pytest
import spacy

from medlens.kg.sources.drugs import read_drugs
from medlens.kg.sources.hpo import read_hpo_terms
from medlens.kg.sources.icd10cm import read_icd10cm
from medlens.kg.sources.lexicon import read_abbreviations, read_clinical_lexicon
from medlens.kg.sources.mesh import read_mesh_diseases
from medlens.kg.store import LABELS
from medlens.normalize import fold, key_of_tokens, singular

_WORD = re.compile(r"[a-z0-9%+]+")


def _cheap_key(text: str) -> str:
    return " ".join(singular(w) for w in _WORD.findall(fold(text).replace("'s ", " ")))


@pytest.fixture(scope="module")
def lexicon():
    return read_clinical_lexicon()


def test_lexicon_ids_unique_and_labels_valid(lexicon):
    ids = [c.id for c in lexicon.concepts]
    assert len(ids) == len(set(ids))
    assert all(c.label in LABELS and c.label != "OTHER" for c in lexicon.concepts)
    counts = {label: sum(c.label == label for c in lexicon.concepts) for label in ("TEST", "PROCEDURE", "ANATOMY")}
    assert counts["TEST"] >= 120 and counts["PROCEDURE"] >= 80 and counts["ANATOMY"] >= 100


def test_lexicon_known_entries(lexicon):
    names = {s.text: s.concept_id for s in lexicon.synonyms}
    assert names["CXR"] == names["chest x-ray"]
    assert names["HbA1c"] == names["hemoglobin A1c"]
    assert lexicon.info.name == "medlens"
    assert all(r.predicate == "xref" for r in lexicon.relations)


def test_lexicon_abbreviations_shape():
    abbrs = read_abbreviations()
    assert len(abbrs) >= 150
    by = {a.abbr: a for a in abbrs}
    assert by["MI"].expansions == ["myocardial infarction"] and by["MI"].case_sensitive
    assert by["PE"].ambiguous and "physical_exam" in by["PE"].not_in_sections
    assert by["ASA"].label == "DRUG"


def test_lexicon_every_abbreviation_expansion_resolves(lexicon):
    """Each expansion is a synonym (same normalized key) of a concept whose label matches the abbreviation."""
    abbrs = read_abbreviations()
    tokenizer = spacy.blank("en").tokenizer

    def key(text: str) -> str:
        return key_of_tokens(t.text for t in tokenizer(text))

    wanted = {key(e): None for a in abbrs for e in a.expansions}
    cheap_wanted = {_cheap_key(e) for a in abbrs for e in a.expansions}
    labels: dict[str, set[str]] = {k: set() for k in wanted}
    for data in (read_icd10cm(), read_hpo_terms(), read_mesh_diseases(), read_drugs(), lexicon):
        label_of = {c.id: c.label for c in data.concepts}
        for s in data.synonyms:
            if _cheap_key(s.text) in cheap_wanted:
                k = key(s.text)
                if k in labels:
                    labels[k].add(label_of[s.concept_id])
    unresolved = [(a.abbr, e) for a in abbrs for e in a.expansions if not labels[key(e)]]
    assert not unresolved, f"expansions that are no synonym in any source: {unresolved}"
    wrong = [a.abbr for a in abbrs if not any(a.label in labels[key(e)] for e in a.expansions)]
    assert not wrong, f"abbreviations whose label no expansion's concept carries: {wrong}"


def test_lexicon_newborn_measures_anatomy_and_findings(lexicon):
    by_id = {c.id: c for c in lexicon.concepts}
    names = {s.text: s.concept_id for s in lexicon.synonyms}
    assert by_id[names["Apgars"]].label == "TEST" and names["Apgars"] == names["Apgar score"]
    assert by_id[names["birth weight"]].label == "TEST"
    assert by_id[names["TMs"]].label == "ANATOMY" and names["eardrum"] == names["TMs"]
    assert by_id[names["ACL"]].label == "ANATOMY"
    # FINDING entries (MEDLENS:F####): signs an examiner finds
    assert by_id[names["bruits"]].label == "FINDING" and names["bruits"].startswith("MEDLENS:F")
    assert by_id[names["PMI"]].label == "FINDING"
    assert by_id[names["aura"]].label == "SYMPTOM"
