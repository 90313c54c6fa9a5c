"""A tiny graph of a few drugs and effects (tests/fixtures/kg/meds_*.csv) and rules-only pipelines over it."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def meds_kg_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from medlens.kg.build import build_graph
    from medlens.kg.sources.csv_tables import read_csv_tables

    path = tmp_path_factory.mktemp("kg_meds") / "meds.sqlite"
    kg = FIXTURES / "kg"
    data = read_csv_tables(kg / "meds_concepts.csv", kg / "meds_synonyms.csv", kg / "meds_relations.csv",
                           source="meds", title="tiny medication graph", license="CC0", version="1")
    build_graph(path, sources=(), extra=[data])
    return path


@pytest.fixture(scope="session")
def meds_nlp(meds_kg_path: Path):
    """The rules-only pipeline (dictionary recognizer, context, linker, drug attributes, adverse events)."""
    import medlens
    from medlens.config import RULES_ONLY

    return medlens.load(kg_path=str(meds_kg_path), components=RULES_ONLY)
