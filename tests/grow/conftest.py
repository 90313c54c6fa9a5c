"""Fixtures for the relation and grow tests: a private copy of the tiny graph (a grow writes its layer beside
the graph, and the session's tiny graph is shared with other tests), and a tiny corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

DOCS = {
    "d1": "Hypertension was treated with lisinopril. He developed nausea after metformin.",
    "d2": "Pneumonia presenting with fever. Cough is a symptom of pneumonia.",
    "d3": "Metformin is effective in the treatment of type 2 diabetes. She had vomiting after metformin.",
}
MORE = {
    "d4": "Hypertension responded to lisinopril. Nausea after metformin was mild.",
    "d5": "Stroke presenting with seizure. Pneumonia, cough.",
}


def write_jsonl(path: Path, docs: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in docs.items()), encoding="utf-8")
    return path


@pytest.fixture
def kg_copy(tiny_kg_path: Path, tmp_path: Path) -> Path:
    """The tiny graph copied to a fresh folder (its grown layer goes beside it)."""
    dst = tmp_path / "graph" / "kg.sqlite"
    dst.parent.mkdir()
    shutil.copyfile(tiny_kg_path, dst)
    return dst


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "corpus.jsonl", DOCS)
