"""Corpora in every input format, built from the same documents."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest


SENTENCES = ["Patient denies chest pain.", "History of diabetes mellitus.", "Mother had hypertension.",
             "Started metformin 500 mg twice daily.", "No fever or cough."]


def make_docs(n: int) -> list[dict]:
    """``n`` small notes with ids d0000, d0001, ..."""
    return [{"id": f"d{i:04d}", "text": f"Note {i}. " + " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(3))}
            for i in range(n)]


def write_corpus(folder: Path, docs: list[dict], kind: str) -> Path:
    """The documents as ``kind`` input under ``folder``; returns the input path."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "folder":
        d = folder / "notes"
        d.mkdir(exist_ok=True)
        for doc in docs:
            (d / f"{doc['id']}.txt").write_text(doc["text"], encoding="utf-8")
        return d
    if kind == "jsonl":
        p = folder / "notes.jsonl"
        p.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
        return p
    if kind == "csv":
        p = folder / "notes.csv"
        with p.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["note_id", "body"])
            w.writeheader()
            for d in docs:
                w.writerow({"note_id": d["id"], "body": d["text"]})
        return p
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        p = folder / "notes.parquet"
        pq.write_table(pa.Table.from_pylist([{"note_id": d["id"], "body": d["text"]} for d in docs]), p,
                       row_group_size=7)
        return p
    if kind == "sql":
        p = folder / "notes.sqlite"
        with sqlite3.connect(p) as conn:
            conn.execute("CREATE TABLE notes (note_id TEXT PRIMARY KEY, body TEXT, dept TEXT)")
            conn.executemany("INSERT INTO notes VALUES (?, ?, 'x')", [(d["id"], d["text"]) for d in reversed(docs)])
        return p
    raise ValueError(kind)


COLUMNS = {"folder": {}, "jsonl": {}, "csv": {"text_column": "body", "id_column": "note_id"},
           "parquet": {"text_column": "body", "id_column": "note_id"},
           "sql": {"text_column": "body", "id_column": "note_id", "query": "SELECT note_id, body FROM notes"}}


@pytest.fixture(scope="session")
def rules_task(tiny_kg_path):
    from medlens.batch import AnalyzeTask
    from medlens.config import RULES_ONLY, make_config

    return AnalyzeTask(config=make_config(kg_path=str(tiny_kg_path), components=RULES_ONLY))


def ids_of(folder: Path) -> list[str]:
    """Every document id in a job folder's partitions, in order (duplicates kept: tests count them)."""
    from medlens.engines.job import read_partitions

    return [r.id for r in read_partitions(folder)]
