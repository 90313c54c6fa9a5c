"""Corpus readers: BIO TSV and span JSONL, label mapping, malformed-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medlens.errors import InputError
from medlens.training.data import parse_corpus_arg, parse_label_map, read_conll, read_corpus, read_span_jsonl


def test_read_conll_sentences_and_label_map(tmp_path: Path) -> None:
    p = tmp_path / "train.tsv"
    p.write_text("Cisplatin\tB-Chemical\n-\tO\ninduced\tO\nrenal\tB-Disease\nfailure\tI-Disease\n\n"
                 "No\tO\ncancer\tB-Disease\n\n\n", encoding="utf-8")
    sents = read_conll(p, {"Disease": "DISEASE", "Chemical": None})
    assert len(sents) == 2
    assert sents[0].words == ("Cisplatin", "-", "induced", "renal", "failure")
    assert sents[0].tags == ("O", "O", "O", "B-DISEASE", "I-DISEASE")
    assert sents[0].entities() == [("DISEASE", 3, 5)]
    assert sents[1].source.endswith("train.tsv:7")


@pytest.mark.parametrize("line, message", [
    ("cancer B-Disease", "no tab"),
    ("cancer\tB_Disease", "is not BIO"),
    ("\tO", "token (first column) is empty"),
])
def test_read_conll_malformed_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    p = tmp_path / "bad.tsv"
    p.write_text(f"Patients\tO\nwith\tO\n{line}\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_conll(p)
    assert "bad.tsv, line 3" in str(exc.value)
    assert message in str(exc.value)


def test_read_conll_empty_and_missing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read_conll(empty)
    with pytest.raises(InputError, match="no such file"):
        read_conll(tmp_path / "missing.tsv")


def test_read_span_jsonl_words_and_tags(tmp_path: Path) -> None:
    p = tmp_path / "train.jsonl"
    text = "Patients with breast cancer were treated with tamoxifen."
    rows = [{"text": text, "spans": [{"start": 14, "end": 27, "label": "Disease"}, {"start": 46, "end": 55, "label": "CHEMICAL"}]},
            {"text": "No spans here.", "spans": []}]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    sents = read_span_jsonl(p, {"Disease": "DISEASE"})
    assert len(sents) == 2
    s = sents[0]
    assert s.words[-2:] == ("tamoxifen", ".")
    ents = {(t, " ".join(s.words[a:b])) for t, a, b in s.entities()}
    assert ents == {("DISEASE", "breast cancer"), ("CHEMICAL", "tamoxifen")}
    assert set(sents[1].tags) == {"O"}


@pytest.mark.parametrize("row, message", [
    ("{not json", "not valid JSON"),
    (json.dumps({"spans": []}), "string field 'text'"),
    (json.dumps({"text": "abc", "spans": [{"start": 0, "end": 9, "label": "X"}]}), "outside the text"),
    (json.dumps({"text": "abc", "spans": [{"start": "0", "end": 2, "label": "X"}]}), "must be integers"),
    (json.dumps({"text": "abc", "spans": [{"start": 0, "end": 2}]}), "'label'"),
    (json.dumps({"text": "abc def", "spans": [{"start": 0, "end": 5, "label": "X"}, {"start": 4, "end": 7, "label": "X"}]}), "overlap"),
    (json.dumps({"text": "abc   def", "spans": [{"start": 4, "end": 5, "label": "X"}]}), "covers no word"),
])
def test_read_span_jsonl_malformed_line(tmp_path: Path, row: str, message: str) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps({"text": "fine", "spans": []}) + "\n" + row + "\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_span_jsonl(p)
    assert "bad.jsonl, line 2" in str(exc.value)
    assert message in str(exc.value)


def test_read_corpus_dispatch_and_unknown_suffix(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown training file type"):
        read_corpus(p)


def test_parse_corpus_arg_and_label_map() -> None:
    path, m = parse_corpus_arg("data/train.tsv:Disease=DISEASE,Chemical=CHEMICAL,Gene=")
    assert path == Path("data/train.tsv")
    assert m == {"Disease": "DISEASE", "Chemical": "CHEMICAL", "Gene": None}
    assert parse_corpus_arg("train.tsv") == (Path("train.tsv"), None)
    with pytest.raises(InputError, match="Source=TARGET"):
        parse_label_map("Disease")
