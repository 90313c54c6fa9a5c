"""Document classification: CSV/JSONL readers, truncation, single/multi-label training, stratified folds, CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from medlens.errors import ConfigError, InputError
from medlens.training.classify import (
    Document,
    read_csv_documents,
    read_documents,
    read_jsonl_documents,
    stratified_folds,
    truncate_ids,
)


def _toy_rows(n: int = 24) -> list[dict]:
    rows = []
    for i in range(n):
        if i % 2:
            rows.append({"text": "breast cancer treated with tamoxifen " * 2, "label": "onco"})
        else:
            rows.append({"text": "cisplatin induced renal failure " * 2, "label": "renal"})
    return rows


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


# --- readers -----------------------------------------------------------------------------------


def test_csv_reader_named_columns_and_quoted_newlines(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text('condition_label,medical_abstract\n1,"Line one.\nLine two, with comma."\n2,Short text\n', encoding="utf-8")
    docs = read_csv_documents(p, "medical_abstract", "condition_label")
    assert [d.labels for d in docs] == [("1",), ("2",)]
    assert docs[0].text == "Line one.\nLine two, with comma."
    assert docs[1].source.endswith("a.csv:4")


def test_csv_reader_multi_label_cells(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    p.write_text("text,label\nsome text,a|b\nother,b\n", encoding="utf-8")
    docs = read_csv_documents(p, multi_label=True)
    assert [d.labels for d in docs] == [("a", "b"), ("b",)]


@pytest.mark.parametrize(("content", "match"), [
    ("text,category\nx,1\n", r"no column 'label' \(set --label-column\); the columns are: text, category"),
    ("text,label\nfine,1\nmissing a field\n", r"row 3 \(line 3\): expected 2 fields \(text, label\), got 1"),
    ("text,label\nfine,1\n,2\n", r"row 3 \(line 3\): the 'text' field is empty"),
    ("text,label\nfine,1\nno label, \n", r"row 3 \(line 3\): the 'label' field is empty"),
    ("text,label\n", r"the file is empty"),
])
def test_csv_reader_malformed(tmp_path: Path, content: str, match: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=match) as info:
        read_csv_documents(p)
    assert "bad.csv" in str(info.value)


def test_jsonl_reader_single_and_multi(tmp_path: Path) -> None:
    p = _write_jsonl(tmp_path / "d.jsonl", [{"text": "a", "label": "x"}, {"text": "b", "labels": ["x", "y", "x"]},
                                            {"text": "c", "label": 3}])
    docs = read_jsonl_documents(p)
    assert [d.labels for d in docs] == [("x",), ("x", "y"), ("3",)]
    assert docs[1].source.endswith("d.jsonl:2")


@pytest.mark.parametrize(("line", "match"), [
    ('{"text": "a", "label": "x"', "line 2: not valid JSON"),
    ('{"label": "x"}', "line 2: expected an object with a non-empty string field 'text'"),
    ('{"text": "a"}', "line 2: no 'label'"),
    ('{"text": "a", "labels": []}', r"line 2: 'labels' must be a non-empty list, got \[\]"),
    ('{"text": "a", "label": true}', "line 2: label True must be a non-empty string or an integer"),
])
def test_jsonl_reader_malformed(tmp_path: Path, line: str, match: str) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"text": "ok", "label": "x"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=match):
        read_jsonl_documents(p)


def test_unknown_suffix_names_the_accepted_ones(tmp_path: Path) -> None:
    p = tmp_path / "x.xml"
    p.write_text("<x/>", encoding="utf-8")
    with pytest.raises(InputError, match=r"'\.xml'.*\.csv, \.tsv, \.jsonl"):
        read_documents(p)


def test_truncation_head_and_head_tail() -> None:
    ids = list(range(20))
    assert truncate_ids(ids, 8, "head") == list(range(8))
    assert truncate_ids(ids, 8, "head-tail") == [0, 1] + list(range(14, 20))
    assert truncate_ids(ids[:5], 8, "head-tail") == ids[:5]
    with pytest.raises(ConfigError, match="Unknown truncation 'middle'. Accepted: head, head-tail"):
        truncate_ids(ids, 8, "middle")


# --- stratified folds --------------------------------------------------------------------------


def test_stratified_folds_cover_every_row_once_and_keep_proportions() -> None:
    docs = [Document(f"d{i}", ("a",) if i < 30 else ("b",) if i < 45 else ("c",)) for i in range(50)]
    folds = stratified_folds(docs, 5, seed=1)
    flat = sorted(i for f in folds for i in f)
    assert flat == list(range(50))
    assert max(len(f) for f in folds) - min(len(f) for f in folds) <= 1
    for f in folds:
        counts = Counter(docs[i].labels[0] for i in f)
        assert counts["a"] == 6 and counts["b"] == 3 and counts["c"] == 1
    assert stratified_folds(docs, 5, seed=1) == folds  # deterministic
    with pytest.raises(InputError, match="--folds 1 is invalid"):
        stratified_folds(docs, 1)
    with pytest.raises(InputError, match="--folds 51 is invalid.*50"):
        stratified_folds(docs, 51)


# --- training (tiny random BERT) ---------------------------------------------------------------


def test_single_label_training_loss_decreases_and_reports(tmp_path: Path, tiny_model_dir: Path) -> None:
    pytest.importorskip("matplotlib")
    from medlens.training.classify import ClassifyTrainConfig, TorchClassifier, train_classifier

    data = _write_jsonl(tmp_path / "toy.jsonl", _toy_rows())
    cfg = ClassifyTrainConfig(train=str(data), dev=str(data), output=str(tmp_path / "run"), base_model=str(tiny_model_dir),
                              epochs=3, batch_size=4, lr=5e-3, max_length=16, patience=0, threads=1, checkpoint_every=0)
    losses: list[float] = []
    res = train_classifier(cfg, on_step=lambda s: losses.append(s["batch_loss"]))
    assert res.steps == 18 and len(res.history) == 3
    assert sum(losses[-6:]) < sum(losses[:6])
    assert 0.0 <= res.best_score <= 1.0 and res.best_epoch in (1, 2, 3)
    out = tmp_path / "run"
    assert (out / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((out / "report.json").read_text())
    assert set(report["per_class"]) == {"onco", "renal"} and report["macro"]["f1"] == pytest.approx(res.best_score, abs=1e-4)
    clf = TorchClassifier.from_path(res.best_dir)
    assert clf.labels == ["onco", "renal"] and not clf.multi_label
    pred = clf.predict(["tamoxifen for breast cancer", "renal failure after cisplatin"])
    assert len(pred) == 2 and all(len(p) == 1 and p[0] in ("onco", "renal") for p in pred)


def test_multi_label_training_loss_decreases(tmp_path: Path, tiny_model_dir: Path) -> None:
    from medlens.training.classify import ClassifyTrainConfig, TorchClassifier, train_classifier

    rows = []
    for i in range(24):
        k = i % 3
        rows.append([{"text": "breast cancer tamoxifen", "labels": ["onco", "drug"]},
                     {"text": "renal failure", "labels": ["renal"]},
                     {"text": "cisplatin renal failure", "labels": ["renal", "drug"]}][k])
    data = _write_jsonl(tmp_path / "multi.jsonl", rows)
    cfg = ClassifyTrainConfig(train=str(data), output=str(tmp_path / "run"), base_model=str(tiny_model_dir), multi_label=True,
                              epochs=3, batch_size=4, lr=5e-3, max_length=16, patience=0, threads=1)
    losses: list[float] = []
    res = train_classifier(cfg, on_step=lambda s: losses.append(s["batch_loss"]))
    assert sum(losses[-4:]) < sum(losses[:4])
    clf = TorchClassifier.from_path(res.best_dir)
    assert clf.multi_label and clf.labels == ["drug", "onco", "renal"]
    assert all(isinstance(p, tuple) for p in clf.predict(["renal failure"]))


def test_single_label_mode_rejects_multi_label_rows(tmp_path: Path, tiny_model_dir: Path) -> None:
    from medlens.training.classify import ClassifyTrainConfig, train_classifier

    data = _write_jsonl(tmp_path / "m.jsonl", [{"text": "a", "label": "x"}, {"text": "b", "labels": ["x", "y"]}])
    with pytest.raises(InputError, match=r"m\.jsonl:2: 2 labels \(x, y\) in single-label mode; pass --multi-label"):
        train_classifier(ClassifyTrainConfig(train=str(data), output=str(tmp_path / "r"), base_model=str(tiny_model_dir)))


def test_training_is_resumable(tmp_path: Path, tiny_model_dir: Path) -> None:
    from medlens.training.classify import ClassifyTrainConfig, train_classifier

    data = _write_jsonl(tmp_path / "toy.jsonl", _toy_rows(16))

    def cfg(out: str, **kw) -> ClassifyTrainConfig:
        return ClassifyTrainConfig(train=str(data), output=str(tmp_path / out), base_model=str(tiny_model_dir), epochs=2,
                                   batch_size=4, lr=5e-3, max_length=16, patience=0, threads=1, checkpoint_every=2, **kw)

    full: list[float] = []
    train_classifier(cfg("a"), on_step=lambda s: full.append(s["batch_loss"]))
    first: list[float] = []
    train_classifier(cfg("b", max_steps=6), on_step=lambda s: first.append(s["batch_loss"]))
    rest: list[dict] = []
    train_classifier(cfg("b"), resume=True, on_step=lambda s: rest.append(s))
    assert rest[0]["step"] == 7
    assert first + [s["batch_loss"] for s in rest] == pytest.approx(full, abs=1e-5)


def test_cross_validation_reports_every_fold(tmp_path: Path, tiny_model_dir: Path) -> None:
    from medlens.training.classify import ClassifyTrainConfig, cross_validate

    data = _write_jsonl(tmp_path / "toy.jsonl", _toy_rows(12))
    cfg = ClassifyTrainConfig(train=str(data), output=str(tmp_path / "cv"), base_model=str(tiny_model_dir), epochs=1,
                              batch_size=4, lr=5e-3, max_length=16, threads=1)
    cv = cross_validate(cfg, 3)
    assert len(cv.fold_f1) == 3 and cv.mean_f1 == pytest.approx(sum(cv.fold_f1) / 3)
    saved = json.loads((tmp_path / "cv" / "cv.json").read_text())
    assert saved["folds"] == 3 and len(saved["macro_f1"]) == 3
    assert all((tmp_path / "cv" / f"fold-{n}" / "best" / "config.json").exists() for n in (1, 2, 3))


def test_cli_classify_and_malformed_file(tmp_path: Path, tiny_model_dir: Path) -> None:
    pytest.importorskip("matplotlib")
    from typer.testing import CliRunner

    from medlens.cli.train import train_app

    runner = CliRunner()
    data = tmp_path / "toy.csv"
    data.write_text("label,body\n" + "".join(f"{r['label']},{r['text']}\n" for r in _toy_rows(12)), encoding="utf-8")
    res = runner.invoke(train_app, ["classify", "-t", str(data), "-d", str(data), "--text-column", "body", "-o",
                                    str(tmp_path / "run"), "--base-model", str(tiny_model_dir), "--epochs", "1",
                                    "--batch-size", "4", "--max-length", "16", "--threads", "1", "--truncation", "head-tail"])
    assert res.exit_code == 0, res.output
    assert "macro-F1" in res.output and (tmp_path / "run" / "confusion.png").exists()
    res = runner.invoke(train_app, ["classify", "-t", str(data), "-o", str(tmp_path / "cv"), "--text-column", "body",
                                    "--base-model", str(tiny_model_dir), "--epochs", "1", "--batch-size", "4",
                                    "--max-length", "16", "--threads", "1", "--folds", "2"])
    assert res.exit_code == 0, res.output
    assert "fold 2: macro-F1" in res.output and "mean macro-F1 over 2 folds" in res.output
    res = runner.invoke(train_app, ["classify", "-t", str(data), "-o", str(tmp_path / "bad")])
    assert res.exit_code == 2
    assert "no column 'text'" in " ".join(res.output.split())
