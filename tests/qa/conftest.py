"""Fixtures for the question-answering tests: a tiny graph of five vocabularies and a handful of documents."""

from __future__ import annotations

from pathlib import Path

import pytest

QA_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qa"


def build_qa_graph(path: Path) -> Path:
    """ICD-10-CM-, HPO-, OMIM- and MeSH-like tables of tests/fixtures/qa built into one graph at ``path``."""
    from medlens.kg.build import build_graph
    from medlens.kg.sources.csv_tables import read_csv_tables

    f = QA_FIXTURES
    parts = [
        read_csv_tables(f / "icd_concepts.csv", None, f / "icd_relations.csv", source="icd10cm"),
        read_csv_tables(f / "hpo_concepts.csv", f / "hpo_synonyms.csv", f / "hpo_relations.csv", source="hpo"),
        read_csv_tables(f / "omim_concepts.csv", None, f / "omim_relations.csv", source="omim"),
        read_csv_tables(f / "mesh_concepts.csv", f / "mesh_synonyms.csv", f / "mesh_relations.csv", source="mesh"),
    ]
    build_graph(path, sources=(), extra=parts, abbreviations=False)
    return path


@pytest.fixture(scope="session")
def qa_kg_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_qa_graph(tmp_path_factory.mktemp("qa") / "qa.sqlite")


@pytest.fixture(scope="session")
def graph_qa(qa_kg_path: Path):
    from medlens.kg.store import KnowledgeGraph
    from medlens.qa.graph import GraphQA

    with KnowledgeGraph.open(qa_kg_path) as kg:
        yield GraphQA(kg)


DOCS = {
    "cardio/note1.txt": "Chief complaint: chest pain radiating to the left arm. The patient was started on aspirin and "
                        "a beta blocker. Troponin was elevated.",
    "renal/note2.txt": "Potassium was 6.8 mmol/L on admission. Hyperkalemia was treated with insulin and glucose. "
                       "Renal function improved over three days.",
    "peds/note3.txt": "The child has short stature and hearing loss. A genetic panel was sent. Follow up in clinic.",
}


@pytest.fixture()
def docs_folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    for name, text in DOCS.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root
