"""The phenotype scorer on a hand-made ontology whose scores are derivable by hand.

Ontology: All > Phenotypic abnormality > {A > {A1, A2}, B > {B1}}.
Diseases (N=4): D1 = {A1 (1.0), B1 (0.5)}, D2 = {A2 (1.0)} and lacks A1, D3 = {B1 (unknown)}, D4 = {A1 (0.2)}.
IC(A1) = ln(4/2), IC(A2) = ln 4, IC(A) = ln(4/3), IC(B1) = IC(B) = ln 2, roots 0.
"""

from math import log

import numpy as np
import pytest

from medlens.errors import InputError
from medlens.reasoning.engine import information_gain
from medlens.reasoning.phenotype import PhenotypeIndex, ScorerSettings

TERMS = {"HP:0000001": "All", "HP:0000118": "Phenotypic abnormality", "HP:0000010": "A", "HP:0000011": "A1",
         "HP:0000012": "A2", "HP:0000020": "B", "HP:0000021": "B1"}
IS_A = [("HP:0000118", "HP:0000001"), ("HP:0000010", "HP:0000118"), ("HP:0000011", "HP:0000010"),
        ("HP:0000012", "HP:0000010"), ("HP:0000020", "HP:0000118"), ("HP:0000021", "HP:0000020")]
DISEASES = {"D:1": "one", "D:2": "two", "D:3": "three", "D:4": "four"}
ANN = [("D:1", "HP:0000011", 1.0), ("D:1", "HP:0000021", 0.5), ("D:2", "HP:0000012", 1.0),
       ("D:3", "HP:0000021", None), ("D:4", "HP:0000011", 0.2)]
A, A1, A2, B1 = "HP:0000010", "HP:0000011", "HP:0000012", "HP:0000021"
S = ScorerSettings(alpha=0.7, frequency_weight=0.0, absent_weight=1.0, unknown_frequency=0.5)


@pytest.fixture(scope="module")
def idx():
    return PhenotypeIndex.from_data(TERMS, IS_A, DISEASES, ANN, lacks=[("D:2", A1)])


def scores(idx, present=(), absent=()):
    s = idx.score([idx.term_index[t] for t in present], [idx.term_index[t] for t in absent], S)
    return dict(zip(idx.diseases, s))


def test_phenotype_information_content(idx):
    ic = dict(zip(idx.terms, idx.ic))
    assert ic[A1] == pytest.approx(log(2))
    assert ic[A2] == pytest.approx(log(4))
    assert ic[A] == pytest.approx(log(4 / 3))
    assert ic[B1] == pytest.approx(log(2))
    assert ic["HP:0000001"] == 0 and ic["HP:0000118"] == 0


def test_phenotype_scores_present_finding(idx):
    s = scores(idx, [A1])
    # D4: query->disease ln2, disease->query ln2 (its only annotation matches)
    assert s["D:4"] == pytest.approx(log(2))
    # D1: q->d ln2; d->q = (1.0*ln2 + 0.5*0) / 1.5
    assert s["D:1"] == pytest.approx(0.7 * log(2) + 0.3 * log(2) / 1.5)
    # D2 shares A only, and explicitly lacks A1: -IC(A1)
    assert s["D:2"] == pytest.approx(log(4 / 3) - log(2))
    assert s["D:3"] == pytest.approx(0.0)
    assert max(s, key=s.get) == "D:4"


def test_phenotype_absent_finding_lowers_annotated_diseases(idx):
    s = scores(idx, [A1], [B1])
    assert s["D:1"] == pytest.approx(0.7 * log(2) + 0.3 * log(2) / 1.5 - 0.5 * log(2))  # frequency 0.5
    assert s["D:3"] == pytest.approx(-0.5 * log(2))  # unknown frequency counts 0.5
    assert s["D:4"] == pytest.approx(log(2))  # not annotated with B1: unchanged


def test_phenotype_imprecise_term_matches_descendants(idx):
    s = scores(idx, [A])  # the patient's term is more general than the annotations
    assert s["D:1"] > 0 and s["D:2"] > 0 and s["D:4"] > 0 and s["D:3"] == pytest.approx(0.0)


def test_phenotype_probabilities_sum_to_one(idx):
    s = idx.score([idx.term_index[A1]], [], S)
    p = idx.probabilities(s, 0.25)
    assert p.sum() == pytest.approx(1.0) and int(np.argmax(p)) == idx.disease_index["D:4"]


def test_phenotype_unknown_term_raises(idx):
    with pytest.raises(InputError, match="HP:9999999"):
        idx.index_of("HP:9999999")


def test_information_gain_by_hand():
    gain, p_yes = information_gain(np.array([0.5, 0.5]), np.array([[1.0, 0.5], [0.0, 0.5]]))
    assert gain[0] == pytest.approx(1.0)  # the answer decides between the two
    assert gain[1] == pytest.approx(0.0)  # equally likely under both: useless
    assert p_yes[0] == pytest.approx(0.5)
