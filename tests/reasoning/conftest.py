"""Fixtures of the reasoning tests: the DDXPlus common-disease knowledge and a diagnosis engine on the tiny graph."""

import pytest

from medlens.reasoning.common import CommonKnowledge


@pytest.fixture(scope="module")
def ddx() -> CommonKnowledge:
    return CommonKnowledge.ddxplus()


@pytest.fixture(scope="module")
def engine(tiny_kg, nlp):
    from medlens.reasoning.engine import DiagnosisEngine

    return DiagnosisEngine(tiny_kg, nlp=nlp)
