"""Shared fixtures: a tiny knowledge graph built from a fixture, and a pipeline over it.

``--slow`` runs the tests marked ``slow`` (real corpora, the full knowledge graph).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest
import spacy

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


@contextmanager
def mini_graph_linker(path: Path, concepts, synonyms=()):
    """An ``EntityLinker`` over a graph built at ``path`` from ``concepts`` alone (kg ``Concept`` objects, each with
    its name as preferred synonym) plus ``synonyms``; the graph stays open while the context lasts."""
    from medlens.components.linker import EntityLinker
    from medlens.kg.build import build_graph
    from medlens.kg.sources.base import SourceData, SourceInfo, Synonym
    from medlens.kg.store import KnowledgeGraph

    names = [Synonym(c.id, c.name, "preferred", "x") for c in concepts]
    data = SourceData(SourceInfo("x", "1", "x", "CC0", "test"), list(concepts), names + list(synonyms), [])
    build_graph(path, sources=(), extra=[data])
    with KnowledgeGraph.open(path) as kg:
        yield EntityLinker.from_kg(kg, nlp=spacy.blank("en"))


def sectioned_model_doc(text: str, spans, section: str):
    """A blank-tokenized doc of ``text`` lying in one section ``section``, with the model entities ``spans``
    (:func:`set_model_spans`)."""
    from medlens.doc import extensions
    from medlens.doc.types import Section

    extensions.register()
    doc = spacy.blank("en")(text)
    doc._.sections = [Section(section, "", 0, len(text), 0)]
    return set_model_spans(doc, spans)


def linked_labels(linker, doc) -> list[tuple[str, str, str | None]]:
    """``(text, label, first concept id or None)`` of every entity after ``linker`` ran on ``doc``."""
    return [(e.text, e.label_, e._.concepts[0].concept_id if e._.concepts else None) for e in linker(doc).ents]


def context_pipeline():
    """Blank English with the joined-line splitter, sections, sentences and the context component."""
    import medlens.components.context  # noqa: F401  (registers the factories)
    import medlens.components.sections  # noqa: F401
    import medlens.components.sentences  # noqa: F401
    from medlens.pipeline import split_joined_lines

    nlp = spacy.blank("en")
    split_joined_lines(nlp)
    nlp.add_pipe("medlens_sections")
    nlp.add_pipe("medlens_sentences")
    nlp.add_pipe("medlens_context")
    return nlp


def context_assertions(nlp, text: str, *mentions: str, label: str = "FINDING", labels: dict[str, str] | None = None):
    """Assertions of ``mentions`` (found left to right in ``text``) as entities of ``label`` (or ``labels[mention]``),
    after the sections, sentences and context components of ``nlp`` (:func:`context_pipeline`)."""
    doc = nlp.make_doc(text)
    for name in ("medlens_sections", "medlens_sentences"):
        doc = nlp.get_pipe(name)(doc)
    spans, cur = [], 0
    for m in mentions:
        i = text.index(m, cur)
        spans.append(doc.char_span(i, i + len(m), label=(labels or {}).get(m, label)))
        cur = i + len(m)
    doc.ents = spans
    doc = nlp.get_pipe("medlens_context")(doc)
    return [e._.assertion for e in doc.ents]


def context_statuses(nlp, text: str, *mentions: str, **kw) -> list[str]:
    """The assertion status of each of ``mentions`` (:func:`context_assertions`, same keywords)."""
    return [a.status for a in context_assertions(nlp, text, *mentions, **kw)]
