"""``kg grow`` on a handful of documents: counts, idempotence, incremental growth, atomicity, resume."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medlens.errors import InputError, KnowledgeGraphError
from medlens.kg.grown import (
    DocumentRows,
    EdgeRow,
    GrownLayer,
    GrowWriter,
    MentionRow,
    grown_path,
    llr,
    partial_path,
    pmi,
)
from medlens.kg.store import KnowledgeGraph
from medlens.relations.grow import grow
from medlens.relations.grown import relations_of

from .conftest import DOCS, MORE, write_jsonl


def _layer_counts(path: Path) -> dict:
    with GrownLayer.open(path) as layer:
        s = layer.stats()
        pairs = {(a, b): (d, n) for a, b, d, n in layer.query("SELECT a, b, documents, sentences FROM pair_stats")}
        concepts = {c: d for c, d in layer.query("SELECT concept_id, documents FROM concept_stats")}
        return {"documents": s["documents"], "edges": s["edges"], "evidence": s["evidence"], "pairs": pairs,
                "concepts": concepts, "generation": layer.meta("generation")}


def test_grow_counts(kg_copy, corpus, rules_nlp):
    report = grow(kg_copy, [corpus], processes=1, model=False)
    assert (report.counts.added, report.counts.skipped, report.counts.failed) == (3, 0, 0)
    assert report.path == grown_path(kg_copy) == kg_copy.with_name("kg.grown.sqlite")
    c = _layer_counts(report.path)
    assert c["documents"] == 3
    # metformin is in d1 and d3; hypertension only in d1; pneumonia in d2
    assert c["concepts"]["T:M001"] == 2 and c["concepts"]["T:D003"] == 1 and c["concepts"]["T:D005"] == 1
    # pneumonia and fever share d2 and one sentence of it; metformin and nausea share d1 and its second sentence
    assert c["pairs"][("T:D005", "T:S003")] == (1, 1)
    assert c["pairs"][("T:M001", "T:S005")] == (1, 1)
    # hypertension and nausea: the same document, not the same sentence
    assert c["pairs"][("T:D003", "T:S005")] == (1, 0)
    with GrownLayer.open(report.path) as layer:
        preds = layer.stats()["predicates"]
    assert preds["treats"]["edges"] == 2 and preds["adverse_event"]["edges"] == 2 and preds["has_finding"]["edges"] == 2


def test_regrow_is_idempotent_and_new_documents_add(kg_copy, corpus, tmp_path):
    grow(kg_copy, [corpus], processes=1, model=False)
    before = _layer_counts(grown_path(kg_copy))
    again = grow(kg_copy, [corpus], processes=1, model=False)
    assert (again.counts.added, again.counts.skipped, again.processed) == (0, 3, 0)
    after = _layer_counts(grown_path(kg_copy))
    assert {k: v for k, v in after.items() if k != "generation"} == {k: v for k, v in before.items() if k != "generation"}
    # the same texts under other ids are not counted again either
    renamed = write_jsonl(tmp_path / "renamed.jsonl", {f"copy-{k}": v for k, v in DOCS.items()})
    assert grow(kg_copy, [renamed], processes=1, model=False).counts.skipped == 3
    # new documents add to the counts
    more = write_jsonl(tmp_path / "more.jsonl", MORE)
    report = grow(kg_copy, [more, corpus], processes=1, model=False)
    assert (report.counts.added, report.counts.skipped) == (2, 3)
    grown = _layer_counts(grown_path(kg_copy))
    assert grown["documents"] == 5
    assert grown["concepts"]["T:D003"] == 2  # hypertension: d1 and d4
    assert grown["pairs"][("T:D003", "T:M003")] == (2, 2)
    kg = KnowledgeGraph.open(kg_copy)
    edges = relations_of(kg, "T:M003", predicate="treats", direction="out")
    assert len(edges) == 1 and edges[0].tail_id == "T:D003" and edges[0].documents == 2
    assert edges[0].score == pytest.approx(1 - 0.3 * 0.3)  # noisy-or of two documents at 0.7


def test_changed_document_is_replaced_not_added(kg_copy, corpus, tmp_path):
    grow(kg_copy, [corpus], processes=1, model=False)
    changed = write_jsonl(tmp_path / "changed.jsonl", {"d1": "Stroke presenting with seizure."})
    report = grow(kg_copy, [changed], processes=1, model=False)
    assert (report.counts.added, report.counts.replaced) == (0, 1)
    c = _layer_counts(grown_path(kg_copy))
    assert c["documents"] == 3 and "T:D003" not in c["concepts"] and c["concepts"]["T:D008"] == 1


def test_folder_and_text_file_corpora(kg_copy, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    for k, v in DOCS.items():
        (folder / f"{k}.txt").write_text(v, encoding="utf-8")
    single = tmp_path / "one.txt"
    single.write_text(MORE["d4"], encoding="utf-8")
    report = grow(kg_copy, [folder, single], processes=1, model=False)
    assert report.counts.added == 4
    with GrownLayer.open(report.path) as layer:
        ids = {r[0] for r in layer.query("SELECT doc_id FROM documents")}
    assert ids == {"notes/d1.txt", "notes/d2.txt", "notes/d3.txt", "one.txt"}


def test_bad_jsonl_line_is_named_and_previous_layer_stays(kg_copy, corpus, tmp_path):
    grow(kg_copy, [corpus], processes=1, model=False)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x1", "text": "Stroke presenting with seizure."}) + "\n{not json\n")
    with pytest.raises(InputError, match=r"bad.jsonl, line 2"):
        grow(kg_copy, [bad], processes=1, model=False)
    assert _layer_counts(grown_path(kg_copy))["documents"] == 3
    missing_text = tmp_path / "nt.jsonl"
    missing_text.write_text(json.dumps({"id": "x"}) + "\n")
    with pytest.raises(InputError, match="line 1: 'text' must be a non-empty string"):
        grow(kg_copy, [missing_text], processes=1, model=False)


def test_statistics_by_hand():
    # 10 documents; a in 4, b in 5, both in 3
    assert pmi(3, 4, 5, 10) == pytest.approx(math.log2(3 * 10 / 20))
    assert llr(3, 4, 5, 10) > 0 and llr(0, 4, 5, 10) < 0
    assert llr(2, 4, 5, 10) == pytest.approx(0.0)  # independent: 4 * 5 / 10 = 2


def _rows(i: int) -> DocumentRows:
    return DocumentRows(f"doc{i}", f"hash{i}", 1, (MentionRow("A", 0), MentionRow(f"B{i % 3}", 0)),
                        (EdgeRow("A", "treats", f"B{i % 3}", "pattern:treats", 0.7, "a", "b", 0, 2, ((0, 3),), "a b."),))


def test_writer_abort_keeps_previous_layer_and_resumes(tmp_path):
    path = tmp_path / "g.grown.sqlite"
    with GrowWriter(path, commit_every=2) as w:
        for i in range(3):
            w.add(_rows(i))
    gen = GrownLayer.open(path).meta("generation")
    w = GrowWriter(path, commit_every=2)
    for i in range(3, 8):
        w.add(_rows(i))
    w.abort()  # as on Ctrl-C
    assert GrownLayer.open(path).document_count() == 3 and partial_path(path).is_file()
    w = GrowWriter(path, commit_every=2)
    assert w.counts.resumed == 5 and w.is_counted("doc5", "hash5")
    w.add(_rows(8))
    w.finish()
    layer = GrownLayer.open(path)
    assert layer.document_count() == 9 and layer.meta("generation") != gen and not partial_path(path).exists()
    assert layer.concept_stats("A")["documents"] == 9


def test_only_one_grow_at_a_time(tmp_path):
    path = tmp_path / "g.grown.sqlite"
    w = GrowWriter(path)
    with pytest.raises(KnowledgeGraphError, match="Another `medlens kg grow`"):
        GrowWriter(path)
    w.abort()
    GrowWriter(path).abort()


def test_killed_grow_leaves_previous_layer_and_resumes(kg_copy, corpus, tmp_path):
    grow(kg_copy, [corpus], processes=1, model=False)
    layer_path = grown_path(kg_copy)
    before = _layer_counts(layer_path)
    big = {f"n{i}": f"Patient {i}: hypertension was treated with lisinopril. He developed nausea after metformin. "
                    f"Pneumonia presenting with fever {i}." for i in range(800)}
    big_corpus = write_jsonl(tmp_path / "big.jsonl", big)
    cmd = [sys.executable, "-m", "medlens.cli.app", "kg", "grow", str(big_corpus), "--kg", str(kg_copy),
           "--no-model", "-j", "1", "--commit-every", "5"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    partial = partial_path(layer_path)
    deadline = time.monotonic() + 120
    counted = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if partial.is_file():
                try:
                    with sqlite3.connect(f"file:{partial}?mode=ro", uri=True, timeout=0.1) as c:
                        counted = c.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
                except sqlite3.Error:
                    counted = 0
                if counted >= 3 + 20:
                    break
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the grow finished before it could be killed"
    assert counted >= 23
    # the previous layer is intact and in use
    assert _layer_counts(layer_path) == before
    kg = KnowledgeGraph.open(kg_copy)
    assert relations_of(kg, "T:M003")[0].documents == 1
    # the next grow resumes: documents of the killed run are not read again, and none is counted twice
    report = grow(kg_copy, [big_corpus], processes=1, model=False)
    assert report.counts.resumed >= 20
    assert report.counts.added + report.counts.resumed == 800
    assert report.processed == 800 - report.counts.resumed
    after = _layer_counts(layer_path)
    assert after["documents"] == 803
    assert after["concepts"]["T:M003"] == 801  # lisinopril: d1 and every big document, once each


@pytest.mark.slow  # two worker processes each load the pipeline: ~20 s on a loaded 2-core machine
def test_grow_on_two_processes_counts_the_same(kg_copy, corpus, tmp_path):
    report = grow(kg_copy, [corpus], processes=2, model=False, chunk_size=1)
    assert (report.counts.added, report.processed) == (3, 3)
    two = _layer_counts(grown_path(kg_copy))
    other = tmp_path / "one" / "kg.sqlite"
    other.parent.mkdir()
    other.write_bytes(kg_copy.read_bytes())
    grow(other, [corpus], processes=1, model=False)
    one = _layer_counts(grown_path(other))
    assert {k: v for k, v in two.items() if k != "generation"} == {k: v for k, v in one.items() if k != "generation"}


def test_jsonl_ids_default_and_bad_texts_fail_alone(kg_copy, tmp_path):
    from medlens.io.readers import iter_jsonl

    f = tmp_path / "c.jsonl"
    f.write_text(json.dumps({"text": "Stroke presenting with seizure."}) + "\n\n"
                 + json.dumps({"id": "bad", "text": "Fever\u0000 today."}) + "\n"
                 + json.dumps({"id": 7, "text": "Pneumonia presenting with fever."}) + "\n", encoding="utf-8")
    docs = list(iter_jsonl(f))
    assert [d.id for d in docs] == ["c.jsonl:1", "bad", "7"]
    assert docs[1].text is None and "line 3" in docs[1].error and "U+0000" in docs[1].error
    report = grow(kg_copy, [f], processes=1, model=False)
    assert (report.counts.added, report.counts.failed) == (2, 1)
    assert report.counts.errors[0].startswith("bad: ")


def test_a_file_that_is_no_layer_is_refused(tmp_path):
    path = tmp_path / "g.grown.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE meta(key TEXT, value TEXT)").connection.commit()
    for _ in range(2):  # the lock is released after the refusal
        with pytest.raises(KnowledgeGraphError, match="not a medlens grown layer"):
            GrowWriter(path)
