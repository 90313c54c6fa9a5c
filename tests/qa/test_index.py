"""Document index: build, incremental update, query with offsets, errors for unknown and corrupt indexes."""

from __future__ import annotations

import json

import pytest

from medlens.errors import InputError
from medlens.qa.index import DocumentIndex, build_index, split_sentences
from tests.qa.conftest import DOCS


def test_split_sentences_offsets():
    text = "Fever since Monday. No cough!\n\nPLAN: rest.\n- fluids"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["Fever since Monday.", "No cough!", "PLAN: rest.", "- fluids"]


def test_index_build_query_and_offsets(docs_folder, tmp_path):
    out = tmp_path / "idx"
    index, stats = build_index(docs_folder, out)
    assert (stats.added, stats.documents) == (3, 3)
    assert stats.sentences == stats.encoded == len(index) == 9
    opened = DocumentIndex.open(out)
    items = opened.answer("how was the hyperkalemia treated?", top=3)
    ev = items[0].evidence[0]
    assert ev.doc_id == "renal/note2.txt"
    assert DOCS[ev.doc_id][ev.start:ev.end] == items[0].text == "Hyperkalemia was treated with insulin and glucose."
    for method in ("bm25", "dense", "fused"):
        assert opened.search("chest pain radiating to the arm", method=method, k=1)[0].doc_id == "cardio/note1.txt"


def test_index_update_adds_only_new_and_changed(docs_folder, tmp_path):
    out = tmp_path / "idx"
    build_index(docs_folder, out)
    (docs_folder / "renal" / "note2.txt").write_text("Dialysis was started for uremia.", encoding="utf-8")
    (docs_folder / "new.txt").write_text("The patient reports a migraine with aura.", encoding="utf-8")
    index, stats = build_index(docs_folder, out)
    assert (stats.added, stats.changed, stats.unchanged, stats.encoded) == (1, 1, 2, 2)
    assert index.n_documents == 4
    assert index.search("migraine aura", method="answer", k=1)[0].doc_id == "new.txt"
    assert not any("insulin" in p.text for p in index.search("insulin glucose", method="bm25", k=20))
    (docs_folder / "new.txt").unlink()
    _, stats = build_index(docs_folder, out, prune=True)
    assert stats.removed == 1 and stats.documents == 3


def test_index_jsonl_source_and_bad_line(tmp_path):
    src = tmp_path / "c.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "Aspirin was stopped."}) + "\n" + json.dumps({"text": "Rash resolved."})
                   + "\n", encoding="utf-8")
    index, stats = build_index(src, None)
    assert stats.documents == 2 and index.path is None
    assert {p.doc_id for p in index.search("rash", method="bm25", k=5)} == {"c.jsonl:2"}
    src.write_text('{"id": "a", "text": "ok"}\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"line 2: no 'text' string"):
        build_index(src, None)


def test_index_unknown_and_corrupt(docs_folder, tmp_path):
    with pytest.raises(InputError, match="E353|no document index"):
        DocumentIndex.open(tmp_path / "missing")
    out = tmp_path / "idx"
    build_index(docs_folder, out)
    (out / "medlens-index.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="corrupt"):
        DocumentIndex.open(out)
    (out / "medlens-index.json").write_text(json.dumps({"format": 99}), encoding="utf-8")
    with pytest.raises(InputError, match="format 99"):
        DocumentIndex.open(out)
    # a non-empty folder that is not an index is not overwritten
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="no document index"):
        build_index(docs_folder, other)


def test_index_unrelated_question_has_no_answer(docs_folder):
    index, _ = build_index(docs_folder, None)
    assert index.answer("what?") == []
    assert index.answer("zzzq qqxv")  == []


def test_index_missing_store_is_corrupt_and_not_recreated(docs_folder, tmp_path):
    out = tmp_path / "idx"
    build_index(docs_folder, out)
    (out / "store.sqlite").unlink()
    with pytest.raises(InputError, match="corrupt"):
        DocumentIndex.open(out)
    assert not (out / "store.sqlite").exists()
    _, stats = build_index(docs_folder, out, rebuild=True)
    assert stats.added == 3
