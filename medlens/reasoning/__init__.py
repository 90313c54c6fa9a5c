"""Reasoning: findings → ranked differential diagnosis with evidence, next questions and suggestions.

Decision support only; see :data:`medlens.reasoning.models.DISCLAIMER`.
Nothing heavy happens at import time: the phenotype index is built from the
graph on first use and cached per graph file.
"""

from medlens.reasoning.engine import DiagnosisEngine, diagnose, information_gain
from medlens.reasoning.models import (
    DISCLAIMER,
    Diagnosis,
    Differential,
    Evidence,
    Finding,
    Provenance,
    Question,
    Suggestion,
)
from medlens.reasoning.rules import LabValue, RuleEngine, load_rules
from medlens.reasoning.tables import DiseaseSymptomTable, NaiveBayesScorer

__all__ = [
    "DISCLAIMER", "Diagnosis", "DiagnosisEngine", "Differential", "DiseaseSymptomTable", "Evidence", "Finding",
    "LabValue", "NaiveBayesScorer", "Provenance", "Question", "RuleEngine", "Suggestion", "diagnose",
    "information_gain", "load_rules",
]
