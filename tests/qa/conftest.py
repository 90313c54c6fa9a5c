"""Fixtures for the question-answering tests: a tiny random-weight yes / no / maybe cross-encoder and its ONNX export,
a tiny graph of five vocabularies and a handful of documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training.conftest import tiny_classifier_dir, tiny_classifier_onnx, write_tiny_classifier  # noqa: F401 (fixtures)

QA_LABELS = ["maybe", "no", "yes"]


def write_tiny_cross_encoder(folder: Path, *, seed: int = 0, head_scale: float = 30.0, max_length: int = 48) -> Path:
    """A random-weight BERT (hidden 32, 2 layers) yes / no / maybe cross-encoder folder, as `medlens train qa` writes it."""
    write_tiny_classifier(folder, QA_LABELS, max_length=max_length, truncation="head-tail", seed=seed,
                          head_scale=head_scale)
    meta = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    meta.update(input="question-context", question_max=12)
    (folder / "labels.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_qa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return write_tiny_cross_encoder(tmp_path_factory.mktemp("tiny_qa") / "model")


@pytest.fixture(scope="session")
def tiny_qa_onnx(tiny_qa_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnxruntime")
    from medlens.training.export import export_onnx

    out = tmp_path_factory.mktemp("tiny_qa_onnx")
    report = export_onnx(tiny_qa_dir, out, sample_texts=["were patients treated with tamoxifen? [SEP] no evidence of disease."])
    assert report["ok"], report
    return out

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
