"""A graph of three tiny sources for identifier tests: ICD-10-CM-like, MeSH-like and drugs."""

from __future__ import annotations

from pathlib import Path

import pytest

KG_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kg"


def build_ids_graph(path: Path) -> Path:
    """The identifier fixture graph (ICD-10-CM, MeSH and drug tables of ``ids_*.csv``) written to ``path``."""
    from medlens.kg.build import build_graph
    from medlens.kg.sources.csv_tables import read_csv_tables

    f = KG_FIXTURES
    parts = [
        read_csv_tables(f / "ids_icd_concepts.csv", None, f / "ids_icd_relations.csv", source="icd10cm"),
        read_csv_tables(f / "ids_mesh_concepts.csv", f / "ids_mesh_synonyms.csv", f / "ids_mesh_relations.csv", source="mesh"),
        read_csv_tables(f / "ids_drug_concepts.csv", f / "ids_drug_synonyms.csv", f / "ids_drug_relations.csv", source="drugs"),
    ]
    build_graph(path, sources=(), extra=parts, abbreviations=False)
    return path


@pytest.fixture(scope="session")
def ids_kg_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_ids_graph(tmp_path_factory.mktemp("ids") / "ids.sqlite")


@pytest.fixture(scope="session")
def ids_kg(ids_kg_path: Path):
    from medlens.kg.store import KnowledgeGraph

    with KnowledgeGraph.open(ids_kg_path) as kg:
        yield kg
