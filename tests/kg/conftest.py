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


@pytest.fixture(scope="session")
def era_kg(tmp_path_factory: pytest.TempPathFactory):
    """MeSH descriptors old and new (Cytopenia, 2024, under Hematologic Diseases), a tiny MEDIC
    table (the 2012 vocabulary) and two training mentions (``era_*`` fixtures)."""
    from medlens.kg.build import build_graph
    from medlens.kg.sources.csv_tables import read_csv_tables
    from medlens.kg.sources.mesh_ids import read_medic, read_medic_table, read_mentions, read_mentions_table
    from medlens.kg.store import KnowledgeGraph

    f = KG_FIXTURES
    mesh = read_csv_tables(f / "era_mesh_concepts.csv", f / "era_mesh_synonyms.csv", f / "era_mesh_relations.csv",
                           source="mesh")
    known = {c.id: c for c in mesh.concepts}
    medic = read_medic(read_medic_table(f / "era_medic.tsv.gz"), known)
    mentions = read_mentions(read_mentions_table(f / "era_mentions.tsv.gz"), set(known))
    path = tmp_path_factory.mktemp("era") / "era.sqlite"
    build_graph(path, sources=(), extra=[mesh, medic, mentions], abbreviations=False)
    with KnowledgeGraph.open(path) as kg:
        yield kg
