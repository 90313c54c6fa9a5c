"""Shared fixtures: a tiny knowledge graph built from a fixture, and a pipeline over it.

``--slow`` runs the tests marked ``slow`` (real corpora, the full knowledge graph).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (make test-slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_kg_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A graph built from tests/fixtures/kg/tiny_*.csv plus the shipped abbreviations."""
    from medlens.kg.build import build_graph
    from medlens.kg.sources.csv_tables import read_csv_tables

    path = tmp_path_factory.mktemp("kg") / "tiny.sqlite"
    kg = FIXTURES / "kg"
    data = read_csv_tables(kg / "tiny_concepts.csv", kg / "tiny_synonyms.csv", kg / "tiny_relations.csv",
                           source="tiny", title="tiny test graph", license="CC0", version="1")
    build_graph(path, sources=(), extra=[data])
    return path


@pytest.fixture(scope="session")
def tiny_kg(tiny_kg_path: Path):
    from medlens.kg.store import KnowledgeGraph

    with KnowledgeGraph.open(tiny_kg_path) as kg:
        yield kg


@pytest.fixture(scope="session")
def nlp(tiny_kg_path: Path):
    import medlens

    return medlens.load(kg_path=str(tiny_kg_path))


@pytest.fixture(scope="session")
def rules_nlp(tiny_kg_path: Path):
    """The pipeline without models (``RULES_ONLY``): what the dictionary alone finds."""
    import medlens
    from medlens.config import RULES_ONLY

    return medlens.load(kg_path=str(tiny_kg_path), components=RULES_ONLY)


@pytest.fixture(scope="session")
def full_kg_path() -> Path:
    """The real default graph; tests using it are slow and skip when it is absent."""
    from medlens.kg.store import default_graph_path

    p = Path(os.environ["MEDLENS_KG"]) if os.environ.get("MEDLENS_KG") else default_graph_path()
    if not p.is_file():
        pytest.skip(f"no knowledge graph at {p}: run `medlens kg build` (or `make kg`)")
    return p


def shared_data(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test with a clear message."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data not found: {p} (the labeled corpora live in ../shared/data beside the project)")
    return p


def set_model_spans(doc, spans):
    """Set ``doc.ents`` to ``spans`` ((words, label), each at the first place its words occur in the text) as the
    transformer recognizer would: every entity marked ``ner_source="model"``. Returns the doc."""
    ents = []
    for words, label in spans:
        i = doc.text.index(words)
        ents.append(doc.char_span(i, i + len(words), label=label))
    doc.ents = ents
    for e in doc.ents:
        e._.ner_source = "model"
    return doc
